"""Errors of the SQLite store.

::

    LoomError
    └── StoreError              the store cannot be used (names the file)
        ├── StoreCorruptError   the file is not a Loom database, or is damaged
        └── StoreVersionError   the file was written by a newer version
"""

from __future__ import annotations

from loom.errors import LoomError


class StoreError(LoomError):
    """The store cannot be used; the message names the database."""


class StoreCorruptError(StoreError):
    """The database is not a Loom store or is damaged. Nothing was written to it."""


class StoreVersionError(StoreError):
    """The database's schema is newer than this version understands.

    ``found`` is the database's schema version, ``supported`` this code's.
    Nothing was written to it.
    """

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(message)
