"""A 6-layer BERT encoder in numpy, with mean pooling: the all-MiniLM-L6-v2 sentence embedder.

Weights are read from ``model.safetensors`` (a JSON header, then raw
little-endian arrays); no deep-learning framework is involved. Texts are
batched by length so that little padding is computed.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from loom_embed_minilm.tokenizer import WordPieceTokenizer

Array = npt.NDArray[np.float32]
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """Every tensor of a ``.safetensors`` file, as numpy arrays (float tensors as float32)."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    body = memoryview(data)[8 + size:]
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, which is not supported")
        begin, end = info["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"])
        tensors[name] = array.astype(np.float32, copy=False) if dtype != np.int64 else array
    return tensors


def _erf(x: Array) -> Array:
    """The error function (Abramowitz and Stegun 7.1.26; absolute error below 1.5e-7)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    result: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return result


def _gelu(x: Array) -> Array:
    result: Array = 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))
    return result


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias  # type: ignore[no-any-return]


class SentenceEncoder:
    """BERT (post-norm, GELU) + attention-masked mean pooling + L2 normalisation."""

    def __init__(self, folder: Path, *, max_length: int = 256, batch_size: int = 32) -> None:
        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_length = min(max_length, int(config["max_position_embeddings"]))
        self.batch_size = batch_size
        self.tokenizer = WordPieceTokenizer.from_file(folder / "tokenizer.json")
        weights = read_safetensors(folder / "model.safetensors")
        self.w = {name.removeprefix("bert."): value for name, value in weights.items()}
        for i in range(self.layers):  # one fused projection for query, key and value
            p = f"encoder.layer.{i}.attention.self."
            self.w[p + "qkv.weight"] = np.concatenate(
                [self.w[p + n + ".weight"] for n in ("query", "key", "value")]).T.copy()
            self.w[p + "qkv.bias"] = np.concatenate(
                [self.w[p + n + ".bias"] for n in ("query", "key", "value")])
        for name in [n for n in self.w if n.endswith("dense.weight")]:
            self.w[name] = self.w[name].T.copy()  # stored (out, in); multiply from the right

    def encode(self, texts: Sequence[str]) -> Array:
        """One unit-length vector per text."""
        ids = [self.tokenizer.encode(t, self.max_length) for t in texts]
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            out[chunk] = self._batch([ids[i] for i in chunk])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit: Array = (out / norms).astype(np.float32)
        return unit

    def _batch(self, ids: list[list[int]]) -> Array:
        w, heads = self.w, self.heads
        length = max(len(row) for row in ids)
        tokens = np.zeros((len(ids), length), dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.float32)
        for row, sequence in enumerate(ids):
            tokens[row, :len(sequence)] = sequence
            mask[row, :len(sequence)] = 1.0
        x = (w["embeddings.word_embeddings.weight"][tokens]
             + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        batch, size, hidden = x.shape[0], self.hidden // heads, self.hidden
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        x = x.reshape(batch * length, hidden)  # dense layers as one 2-D product each
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = (x @ w[p + "attention.self.qkv.weight"] + w[p + "attention.self.qkv.bias"])
            q, k, v = (qkv[:, j * hidden:(j + 1) * hidden].reshape(batch, length, heads, size)
                       .transpose(0, 2, 1, 3) for j in range(3))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size)) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, hidden)
            attended = context @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
            x = _layer_norm(x + attended, w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self.eps)
            inner = _gelu(x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
            x = _layer_norm(x + inner @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"],
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        x = x.reshape(batch, length, hidden)
        pooled: Array = (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled
