"""The user guide's examples run as written, with a scripted model as provider.

Only the ``provider="anthropic"`` argument is replaced; each example runs in
its own process, from an empty folder, with the installed plugins.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

USER_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "user-guide.md"
PROVIDER = 'provider="anthropic"'


def example(heading: str) -> str:
    """The first Python block after ``## heading`` in the user guide."""
    text = USER_GUIDE.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n.*?^```python\n(.*?)^```$", text, re.M | re.S)
    assert match, f"the user guide has no Python example under '## {heading}'"
    return match.group(1)


def run_with_scripted_provider(code: str, replies: str, folder: Path) -> str:
    """Run ``code`` with its provider line swapped for ``ScriptedModel(replies)``."""
    assert code.count(PROVIDER) == 1, "the example must name its provider exactly once"
    script = folder / "example.py"
    script.write_text(
        "from loom.testing import ScriptedModel, call\n"
        + code.replace(PROVIDER, f"provider=ScriptedModel({replies})"),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    done = subprocess.run([sys.executable, str(script)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quick_start_runs(tmp_path: Path) -> None:
    out = run_with_scripted_provider(
        example("Quick Start"), '["It is the text a model can attend to at once."]', tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("run.started {'goal': 'Explain in one sentence")
    assert any(line.startswith("run.finished {'status': 'succeeded'") for line in lines)
    assert lines[-1] == "succeeded It is the text a model can attend to at once."


def test_tools_example_runs(tmp_path: Path) -> None:
    replies = ('[call("word_count", text="the quick brown fox"), '
               'lambda request: request.messages[-1].tool_results[0].content + " words"]')
    out = run_with_scripted_provider(example("Giving the agent tools"), replies, tmp_path)
    assert out.strip() == "4 words"


def test_synchronous_example_runs(tmp_path: Path) -> None:
    out = run_with_scripted_provider(
        example("From synchronous code"), '["README.md describes Loom.", "No TODOs."]', tmp_path)
    assert out.strip() == "README.md describes Loom."
