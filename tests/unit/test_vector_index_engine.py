"""The one vector search (embeddings.faiss_index.VectorIndex) against brute force, and retrieval's knn is it."""

from __future__ import annotations

import numpy as np

from embeddings.faiss_index import IndexParams, VectorIndex, l2n
from rskg.retrieval.knn import knn, knn_arrays


def _brute(m: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sims = l2n(q) @ m[allowed].T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return allowed[order], np.take_along_axis(sims, order, axis=1)


def test_flat_search_is_exact_with_restriction_exclusion_and_tombstones() -> None:
    rng = np.random.default_rng(7)
    v = l2n(rng.standard_normal((400, 24)))
    new = l2n(rng.standard_normal((1, 24)))
    idx = VectorIndex.build([f"d:{i}" for i in range(400)], v)
    g = idx.generation
    idx.add(["d:3"], new)                              # replace: position 3 becomes a tombstone
    assert idx.generation > g and "d:3" in idx.positions and idx.positions["d:3"] == 400
    m = np.vstack([v, new])
    q = v[:6] + 0.1 * rng.standard_normal((6, 24)).astype(np.float32)
    live = np.asarray([p for p in range(401) if p != 3])
    excl = idx.positions_of(["d:0", "d:1", "nope"])
    assert excl.tolist() == [0, 1]
    want_p, want_s = _brute(m, q, 10, np.setdiff1d(live, excl))
    pos, sims = idx.search_positions(q, 10, None, excl)
    assert np.array_equal(pos, want_p) and np.allclose(sims, want_s, atol=1e-5)
    allowed = idx.positions_of([f"d:{i}" for i in range(0, 400, 9)])
    want_p, want_s = _brute(m, q, 5, np.setdiff1d(allowed, excl))
    pos, sims = idx.search_positions(q, 5, allowed, excl)
    assert np.array_equal(pos, want_p) and np.allclose(sims, want_s, atol=1e-5)
    hits = idx.search(q, 5, restrict_to=[f"d:{i}" for i in range(0, 400, 9)], exclude=["d:0", "d:1"])
    assert [[h.id for h in r] for r in hits] == [[idx.ids[p] for p in r] for r in want_p]
    assert hits == knn(idx, q, 5, {f"d:{i}" for i in range(0, 400, 9)}, {"d:0", "d:1"})
    assert np.allclose(idx.reconstruct(np.asarray([400])), new, atol=1e-6)


def test_ivfpq_restricted_search_scores_the_decoded_candidates_exactly() -> None:
    import faiss

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(8)
    v = l2n(rng.standard_normal((1500, 32)))
    idx = VectorIndex.build([f"d:{i}" for i in range(1500)], v,
                            IndexParams(ivfpq_min_vectors=1000, nlist=16, pq_m=8, pq_dim=32, nprobe=2))
    assert idx.kind == "ivfpq"
    q = v[:4]
    allowed = idx.positions_of([f"d:{i}" for i in range(0, 1500, 5)])
    decoded = np.zeros((1500, 32), np.float32)
    decoded[allowed] = idx.reconstruct(allowed)
    want_p, want_s = _brute(decoded, q, 8, allowed)
    pos, sims = knn_arrays(idx, q, 8, allowed)
    assert np.array_equal(pos, want_p) and np.allclose(sims, want_s, atol=1e-5)
    # the precomputed query transform gives the same unfiltered result as the index's own pre-transform
    a = idx.search_positions(q, 8)
    b = idx.search_positions(q, 8, transformed=idx.transform(q))
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1], atol=1e-5)
