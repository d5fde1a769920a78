"""Errors of the memory plugin.

::

    LoomError
    └── RecallError             memory cannot be used, or was asked something invalid
        ├── MemoryNotFound      no memory has that id
        └── MemoryVersionError  the database was written by a newer version
"""

from __future__ import annotations

from loom.errors import LoomError


class RecallError(LoomError):
    """Memory cannot be used, or was asked something invalid; the message says what and where."""


class MemoryNotFound(RecallError):
    """No memory has the id that was asked for."""


class MemoryVersionError(RecallError):
    """The memory database's schema is newer than this version understands; nothing was written."""
