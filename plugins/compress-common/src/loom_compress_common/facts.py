"""Facts worth keeping when content leaves the window, found without a model.

:func:`facts_from_output` reads one tool output and returns its salient
lines as :class:`Fact` objects:

- **values** — ``NAME = literal`` settings in config files (``.toml``,
  ``.ini``, ``.env``, ``.yaml``, ``.json`` …, or output that looks like one),
  UPPER_CASE constants in code, and labelled identifiers in any output
  (``port: 5433``, ``deployment id: dep-4821``);
- **errors** — exception lines, ``FAILED``/``error:``/``fatal:`` lines (the
  first two and the last of an output);
- **events** — "created/built/deployed … " result lines.

:func:`decisions_in` finds decision sentences in the agent's own text.
Each fact has a ``key``: a later fact with the same key supersedes it (a
setting read again with a new value). See :mod:`loom_compress_common.ledger`
for where facts are kept.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

CONFIG_SUFFIXES = (".toml", ".ini", ".cfg", ".conf", ".env", ".yaml", ".yml", ".json", ".properties", ".lock")
_LITERAL = (
    r'(?:"[^"\n]{0,120}"|\'[^\'\n]{0,120}\'|[-+]?\d[\w.:,/%\-]{0,40}|true|false|True|False'
    r"|yes|no|on|off|null|None|[A-Za-z][\w.+\-]{0,60}(?:/[\w.+\-]+)*|[a-z][\w+.\-]*://\S{1,120}"
    r"|\.{0,2}/[\w.+\-/]{1,120})"
)
_CONFIG_LINE = re.compile(
    r'(?m)^[ \t]*(?:export[ \t]+)?"?([A-Za-z_][\w.\-]{0,63})"?[ \t]*[=:][ \t]*(' + _LITERAL + r")[ \t,]*"
    r"(?:[#;][^\n]*)?$"
)
_CONSTANT_LINE = re.compile(
    r"[ \t]*([A-Z][A-Z0-9_]{2,63})[ \t]*(?::[ \t]*[\w\[\], .]+)?[ \t]*=[ \t]*(" + _LITERAL + r")[ \t]*"
    r"(?:#[^\n]*)?$"
)
LABELS = (
    "port",
    "version",
    "id",
    "uuid",
    "sha",
    "commit",
    "host",
    "hostname",
    "url",
    "endpoint",
    "region",
    "bucket",
    "pid",
    "build",
    "release",
    "revision",
    "tag",
    "image",
    "digest",
    "account",
    "cluster",
    "namespace",
)
_LABEL_VALUE = re.compile(r"[ \t]*[:=][ \t]*([\w.:/\-@+]{2,80})")
_WORD_BEFORE = re.compile(r"([\w\-]{1,30})[ \t]$")
_ERROR_WORDS = ("Error", "Exception", "FAILED", "FAIL:", "fatal:", "error:", "ERROR", "panic:")
_ERROR_STARTS = ("FAILED", "ERROR", "E   ", "error:")
_ERROR_HINTS = ("\nFAILED", "\nERROR", "\nE   ", "fatal:", "\nerror:", "panic:", "Error: ", "Exception: ")
_EVENT_WORDS = (
    "reated ",
    "uilt ",
    "eployed ",
    "agged ",
    "ublished ",
    "ploaded ",
    "igrated ",
    "egistered ",
    "llocated ",
    "rovisioned ",
    "ssued ",
)
_EVENT_LINE = re.compile(
    r"[ \t]*(?:Successfully[ \t]+)?(?:[Cc]reated|[Bb]uilt|[Dd]eployed|[Tt]agged|[Pp]ublished|"
    r"[Uu]ploaded|[Mm]igrated|[Rr]egistered|[Aa]llocated|[Pp]rovisioned|[Ii]ssued)\b.{3,160}$"
)
CONSTRAINT_CUES = (
    "do not",
    "don't",
    "never",
    "must",
    "always",
    "only ",
    "keep ",
    "avoid",
    "make sure",
    "instead",
    "should",
)
DECISION_CUES = (
    "decid",
    "decision",
    "chose",
    "choose",
    "going with",
    "'ll use",
    "will use",
    "switch",
    "instead of",
    "settled on",
    "prefer",
)
_DECISION = re.compile(
    r"(?i)[^.!?\n]*\b(?:decid\w*|decision|chose|choose|going with|we'll use|i'll use|will use|"
    r"switch(?:ed|ing)? to|instead of|settled on|prefer)\b[^.!?\n]*[.!?]?"
)
CODE_SUFFIXES = (
    ".py",
    ".js",
    ".ts",
    ".tsx",
    ".jsx",
    ".go",
    ".rs",
    ".java",
    ".rb",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".cs",
    ".kt",
    ".swift",
    ".php",
    ".scala",
    ".sh",
    ".sql",
    ".vue",
)
_NOISY_NAMES = frozenset({"self", "return", "name", "type", "description", "title"})
_MAX_ERRORS = 3
_MAX_EVENTS = 3
_MAX_LABELLED = 6


@dataclass(frozen=True)
class Fact:
    """One fact: ``kind`` (value, error, event, decision), the ``text`` a ledger
    shows, the ``key`` a newer fact supersedes it by, and where it came from."""

    kind: str
    key: str
    text: str
    source: str = ""
    ref: str = ""


def is_config_source(path: str | None, content: str) -> bool:
    """Whether an output reads like a configuration file."""
    if path and path.lower().endswith(CONFIG_SUFFIXES):
        return True
    if path and "/.env" in f"/{path}":
        return True
    head = content[:600]
    lines = [ln for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", ";", "["))]
    if len(lines) < 3:
        return False
    return sum(1 for ln in lines if _CONFIG_LINE.match(ln)) >= 0.6 * len(lines)


def _value(name: str, value: str, source: str, ref: str) -> Fact:
    value = value.strip().rstrip(",")
    return Fact("value", f"value:{name.lower()}", f"{name} = {value}", source, ref)


def _line_at(content: str, position: int) -> str:
    start = content.rfind("\n", 0, position) + 1
    end = content.find("\n", position)
    return content[start : end if end >= 0 else len(content)]


def _lines_with(content: str, words: tuple[str, ...], limit: int) -> list[str]:
    """Distinct lines holding any of ``words``, found with ``str.find`` (fast on long outputs)."""
    starts: set[int] = set()
    for word in words:
        at = content.find(word)
        while at >= 0 and len(starts) < limit:
            line_start = content.rfind("\n", 0, at) + 1
            starts.add(line_start)
            nxt = content.find("\n", at)
            at = content.find(word, nxt) if nxt >= 0 else -1
    return [_line_at(content, i) for i in sorted(starts)]


def _labelled(content: str, source: str, ref: str) -> list[Fact]:
    lower = content.lower()
    found: list[Fact] = []
    for label in LABELS:
        at = lower.find(label)
        while at >= 0 and len(found) < _MAX_LABELLED:
            end = at + len(label)
            before_ok = at == 0 or not (lower[at - 1].isalnum() or lower[at - 1] in "_-")
            match = _LABEL_VALUE.match(content, end) if before_ok else None
            if match is not None and not (lower[end : end + 1].isalnum() or lower[end : end + 1] == "_"):
                line_start = content.rfind("\n", 0, at) + 1
                word = _WORD_BEFORE.search(content, line_start, at)
                name = f"{word.group(1)} {content[at:end]}" if word else content[at:end]
                found.append(_value(name, match.group(1), source, ref))
            at = lower.find(label, end)
    return found


def output_class(path: str | None, content: str) -> str:
    """``config``, ``code`` or ``text`` (command output, search results, anything else)."""
    if path and path.lower().endswith(CODE_SUFFIXES):
        return "code"
    if is_config_source(path, content):
        return "config"
    return "text"


def facts_from_output(
    content: str, *, source: str = "", path: str | None = None, is_error: bool = False, ref: str = ""
) -> list[Fact]:
    """The salient facts of one tool output (see the module docstring)."""
    facts: list[Fact] = []
    kind = output_class(path, content)
    if kind == "config":
        for match in _CONFIG_LINE.finditer(content):
            name = match.group(1)
            if name.lower() not in _NOISY_NAMES:
                facts.append(_value(name, match.group(2), source, ref))
    elif kind == "code":
        for line in content.splitlines():
            head = line.lstrip()[:1]
            if head.isupper() and "=" in line:
                constant = _CONSTANT_LINE.match(line)
                if constant:
                    facts.append(_value(constant.group(1), constant.group(2), source, ref))
    else:
        facts.extend(_labelled(content, source, ref))
        events = [
            " ".join(ln.split()) for ln in _lines_with(content, _EVENT_WORDS, 200) if _EVENT_LINE.match(ln)
        ]
        for line in list(dict.fromkeys(events))[-_MAX_EVENTS:]:
            facts.append(Fact("event", f"event:{line[:120]}", line, source, ref))
    if is_error_output(content, is_error):
        errors = [" ".join(ln.split()) for ln in _lines_with(content, _ERROR_WORDS, 400)]
        errors = [e.removeprefix("E ").strip()[:300] for e in errors if not e.startswith("Traceback")]
        unique = list(dict.fromkeys(e for e in errors if e))
        unique = [e for e in unique if not any(e != other and e in other for other in unique)]
        chosen = unique[:2] + unique[-1:] if len(unique) > _MAX_ERRORS else unique
        for line in dict.fromkeys(chosen):
            facts.append(Fact("error", f"error:{line[:120]}", line, source, ref))
    return facts


def decisions_in(text: str, *, source: str = "", ref: str = "") -> list[Fact]:
    """Decision sentences in the agent's own text."""
    lower = text.lower()
    if not any(cue in lower for cue in DECISION_CUES):
        return []
    out = []
    for match in _DECISION.finditer(text):
        sentence = " ".join(match.group(0).split())
        if 12 <= len(sentence) <= 300:
            out.append(Fact("decision", f"decision:{sentence[:120].lower()}", sentence, source, ref))
    return out


def constraints_in(text: str) -> list[Fact]:
    """A user's message as a constraint fact, when it asks for or forbids something."""
    flat = " ".join(text.split())
    lower = flat.lower()
    if not flat or not any(cue in lower for cue in CONSTRAINT_CUES):
        return []
    shown = flat if len(flat) <= 300 else flat[:299] + "…"
    return [Fact("constraint", f"constraint:{lower[:120]}", shown)]


def is_error_output(content: str, is_error: bool) -> bool:
    """Whether a tool output reports a failure."""
    return is_error or _reports_failure(content)


@functools.lru_cache(maxsize=1024)
def _reports_failure(content: str) -> bool:
    if len(content) > 8000:  # failures are reported at the start or the end of an output
        content = content[:2000] + "\n" + content[-6000:]
    if any(hint in content for hint in _ERROR_HINTS) or content.startswith(_ERROR_STARTS):
        return True
    for hint in ("exit code ", "exit status "):
        at = content.find(hint)
        if at >= 0 and content[at + len(hint) : at + len(hint) + 1] not in ("0", ""):
            return True
    return False
