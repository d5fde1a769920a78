"""Errors of the PostgreSQL store.

::

    LoomError
    └── StoreError              the store cannot be used (names the database)
        ├── StoreCorruptError   the schema holds tables that are not Loom's
        └── StoreVersionError   the schema was written by a newer version
"""

from __future__ import annotations

from loom.errors import LoomError


class StoreError(LoomError):
    """The store cannot be used; the message names the database and schema."""


class StoreCorruptError(StoreError):
    """The schema is not a Loom store. Nothing was written to it."""


class StoreVersionError(StoreError):
    """The schema is newer than this version understands; nothing was written.

    ``found`` is the stored schema version, ``supported`` this code's.
    """

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(message)
