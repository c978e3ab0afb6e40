"""Filtered kNN over the FAISS image index (embeddings.faiss_index.VectorIndex), cosine similarities.

* no candidate filter: the index's own search (IVF-PQ with ``nprobe`` lists) with an
  ``IDSelectorNot(excluded)`` so direct matches never take the top-k places;
* a candidate filter with at most ``EXACT_LIMIT`` samples: the candidates' vectors are reconstructed from
  the index (exact for the flat index, PQ-decoded for IVF-PQ) and scored by one matrix product, so nothing
  is lost to probing however few candidates there are;
* a larger candidate set: IVF search with an ``IDSelectorBatch(candidates - excluded)`` and
  ``RESTRICTED_NPROBE_FACTOR x nprobe`` lists. Candidates in lists that are not probed are far from the
  prototype (IVF assigns each vector to its nearest centroid) and would mostly fall under the similarity
  threshold anyway; this is the same approximation as the unfiltered IVF search.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import faiss
import numpy as np
from threadpoolctl import ThreadpoolController

from embeddings.faiss_index import Hit, VectorIndex
from rskg.retrieval.store import l2n, positions

EXACT_LIMIT = 20_000
RESTRICTED_NPROBE_FACTOR = 4
# One request = one thread of BLAS / OpenMP work: on a small shared machine multi-threaded BLAS and
# OpenMP spin-waiting made a 100 x 155 product 80 ms instead of 0.5 ms; concurrency comes from requests.
SEARCH_THREADS = 1
_CONTROLLER: ThreadpoolController | None = None


@contextmanager
def single_threaded() -> Iterator[None]:
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(SEARCH_THREADS)
    try:
        with _CONTROLLER.limit(limits=SEARCH_THREADS, user_api="blas"):
            yield
    finally:
        faiss.omp_set_num_threads(before)


def _ids(index: VectorIndex, ids: Collection[str]) -> np.ndarray:
    pos = positions(index)
    return np.asarray(sorted(pos[i] for i in ids if i in pos), np.int64)


def flat_matrix(index: VectorIndex) -> np.ndarray:
    cached: tuple[int, np.ndarray] | None = getattr(index, "_rskg_matrix", None)
    if cached is None or cached[0] != len(index.ids):
        n = len(index.ids)
        m = np.zeros((n, index.dim), np.float32)
        live = np.asarray([p for p, i in enumerate(index.ids) if i], np.int64)
        if len(live):
            m[live] = index.index.reconstruct_batch(live)
        cached = (n, l2n(m))
        index._rskg_matrix = cached  # type: ignore[attr-defined]
    return cached[1]


def reconstruct(index: VectorIndex, pos: np.ndarray) -> np.ndarray:
    if len(pos) == 0:
        return np.zeros((0, index.dim), np.float32)
    if index.kind == "flat" and len(index.ids) <= EXACT_LIMIT:
        return flat_matrix(index)[pos]
    if index.kind != "flat":
        ivf = faiss.extract_index_ivf(index.index)
        if ivf.direct_map.type == faiss.DirectMap.NoMap:  # type: ignore[attr-defined]  # stub lacks DirectMap
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # stub lacks DirectMap
    return l2n(index.index.reconstruct_batch(pos))


def knn(index: VectorIndex, queries: np.ndarray, k: int, allowed: Collection[str] | None,
        excluded: Collection[str] = (), min_score: float = -2.0) -> list[list[Hit]]:
    """Top-k (id, cosine similarity) per query row, best first; hits under ``min_score`` are dropped."""
    excl = _ids(index, excluded) if excluded else None
    allow = None if allowed is None else _ids(index, allowed)
    pos, sims = knn_arrays(index, queries, k, allow, excl, min_score)
    ids = index.ids
    return [[Hit(ids[p], float(d)) for p, d in zip(pr[pr >= 0].tolist(), sr[pr >= 0].tolist(), strict=True)]
            for pr, sr in zip(pos, sims, strict=True)]


def split_transform(index: VectorIndex) -> tuple[list[faiss.VectorTransform], faiss.Index]:
    """(pre-transforms, inner index) of an IVF-PQ ``IndexPreTransform`` (empty list when there is none)."""
    if isinstance(index.index, faiss.IndexPreTransform):
        chain: Any = index.index.chain
        return ([faiss.downcast_VectorTransform(chain.at(j)) for j in range(chain.size())],
                faiss.downcast_index(index.index.index))
    return [], index.index


def transform(index: VectorIndex, queries: np.ndarray) -> np.ndarray:
    """Queries in the space the inner IVF index searches (PCA etc. applied; identity for flat)."""
    x = np.ascontiguousarray(l2n(np.atleast_2d(queries)))
    for vt in split_transform(index)[0]:
        x = np.ascontiguousarray(vt.apply(x))
    return x


def knn_arrays(index: VectorIndex, queries: np.ndarray, k: int, allowed: np.ndarray | None,
               excluded: np.ndarray | None = None, min_score: float = -2.0,
               transformed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised top-k: (FAISS positions int64, cosine similarities float32), both [n queries, k'], best
    first, position -1 where there is no hit (fewer candidates, or under ``min_score``). ``allowed`` /
    ``excluded`` are position arrays; ``transformed`` = :func:`transform` of the queries, precomputed
    (IVF-PQ only: the PCA of the queries is skipped)."""
    with single_threaded():
        return _knn_arrays(index, queries, k, allowed, excluded, min_score, transformed)


