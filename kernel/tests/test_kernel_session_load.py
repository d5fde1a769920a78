"""Sessions that outlive their process: the ``loom_load_session`` hook."""

from __future__ import annotations

from typing import Any

from loom.hookspecs import hookimpl
from loom.messages import Message
from loom.testing import LoomHarness


class KeptSessions:
    """Keeps each session's conversation, as a memory plugin would."""

    def __init__(self) -> None:
        self.kept: dict[str, list[Message]] = {}
        self.asked: list[str] = []

    @hookimpl
    def loom_run_finished(self, run: Any, result: Any) -> None:
        self.kept[run.session.id] = [m for m in run.window.history if not m.meta.get("delta")]

    @hookimpl
    def loom_load_session(self, session_id: str, run: Any) -> list[Message] | None:
        self.asked.append(session_id)
        return self.kept.get(session_id)


async def test_a_new_runtime_gets_an_earlier_session_back() -> None:
    kept = KeptSessions()
    first = LoomHarness(["the answer is 42"], plugins=[kept])
    session = first.runtime.create_session("chat-1")
    await session.create_task("what is the answer?").start().wait()

    second = LoomHarness(["you asked about the answer"], plugins=[kept])
    again = second.runtime.create_session("chat-1")
    result = await again.create_task("what did I ask before?").start().wait()
    assert result.ok
    texts = [m.text_content for m in second.model.requests[0].messages]
    assert texts == ["what is the answer?", "the answer is 42", "what did I ask before?"]


async def test_the_hook_is_asked_once_per_session_and_never_when_history_is_there() -> None:
    kept = KeptSessions()
    harness = LoomHarness(["one", "two"], plugins=[kept])
    session = harness.runtime.create_session("chat-2")
    await session.create_task("first").start().wait()
    await session.create_task("second").start().wait()
    assert kept.asked == ["chat-2"]
    texts = [m.text_content for m in harness.model.requests[1].messages]
    assert texts == ["first", "one", "second"]


async def test_an_unknown_session_starts_empty() -> None:
    harness = LoomHarness(["hello"], plugins=[KeptSessions()])
    await harness.runtime.create_session("never-seen").create_task("hi").start().wait()
    assert [m.text_content for m in harness.model.requests[0].messages] == ["hi"]


async def test_a_session_without_a_given_id_is_never_looked_up() -> None:
    kept = KeptSessions()
    harness = LoomHarness(["hello"], plugins=[kept])
    await harness.run("hi")
    assert kept.asked == []
