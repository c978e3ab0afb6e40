"""The per-prototype neighbour cache and the batched supplementary search give exactly the live result."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.faiss_index import IndexParams, VectorIndex, l2n
from rskg.retrieval.neighbours import DEPTH, Neighbours, fill, lookup
from rskg.retrieval.prototypes import PrototypeStore
from rskg.retrieval.supplementary import Query, search


def _setup(n: int, ivf: bool, refine: int = 1) -> tuple[VectorIndex, PrototypeStore, np.ndarray]:
    import faiss

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(3)
    centres = l2n(rng.standard_normal((6, 64)))
    v = l2n(centres[rng.integers(0, 6, n)] + 0.5 * l2n(rng.standard_normal((n, 64))).astype(np.float32))
    params = IndexParams(ivfpq_min_vectors=1000 if ivf else 10**9, nlist=16, pq_m=8, pq_dim=32, nprobe=4,
                         refine_factor=refine)
    idx = VectorIndex.build([f"d:{i}" for i in range(n)], v, params, "enc")
    protos = l2n(centres.repeat(2, axis=0) + 0.2 * l2n(rng.standard_normal((12, 64))))
    st = PrototypeStore([f"p{j}" for j in range(12)], [f"c{j // 2}" for j in range(12)], [j % 2 for j in range(12)],
                        [1] * 12, protos.astype(np.float32), "v1", "enc", "all")
    return idx, st, v


def _queries(st: PrototypeStore) -> list[Query]:
    return [Query("root_a" if j < 8 else "root_b", st.concepts[j], st.ids[j], st.vectors[j], 0.5 * (j % 3), (), j)
            for j in range(len(st.ids))]


def assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, ev in want.items():
        g = got[key]
        assert (g.concept_id, g.prototype_id, g.graph_distance, g.path) == (ev.concept_id, ev.prototype_id,
                                                                             ev.graph_distance, ev.path), key
        assert abs(g.similarity - ev.similarity) <= 2e-6, key


@pytest.mark.parametrize("n, ivf", [(600, False), (3000, True)])
def test_cached_search_equals_live_search(n: int, ivf: bool) -> None:
    """Exact equality needs a search whose result does not depend on k: flat, or IVF-PQ without re-ranking."""
    idx, st, v = _setup(n, ivf)
    qs = _queries(st)
    sims = v @ st.vectors[0]
    # exclude the 300 nearest samples of prototype 0 (more than DEPTH): its row must fall back to a live search
    heavy = {f"d:{i}" for i in np.argsort(-sims)[:DEPTH + 44]}
    for excluded, k, thr in [({}, 20, 0.0), ({"root_a": heavy, "root_b": {"d:1", "d:2"}}, 20, 0.0),
                             ({"root_a": heavy}, 5, 0.6), ({}, DEPTH + 1, -1.0)]:
        live = search(idx, qs, k, None, excluded, thr)
        cached = search(idx, qs, k, None, excluded, thr, Neighbours(), st)
        # same hits, same evidence; the similarity may differ in its last printed digit, because FAISS/BLAS
        # sums a batch of 12 prototypes and a batch of one in a different order (0.941486 vs 0.941485)
        assert_same(cached, live)
        assert live, "the test must find hits"
        limited = search(idx, qs, k, None, excluded, thr, Neighbours(), st, limit=10)
        top = sorted(live.items(), key=lambda kv: -kv[1].similarity / (1 + kv[1].graph_distance))[:10]
        assert_same({key: limited[key] for key, _ in top}, dict(top))
    for allowed in ([f"d:{i}" for i in range(0, n, 3)], [f"d:{i}" for i in range(0, n, 97)]):
        restricted = search(idx, qs, 10, allowed, {"root_a": heavy}, 0.0, Neighbours(), st)
        live = search(idx, qs, 10, allowed, {"root_a": heavy}, 0.0)
        assert restricted and {sid for sid, _ in restricted} <= set(allowed)
        assert not any(sid in heavy for sid, root in restricted if root == "root_a")
        assert restricted.keys() == live.keys()
        for key, ev in live.items():
            assert restricted[key].prototype_id == ev.prototype_id
            assert abs(restricted[key].similarity - ev.similarity) < 1e-5


def test_lookup_flags_rows_whose_cached_list_is_exhausted() -> None:
    idx, st, v = _setup(600, False)
    nb = Neighbours()
    fill(nb, idx, st, np.arange(12))
    assert set(nb.pos) == set(range(12)) and all(len(p) == DEPTH for p in nb.pos.values())
    excl = np.sort(nb.pos[0][:DEPTH - 3])
    pos, sims, live = lookup(nb, np.asarray([0, 1]), 10, excl, -1.0)
    assert live.tolist() == [True, False]
    assert pos.shape == (2, 10) and not np.isin(pos[1], excl).any() and (np.diff(sims[1]) <= 0).all()


def test_member_matches_isin_and_never_matches_padding() -> None:
    from rskg.retrieval.neighbours import _member

    rng = np.random.default_rng(7)
    for n_ids, hi in [(1, 5), (40, 100), (420, 5000), (3000, 3000)]:
        ids = np.unique(rng.integers(0, hi, n_ids)).astype(np.int64)
        pos = rng.integers(-1, hi + 50, (30, DEPTH)).astype(np.int64)   # -1 = padding; some beyond every id
        got = _member(ids, pos)
        assert got.shape == pos.shape
        assert (got == (np.isin(pos, ids) & (pos >= 0))).all()
    assert not _member(np.zeros(0, np.int64), np.asarray([[0, -1]])).any()
    assert _member(np.asarray([0]), np.full((2, 3), -1)).sum() == 0


def test_refined_cached_lists_are_at_least_as_exact_as_live_search() -> None:
    """With exact re-ranking the shortlist grows with k (k x refine_factor), so the DEPTH-deep cached lists and a
    k-deep live search may differ; the cached one must be at least as close to the exact (flat) result."""
    idx, st, v = _setup(3000, True, refine=4)
    assert idx.refined
    flat = VectorIndex.build(idx.ids, v, IndexParams(ivfpq_min_vectors=10**9), "enc")
    qs = _queries(st)
    for k, thr in [(20, 0.0), (5, 0.6)]:
        exact = search(flat, qs, k, None, {}, thr)
        live = search(idx, qs, k, None, {}, thr)
        cached = search(idx, qs, k, None, {}, thr, Neighbours(), st)
        assert len(cached.keys() & exact.keys()) >= len(live.keys() & exact.keys()) >= 0.5 * len(exact)
        for key in cached.keys() & exact.keys():      # exact scores, whichever prototype found it
            assert cached[key].similarity <= exact[key].similarity + 2e-6
