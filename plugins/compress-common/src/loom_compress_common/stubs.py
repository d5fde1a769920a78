"""The one stub format every level writes, and how to find references in text.

A stub replaces content in the window and always starts with ``[context``::

    [context masked: read_file path=src/app.py — 412 lines, 3.1k tokens; facts in the Fact ledger;
     restore: context_restore(ref="ab12cd34ef56/3")]

Oversized outputs and outputs cleared of progress noise keep their remaining
content after the stub line (:func:`is_compressed` but not :func:`is_stub`);
a whole stub is one line. Content that starts with ``[context`` is never
compressed again by the same rule.
"""

from __future__ import annotations

import re
from typing import Any

STUB_PREFIX = "[context "
REF_IN_TEXT = re.compile(r'context_restore\(ref="([0-9a-f]{12}/[\w.\-]+)"')


def stub(what: str, restore_ref: str, note: str = "") -> str:
    """A one-line stub: what was there, an optional note, and its restore call."""
    extra = f"; {note}" if note else ""
    return f'{STUB_PREFIX}{what}{extra}; restore: context_restore(ref="{restore_ref}")]'


def is_stub(text: str) -> bool:
    """Whether ``text`` is a whole stub (one line): its content is on disk only."""
    return text.startswith(STUB_PREFIX) and "\n" not in text


def is_compressed(text: str) -> bool:
    """Whether a level wrote ``text`` (a stub, a preview or a digest)."""
    return text.startswith(STUB_PREFIX)


def refs_in(text: str) -> list[str]:
    """Every restore reference mentioned in ``text``, in order."""
    return REF_IN_TEXT.findall(text)


def short_tokens(tokens: float) -> str:
    """``3.1k tokens`` style figure."""
    return f"{tokens / 1000:.1f}k tokens" if tokens >= 1000 else f"{round(tokens)} tokens"


def describe_call(name: str, arguments: dict[str, Any], width: int = 80) -> str:
    """A short one-line description of a tool call: ``read_file path=src/app.py``."""
    parts = []
    for key, value in arguments.items():
        text = value if isinstance(value, str) else repr(value)
        text = " ".join(text.split())
        parts.append(f"{key}={text[:60]}")
    line = f"{name} {' '.join(parts)}".strip()
    return line if len(line) <= width else line[: width - 1] + "…"


def name_call(name: str, arguments: dict[str, Any], width: int = 60) -> str:
    """The shortest useful name of a call: the tool and its path (or first) argument."""
    for key in ("path", "file_path", "file", "filename", "command", "cmd", "query", "pattern", "url"):
        value = arguments.get(key)
        if isinstance(value, str) and value:
            text = " ".join(value.split())
            return f"{name} {text[:width]}"
    return describe_call(name, arguments, width)
