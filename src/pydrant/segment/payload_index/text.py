"""Full-text index: token postings, plus each point's word sequences for phrase matching."""

from __future__ import annotations

from typing import Any

import numpy as np

from pydrant.segment.filtering import model as m
from pydrant.segment.filtering.scan import contains_phrase
from pydrant.segment.filtering.text import Tokenizer
from pydrant.segment.payload_index.base import FieldIndex, offsets_array


class TextIndex(FieldIndex):
    """token -> offsets. Text conditions are answered with this index's tokenizer, so results
    follow its configuration (as in Qdrant) rather than the default word tokens of a scan."""

    data_type = "text"

    def __init__(self, key: str, params: dict[str, Any] | None, tokenizer: Tokenizer) -> None:
        super().__init__(key, params)
        self.tokenizer = tokenizer
        self._postings: dict[str, set[int]] = {}

    def convert(self, value: Any) -> Any | None:
        if type(value) is not str:
            return None
        # (document tokens for postings, word sequence for phrases)
        return frozenset(self.tokenizer.tokenize(value)), tuple(self.tokenizer.words(value))

    def _add(self, offset: int, stored: list[Any]) -> None:
        for tokens, _ in stored:
            for t in tokens:
                self._postings.setdefault(t, set()).add(offset)

    def _remove(self, offset: int, stored: list[Any]) -> None:
        for tokens, _ in stored:
            for t in tokens:
                posting = self._postings.get(t)
                if posting is not None:
                    posting.discard(offset)
                    if not posting:
                        del self._postings[t]

    def _candidates(self, cond: m.MatchText) -> set[int]:
        query = self.tokenizer.query(cond.text)
        if not query:
            return set()
        postings = [self._postings.get(t, set()) for t in dict.fromkeys(query)]
        if cond.mode == "any":
            return set().union(*postings)
        postings.sort(key=len)
        # every token of the query must occur in one and the same string value
        found = set(postings[0]).intersection(*postings[1:])
        if cond.mode == "all":
            return {o for o in found if any(set(query) <= tokens for tokens, _ in self._values[o])} if len(query) > 1 else found
        words = tuple(query)
        return {o for o in found if any(contains_phrase(seq, words) for _, seq in self._values[o])}

    def _offsets(self, cond: Any) -> np.ndarray | None:
        if not isinstance(cond, m.MatchText):
            return None
        return offsets_array(self._candidates(cond))

    def estimate(self, cond: Any) -> int | None:
        if not isinstance(cond, m.MatchText):
            return None
        query = self.tokenizer.query(cond.text)
        sizes = [len(self._postings.get(t, ())) for t in query]
        if not sizes:
            return 0
        return sum(sizes) if cond.mode == "any" else min(sizes)
