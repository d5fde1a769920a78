"""``loom runs`` and ``loom show``: a clear message without a store, and reading a store."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

Loom = Callable[..., subprocess.CompletedProcess[str]]

# A small store keeping each run in one JSON file, written as a local plugin file.
JSON_STORE = '''\
import json
from pathlib import Path

from loom.events import Event
from loom.hookspecs import hookimpl
from loom.records import StoreRecord


class JsonFileStore:
    """Each run in .loom/runs/<run_id>.json; enough of the store contract for a run."""

    folder = Path(".loom/runs")

    async def open(self):
        self.folder.mkdir(parents=True, exist_ok=True)

    async def close(self):
        pass

    def _path(self, run_id):
        return self.folder / f"{run_id}.json"

    def _read(self, run_id):
        path = self._path(run_id)
        if path.is_file():
            return json.loads(path.read_text())
        return {"info": None, "events": [], "checkpoint": None, "approvals": []}

    def _write(self, run_id, doc):
        self._path(run_id).write_text(json.dumps(doc))

    async def create_run(self, info):
        doc = self._read(info.run_id)
        doc["info"] = info.model_dump()
        self._write(info.run_id, doc)

    async def commit_step(self, checkpoint, events):
        doc = self._read(checkpoint.run_id)
        doc["checkpoint"] = checkpoint.model_dump()
        doc["events"] += [e.model_dump() for e in events]
        self._write(checkpoint.run_id, doc)

    async def finish_run(self, info, events):
        doc = self._read(info.run_id)
        doc["info"] = info.model_dump()
        doc["events"] += [e.model_dump() for e in events]
        self._write(info.run_id, doc)

    async def tool_call_started(self, key, run_id, call):
        pass

    async def tool_call_finished(self, key, result):
        pass

    async def tool_call_state(self, key):
        return None

    async def save_approval(self, run_id, approval):
        pass

    async def save_artifact(self, run_id, name, media_type, digest, data):
        pass

    async def load_run(self, run_id):
        if not self._path(run_id).is_file():
            return None
        doc = self._read(run_id)
        return {"info": doc["info"], "events": [Event.model_validate(e) for e in doc["events"]]}

    async def list_runs(self, limit=50):
        infos = [json.loads(p.read_text())["info"] for p in self.folder.glob("*.json")]
        infos.sort(key=lambda i: i["created_at"], reverse=True)
        return infos[:limit]


@hookimpl
def loom_register_stores():
    return [StoreRecord(name="json-files", factory=JsonFileStore)]
'''

ONLY_CONSOLE = '[plugins]\nenable = ["events-console"]\n'


def test_without_a_store_plugin_runs_and_show_exit_3(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text(ONLY_CONSOLE)
    for command in (["runs"], ["show", "abc123"]):
        done = loom(*command)
        assert done.returncode == 3
        assert done.stderr.startswith(f"loom: no store plugin is installed: `loom {command[0]}`")
        assert "[stages] store" in done.stderr


def test_store_turned_off_and_unknown_store(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text(ONLY_CONSOLE + '\n[stages]\nstore = "none"\n')
    done = loom("runs")
    assert done.returncode == 3 and 'the store is turned off ([stages] store = "none")' \
        in done.stderr
    (project / "loom.toml").write_text(ONLY_CONSOLE + '\n[stages]\nstore = "sqlit"\n')
    done = loom("runs")
    assert done.returncode == 2
    assert "loom.toml:5: stages.store: no store record named 'sqlit'" in done.stderr


def test_runs_and_show_read_from_a_store_plugin(project: Path, loom: Loom) -> None:
    (project / "json_store.py").write_text(JSON_STORE)
    (project / "loom.toml").write_text(
        '[plugins]\nenable = ["events-console"]\npaths = ["json_store.py"]\n')
    assert "no runs stored yet (store 'json-files')" in loom("runs").stdout
    first = loom("run", "--demo", "--json", "first goal")
    second = loom("run", "--demo", "--json", "second goal")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    run_ids = [json.loads(d.stdout.splitlines()[0])["run_id"] for d in (first, second)]

    listing = loom("runs")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["RUN", "STATUS", "CREATED", "GOAL"]
    assert lines[1].startswith(run_ids[1]) and lines[1].endswith("second goal")
    assert lines[2].startswith(run_ids[0]) and "succeeded" in lines[2]
    rows = json.loads(loom("runs", "--json", "--limit", "1").stdout)
    assert [r["run_id"] for r in rows] == [run_ids[1]]

    shown = loom("show", run_ids[0])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("run started: first goal")
    assert '  -> demo_list_dir(path=".")' in shown.stdout
    assert "run succeeded after 2 step(s)\n[scripted demo model]" in shown.stdout
    as_json = loom("show", "--json", run_ids[0]).stdout.splitlines()
    assert json.loads(as_json[-1])["kind"] == "run.finished"

    missing = loom("show", "nope")
    assert missing.returncode == 2
    assert "no run 'nope' in store 'json-files'" in missing.stderr
