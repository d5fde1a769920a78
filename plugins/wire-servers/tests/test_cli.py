"""The JSON script format and the ``python -m loom_wire_servers`` command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from loom_wire_servers import Fault, Reply, ToolCall, Usage, load_script


def test_load_script_builds_items() -> None:
    items = load_script(
        json.dumps(
            [
                {"text": "hi", "usage": {"input_tokens": 3, "output_tokens": 1}},
                {"tool_calls": [{"name": "read", "arguments": '{"bad', "id": "c1"}]},
                {"fault": "status", "status": 429, "retry_after": 0.5},
                {"fault": "context_overflow", "limit": 10},
                {"fault": "reset_mid_stream", "after_events": 2},
                {"fault": "truncated_stream", "reply": {"text": "cut"}},
                {"fault": "slow_first_byte", "seconds": 0.1},
                {"fault": "stream_error", "status": 500},
                {"fault": "disconnect"},
            ]
        )
    )
    assert items[0] == Reply(text="hi", usage=Usage(input_tokens=3, output_tokens=1))
    assert items[1] == Reply(tool_calls=[ToolCall("read", '{"bad', "c1")])
    assert items[2] == Fault.status(429, retry_after=0.5)
    assert [i.kind for i in items[3:] if isinstance(i, Fault)] == [
        "context_overflow",
        "reset",
        "truncated",
        "slow_first_byte",
        "stream_error",
        "disconnect",
    ]


@pytest.mark.parametrize(
    "bad",
    [[{"text": "x"}, 1], [{"fault": "explode"}], [{"txt": "typo"}], [{"fault": "status", "status": 200}]],
)
def test_load_script_rejects_bad_input(bad: list[object]) -> None:
    with pytest.raises(ValueError):
        load_script(bad)


def test_command_line_server(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "from the file"}]))
    process = subprocess.Popen(
        [sys.executable, "-m", "loom_wire_servers", "openai", "--script", str(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0) as client:
            answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "from the file"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        if process.stdout is not None:
            process.stdout.close()
