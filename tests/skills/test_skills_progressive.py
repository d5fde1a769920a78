"""End to end: skills are loaded progressively.

The sample distribution ``loom-skills-sample`` provides ``unit-converter``
through the ``loom.skills`` entry point; ``docs/examples/skills/csv-report``
is an in-house skill folder. Until the agent calls ``open_skill`` only the
name and description reach the model; afterwards the instructions and the
skill's tools do.
"""

from __future__ import annotations

from pathlib import Path

import loom_skills
from loom.messages import ToolResultBlock
from loom.requests import ModelRequest
from loom.testing import LoomHarness, call
from loom_skills.discovery import ENTRY_POINT_GROUP, entry_point_folder
from loom_skills.skill import parse_skill

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "skills"


def sample_skill_folder() -> Path:
    from importlib.metadata import entry_points

    [ep] = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "unit-converter"]
    assert ep.dist is not None and ep.dist.name == "loom-skills-sample"
    return entry_point_folder(ep.load())


def request_text(request: ModelRequest) -> str:
    """Everything the model receives in one request, as text."""
    return request.model_dump_json()


def results(h: LoomHarness) -> list[ToolResultBlock]:
    return [b for m in h.last_run.window.history for b in m.tool_results]


async def test_installed_skill_body_reaches_the_model_only_after_open_skill() -> None:
    skill = parse_skill(sample_skill_folder())
    body = skill.instructions
    assert len(body) > 200
    h = LoomHarness(
        [call("convert_units", value=5, from_unit="km", to_unit="mi"),
         call("open_skill", name="unit-converter"),
         call("convert_units", value=5, from_unit="km", to_unit="mi"),
         [call("read_skill_resource", name="unit-converter", path="units.md"),
          call("run_skill_script", name="unit-converter", script="scripts/table.py",
               args=["kg", "lb", "1", "2"])],
         "5 km = 3.10686 mi"],
        plugins=[loom_skills], config={"settings": {"skills": {"paths": []}}})
    result = await h.run("How many miles are 5 km?")
    assert result.ok, result.error
    requests = h.model.requests
    assert len(requests) == 5
    for request in requests[:2]:  # before open_skill ran
        text = request_text(request)
        assert skill.catalog_line() in request.system
        assert body not in text
        assert "Never convert in your head" not in text
        assert "convert_units" not in [t.name for t in request.tools]
    for request in requests[2:]:  # after
        assert body in request.system
        assert "convert_units" in [t.name for t in request.tools]
    too_early, opened, converted, resource, table = results(h)
    assert too_early.is_error and "unknown tool 'convert_units'" in too_early.content
    assert body in opened.content
    assert converted.content == "5 km = 3.10686 mi"
    assert "| mass | `g`, `kg`, `oz`, `lb` |" in resource.content
    assert table.content == "exit code: 0\n| kg | lb |\n|---|---|\n| 1 | 2.20462 |\n| 2 | 4.40925 |\n"
    opened_events = [e.data for e in h.last_run.recorded if e.kind == "skills.opened"]
    assert opened_events == [{"skill": "unit-converter", "tools": ["convert_units"],
                              "folder": str(skill.folder)}]


async def test_documented_example_skill_summarises_a_csv_file(tmp_path: Path) -> None:
    skill = parse_skill(EXAMPLES / "csv-report")
    data = Path.cwd() / f"loom-skill-test-{tmp_path.name}.csv"
    data.write_text("item,amount,note\napples,3.5,\npears,4,ripe\nplums,,\n")
    try:
        h = LoomHarness(
            [call("open_skill", name="csv-report"),
             call("csv_summary", path=data.name),
             call("run_skill_script", name="csv-report", script="scripts/column_total.py",
                  args=[data.name, "amount"]),
             "report written"],
            plugins=[loom_skills],
            config={"settings": {"skills": {"paths": [str(EXAMPLES)], "entry_points": False}}})
        result = await h.run("Summarise the CSV")
    finally:
        data.unlink()
    assert result.ok, result.error
    assert skill.instructions not in request_text(h.model.requests[0])
    assert skill.instructions in h.model.requests[1].system
    opened, summary, total = results(h)
    assert "Files (read with read_skill_resource): report-template.md" in opened.content
    assert '"rows": 3' in summary.content
    assert '"amount": {"filled": 2, "total": 7.5, "mean": 3.75, "min": 3.5, "max": 4.0}' in summary.content
    assert total.content == "exit code: 0\namount: 7.5\n"
