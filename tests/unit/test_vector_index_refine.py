"""IVF-PQ + exact re-ranking (faiss IndexRefineFlat) in VectorIndex, against brute force on a generated matrix."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import embeddings.faiss_index as fi
from embeddings.faiss_index import IndexParams, VectorIndex, l2n

N, D = 3000, 32
PQ_ONLY = IndexParams(ivfpq_min_vectors=1000, nlist=16, pq_m=8, pq_dim=32, nprobe=8, refine_factor=1)
REFINED = dataclasses.replace(PQ_ONLY, refine_factor=8)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((30, D))
    x = l2n(centres[rng.integers(0, 30, N)] + 0.6 * rng.standard_normal((N, D)))
    return x, l2n(x[:200] + 0.3 * rng.standard_normal((200, D)))


def _recall(pos: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(pos.tolist(), truth.tolist(),
                                                                              strict=True)]))


@pytest.fixture(scope="module")
def built() -> tuple[VectorIndex, VectorIndex, np.ndarray, np.ndarray]:
    import faiss

    faiss.omp_set_num_threads(1)
    x, q = _data()
    ids = [f"d:{i}" for i in range(N)]
    return VectorIndex.build(ids, x, PQ_ONLY), VectorIndex.build(ids, x, REFINED), x, q


def test_refine_lifts_recall_to_exact_and_scores_are_exact_cosines(built: tuple) -> None:
    pq, ref, x, q = built
    assert pq.kind == ref.kind == "ivfpq" and not pq.refined and ref.refined
    assert ref.factory_string(N).endswith(",RFlat") and len(ref) == N
    truth = np.argsort(-(q @ x.T), axis=1)[:, :10]
    pos, sims = ref.search_positions(q, 10)
    assert _recall(pos, truth) >= 0.99
    assert _recall(pq.search_positions(q, 10)[0], truth) < 0.9          # what the refine repairs
    assert np.allclose(sims, np.take_along_axis(q @ x.T, pos, axis=1), atol=1e-5)   # exact, not PQ-decoded
    assert (np.diff(sims, axis=1) <= 1e-7).all()
    # the factor is read at search time (like nprobe): 1 re-ranks only the PQ top-k
    ref.params = dataclasses.replace(ref.params, refine_factor=1)
    try:
        low = _recall(ref.search_positions(q, 10)[0], truth)
    finally:
        ref.params = REFINED
    assert low == pytest.approx(_recall(pq.search_positions(q, 10)[0], truth), abs=0.02)


def test_reconstruct_and_matrix_are_exact_and_pretransformed_queries_agree(built: tuple) -> None:
    pq, ref, x, q = built
    pos = np.asarray([0, 7, 2999], np.int64)
    assert np.array_equal(ref.reconstruct(pos, normalise=False), x[pos])
    assert np.allclose(ref.matrix(), x, atol=1e-6)
    assert not np.allclose(pq.reconstruct(pos, normalise=False), x[pos], atol=1e-3)   # PQ-decoded
    a = ref.search_positions(q, 10, excluded=np.asarray([3, 5], np.int64))
    b = ref.search_positions(q, 10, excluded=np.asarray([3, 5], np.int64), transformed=ref.transform(q))
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1], atol=1e-6)
    assert not np.isin(a[0], [3, 5]).any()


def test_restricted_search_with_refine_small_and_large_candidate_sets(built: tuple, monkeypatch) -> None:
    _, ref, x, q = built
    allowed = np.arange(0, N, 3, dtype=np.int64)
    excl = np.asarray([0, 3, 6], np.int64)
    cand = np.setdiff1d(allowed, excl)
    sims_all = q @ x[cand].T
    truth = cand[np.argsort(-sims_all, axis=1)[:, :10]]
    # <= EXACT_LIMIT candidates: their exact vectors, one matrix product = brute force
    pos, sims = ref.search_positions(q, 10, allowed, excl)
    assert np.array_equal(pos, truth) and np.allclose(sims, np.sort(sims_all, axis=1)[:, ::-1][:, :10], atol=1e-5)
    # a larger set (EXACT_LIMIT lowered to force it): IDSelectorBatch in the IVF-PQ under the exact re-ranking
    monkeypatch.setattr(fi, "EXACT_LIMIT", 100)
    pos, sims = ref.search_positions(q, 10, allowed, excl)
    assert np.isin(pos[pos >= 0], cand).all() and (pos >= 0).all()
    assert _recall(pos, truth) >= 0.97
    assert np.allclose(sims, np.take_along_axis(q @ x.T, pos, axis=1), atol=1e-5)
    b = ref.search_positions(q, 10, allowed, excl, transformed=ref.transform(q))
    assert np.array_equal(pos, b[0])


def test_replace_add_switch_and_save_load_roundtrip(built: tuple, tmp_path: Path) -> None:
    _, _, x, q = built
    ids = [f"d:{i}" for i in range(N)]
    idx = VectorIndex.build(ids[:900], x[:900], REFINED)                 # flat below 1000 vectors
    assert idx.kind == "flat" and not idx.refined
    idx.add(ids[900:], x[900:])                                          # crosses the threshold: rebuilt, refined
    assert idx.refined and len(idx) == N
    new = l2n(q[:1])
    idx.add(["d:5"], new)                                                # replace: position 5 is a tombstone
    assert len(idx) == N and idx.positions["d:5"] == N
    pos, sims = idx.search_positions(new, 3)
    assert pos[0, 0] == N and sims[0, 0] == pytest.approx(1.0, abs=1e-5) and 5 not in pos
    assert np.array_equal(idx.reconstruct(np.asarray([N]), normalise=False), new)
    path = idx.save(tmp_path / "img.index.npz")
    back = VectorIndex.load(path)
    assert back.refined and back.params == REFINED and back.ids == idx.ids and len(back) == N
    for a, b in zip(idx.search_positions(q, 10), back.search_positions(q, 10), strict=True):
        assert np.array_equal(a, b)
    back.add(["d:extra"], x[:1])                                         # appends after a load too
    assert back.positions["d:extra"] == N + 1 and np.array_equal(back.reconstruct(np.asarray([N + 1]), False),
                                                                  x[:1])


def test_a_file_from_before_refine_loads_as_pq_only(built: tuple, tmp_path: Path) -> None:
    pq, _, _, q = built
    path = pq.save(tmp_path / "old.npz")
    with np.load(path) as z:
        parts = {k: z[k] for k in z.files}
    meta = json.loads(parts["meta"].tobytes().decode())
    del meta["params"]["refine_factor"]
    parts["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **parts)
    old = VectorIndex.load(path)
    assert not old.refined and old.params.refine_factor == 1
    # sync_index rebuilds such an index from the feature rows when the settings ask for refine (and back)
    assert old.refine_differs(REFINED) and not old.refine_differs(PQ_ONLY)
    assert not VectorIndex.build(["a"], q[:1], REFINED).refine_differs(PQ_ONLY)     # flat: nothing to refine
    assert np.array_equal(old.search_positions(q, 5)[0], pq.search_positions(q, 5)[0])


def test_flat_path_ignores_the_refine_factor_bit_for_bit() -> None:
    x, q = _data()
    a = VectorIndex.build([str(i) for i in range(500)], x[:500], dataclasses.replace(REFINED, ivfpq_min_vectors=10**9))
    b = VectorIndex.build([str(i) for i in range(500)], x[:500], dataclasses.replace(PQ_ONLY, ivfpq_min_vectors=10**9))
    for allowed in (None, np.arange(0, 500, 4, dtype=np.int64)):
        pa, sa = a.search_positions(q, 10, allowed)
        pb, sb = b.search_positions(q, 10, allowed)
        assert np.array_equal(pa, pb) and np.array_equal(sa, sb)


def test_an_ivf_index_grown_4x_past_its_training_is_outgrown() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12_000, 32)).astype(np.float32)
    ids = [f"s{i}" for i in range(len(x))]
    params = IndexParams(ivfpq_min_vectors=1000, pq_m=8, pq_dim=32, refine_factor=1)
    small = VectorIndex.build(ids[:2000], x[:2000], params)          # 51 lists (2000 // 39)
    assert small.kind == "ivfpq" and not small.outgrown()
    small.add(ids[2000:6000], x[2000:6000])                          # 6,000 calls for 153 lists: 2 x 51 < 153
    assert small.outgrown()
    assert not VectorIndex.build(ids, x, params).outgrown()          # trained at its size
    fixed = VectorIndex.build(ids[:2000], x[:2000], dataclasses.replace(params, nlist=51))
    fixed.add(ids[2000:], x[2000:])
    assert not fixed.outgrown()                                      # a fixed faiss_nlist is the user's choice
    assert not VectorIndex.build(ids, x, IndexParams(ivfpq_min_vectors=10**9)).outgrown()   # flat
