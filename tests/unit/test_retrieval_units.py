"""Unit tests of the retrieval building blocks (no servers): label resolution, filter SQL, kNN, HIR, scores."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.faiss_index import IndexParams, VectorIndex
from embeddings.prototypes import kmeans_prototypes
from rskg.errors import ValidationError
from rskg.retrieval import filters
from rskg.retrieval.hir import wmd
from rskg.retrieval.knn import EXACT_LIMIT, knn
from rskg.retrieval.labels import Lexicon, resolve
from rskg.retrieval.model import RetrievalRequest
from rskg.retrieval.prototypes import in_hash_train
from rskg.retrieval.supplementary import combine


def _lex() -> Lexicon:
    lex = Lexicon(names={"river": "river", "storage_tank": "storage tank", "inland_water": "inland water",
                         "old_river": "river (old)"},
                  active={"river", "storage_tank", "inland_water"}, replaced_by={"old_river": "river"})
    lex.pref = {"river": ["river"], "storagetank": ["storage_tank"], "inlandwater": ["inland_water"]}
    lex.alt = {"oiltank": ["storage_tank"]}
    lex.source = {"driverlake": [("rsscn7", "inland_water"), ("rsscn7", "river")]}
    return lex


def test_resolve_by_id_pref_alt_source_and_unmatched() -> None:
    m, un = resolve(_lex(), ["river", "Storage_Tanks", "OIL TANKS", "dRiverLake", "old_river", "nothing",
                             "river') DETACH DELETE n //", ""])
    got = [(x.query, x.concept_id, x.how) for x in m]
    assert got == [("river", "river", "id"), ("Storage_Tanks", "storage_tank", "prefLabel"),
                   ("OIL TANKS", "storage_tank", "altLabel"),
                   ("dRiverLake", "inland_water", "source label rsscn7"),
                   ("dRiverLake", "river", "source label rsscn7"),
                   ("old_river", "river", "id (deprecated old_river, replaced)")]
    assert un == ["nothing", "river') DETACH DELETE n //", ""]


def test_filter_sql_is_parameterised() -> None:
    req = RetrievalRequest(labels=["x"], bbox=(1, 2, 3, 4), sensors=["S2'; DROP TABLE samples"], gsd_max=10)
    w = filters.where(req)
    text = w.clause.as_string(None)
    assert "DROP" not in text and text.count("%s") == len(w.params) == 6
    assert filters.where(RetrievalRequest(labels=["x"])).active is False
    for bad in (RetrievalRequest(labels=["x"], bbox=(3, 2, 1, 4)),
                RetrievalRequest(labels=["x"], polygon_wkt="POLYGON((0 0, 1 1))"),
                RetrievalRequest(labels=["x"], spatial="near")):
        with pytest.raises(ValidationError):
            filters.validate(bad)


@pytest.mark.parametrize("n, ivf", [(300, False), (4100, True)])
def test_knn_matches_exact_search_and_respects_filters(n: int, ivf: bool) -> None:
    rng = np.random.default_rng(1)
    import faiss

    faiss.omp_set_num_threads(1)   # OpenMP spin-waiting on a busy 2-core machine makes training crawl
    v = rng.standard_normal((n, 32)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = [f"d:{i}" for i in range(n)]
    idx = VectorIndex.build(ids, v, IndexParams(ivfpq_min_vectors=4000, nlist=8, pq_m=8, pq_dim=32, nprobe=8))
    assert idx.kind == ("ivfpq" if ivf else "flat")
    q = v[:3] + 0.01
    hits = knn(idx, q, 5, None, excluded={"d:0"})
    assert all("d:0" not in [h.id for h in row] for row in hits)
    if not ivf:   # exact: same as brute force
        sims = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ v.T
        sims[:, 0] = -9
        assert [h.id for h in hits[1]] == [ids[j] for j in np.argsort(-sims[1])[:5]]
    allowed = {f"d:{i}" for i in range(0, n, 7)}
    res = knn(idx, q, 10, allowed, excluded={"d:7"})
    assert all(h.id in allowed and h.id != "d:7" for row in res for h in row) and all(res)
    assert knn(idx, q, 5, set())[0] == []
    assert EXACT_LIMIT >= 1000


def test_wmd_combine_kmeans_and_hash_split() -> None:
    x = np.array([0.5, 0.5, 0.0])
    ys = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    d = wmd(x, ys, np.array([4.0, 1.0, 1.0]))
    assert d.tolist() == pytest.approx([0.0, 2.5, 2.5])
    assert combine(0.8, 0.0) == 0.8 and combine(0.8, 1.0) == pytest.approx(0.4)
    pts = np.vstack([np.tile([1.0, 0.0], (5, 1)), np.tile([0.0, 1.0], (5, 1))]) + 1e-3 * np.arange(10)[:, None]
    c = kmeans_prototypes(pts, 10)
    assert c.shape[0] == 10 and np.allclose(np.linalg.norm(c, axis=1), 1)
    c2 = kmeans_prototypes(np.tile([3.0, 4.0], (6, 1)), 10)
    assert c2.shape == (1, 2) and np.allclose(c2, [[0.6, 0.8]])
    share = np.mean([in_hash_train(f"s:{i}") for i in range(5000)])
    assert 0.77 < share < 0.83 and in_hash_train("a") == in_hash_train("a")
