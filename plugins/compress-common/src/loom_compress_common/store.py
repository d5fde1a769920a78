"""Where compressed content goes: a content-addressed store on disk.

Every level that drops or shortens content first writes the original to
``<workspace>/.loom/context/<run id>/<batch>.json`` (one file per edit, named
by the first 12 hex digits of its SHA-256) and leaves a restore reference
``"<batch>/<item>"`` in the stub it puts in the window. The
``context_restore`` tool and :meth:`RestoreStore.get` read them back.

A batch file is JSON: ``{"level": ..., "items": {<item key>: <item>}}``.
An item is a JSON object with a ``kind``:

- ``tool_result`` — ``tool``, ``arguments``, ``call_id``, ``content``;
- ``messages`` — ``messages``: a list of dumped :class:`~loom.messages.Message`;
- ``checkpoint`` — ``window``: a snapshot of the whole context window.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from loom.errors import LoomError
from loom.messages import Message

#: The store's folder under the workspace; one sub-folder per run.
CONTEXT_DIR = Path(".loom") / "context"
REF_PATTERN = re.compile(r"^([0-9a-f]{12})/([\w.\-]+)$")


class RestoreError(LoomError):
    """A restore reference is malformed or names nothing in the store."""


class RestoreStore:
    """The restore store of one run (``root`` is its folder)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[str, dict[str, Any]] = {}

    @classmethod
    def for_run(cls, run: Any) -> RestoreStore:
        """The store of ``run``: ``<workspace>/.loom/context/<run id>``, one object per run."""
        state = getattr(run, "state", None)
        if isinstance(state, dict) and isinstance(state.get("compress.store"), RestoreStore):
            return state["compress.store"]  # type: ignore[no-any-return]
        workspace = getattr(getattr(run, "runtime", None), "workspace", None) or Path.cwd()
        store = cls(Path(workspace) / CONTEXT_DIR / str(run.id))
        if isinstance(state, dict):
            state["compress.store"] = store
        return store

    def put(self, items: Mapping[str, Any], *, level: str) -> str:
        """Write one batch of items; returns the batch id (12 hex digits).

        An item is a JSON-able object, or a :class:`RawJSON` holding its JSON text.
        """
        parts = []
        for key, item in items.items():
            text = (
                item.text
                if isinstance(item, RawJSON)
                else json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str)
            )
            parts.append(f"{json.dumps(str(key))}:{text}")
        data = f'{{"level":{json.dumps(level)},"items":{{{",".join(parts)}}}}}'
        batch = hashlib.sha256(data.encode()).hexdigest()[:12]
        path = self.root / f"{batch}.json"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(data, encoding="utf-8")
            tmp.replace(path)
        return batch

    def _batch(self, batch: str) -> dict[str, Any]:
        cached = self._cache.get(batch)
        if cached is not None:
            return cached
        path = self.root / f"{batch}.json"
        try:
            loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RestoreError(f"restore reference batch {batch!r} is not in {self.root}") from None
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[batch] = loaded
        return loaded

    def get(self, ref: str) -> dict[str, Any]:
        """The item a restore reference names."""
        match = REF_PATTERN.match(ref.strip())
        if match is None:
            raise RestoreError(
                f"malformed restore reference {ref!r}: expected '<12 hex digits>/<item>', "
                "as printed in a stub, e.g. 'ab12cd34ef56/3'"
            )
        batch, key = match.groups()
        items = self._batch(batch)["items"]
        if key not in items:
            raise RestoreError(
                f"restore reference {ref!r}: batch {batch} has no item {key!r}; "
                f"it has {', '.join(sorted(items)[:20])}"
            )
        return items[key]  # type: ignore[no-any-return]

    def batches(self) -> Iterator[str]:
        """Every batch id in the store."""
        if self.root.is_dir():
            for path in sorted(self.root.glob("*.json")):
                yield path.stem


class RawJSON:
    """An item already serialised to JSON text (e.g. by pydantic, which is faster)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_JSON_CACHE: dict[int, tuple[Message, str]] = {}


def message_json(message: Message) -> str:
    """A message as JSON text, cached by identity (messages are immutable)."""
    hit = _JSON_CACHE.get(id(message))
    if hit is not None and hit[0] is message:
        return hit[1]
    text = message.model_dump_json()
    if len(_JSON_CACHE) > 20_000:
        _JSON_CACHE.clear()
    _JSON_CACHE[id(message)] = (message, text)
    return text


def messages_item(messages: list[Message]) -> RawJSON:
    """A ``messages`` item for :meth:`RestoreStore.put`."""
    return RawJSON('{"kind":"messages","messages":[' + ",".join(map(message_json, messages)) + "]}")


def ref(batch: str, key: str | int) -> str:
    """The restore reference of one item of a batch."""
    return f"{batch}/{key}"
