"""``[settings.memory]``: where memories live, how they are embedded and recalled."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The memory database, relative to the working directory (the project), beside
#: the run store's ``.loom/loom.db``.
DEFAULT_PATH = ".loom/memory.db"


class MemorySettings(BaseModel):
    """Settings of the memory plugin.

    ``path`` is the memory database (a relative path is taken from the
    working directory when it is first used). ``embedder`` names the
    embedder (``"hashing"``, the offline default; ``"minilm"`` with
    ``loom-embed-minilm`` installed). At run start the ``k`` memories most
    similar to the goal, with a cosine score of at least ``min_score``, fill
    the memory partition (``k = 0`` turns that off). ``sessions`` gives a
    session created with the id of an earlier one its conversation back, read
    from the run store (among the ``session_lookback`` most recent runs);
    ``capture_ledger`` keeps the decisions, constraints, values and errors of
    a run's fact ledger as notes when the run ends. ``busy_timeout`` is how
    many seconds a write waits for another process to release the file.
    """

    model_config = ConfigDict(extra="forbid")

    path: str = Field(default=DEFAULT_PATH, min_length=1)
    embedder: str = Field(default="hashing", min_length=1)
    k: int = Field(default=5, ge=0, le=100)
    min_score: float = Field(default=0.2, ge=-1.0, le=1.0)
    sessions: bool = True
    session_lookback: int = Field(default=1000, ge=1)
    capture_ledger: bool = True
    busy_timeout: float = Field(default=30.0, gt=0)

    @field_validator("embedder")
    @classmethod
    def _known_embedder(cls, name: str) -> str:
        from loom_memory_recall.embedders import check_embedder_name
        from loom_memory_recall.errors import RecallError

        try:
            check_embedder_name(name)
        except RecallError as exc:
            raise ValueError(str(exc)) from None
        return name
