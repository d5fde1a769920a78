"""``loom memory``: the real command in a temporary project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from loom_memory_recall import MemoryAPI


def loom(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    return subprocess.run([sys.executable, "-m", "loom_cli", "memory", *args], cwd=project, env=env,
                          text=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "loom.toml").write_text('[plugins]\nenable = ["memory-recall"]\n')
    return tmp_path


def test_add_search_list_and_forget(project: Path) -> None:
    added = loom(project, "add", "The staging database listens on port 6842", "--tag", "db",
                 "--source", "ops handbook")
    assert added.returncode == 0 and added.stdout == "kept as memory 1\n", added.stderr
    loom(project, "add", "Alice prefers green tea in the morning")
    found = loom(project, "search", "staging db port", "-k", "1")
    assert found.returncode == 0
    assert "[memory 1] The staging database listens on port 6842 (fact, kept by a user on " in found.stdout
    assert len(found.stdout.splitlines()) == 1
    listed = json.loads(loom(project, "list", "--json").stdout)
    assert [m["id"] for m in listed] == [2, 1]
    assert listed[1]["tags"] == ["db"] and listed[1]["source"] == "ops handbook"
    assert listed[1]["author"] == "user" and listed[1]["kind"] == "fact"
    forgot = loom(project, "forget", "1")
    assert forgot.stdout == "forgot memory 1: The staging database listens on port 6842\n"
    assert [m.id for m in MemoryAPI(project / ".loom" / "memory.db").recent()] == [2]
    again = loom(project, "forget", "1")
    assert again.returncode == 2 and "no memory with id 1" in again.stderr


def test_the_settings_choose_the_file_and_bad_settings_name_the_key(project: Path) -> None:
    (project / "loom.toml").write_text('[settings.memory]\npath = "kept/mem.db"\n')
    assert loom(project, "add", "a fact worth keeping").returncode == 0
    assert (project / "kept" / "mem.db").is_file()
    (project / "loom.toml").write_text('[settings.memory]\npaths = "x.db"\n')
    bad = loom(project, "list")
    assert bad.returncode == 2
    assert "settings.memory.paths: unknown setting (did you mean 'path'?)" in bad.stderr


def test_an_empty_list_and_a_missing_subcommand(project: Path) -> None:
    assert loom(project, "list").stdout == "no memories\n"
    assert not (project / ".loom").exists()
    missing = loom(project)
    assert missing.returncode == 2 and "choose list, add, search or forget" in missing.stderr
