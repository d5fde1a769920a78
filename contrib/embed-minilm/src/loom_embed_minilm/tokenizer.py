"""The uncased BERT tokenizer: normalise, split into words, then WordPiece.

1. Normalise: drop control characters and U+FFFD, turn whitespace into
   spaces, put spaces around CJK ideographs, lower-case, strip accents.
2. Split on whitespace, and make every punctuation character a word of its own.
3. WordPiece: cut each word into the longest vocabulary pieces from the left;
   pieces after the first carry the ``##`` prefix. A word with no such cut
   (or longer than 100 characters) becomes ``[UNK]``.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_control(char: str) -> bool:
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def _is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


class WordPieceTokenizer:
    """Text → token ids for an uncased BERT vocabulary (``tokenizer.json`` or ``vocab.txt``)."""

    def __init__(self, vocab: dict[str, int], *, max_word_chars: int = 100) -> None:
        self.vocab = vocab
        self.max_word_chars = max_word_chars
        self.unk = vocab["[UNK]"]
        self.cls = vocab["[CLS]"]
        self.sep = vocab["[SEP]"]
        self.pad = vocab["[PAD]"]
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def from_file(cls, path: Path) -> WordPieceTokenizer:
        """Read the vocabulary of ``tokenizer.json`` (a WordPiece model) or ``vocab.txt``."""
        if path.suffix == ".json":
            model = json.loads(path.read_text(encoding="utf-8"))["model"]
            return cls(dict(model["vocab"]), max_word_chars=model.get("max_input_chars_per_word", 100))
        words = path.read_text(encoding="utf-8").splitlines()
        return cls({word: i for i, word in enumerate(words)})

    def normalise(self, text: str) -> str:
        """Cleaned, CJK-spaced, lower-cased text without accents."""
        out = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD or _is_control(char):
                continue
            if _is_whitespace(char):
                out.append(" ")
            elif any(low <= code <= high for low, high in _CJK):
                out.append(f" {char} ")
            else:
                out.append(char)
        text = unicodedata.normalize("NFD", "".join(out).lower())
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    def words(self, text: str) -> list[str]:
        """Whitespace-separated words, with each punctuation character split off."""
        words: list[str] = []
        for chunk in self.normalise(text).split():
            current = ""
            for char in chunk:
                if _is_punctuation(char):
                    if current:
                        words.append(current)
                    words.append(char)
                    current = ""
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def _pieces(self, word: str) -> list[int]:
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        if len(word) > self.max_word_chars:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                ids = [self.unk]
                break
            ids.append(found)
            start = end
        if len(self._cache) < 100_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str, max_length: int = 256) -> list[int]:
        """``[CLS] pieces… [SEP]``, cut to ``max_length`` ids."""
        ids = [self.cls]
        for word in self.words(text):
            ids.extend(self._pieces(word))
            if len(ids) >= max_length - 1:
                break
        return [*ids[: max_length - 1], self.sep]
