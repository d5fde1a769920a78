"""The two event sinks: :class:`ConsoleSink` and :class:`JsonlSink`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from loom.events import Event

from loom_events_console.format import EventFormatter, event_to_json
from loom_events_console.settings import ConsoleSettings, JsonlSettings


def _use_color(choice: str, stream: IO[str]) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ConsoleSink:
    """Writes one readable line per shown event to standard error."""

    def __init__(self, settings: ConsoleSettings | None = None) -> None:
        self.settings = settings or ConsoleSettings()
        self.formatter = EventFormatter(
            self.settings.verbosity,
            color=_use_color(self.settings.color, sys.stderr),
            arg_chars=self.settings.arg_chars,
            show_output=self.settings.show_output,
        )

    @classmethod
    def from_settings(cls, settings: ConsoleSettings) -> ConsoleSink:
        """Build the sink from its validated ``[settings.console]``."""
        return cls(settings)

    def handle(self, event: Event) -> None:
        """Print the event's line, if it is shown at this verbosity."""
        line = self.formatter.format(event)
        if line is not None:
            print(line, file=sys.stderr, flush=True)


class JsonlSink:
    """Appends every event as one JSON line to ``path`` (``{run_id}`` expanded).

    Each run's file stays open while the run lasts, is flushed after every
    line (nothing is lost if the process dies) and is closed on
    ``run.finished``.
    """

    def __init__(self, settings: JsonlSettings | None = None, *, base: Path | None = None) -> None:
        self.settings = settings or JsonlSettings()
        self.base = base or Path.cwd()
        self._files: dict[str, IO[str]] = {}

    @classmethod
    def from_settings(cls, settings: JsonlSettings) -> JsonlSink:
        """Build the sink from its validated ``[settings.jsonl]``."""
        return cls(settings)

    def path_for(self, run_id: str) -> Path:
        """The file the events of ``run_id`` are appended to."""
        return self.base / self.settings.path.format(run_id=run_id)

    def handle(self, event: Event) -> None:
        """Append the event (unless its kind is excluded)."""
        if event.kind in self.settings.exclude_kinds:
            if event.kind == "run.finished":
                self._close(event.run_id)
            return
        stream = self._files.get(event.run_id)
        if stream is None:
            path = self.path_for(event.run_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            stream = path.open("a", encoding="utf-8")
            self._files[event.run_id] = stream
        stream.write(event_to_json(event) + "\n")
        stream.flush()
        if event.kind == "run.finished":
            self._close(event.run_id)

    def _close(self, run_id: str) -> None:
        stream = self._files.pop(run_id, None)
        if stream is not None:
            stream.close()

    def close(self) -> None:
        """Close every open file."""
        for run_id in list(self._files):
            self._close(run_id)
