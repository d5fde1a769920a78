"""Loom's built-in tools, confined to the workspace root.

| tool | effects | what it does |
|---|---|---|
| ``read`` | read | a text file (optionally a range of lines) |
| ``list`` | read | the entries of a folder |
| ``glob`` | read | paths matching a glob pattern |
| ``grep`` | read | lines matching a regular expression |
| ``write`` | mutate | create or replace a text file |
| ``edit`` | mutate | replace an exact, unique piece of text in a file |
| ``shell`` | execute | one command line in the workspace, with a timeout and an output cap |

The workspace root is ``run.runtime.workspace``. Paths are resolved against
it, with ``..`` and symbolic links resolved first: anything that leads
outside (an absolute path, a ``..`` escape, a link) is refused with an
error the model sees. The harness decides whether a call runs at all;
these tools only make sure an allowed call stays inside the workspace.
"""

from __future__ import annotations

from loom.hookspecs import hookimpl
from loom.records import Record, SettingsRecord

from loom_tools_builtin.files import edit_file, glob_paths, grep_files, list_entries, read_file, write_file
from loom_tools_builtin.settings import SETTINGS_NAME, BuiltinToolsSettings
from loom_tools_builtin.shell import run_shell

#: Every built-in tool record, in the order they are registered.
TOOLS: tuple[Record, ...] = (read_file, list_entries, glob_paths, grep_files, write_file,
                             edit_file, run_shell)

__all__ = ["SETTINGS_NAME", "TOOLS", "BuiltinToolsSettings", "loom_register_settings",
           "loom_register_tools"]


@hookimpl
def loom_register_tools() -> list[Record]:
    """Register read, list, glob, grep, write, edit and shell."""
    return list(TOOLS)


@hookimpl
def loom_register_settings() -> list[Record]:
    """Declare ``[settings.tools-builtin]`` (see :class:`BuiltinToolsSettings`)."""
    return [SettingsRecord(name=SETTINGS_NAME, settings=BuiltinToolsSettings,
                           description="limits of the built-in tools")]
