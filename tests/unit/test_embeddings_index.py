"""VectorIndex (real FAISS): exact search, id restriction, incremental add, IVF-PQ, atomic save."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from embeddings.faiss_index import IndexParams, VectorIndex
from rskg.errors import NotFoundError, ValidationError


def _data(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d))
    x = centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"ds:{i}" for i in range(start, start + n)]


def test_flat_search_matches_numpy() -> None:
    x = _data(300)
    idx = VectorIndex.build(_ids(300), x)
    assert idx.kind == "flat" and len(idx) == 300
    hits = idx.search(x[:5], 10)
    for q, row in zip(x[:5], hits, strict=True):
        expect = np.argsort(-(x @ q))[:10]
        assert [h.id for h in row] == [f"ds:{i}" for i in expect]
        assert row[0].score == pytest.approx(1.0, abs=1e-5)


def test_restriction_is_honoured_flat_and_ivfpq() -> None:
    x = _data(1200)
    allowed = set(_ids(1200)[::37])
    for params in (IndexParams(), IndexParams(ivfpq_min_vectors=100, nlist=16, pq_m=8, pq_dim=32)):
        idx = VectorIndex.build(_ids(1200), x, params)
        rows = idx.search(x[:20], 10, restrict_to=allowed)
        assert all(len(r) == 10 and {h.id for h in r} <= allowed for r in rows)
        # the restricted top hit is the exact best among the candidates (flat) / a candidate (PQ)
        pos = np.asarray([int(i.split(":")[1]) for i in sorted(allowed)])
        if idx.kind == "flat":
            assert rows[0][0].id == f"ds:{pos[np.argmax(x[pos] @ x[0])]}"
    assert VectorIndex.build(_ids(10), x[:10]).search(x[:1], 5, restrict_to={"nope"}) == [[]]


def test_incremental_add_and_replace() -> None:
    x = _data(200)
    idx = VectorIndex.build(_ids(100), x[:100])
    idx.add(_ids(100, 100), x[100:])
    assert len(idx) == 200
    assert idx.search(x[150:151], 1)[0][0].id == "ds:150"
    idx.add(["ds:0"], x[199:200])  # replace ds:0's vector
    assert len(idx) == 200
    top2 = {h.id for h in idx.search(x[199:200], 2)[0]}
    assert top2 == {"ds:0", "ds:199"}
    assert all(h.id != "ds:0" or h.score < 0.99 for h in idx.search(x[0:1], 3)[0])  # old vector gone
    with pytest.raises(ValidationError):
        idx.add(["a", "a"], x[:2])
    with pytest.raises(ValidationError):
        idx.add(["b"], np.zeros((1, 7), np.float32))


def test_add_crossing_threshold_switches_to_ivfpq() -> None:
    x = _data(1000)
    params = IndexParams(ivfpq_min_vectors=600, nlist=8, pq_m=8, pq_dim=32)
    idx = VectorIndex.build(_ids(500), x[:500], params)
    assert idx.kind == "flat"
    idx.add(_ids(500, 500), x[500:])
    assert idx.kind == "ivfpq" and len(idx) == 1000
    exact = VectorIndex.build(_ids(1000), x)
    approx, truth = idx.search(x[:50], 10), exact.search(x[:50], 10)
    recall = np.mean([len({h.id for h in a} & {h.id for h in t}) / 10 for a, t in zip(approx, truth, strict=True)])
    assert recall > 0.5


def test_save_load_roundtrip_and_overwrite(tmp_path: Path) -> None:
    x = _data(300)
    path = tmp_path / "img.index.npz"
    a = VectorIndex.build(_ids(300), x, version="v1")
    a.save(path)
    b = VectorIndex.load(path)
    assert b.version == "v1" and b.ids == a.ids and b.search(x[:3], 5) == a.search(x[:3], 5)
    VectorIndex.build(_ids(10), x[:10], version="v2").save(path)  # over an existing index
    c = VectorIndex.load(path)
    assert len(c) == 10 and c.version == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["img.index.npz"]  # no temp files left
    with pytest.raises(NotFoundError):
        VectorIndex.load(tmp_path / "missing.npz")


def test_concurrent_reader_never_sees_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "idx.npz"
    small, big = _data(50, 64), _data(3000, 64, seed=1)
    VectorIndex.build(_ids(50), small).save(path)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.append(len(VectorIndex.load(path)))
            except BaseException as exc:  # noqa: BLE001 - any failure is what the test looks for
                errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(15):
            (VectorIndex.build(_ids(3000), big) if i % 2 else VectorIndex.build(_ids(50), small)).save(path)
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:1]
    assert seen and set(seen) <= {50, 3000}
