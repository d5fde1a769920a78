"""The fast paths give the same answers as the general code they short-cut."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loom_harness_classifier.findings import SEVERITY, Finding, Findings
from loom_harness_classifier.paths import (
    ENV_NAMES,
    SECRET_NAMES,
    NameGlobs,
    PathInfo,
    _glob_regex,
    classify_path,
    classify_path_full,
)
from loom_harness_classifier.shellparse import Parsed, ShellSyntaxError, parse_full, parse_plain

# ------------------------------------------------------------------ parsing

WORDS = st.sampled_from(["ls", "-la", "src/x", "grep", "-rn", "'def main'", '"a b"', "'it''s'", "''",
                         '""', "$HOME", "a=b", "*.py", "|", "||", "&&", ";", "&", "|&", ";;", "&|",
                         "a|b", "x&&y", "(", ")", "<", ">", "2>&1", ">out", "\\", "\\n", "'", '"',
                         "\n", "`id`", "$(id)", "<(date)", "$((1+2))", '"$X"', '"a\\"b"', "#", "{a,b}",
                         "é", "\x0b", "\r", "\t", "a\tb", "';'", "'|'", "'>'", "'&&'",
                         "a'('"])
LINE = st.one_of(
    st.lists(st.tuples(WORDS, st.sampled_from(["", " ", "  ", "\t"])), max_size=12)
    .map(lambda parts: "".join(w + s for w, s in parts)),
    st.text(alphabet=st.sampled_from(list("ab -/.$*~=;&|<>()'\"\t\n\\`#{}é\x0b")), max_size=40))


def shape(parsed: Parsed) -> tuple[Any, ...]:
    return ([[(c.words, c.redirects) for c in p] for p in parsed.pipelines], parsed.nested,
            parsed.separators, parsed.texts, parsed.compound)


@settings(max_examples=2000, deadline=None)
@given(line=LINE)
def test_property_the_one_pass_parser_agrees_with_the_full_parser(line: str) -> None:
    fast = parse_plain(line) if "\\" not in line and "`" not in line and "\n" not in line \
        and "$(" not in line and "<(" not in line and ">(" not in line else None
    if fast is None:
        return
    try:
        full = parse_full(line)
    except ShellSyntaxError:
        pytest.fail(f"the one-pass parser accepted {line!r}, which the full parser rejects")
    assert shape(fast) == shape(full), line


@pytest.mark.parametrize("line", ["ls -la src && grep -rn 'def main' src | head -5", "git log -n 5 --oneline",
                                  "a;b", "a |& b", "| a", "a | ; b", "", "   ", "''", "echo \"x y\"z"])
def test_common_lines_take_the_one_pass_parser(line: str) -> None:
    fast = parse_plain(line)
    assert fast is not None and shape(fast) == shape(parse_full(line))


@pytest.mark.parametrize("line", ["a > out", "(a)", "echo 'unterminated", "a 2>&1", "x <in"])
def test_other_lines_are_left_to_the_full_parser(line: str) -> None:
    assert parse_plain(line) is None


# -------------------------------------------------------------------- paths

def _workspace(root: Path, name: str) -> str:
    ws = root / name
    (ws / "src" / "pkg").mkdir(parents=True)
    (ws / "src" / "app.py").write_text("x")
    for link, target in (("link", "/etc"), ("out", "../outside"), ("inner", "src"),
                         ("leak.txt", str(root / "outside" / "secret.txt")),
                         ("same", "../outside")):  # ws/same is exactly as long as outside
        (ws / link).symlink_to(target)
    return str(ws)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("fast-paths").resolve()
    (root / "outside").mkdir()
    (root / "outside" / "secret.txt").write_text("x")
    return {"ws": _workspace(root, "ws"), "..dots": _workspace(root, "..dots"),
            ".loom": _workspace(root, ".loom"), "missing": str(root / "missing"),
            "home": os.path.realpath(os.path.expanduser("~")), "/": "/",
            "tmp": os.path.realpath(tempfile.gettempdir()), "root": str(root)}


PART = st.sampled_from(["src", "pkg", "app.py", "link", "out", "leak.txt", "inner", "same", "..", ".", "",
                        "a", "b_1", ".env", "x.env", "loom.toml", ".loom", "id_rsa", ".ssh", "x.pem",
                        "credentials", "-rf", "a b", "é", "$X", "*", "~", "etc", "passwd", "secret.txt",
                        ".bashrc", "a=b", "c:d", "+x", "n@m", "%p", "a,b", "outside"])
RAW = st.builds(lambda pre, parts, post: pre + "/".join(parts) + post,
                st.sampled_from(["", "", "", "/", "~/", "./", "../", "$HOME/", "'", "{root}/"]),
                st.lists(PART, max_size=4), st.sampled_from(["", "", "/", "/.", "'"]))


def reference_classify_path(raw: str, workspace: str) -> PathInfo:
    """The general route (no fast path): :func:`classify_path_full`, whose helpers' caches are
    keyed by every input, so they cannot change a result."""
    return classify_path_full(raw, workspace)


@settings(max_examples=1500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["ws", "..dots", ".loom", "missing", "home", "/", "tmp"]), raw=RAW)
def test_property_the_plain_path_route_agrees_with_the_general_one(
        workspaces: dict[str, str], name: str, raw: str) -> None:
    workspace, raw = workspaces[name], raw.replace("{root}", workspaces["root"])
    assert classify_path(raw, workspace) == reference_classify_path(raw, workspace) \
        == classify_path_full(raw, workspace)


def test_a_link_whose_target_is_as_long_as_the_path_is_still_resolved(workspaces: dict[str, str]) -> None:
    info = classify_path("same/secret.txt", workspaces["ws"])  # root/ws/same/... → root/outside/...
    assert info.absolute == os.path.join(workspaces["root"], "outside", "secret.txt")
    assert info.place == "scratch"  # the temporary folder, not the workspace


NAME = st.one_of(
    st.sampled_from(["id_rsa", "id_rsa.pub", "x.pem", "pem", ".pem", "a.key.bak", "credentials",
                     "credentials.json", "shadow", "gshadow", "environ", ".env", ".env.local", "x.env",
                     ".envrc", "env", "a.envrc", "module_1.py", "", "id_ed25519", "master.key",
                     "secrets.yaml", ".netrc", "x.kdbx"]),
    st.text(alphabet=st.sampled_from(list("._-*[?envpmkyidrsa\n")), max_size=14))


@settings(max_examples=2000, deadline=None)
@given(name=NAME, extra=st.lists(st.sampled_from(["a*b", "*", "x?y", "[ab]c", "**z", "lit"]), max_size=2))
def test_property_name_globs_agree_with_their_regular_expression(name: str, extra: list[str]) -> None:
    for patterns in (SECRET_NAMES, ENV_NAMES, (*ENV_NAMES, *extra)):
        assert NameGlobs(patterns)(name) == (_glob_regex(patterns).match(name) is not None), (patterns, name)


# ------------------------------------------------------------ classification

FINDING = st.builds(Finding, st.sampled_from(sorted(SEVERITY)),
                    st.sampled_from([0.05, 0.35, 0.5, 0.7, 0.9, 0.99]),
                    st.sampled_from(["effect.read", "effect.execute", "path.read", "shell.rm", "x"]),
                    st.sampled_from(["r1", "r2", "r3", "r4"]))


def reference_classification(findings: Findings, deny_at: float) -> dict[str, Any]:
    """The classification by its definition: sort, pick the maximum, filter, deduplicate."""
    def weight(f: Finding) -> tuple[float, int]:
        return f.risk, SEVERITY[f.kind]

    items = findings.items
    kinds = sorted({f.kind for f in items} or {"read"}, key=SEVERITY.__getitem__)
    top = max(items, key=weight) if items else None
    risk = round(min(1.0, top.risk), 3) if top else 0.0
    if top is not None and not top.rule.startswith("effect."):
        items = [f for f in items if not f.rule.startswith("effect.")]
    reasons: list[str] = []
    for item in sorted(items, key=weight, reverse=True):
        if item.reason not in reasons:
            reasons.append(item.reason)
    return {"category": kinds[-1], "kinds": kinds, "risk": risk, "reasons": reasons[:8],
            "rule": top.rule if top else "", "deny": risk >= deny_at}


@settings(max_examples=1000, deadline=None)
@given(items=st.lists(FINDING, max_size=12))
def test_property_the_one_pass_classification_agrees_with_its_definition(items: list[Finding]) -> None:
    result = Findings(items=items).classification(0.9)
    assert {k: result[k] for k in ("category", "kinds", "risk", "reasons", "rule", "deny")} \
        == reference_classification(Findings(items=items), 0.9)
