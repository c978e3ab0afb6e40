"""Filtered kNN for retrieval: :class:`embeddings.faiss_index.VectorIndex`'s search, one thread per request.

The search itself (exact matrix product for small candidate sets, ``IDSelector`` + nprobe rule for large ones,
positions, reconstruction, distance -> cosine) lives in :mod:`embeddings.faiss_index`; this module only adds
the threading policy of a request (:func:`single_threaded`) and keeps the names the retrieval code uses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager

import faiss
import numpy as np
from threadpoolctl import ThreadpoolController

from embeddings.faiss_index import EXACT_LIMIT, RESTRICTED_NPROBE_FACTOR, Hit, VectorIndex, top_k

# One request = one thread of BLAS / OpenMP work: on a small shared machine multi-threaded BLAS and
# OpenMP spin-waiting made a 100 x 155 product 80 ms instead of 0.5 ms; concurrency comes from requests.
SEARCH_THREADS = 1
_CONTROLLER: ThreadpoolController | None = None

__all__ = ["EXACT_LIMIT", "RESTRICTED_NPROBE_FACTOR", "knn", "knn_arrays", "single_threaded", "topk"]

topk = top_k


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


def knn(index: VectorIndex, queries: np.ndarray, k: int, allowed: Collection[str] | None,
        excluded: Collection[str] = (), min_score: float = -2.0) -> list[list[Hit]]:
    """Top-k (id, cosine similarity) per query row, best first; hits under ``min_score`` are dropped."""
    with single_threaded():
        return index.search(queries, k, restrict_to=allowed, exclude=excluded, min_score=min_score)


def knn_arrays(index: VectorIndex, queries: np.ndarray, k: int, allowed: np.ndarray | None,
               excluded: np.ndarray | None = None, min_score: float = -2.0,
               transformed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`VectorIndex.search_positions` under :func:`single_threaded` (positions in, positions out)."""
    with single_threaded():
        return index.search_positions(queries, k, allowed, excluded, min_score, transformed)
