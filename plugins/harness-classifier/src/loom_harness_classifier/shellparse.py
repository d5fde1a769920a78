"""Split a shell command line into pipelines of simple commands, the way ``sh`` would run them.

Tokenising is done by :mod:`shlex` (POSIX rules, with punctuation split off
so that ``;``, ``&&``, ``||``, ``|``, ``&``, ``(``, ``)`` and redirections
become tokens of their own). Before that, a scanner pulls out everything
``sh`` would run as a nested command — ``$(...)``, backticks, ``<(...)`` and
``>(...)`` — even inside double quotes, and turns unquoted line breaks into
``;``. Nothing is ever dropped: comments are not stripped, so a ``#``
never hides the rest of a line from the classifier.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache

PUNCTUATION = set("();<>|&")
#: Characters that may start a nested command (or continue a line); without them ``scan`` has no work.
NESTING = re.compile(r"[`\n]|[$<>]\(")
#: Characters shlex treats specially; without them a line splits on whitespace alone.
SPECIAL = re.compile(r"[();<>|&'\"\\]")
#: Word standing in for a nested command's output in the outer command.
PLACEHOLDER = "__loom_substitution__"


class ShellSyntaxError(ValueError):
    """The command cannot be tokenised (an unterminated quote or substitution)."""


@dataclass(slots=True)
class SimpleCommand:
    """One command: its words and its redirections (operator, target)."""

    words: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)

    def text(self) -> str:
        """The command as one line (for reasons and rule matching)."""
        parts = list(self.words) + [f"{op}{target}" for op, target in self.redirects]
        return " ".join(parts)


@dataclass(slots=True)
class Parsed:
    """A command line: pipelines of simple commands, and the nested command lines."""

    pipelines: list[list[SimpleCommand]]
    nested: list[str]
    separators: int
    texts: tuple[str, ...] = ()

    @property
    def commands(self) -> list[SimpleCommand]:
        """Every simple command, in order."""
        return [c for p in self.pipelines for c in p]

    @property
    def compound(self) -> bool:
        """Whether more than one command runs (chains, pipes, nesting)."""
        return self.separators > 0 or bool(self.nested) or len(self.commands) > 1


def _closing_paren(text: str, start: int) -> int:
    """Index of the ``)`` closing the ``(`` just before ``start``, honouring quotes."""
    depth = 1
    i = start
    quote = ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch == "\\":
            i += 2
            continue
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellSyntaxError("unterminated $( ... ) or ( ... )")


def scan(command: str) -> tuple[str, list[str]]:
    """Pull out nested commands; returns the outer line and the nested command lines."""
    if not NESTING.search(command):
        return command, []
    out: list[str] = []
    nested: list[str] = []
    i = 0
    in_single = in_double = False
    n = len(command)
    while i < n:
        ch = command[i]
        if in_single:
            out.append(ch)
            if ch == "'":
                in_single = False
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            if command[i + 1] == "\n":  # line continuation
                i += 2
                continue
            out.append(command[i:i + 2])
            i += 2
            continue
        if ch == "'" and not in_double:
            in_single = True
        elif ch == '"':
            in_double = not in_double
        elif ch == "`":
            end = i + 1
            while end < n and command[end] != "`":
                end += 2 if command[end] == "\\" else 1
            if end >= n:
                raise ShellSyntaxError("unterminated backtick substitution")
            nested.append(command[i + 1:end].replace("\\`", "`"))
            out.append(PLACEHOLDER)
            i = end + 1
            continue
        elif ch in "$<>" and i + 1 < n and command[i + 1] == "(" and not (ch != "$" and in_double):
            arithmetic = ch == "$" and i + 2 < n and command[i + 2] == "("
            end = _closing_paren(command, i + 2)
            body = command[i + 2:end]
            if arithmetic:
                body = command[i + 3:end - 1]
                if "$(" in body or "`" in body:
                    nested.append(body)
                out.append("0")
            else:
                nested.append(body)
                out.append(PLACEHOLDER if ch == "$" else f"{ch} {PLACEHOLDER}")
            i = end + 1
            continue
        elif ch == "\n" and not in_double:
            out.append(" ; ")
            i += 1
            continue
        out.append(ch)
        i += 1
    if in_single or in_double:
        raise ShellSyntaxError("unterminated quote")
    return "".join(out), nested


def tokenize(line: str) -> list[str]:
    """POSIX tokens with punctuation runs as separate tokens (quotes removed).

    :mod:`shlex` is the reference. Lines without a backslash are tokenised by
    a regular expression that gives the same tokens (a property test checks
    it against shlex), because shlex reads character by character and this
    runs for every proposed shell command; lines with a backslash, and
    anything the expression does not cover, go to shlex itself.
    """
    if not SPECIAL.search(line):
        return line.split()  # what shlex gives when there is nothing to unquote or split off
    if "\\" not in line:
        fast = _fast_tokens(line)
        if fast is not None:
            return fast
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise ShellSyntaxError(str(exc)) from None


_TOKEN = re.compile(r"""(?P<punct>[();<>|&]+)"""
                    r"""|(?P<word>(?:[^ \t\r\n();<>|&'"\\]+|'[^']*'|"[^"\\]*")+)"""
                    r"""|(?P<bad>['"])""")
_PART = re.compile(r"""'([^']*)'|"([^"]*)"|([^'"]+)""")


def _fast_tokens(line: str) -> list[str] | None:
    tokens: list[str] = []
    for punct, word, bad in _TOKEN.findall(line):
        if bad:
            return None  # an unterminated quote: shlex reports it
        if punct:
            tokens.append(punct)
        elif "'" in word or '"' in word:
            tokens.append("".join(a or b or c for a, b, c in _PART.findall(word)))
        else:
            tokens.append(word)
    return tokens


_OPERATOR = re.compile(r"[();<>|&]+\Z")


def _is_operator(token: str) -> bool:
    return _OPERATOR.match(token) is not None


@lru_cache(maxsize=256)
def parse(command: str) -> Parsed:
    """Parse a command line into pipelines; nested commands are returned unparsed.

    Cached by the command's text (parsing depends on nothing else); callers
    must not change the result. A line of plain and quoted words joined by
    ``;``, ``&``, ``&&``, ``|`` and ``||`` (the common case) is parsed in one
    pass by :func:`parse_plain`; anything else by :func:`parse_full`.
    """
    if "\\" not in command and "`" not in command and "\n" not in command \
            and ("(" not in command or NESTING.search(command) is None):
        plain = parse_plain(command)
        if plain is not None:
            return plain
    return parse_full(command)


#: A token of a plain line: a run of separators, a word (quoted parts included), or anything else.
_PLAIN_TOKEN = re.compile(r"""([;&|]+)|((?:[^ \t\r\n();<>|&'"\\]+|'[^']*'|"[^"\\]*")+)|([^ \t\r\n])""")


def parse_plain(command: str) -> Parsed | None:
    """:func:`parse_full` for a line without nesting, backslashes, parentheses or redirections.

    Returns None for any other line (a property test checks that the result
    is the full parser's whenever it is not None).
    """
    if SPECIAL.search(command) is None:  # no quotes, no separators: words split on whitespace
        split = command.split()
        return Parsed([[SimpleCommand(split)]], [], 0, (" ".join(split),)) if split else Parsed([], [], 0)
    pipelines: list[list[SimpleCommand]] = []
    pipeline: list[SimpleCommand] = []
    words: list[str] = []
    separators = 0
    for punct, word, other in _PLAIN_TOKEN.findall(command):
        if other:
            return None  # a parenthesis, a redirection, a backslash or an unterminated quote
        if punct:
            separators += 1
            if words:
                pipeline.append(SimpleCommand(words))
                words = []
            if pipeline and punct != "|" and punct != "|&":
                pipelines.append(pipeline)
                pipeline = []
        elif "'" in word or '"' in word:
            unquoted = "".join(a or b or c for a, b, c in _PART.findall(word))
            if unquoted[:1] in PUNCTUATION and _is_operator(unquoted):
                return None  # a quoted operator: the full parser reads it as one
            words.append(unquoted)
        else:
            words.append(word)
    if words:
        pipeline.append(SimpleCommand(words))
    if pipeline:
        pipelines.append(pipeline)
    return Parsed(pipelines, [], separators, tuple(" ".join(c.words) for p in pipelines for c in p))


def parse_full(command: str) -> Parsed:
    """Parse any command line (see :func:`parse`): nesting, tokens, then pipelines."""
    outer, nested = scan(command)
    tokens = tokenize(outer)
    pipelines: list[list[SimpleCommand]] = [[SimpleCommand()]]
    separators = 0
    i = 0
    count = len(tokens)
    while i < count:
        token = tokens[i]
        current = pipelines[-1][-1]
        operator = token[:1] in PUNCTUATION and _is_operator(token)
        if operator and ("<" in token or ">" in token):
            target = tokens[i + 1] if i + 1 < count else ""
            if token.endswith("&") and (target.isdigit() or target == "-"):
                i += 2  # 2>&1, >&-: duplicating a descriptor writes no file
                continue
            current.redirects.append((token.replace("&", "").replace("|", "") or ">", target))
            i += 2
            continue
        if operator:
            separators += 1
            if token in ("|", "|&"):
                pipelines[-1].append(SimpleCommand())
            else:
                pipelines.append([SimpleCommand()])
            i += 1
            continue
        if token.isdigit() and i + 1 < count and tokens[i + 1][:1] in "<>" \
                and _is_operator(tokens[i + 1]):
            i += 1  # a file descriptor number: 2>err, 0<in
            continue
        current.words.append(token)
        i += 1
    cleaned = [p for p in ([c for c in p if c.words or c.redirects] for p in pipelines) if p]
    return Parsed(cleaned, nested, separators, tuple(c.text() for p in cleaned for c in p))