def _empty(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, 0), -1, np.int64), np.zeros((n, 0), np.float32)


def topk(sims: np.ndarray, k: int, cols: np.ndarray | None, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    kk = min(k, sims.shape[1])
    if kk == 0:
        return _empty(len(sims))
    top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < sims.shape[1] else \
        np.broadcast_to(np.arange(sims.shape[1]), (len(sims), sims.shape[1]))
    ts = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-ts, axis=1, kind="stable")
    top, ts = np.take_along_axis(top, order, axis=1), np.take_along_axis(ts, order, axis=1)
    pos = top.astype(np.int64) if cols is None else cols[top]
    pos = np.where(ts >= min_score, pos, -1)
    return pos, ts.astype(np.float32)


def _knn_arrays(index: VectorIndex, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                excluded: np.ndarray | None, min_score: float,
                transformed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    q = l2n(np.atleast_2d(queries))
    if len(index) == 0 or k <= 0 or len(q) == 0:
        return _empty(len(q))
    excl = excluded if excluded is not None and len(excluded) else np.zeros(0, np.int64)
    if allowed is None and index.kind == "flat" and len(index.ids) <= EXACT_LIMIT:
        sims = q @ flat_matrix(index).T       # small exact index: one matrix product, no copy of the matrix
        dead = np.asarray([p for p, i in enumerate(index.ids) if not i], np.int64)
        drop = np.union1d(excl, dead)
        if len(drop):
            sims[:, drop] = -np.inf
        pos, ts = topk(sims, min(k, len(index)), None, min_score)
        return np.where(np.isfinite(ts), pos, -1), ts
    if allowed is not None:
        allow = np.setdiff1d(allowed, excl, assume_unique=True)
        if len(allow) == 0:
            return _empty(len(q))
        if len(allow) <= EXACT_LIMIT:
            return topk(q @ reconstruct(index, allow).T, k, allow, min_score)
        keep: list[faiss.IDSelector] = []
        sel: faiss.IDSelector | None = faiss.IDSelectorBatch(allow)
        nprobe_factor = RESTRICTED_NPROBE_FACTOR
        k = min(k, len(allow))
    else:
        keep = [faiss.IDSelectorBatch(excl)] if len(excl) else []   # IDSelectorNot keeps a raw pointer
        sel = faiss.IDSelectorNot(keep[0]) if keep else None
        nprobe_factor = 1
    target, x = index.index, q
    if index.kind == "flat":
        params = faiss.SearchParameters(sel=sel) if sel is not None else None  # type: ignore[call-arg]  # swig kwargs
    else:
        ivf = faiss.extract_index_ivf(index.index)
        params = faiss.SearchParametersIVF(nprobe=min(ivf.nlist, index.params.nprobe * nprobe_factor))  # type: ignore[call-arg]  # swig kwargs
        if sel is not None:
            params.sel = sel
        if transformed is not None:
            target, x = split_transform(index)[1], np.ascontiguousarray(transformed, np.float32)
    dist, lab = target.search(x, min(k, len(index)), params=params)
    if index.kind != "flat":
        dist = 1.0 - dist / 2.0
    del sel, keep
    dist = dist.astype(np.float32)
    lab = np.where((lab >= 0) & (dist >= min_score), lab, -1)
    return lab.astype(np.int64), dist
