"""The fused concept score (prototype cosine + head probability): one function for retrieval and the LODO eval."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.faiss_index import VectorIndex
from rskg.retrieval.model import Evidence
from rskg.retrieval.scoring import HEAD_WEIGHT, P_CLIP, concept_score, logit
from rskg.retrieval.supplementary import Query, combine, hit_score, search


def test_concept_score_is_cosine_plus_weighted_logit() -> None:
    assert concept_score(0.7, None) == 0.7                              # no head: the cosine alone
    assert concept_score(0.7, 0.5) == pytest.approx(0.7)                # logit(0.5) = 0
    assert concept_score(0.7, 0.9) == pytest.approx(0.7 + HEAD_WEIGHT * np.log(9.0))
    assert concept_score(0.7, 0.9, weight=0.0) == 0.7
    # a saturated head is clipped: it cannot swamp the similarity
    assert concept_score(0.0, 1.0) == pytest.approx(HEAD_WEIGHT * float(logit(1 - P_CLIP)))
    sims, p = np.asarray([0.9, 0.6, 0.6]), np.asarray([0.2, 0.99, 0.2])
    s = concept_score(sims, p)
    assert s.shape == (3,) and s[1] > s[0] > s[2]                       # monotone in both inputs


def test_search_ranks_by_the_fused_score_and_records_the_probability() -> None:
    rng = np.random.default_rng(0)
    proto = np.eye(8, dtype=np.float32)[0]
    # sample 0: most similar, head says no; sample 1: a bit less similar, head says yes; 2..9: far
    v = rng.normal(size=(10, 8)).astype(np.float32) * 0.05
    v[0] += proto * 1.0
    v[1] += proto * 0.9 + np.eye(8, dtype=np.float32)[1] * 0.3
    v[2:, 2] += 1.0
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = [f"d:{i}" for i in range(10)]
    index = VectorIndex.build(ids, v, version="t")
    q = [Query("river", "river", "river:0", proto, 0.0, ("river",))]
    cos_only = search(index, q, 5, None, {}, 0.0)
    assert max(cos_only, key=lambda k: hit_score(cos_only[k]))[0] == "d:0"
    assert all(ev.probability is None for ev in cos_only.values())
    p = np.full(10, 0.5, np.float32)
    p[0], p[1] = 0.05, 0.98
    fused = search(index, q, 5, None, {}, 0.0, probability={"river": p})
    best = max(fused, key=lambda k: hit_score(fused[k]))
    assert best[0] == "d:1" and fused[best].probability == pytest.approx(0.98)
    # the score of a hit is the fused similarity, discounted by graph distance like the cosine was
    ev = fused[best]
    assert hit_score(ev) == pytest.approx(concept_score(ev.similarity, 0.98), abs=1e-4)
    # the limit cut is taken on the fused score: the head's choice survives a tight limit
    cut = search(index, q, 5, None, {}, 0.0, limit=1, probability={"river": p})
    assert ("d:1", "river") in cut and len(cut) < len(fused)


def test_combine_discounts_negative_fused_scores_too() -> None:
    assert combine(0.8, 1.0) == pytest.approx(0.4)
    assert combine(-0.2, 1.0) == pytest.approx(-0.4)
    assert combine(-0.2, 1.0) < combine(-0.2, 0.0)
    ev = Evidence("river", "p", 0.3, 1.0, ("river",), 0.01)
    assert hit_score(ev) == pytest.approx(combine(concept_score(0.3, 0.01), 1.0))
