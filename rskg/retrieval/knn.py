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


def _flat_matrix(index: VectorIndex) -> np.ndarray:
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
        return _flat_matrix(index)[pos]
    if index.kind != "flat":
        ivf = faiss.extract_index_ivf(index.index)
        if ivf.direct_map.type == faiss.DirectMap.NoMap:
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    return l2n(index.index.reconstruct_batch(pos))


def knn(index: VectorIndex, queries: np.ndarray, k: int, allowed: Collection[str] | None,
        excluded: Collection[str] = (), min_score: float = -2.0) -> list[list[Hit]]:
    """Top-k (id, cosine similarity) per query row, best first; hits under ``min_score`` are dropped."""
    with single_threaded():
        return _knn(index, queries, k, allowed, excluded, min_score)


def _knn(index: VectorIndex, queries: np.ndarray, k: int, allowed: Collection[str] | None,
         excluded: Collection[str], min_score: float) -> list[list[Hit]]:
    q = l2n(np.atleast_2d(queries))
    if len(index) == 0 or k <= 0 or len(q) == 0:
        return [[] for _ in range(len(q))]
    excl = _ids(index, excluded) if excluded else np.zeros(0, np.int64)
    if allowed is None and index.kind == "flat" and len(index) <= EXACT_LIMIT:
        allowed = [i for i in index.ids if i]     # small exact index: one matrix product beats OpenMP search
    if allowed is not None:
        allow = np.setdiff1d(_ids(index, allowed), excl, assume_unique=True)
        if len(allow) == 0:
            return [[] for _ in range(len(q))]
        if len(allow) <= EXACT_LIMIT:
            vecs = reconstruct(index, allow)
            sims = q @ vecs.T
            kk = min(k, len(allow))
            top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            out = []
            for r in range(len(q)):
                order = top[r][np.argsort(-sims[r, top[r]])]
                out.append([Hit(index.ids[int(allow[j])], float(sims[r, j])) for j in order
                            if sims[r, j] >= min_score])
            return out
        keep: list[object] = []
        sel: faiss.IDSelector | None = faiss.IDSelectorBatch(allow)
        nprobe_factor = RESTRICTED_NPROBE_FACTOR
        k = min(k, len(allow))
    else:
        keep = [faiss.IDSelectorBatch(excl)] if len(excl) else []   # IDSelectorNot keeps a raw pointer
        sel = faiss.IDSelectorNot(keep[0]) if keep else None
        nprobe_factor = 1
    if index.kind == "flat":
        params = faiss.SearchParameters(sel=sel) if sel is not None else None
    else:
        ivf = faiss.extract_index_ivf(index.index)
        params = faiss.SearchParametersIVF(nprobe=min(ivf.nlist, index.params.nprobe * nprobe_factor))
        if sel is not None:
            params.sel = sel
    dist, lab = index.index.search(q, min(k, len(index)), params=params)
    if index.kind != "flat":
        dist = 1.0 - dist / 2.0
    del sel, keep
    ok = (lab >= 0) & (dist >= min_score)
    ids = index.ids
    return [[Hit(ids[p], float(d)) for d, p in zip(dr[m], lr[m], strict=True)]
            for dr, lr, m in zip(dist, lab, ok, strict=True)]
