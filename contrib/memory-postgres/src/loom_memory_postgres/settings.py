"""``[settings.postgres]``: which database, which schema, how many connections."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: A schema name is used unquoted in ``search_path``: keep it a plain identifier.
SCHEMA_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"


class PostgresSettings(BaseModel):
    """Settings of the PostgreSQL store.

    ``dsn`` is a libpq connection string or URL
    (``postgresql://user@host:5432/db``); when empty, libpq's environment
    variables (``PGHOST``, ``PGUSER``, ...) decide. ``schema`` is the
    PostgreSQL schema holding Loom's tables (made on first use), so several
    projects can share one database. ``pool_size`` caps the connections one
    store opens; ``connect_timeout`` is in seconds.
    """

    model_config = ConfigDict(extra="forbid")

    dsn: str = ""
    schema_name: str = Field(default="loom", alias="schema", pattern=SCHEMA_PATTERN)
    pool_size: int = Field(default=4, ge=1, le=100)
    connect_timeout: float = Field(default=10.0, gt=0)
