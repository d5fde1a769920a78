"""``[settings.sqlite]``: where the database lives and how long to wait for a lock."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The database file, relative to the working directory (the project).
DEFAULT_PATH = ".loom/loom.db"


class SqliteSettings(BaseModel):
    """Settings of the SQLite store.

    ``path`` is the database file; a relative path is taken from the working
    directory when the store opens. ``busy_timeout`` is how many seconds a
    write waits for another connection (another process, say) to release
    the database before it fails. ``synchronous`` is SQLite's durability
    level: ``"normal"`` survives a crash of the process (and is fast),
    ``"full"`` also survives a power loss.
    """

    model_config = ConfigDict(extra="forbid")

    path: str = Field(default=DEFAULT_PATH, min_length=1)
    busy_timeout: float = Field(default=30.0, gt=0)
    synchronous: Literal["normal", "full"] = "normal"
