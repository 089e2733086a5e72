"""MMR re-ranking on a hand-built segment: picks worked out by hand where relevance and
similarity tie, so the order ties are visited in (Qdrant's and local mode's) decides them."""

from __future__ import annotations

import numpy as np
import pytest

from pydrant.collection.config import CollectionConfig
from pydrant.collection.mmr import rerank
from pydrant.collection.search import Hit
from pydrant.segment.segment import Segment


@pytest.fixture()
def hits() -> tuple[CollectionConfig, list[Hit]]:
    """Dot vectors: ids 0 and 1 are [1, 0], ids 2 and 3 are [0, 1]; for the query [1, 0.5]
    their relevance is 1, 1, 0.5, 0.5. Candidates in search order (ties by id)."""
    config = CollectionConfig.from_create_request({"vectors": {"size": 2, "distance": "Dot"}})
    segment = Segment(0, config.all_vectors())
    offsets = segment.insert([0, 1, 2, 3], 1, [{}, {}, {}, {}])
    segment.set_vectors("", offsets, np.asarray([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32))
    return config, [Hit(s, segment, int(o), i) for s, o, i in zip([1.0, 1.0, 0.5, 0.5], offsets.tolist(), range(4))]


# diversity 0.5, by hand: the first pick is the last best (id 1), whose slot goes to id 3:
# pending [0, 3, 2]. Scores 0.5 * relevance - 0.5 * similarity to the picks: id 0 0.0, id 3
# 0.25, id 2 0.25 -> the last best is id 2. Then id 0 (0.0) beats id 3 (0.25 - 0.5).
# Taking the first best instead, or removing picks without the swap, gives another order.
@pytest.mark.parametrize(("diversity", "expected"), [(0.0, [1, 0, 3, 2]), (0.5, [1, 2, 0, 3]), (1.0, [1, 2, 3, 0])])
def test_ties_resolve_by_last_best_and_swap_removal(hits: tuple[CollectionConfig, list[Hit]], diversity: float, expected: list[int]) -> None:
    config, candidates = hits
    picked = rerank(config.vector(""), np.asarray([1.0, 0.5], dtype=np.float32), candidates, diversity, 4)
    assert [h.point_id for h in picked] == expected
    assert [h.score for h in picked] == [1.0 if i < 2 else 0.5 for i in expected]  # search scores kept


def test_picks_stop_at_k_and_at_the_candidates(hits: tuple[CollectionConfig, list[Hit]]) -> None:
    config, candidates = hits
    query = np.asarray([1.0, 0.5], dtype=np.float32)
    assert [h.point_id for h in rerank(config.vector(""), query, candidates, 0.5, 2)] == [1, 2]
    assert len(rerank(config.vector(""), query, candidates, 0.5, 10)) == 4
    assert rerank(config.vector(""), query, [], 0.5, 10) == []
    assert rerank(config.vector(""), query, candidates, 0.5, 0) == []
