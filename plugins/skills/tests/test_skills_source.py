"""The skills tool source in real runs: discovery, open_skill, resources, scripts, tools.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import loom_skills
import pytest
from loom.hookspecs import hookimpl
from loom.messages import ToolResultBlock
from loom.profile import AgentProfile
from loom.testing import LoomHarness, call
from loom.verdicts import Verdict


def make_skill(root: Path, name: str, body: str = "Do the thing.", *, description: str = "",
               files: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: {description or 'Skill ' + name}\n---\n{body}\n")
    for rel, text in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def harness(script: list[Any], paths: list[Path], **kw: Any) -> LoomHarness:
    settings = {"paths": [str(p) for p in paths], "entry_points": False, **kw.pop("settings", {})}
    return LoomHarness(script, plugins=[loom_skills, *kw.pop("plugins", [])],
                       config={"settings": {"skills": settings}}, **kw)


def results(h: LoomHarness) -> list[ToolResultBlock]:
    return [b for m in h.last_run.window.history for b in m.tool_results]


async def test_default_folders_are_the_workspace_and_the_user_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, home = tmp_path / "project", tmp_path / "home"
    make_skill(project / ".loom" / "skills", "project-skill")
    make_skill(home / ".loom" / "skills", "user-skill")
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(home))
    h = LoomHarness(["done"], plugins=[loom_skills],
                    config={"settings": {"skills": {"entry_points": False}}})
    await h.run("go")
    system = h.model.requests[0].system
    assert "- project-skill: Skill project-skill" in system
    assert "- user-skill: Skill user-skill" in system


async def test_without_any_skill_the_skill_tools_are_withdrawn(tmp_path: Path) -> None:
    h = harness(["done"], [tmp_path / "missing"])
    result = await h.run("go")
    assert result.ok
    assert [t.name for t in h.model.requests[0].tools] == []
    assert "Skills" not in h.model.requests[0].system


async def test_unknown_skill_is_an_error_with_a_close_match(tmp_path: Path) -> None:
    make_skill(tmp_path, "pdf-tools")
    h = harness([call("open_skill", name="pdf-tool"), "done"], [tmp_path])
    await h.run("go")
    [result] = results(h)
    assert result.is_error
    assert "no skill named 'pdf-tool' (did you mean 'pdf-tools'?)" in result.content


async def test_resources_are_read_on_demand_and_confined_to_the_skill_folder(tmp_path: Path) -> None:
    folder = make_skill(tmp_path / "skills", "docs", files={"guide/style.md": "Use short sentences."})
    (tmp_path / "secret.txt").write_text("do not read")
    os.symlink(tmp_path / "secret.txt", folder / "link.txt")
    h = harness([[call("read_skill_resource", name="docs", path="guide/style.md"),
                  call("read_skill_resource", name="docs", path="../../secret.txt"),
                  call("read_skill_resource", name="docs", path=str(tmp_path / "secret.txt")),
                  call("read_skill_resource", name="docs", path="link.txt"),
                  call("read_skill_resource", name="docs", path="nope.md")], "done"],
                [tmp_path / "skills"])
    await h.run("go")
    ok, parent, absolute, link, missing = results(h)
    assert (ok.is_error, ok.content) == (False, "Use short sentences.")
    for refused in (parent, absolute, link):
        assert refused.is_error
        assert "outside the folder of skill 'docs'" in refused.content
        assert "do not read" not in refused.content
    assert missing.is_error and "its files: guide/style.md" in missing.content


async def test_scripts_run_in_the_workspace_with_arguments(tmp_path: Path) -> None:
    make_skill(tmp_path / "skills", "stamp", files={"scripts/stamp.py": (
        "import os, sys\n"
        "open('stamped.txt', 'w').write(' '.join(sys.argv[1:]))\n"
        "print('skill', os.environ['LOOM_SKILL_NAME'], 'dir ok:', "
        "os.path.isfile(os.path.join(os.environ['LOOM_SKILL_DIR'], 'SKILL.md')))\n")})
    workspace = Path.cwd()
    h = harness([call("run_skill_script", name="stamp", script="stamp.py", args=["a", "b"]), "done"],
                [tmp_path / "skills"])
    try:
        await h.run("go")
        [result] = results(h)
        assert not result.is_error
        assert result.content == "exit code: 0\nskill stamp dir ok: True\n"
        assert (workspace / "stamped.txt").read_text() == "a b"
    finally:
        (workspace / "stamped.txt").unlink(missing_ok=True)


async def test_a_script_that_runs_too_long_is_killed(tmp_path: Path) -> None:
    make_skill(tmp_path / "skills", "slow", files={"scripts/slow.sh": "sleep 30\n"})
    h = harness([call("run_skill_script", name="slow", script="scripts/slow.sh"), "done"],
                [tmp_path / "skills"], settings={"script_timeout": 0.5})
    await h.run("go")
    [result] = results(h)
    assert result.is_error
    assert "timed out after 0.5s and was killed" in result.content


class DenyExecute:
    """A veto plugin refusing every action with the execute effect."""

    @hookimpl
    def loom_veto(self, action: Any) -> Verdict | None:
        if action.spec is not None and "execute" in {e.value for e in action.spec.effects}:
            return Verdict.deny("no commands in this test", rule="no-execute")
        return None


async def test_skill_scripts_go_through_the_harness(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    make_skill(tmp_path / "skills", "risky", files={
        "scripts/touch.py": f"open({str(marker)!r}, 'w').write('ran')\n"})
    h = harness([call("run_skill_script", name="risky", script="scripts/touch.py"), "done"],
                [tmp_path / "skills"], plugins=[DenyExecute()])
    await h.run("go")
    [result] = results(h)
    assert result.is_error
    assert "no commands in this test" in result.content
    assert not marker.exists()


async def test_opening_registers_the_skill_tools_for_the_rest_of_the_run(tmp_path: Path) -> None:
    make_skill(tmp_path, "math", "Use double_it.", files={"tools.py": (
        "from loom.tools import tool\n\n"
        "@tool\ndef double_it(n: int) -> int:\n    \"\"\"Double a number.\n\n"
        "    Args:\n        n: the number.\n    \"\"\"\n    return 2 * n\n")})
    h = harness([call("double_it", n=2), call("open_skill", name="math"),
                 call("double_it", n=21), call("double_it", n="x"), "done"], [tmp_path])
    await h.run("go")
    before, opened, after, invalid = results(h)
    assert before.is_error and "unknown tool 'double_it'" in before.content
    assert "Tools now available: double_it" in opened.content
    assert (after.is_error, after.content) == (False, "42")
    assert invalid.is_error and "invalid arguments for 'double_it'" in invalid.content
    spec = next(t for t in h.model.requests[2].tools if t.name == "double_it")
    assert spec.source == "skill:math"
    assert spec.parameters["properties"]["n"]["description"] == "the number."
    assert "skills.opened" in h.event_kinds()


async def test_opening_twice_does_not_duplicate_the_instructions(tmp_path: Path) -> None:
    make_skill(tmp_path, "notes", "NOTES-BODY")
    h = harness([call("open_skill", name="notes"), call("open_skill", name="notes"), "done"], [tmp_path])
    await h.run("go")
    first, second = results(h)
    assert "NOTES-BODY" in first.content and "already open" in second.content
    assert h.model.requests[-1].system.count("NOTES-BODY") == 1


async def test_a_broken_tools_module_is_reported_to_the_model(tmp_path: Path) -> None:
    make_skill(tmp_path, "broken", files={"tools.py": "raise RuntimeError('boom at import')\n"})
    h = harness([call("open_skill", name="broken"), "done"], [tmp_path])
    await h.run("go")
    [result] = results(h)
    assert result.is_error
    assert "tools.py of skill 'broken' failed to import" in result.content
    assert "boom at import" in result.content


async def test_a_skill_tool_may_not_shadow_an_existing_tool(tmp_path: Path) -> None:
    make_skill(tmp_path, "shadow", files={"tools.py": (
        "from loom.tools import tool\n\n@tool\ndef open_skill(name: str) -> str:\n"
        "    \"\"\"Shadow.\"\"\"\n    return name\n")})
    h = harness([call("open_skill", name="shadow"), "done"], [tmp_path])
    await h.run("go")
    [result] = results(h)
    assert result.is_error and "defines tool 'open_skill'" in result.content


async def test_the_profile_tool_allow_list_applies_to_skill_tools(tmp_path: Path) -> None:
    make_skill(tmp_path, "two", files={"tools.py": (
        "from loom.tools import tool\n\n"
        "@tool\ndef kept(x: int) -> int:\n    \"\"\"Kept.\"\"\"\n    return x\n\n"
        "@tool\ndef dropped(x: int) -> int:\n    \"\"\"Dropped.\"\"\"\n    return x\n")})
    profile = AgentProfile(tools=["open_skill", "kept"])
    h = harness([call("open_skill", name="two"), "done"], [tmp_path], profile=profile)
    await h.run("go")
    assert [t.name for t in h.model.requests[-1].tools] == ["open_skill", "kept"]


async def test_invalid_and_duplicate_skills_are_events_and_the_others_still_load(tmp_path: Path) -> None:
    make_skill(tmp_path / "a", "good")
    make_skill(tmp_path / "b", "good")
    bad = tmp_path / "a" / "bad"
    bad.mkdir()
    (bad / "SKILL.md").write_text("---\nname: bad\n---\n")
    (tmp_path / "a" / "empty").mkdir()
    h = harness(["done"], [tmp_path / "a", tmp_path / "b"])
    await h.run("go")
    invalid = [e.data for e in h.last_run.recorded if e.kind == "skills.invalid"]
    assert {(d["field"], Path(d["file"]).relative_to(tmp_path).as_posix()) for d in invalid} == {
        ("description", "a/bad/SKILL.md"), ("", "a/empty"), ("name", "b/good/SKILL.md")}
    assert any("defined twice" in d["error"] for d in invalid)
    assert "- good: Skill good" in h.model.requests[0].system


async def test_a_resumed_run_gets_the_tools_of_the_skills_it_had_opened(tmp_path: Path) -> None:
    from loom.run import Run
    from loom_skills.settings import SkillsSettings
    from loom_skills.source import CATALOG_HEADER, SkillSource

    make_skill(tmp_path, "math", "MATH-BODY", files={"tools.py": (
        "from loom.tools import tool\n\n@tool\ndef triple(n: int) -> int:\n"
        "    \"\"\"Triple.\"\"\"\n    return 3 * n\n")})
    h = harness(["done"], [tmp_path])
    run = Run(h.runtime.create_session(), "resumed goal")
    run.window.skills = [f"{CATALOG_HEADER}\n- old: stale line", "\n## Skill: math\nMATH-BODY"]
    source = SkillSource(SkillsSettings(paths=[str(tmp_path)], entry_points=False))
    for record in await source.list_tools():
        run.tools[record.name] = record
    run.window.tools = [r.spec for r in run.tools.values() if r.spec is not None]
    await source.attach(run)
    catalog, opened = run.window.skills
    assert catalog == f"{CATALOG_HEADER}\n- math: Skill math"
    assert opened == "\n## Skill: math\nMATH-BODY"
    assert "triple" in run.tools and "triple" in [s.name for s in run.window.tools]
    assert await run.tools["triple"].handler({"n": 2}, run) == 6
