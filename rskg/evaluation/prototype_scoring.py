"""Per-concept k-means prototypes (paper 000 section 3.3) and the samples they retrieve."""

from __future__ import annotations

import numpy as np

DEFAULT_K = 10


def kmeans_prototypes(x: np.ndarray, k: int = DEFAULT_K, seed: int = 0) -> np.ndarray:
    """k L2-normalised spherical k-means centroids of the rows of ``x`` (the product's own implementation,
    ``embeddings.prototypes.kmeans_prototypes``, so evaluation and ``rskg index build`` agree)."""
    from embeddings.prototypes import kmeans_prototypes as owner

    return owner(x, k=k, seed=seed)


def prototype_scores(feats: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Best cosine similarity of every (L2-normalised) feature row to one of the prototypes."""
    return (np.asarray(feats, np.float32) @ prototypes.T).max(axis=1)


def knn_retrieved(feats: np.ndarray, prototypes: np.ndarray, k: int, threshold: float) -> np.ndarray:
    """Paper 000 Algorithm 2, step 4: the union of every prototype's k nearest rows with cosine >= threshold."""
    sims = np.asarray(feats, np.float32) @ prototypes.T          # (N, P)
    out = np.zeros(len(feats), bool)
    kk = min(k, len(feats))
    for j in range(sims.shape[1]):
        top = np.argpartition(-sims[:, j], kk - 1)[:kk]
        out[top[sims[top, j] >= threshold]] = True
    return out
