"""``loom skills`` and ``loom skills new``, run as the real command in a project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from loom_skills.cli import list_skills, scaffold
from loom_skills.settings import SkillsSettings
from loom_skills.skill import parse_skill


def loom(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["HOME"] = str(project / "home")
    return subprocess.run([sys.executable, "-m", "loom_cli", *args], cwd=project, env=env,
                          text=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "loom.toml").write_text("[settings.skills]\nentry_points = false\n")
    return tmp_path


def test_new_scaffolds_a_valid_skill_that_list_then_shows(project: Path) -> None:
    created = loom(project, "skills", "new", "release-notes", "--tools",
                   "--description", "Write release notes from the git log.")
    assert created.returncode == 0, created.stderr
    folder = project / ".loom" / "skills" / "release-notes"
    assert created.stdout.strip() == f"created {Path('.loom/skills/release-notes/SKILL.md')}"
    skill = parse_skill(folder)
    assert skill.description == "Write release notes from the git log."
    assert (folder / "tools.py").is_file() and (folder / "scripts").is_dir()
    listed = loom(project, "skills", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [s["name"] for s in data["skills"]] == ["release-notes"]
    assert data["skills"][0]["tools"] is True and data["errors"] == []
    table = loom(project, "skills")
    assert table.stdout.startswith("release-notes  Write release notes from the git log.")


def test_new_refuses_a_bad_name_and_an_existing_folder(project: Path) -> None:
    bad = loom(project, "skills", "new", "Release_Notes")
    assert bad.returncode == 2
    assert "'Release_Notes' is not a valid skill name" in bad.stderr
    assert loom(project, "skills", "new", "notes").returncode == 0
    again = loom(project, "skills", "new", "notes")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_an_invalid_skill_fails_the_listing_naming_file_and_field(project: Path) -> None:
    folder = project / ".loom" / "skills" / "broken"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: broken\ndescription: 42\n---\n")
    result = loom(project, "skills")
    assert result.returncode == 2
    assert "SKILL.md:3: field 'description': must be non-empty text" in result.stderr
    assert "no skills found" in result.stdout


def test_unknown_settings_keys_are_a_configuration_error(project: Path) -> None:
    (project / "loom.toml").write_text("[settings.skills]\npath = ['x']\n")
    result = loom(project, "skills")
    assert result.returncode == 2
    assert "settings.skills" in result.stderr and "path" in result.stderr


def test_the_functions_behind_the_commands(tmp_path: Path) -> None:
    folder = scaffold("checklist", tmp_path / "skills")
    found = list_skills(SkillsSettings(paths=[str(tmp_path / "skills")], entry_points=False), tmp_path)
    assert list(found.skills) == ["checklist"]
    assert found.skills["checklist"].folder == folder.resolve()
    installed = list_skills(SkillsSettings(paths=[]), tmp_path)
    assert "unit-converter" in installed.skills
