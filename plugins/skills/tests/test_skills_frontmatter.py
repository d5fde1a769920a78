"""SKILL.md parsing: valid skills, and errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from loom.errors import ConfigError
from loom_skills.skill import parse_skill


def write_skill(root: Path, folder: str, text: str) -> Path:
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / "SKILL.md").write_text(text, encoding="utf-8")
    return path


def test_a_valid_skill_has_its_fields_and_body(tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "git-helper", (
        "---\nname: git-helper\ndescription: Helps with git.\n"
        "allowed-tools: shell, read\nlicense: MIT\nmetadata:\n  owner: tools-team\n---\n"
        "# Steps\n\nRun git status first.\n"))
    (folder / "notes.md").write_text("notes")
    (folder / "scripts").mkdir()
    (folder / "scripts" / "check.sh").write_text("echo ok")
    (folder / "tools.py").write_text("")
    skill = parse_skill(folder)
    assert skill.name == "git-helper"
    assert skill.description == "Helps with git."
    assert skill.instructions == "# Steps\n\nRun git status first."
    assert skill.allowed_tools == ("shell", "read")
    assert skill.metadata == {"owner": "tools-team"}
    assert skill.resources() == ["notes.md", "scripts/check.sh"]
    assert skill.scripts() == ["scripts/check.sh"]
    assert skill.tools_file == folder.resolve() / "tools.py"
    assert skill.catalog_line() == "- git-helper: Helps with git."


def test_allowed_tools_may_be_a_list(tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "a", "---\nname: a\ndescription: d\nallowed-tools: [read, grep]\n---\n")
    assert parse_skill(folder).allowed_tools == ("read", "grep")


def test_a_python_package_folder_may_spell_the_name_with_underscores(tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "unit_tools", "---\nname: unit-tools\ndescription: d\n---\n")
    assert parse_skill(folder).name == "unit-tools"


@pytest.mark.parametrize(("text", "field", "line", "words"), [
    ("---\ndescription: d\n---\n", "name", None, "missing"),
    ("---\nname: Bad_Name\ndescription: d\n---\n", "name", 2, "not a valid skill name"),
    ("---\nname: other\ndescription: d\n---\n", "name", 2, "does not match its folder"),
    ("---\nname: demo\n---\n", "description", None, "missing"),
    ("---\nname: demo\ndescription: ''\n---\n", "description", 3, "non-empty"),
    ("---\nname: demo\ndescription: " + "x" * 1100 + "\n---\n", "description", 3, "at most 1024"),
    ("---\nname: demo\ndescription: d\nallowed-tools: {a: 1}\n---\n", "allowed-tools", 4, "list of tool"),
    ("---\nname: demo\ndescripton: d\n---\n", "descripton", 3, "did you mean 'description'"),
    ("---\nname: demo\ndescription: d\nmetadata: [1]\n---\n", "metadata", 4, "mapping"),
])
def test_invalid_frontmatter_names_the_file_line_and_field(
        tmp_path: Path, text: str, field: str, line: int | None, words: str) -> None:
    folder = write_skill(tmp_path, "demo", text)
    with pytest.raises(ConfigError) as caught:
        parse_skill(folder)
    error = caught.value
    assert error.key == field
    assert error.file == str(folder / "SKILL.md")
    assert error.line == line
    assert f"field {field!r}" in str(error)
    assert words in str(error)
    assert str(folder / "SKILL.md") in str(error)


def test_missing_or_unclosed_frontmatter_and_bad_yaml_are_reported(tmp_path: Path) -> None:
    folder = write_skill(tmp_path, "demo", "# just markdown\n")
    with pytest.raises(ConfigError, match="must start with a '---' line"):
        parse_skill(folder)
    write_skill(tmp_path, "demo", "---\nname: demo\n")
    with pytest.raises(ConfigError, match="not closed"):
        parse_skill(folder)
    write_skill(tmp_path, "demo", "---\nname: demo\ndescription: [unclosed\n---\n")
    with pytest.raises(ConfigError, match="malformed YAML frontmatter") as caught:
        parse_skill(folder)
    assert caught.value.line is not None and caught.value.line >= 3
    write_skill(tmp_path, "demo", "---\n- a list\n---\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_skill(folder)


def test_a_folder_without_skill_md_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no SKILL.md"):
        parse_skill(tmp_path)
