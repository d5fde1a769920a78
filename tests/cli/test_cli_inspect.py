"""``loom --help``, ``loom plugins`` and ``loom config check`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Loom = Callable[..., subprocess.CompletedProcess[str]]
ONLY_OURS = '[plugins]\nenable = ["events-console", "loop-guard"]\n'


def test_help_lists_commands_and_exit_codes(loom: Loom) -> None:
    done = loom("--help")
    assert done.returncode == 0
    for command in ("run", "plugins", "config", "runs", "show"):
        assert f"    {command} " in done.stdout
    assert "exit codes:" in done.stdout
    assert "4    no provider available" in done.stdout
    assert "130  interrupted" in done.stdout


def test_help_loads_no_plugin_and_no_kernel_module(project: Path,
                                                   cli_env: dict[str, str]) -> None:
    code = ("import sys; from loom_cli.app import run_cli; run_cli(['--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('loom', 'pydantic'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=project, env=cli_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "['loom_cli', 'loom_cli.app', 'loom_cli.exitcodes']"


def test_no_command_and_bad_arguments_are_usage_errors(loom: Loom) -> None:
    assert loom().returncode == 2
    done = loom("run", "--max-steps", "0", "goal")
    assert done.returncode == 2
    assert "--max-steps: must be at least 1, got 0" in done.stderr


def test_plugins_lists_the_console_and_loop_guard_plugins(loom: Loom) -> None:
    done = loom("plugins")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()
            if line and not line.startswith(" ")}
    assert rows["events-console"][1:4] == ["loom-events-console", "0.1.0", "loaded"]
    assert rows["loop-guard"][1:4] == ["loom-loop-guard", "0.1.0", "loaded"]
    assert "records: event_sinks:console, event_sinks:jsonl" in done.stdout
    assert ("hooks:   collect_injections, register_settings, should_stop, tool_finished, "
            "wrap_step") in done.stdout


def test_plugins_json_says_where_the_code_lives(loom: Loom) -> None:
    done = loom("plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["plugin"]: row for row in json.loads(done.stdout)}
    guard = rows["loop-guard"]
    assert guard["status"] == "loaded"
    assert "loop" in guard["stages"] and "loom_should_stop" in guard["hooks"]
    assert Path(guard["location"]).name == "__init__.py"
    assert Path(guard["location"]).parent.name == "loom_loop_guard"


def test_disabled_plugin_is_listed_as_blocked_and_not_imported(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text('[plugins]\ndisable = ["loop-guard"]\n')
    rows = {row["plugin"]: row for row in json.loads(loom("plugins", "--json").stdout)}
    assert rows["loop-guard"]["status"] == "blocked"
    assert rows["loop-guard"]["hooks"] == [] and rows["loop-guard"]["records"] == []
    assert rows["loop-guard"]["location"].endswith("__init__.py")
    assert rows["events-console"]["status"] == "loaded"
    table = loom("plugins").stdout
    assert "hooks:   not imported (blocked); entry point loom_loop_guard" in table


def test_enable_list_marks_the_others_not_enabled(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text('[plugins]\nenable = ["events-console"]\n')
    rows = {row["plugin"]: row for row in json.loads(loom("plugins", "--json").stdout)}
    assert rows["events-console"]["status"] == "loaded"
    assert rows["loop-guard"]["status"] == "not enabled"


def test_malformed_toml_exits_2_naming_file_and_line(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text('[plugins]\ndisable = [loop-guard]\n')
    for command in (["plugins"], ["config", "check"], ["run", "--demo", "hi"]):
        done = loom(*command)
        assert done.returncode == 2, command
        assert str(project / "loom.toml") in done.stderr
        assert "malformed TOML" in done.stderr and "line 2" in done.stderr
        assert done.stdout == ""


def test_unknown_plugin_in_disable_exits_2_with_did_you_mean(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text('[plugins]\ndisable = ["loop-gaurd"]\n')
    done = loom("plugins")
    assert done.returncode == 2
    assert f"{project / 'loom.toml'}:2: plugins.disable: unknown plugin 'loop-gaurd'" in done.stderr
    assert "(did you mean 'loop-guard'?)" in done.stderr


def test_config_check_prints_the_validated_settings(project: Path, loom: Loom) -> None:
    (project / "loom.toml").write_text(
        '[plugins]\nenable = ["events-console", "loop-guard"]\n\n'
        '[stages]\nevent_sinks = ["jsonl"]\n\n'
        '[profile]\nmax_total_tokens = 5000\n\n'
        '[settings.loop-guard]\nrepeat_limit = 4\n\n'
        '[settings.console]\nverbosity = 2\n')
    done = loom("config", "check")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"configuration: {project / 'loom.toml'}" in out
    assert "  event_sinks: jsonl" in out
    assert "  max_total_tokens = 5000" in out
    guard = out.split("[settings.loop-guard] (plugin loop-guard, from loom.toml)\n")[1]
    assert guard.startswith("    max_total_tokens = (unset)\n")
    assert "    repeat_limit = 4\n" in guard and "    warn_at = 0.8\n" in guard
    assert "[settings.console] (plugin events-console, from loom.toml)\n    verbosity = 2" in out
    assert '[settings.jsonl] (plugin events-console, from defaults)\n    path = ' in out
    assert out.rstrip().endswith("configuration OK")


def test_config_check_reports_bad_settings_and_stages(project: Path, loom: Loom) -> None:
    toml = project / "loom.toml"
    toml.write_text(ONLY_OURS + '[settings.loop-guard]\nrepeat_limit = 1\n')
    done = loom("config", "check")
    assert done.returncode == 2
    assert f"{toml}:4: settings.loop-guard.repeat_limit:" in done.stderr
    assert "greater than or equal to 2" in done.stderr
    toml.write_text(ONLY_OURS + '[stages]\nevent_sinks = ["consol"]\n')
    done = loom("config", "check")
    assert done.returncode == 2
    assert "stages.event_sinks: no event_sinks record named 'consol' (did you mean 'console'?)" \
        in done.stderr
    toml.write_text(ONLY_OURS + '[profile]\npreset = "quik"\n')
    done = loom("config", "check")
    assert done.returncode == 2 and "unknown preset 'quik' (did you mean 'quick'?)" in done.stderr
