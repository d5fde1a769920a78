"""Loom event sinks: ``console`` (readable lines on stderr) and ``jsonl`` (an event log).

Turn them on in ``loom.toml``::

    [stages]
    event_sinks = ["console", "jsonl"]

    [settings.console]
    verbosity = 2

    [settings.jsonl]
    path = ".loom/events/{run_id}.jsonl"

This entry-point module stays import-light: the sinks are built from import
strings when a run starts.
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import EventSinkRecord, Record

from loom_events_console.settings import ConsoleSettings, JsonlSettings

__all__ = ["ConsoleSettings", "JsonlSettings", "loom_register_event_sinks"]


@hookimpl
def loom_register_event_sinks() -> list[Record]:
    """Register the ``console`` and ``jsonl`` event sinks."""
    return [
        EventSinkRecord(
            name="console",
            factory="loom_events_console.sinks:ConsoleSink.from_settings",
            settings=ConsoleSettings,
            description="readable progress lines on standard error",
        ),
        EventSinkRecord(
            name="jsonl",
            factory="loom_events_console.sinks:JsonlSink.from_settings",
            settings=JsonlSettings,
            description="every event as one JSON line in a file per run",
        ),
    ]
