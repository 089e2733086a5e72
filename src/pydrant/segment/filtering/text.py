"""Text tokenization for full-text match: the default word tokenizer and configurable ones."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\S+")


@lru_cache(maxsize=65536)
def word_tokens(text: str) -> tuple[str, ...]:
    """Qdrant's default tokenization (also used without a text index): alphanumeric runs, lowercased."""
    return tuple(t.lower() for t in _WORD.findall(text))


def fold_ascii(token: str) -> str:
    """Strip accents: "ação" -> "acao"."""
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Tokenizer:
    """A text index's tokenizer; `tokenize` for documents, `query` for the match text."""

    kind: str = "word"
    lowercase: bool = True
    ascii_folding: bool = False
    min_len: int | None = None
    max_len: int | None = None
    stopwords: frozenset[str] = field(default_factory=frozenset)

    def words(self, text: str) -> list[str]:
        raw = _SPACE.findall(text) if self.kind == "whitespace" else _WORD.findall(text)
        out: list[str] = []
        for tok in raw:
            if self.lowercase:
                tok = tok.lower()
            if self.ascii_folding:
                tok = fold_ascii(tok)
            if tok in self.stopwords or (self.lowercase is False and tok.lower() in self.stopwords):
                continue
            if self.min_len is not None and len(tok) < self.min_len:
                continue
            if self.max_len is not None and len(tok) > self.max_len and self.kind != "prefix":
                continue
            out.append(tok)
        return out

    def tokenize(self, text: str) -> list[str]:
        """Document tokens in order; the prefix tokenizer also emits every prefix of each word."""
        words = self.words(text)
        if self.kind != "prefix":
            return words
        lo = max(self.min_len or 1, 1)
        out: list[str] = []
        for w in words:
            hi = len(w) if self.max_len is None else min(len(w), self.max_len)
            out.extend(w[:n] for n in range(lo, hi + 1))
        return out

    def query(self, text: str) -> list[str]:
        """Query tokens: whole words (a prefix-tokenized document holds their prefixes)."""
        words = self.words(text)
        if self.kind == "prefix" and self.max_len is not None:
            words = [w[: self.max_len] for w in words]
        return words


DEFAULT_TOKENIZER = Tokenizer()
