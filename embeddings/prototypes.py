"""Per-concept prototypes: k-means centres of a concept's sample features (paper 000, step 4).

``faiss.Kmeans`` with spherical (cosine) centroids, seeded, single-threaded for determinism.
"""

from __future__ import annotations

from typing import cast

import faiss
import numpy as np

from rskg.errors import ValidationError


def kmeans_prototypes(vectors: np.ndarray, k: int = 10, seed: int = 0, niter: int = 25) -> np.ndarray:
    """(k', dim) float32 L2-normalised centres, k' = min(k, distinct rows); with no more distinct (normalised)
    rows than k, those rows themselves. The one k-means of the project: `rskg index build` and every
    evaluation fit prototypes with it."""
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if x.ndim != 2 or len(x) == 0:
        raise ValidationError(f"need a non-empty (n, dim) matrix, got shape {x.shape}",
                              hint="A concept needs at least one sample feature to get prototypes.")
    if k < 1:
        raise ValidationError(f"k must be >= 1, got {k}")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    _, first = np.unique(np.round(x, 6), axis=0, return_index=True)
    if len(first) <= k:      # no more distinct rows than centres: the distinct rows themselves, in input order
        return cast(np.ndarray, x[np.sort(first)].copy())
    prev = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        km = faiss.Kmeans(x.shape[1], k, niter=niter, seed=seed, spherical=True, verbose=False,
                          min_points_per_centroid=1)
        km.train(x)
    finally:
        faiss.omp_set_num_threads(prev)
    c = np.asarray(km.centroids, dtype=np.float32)
    return cast(np.ndarray, c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12))
