"""2-D maps with UMAP (paper 2.8): chips from the precomputed similarity matrix, segments from vectors."""

from __future__ import annotations

import os
import warnings

import numpy as np


def _umap(**kw: object) -> object:
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.expanduser("~/.cache/numba"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap

    return umap.UMAP(**kw)


def _scale(xy: np.ndarray) -> np.ndarray:
    """Into [0, 1]^2 (keeps the aspect ratio) so that the web page needs no further scaling."""
    xy = xy - xy.min(0)
    return (xy / max(float(xy.max()), 1e-9)).astype(np.float32)


def chips_2d(similarity: np.ndarray, neighbours: int = 15, seed: int = 0) -> np.ndarray:
    n = len(similarity)
    if n < 4:
        return _scale(np.c_[np.arange(n), np.zeros(n)].astype(np.float32))
    dist = np.clip(1.0 - similarity, 0.0, None).astype(np.float64)
    np.fill_diagonal(dist, 0.0)
    model = _umap(n_neighbors=min(neighbours, n - 1), metric="precomputed", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _scale(model.fit_transform(dist))  # type: ignore[attr-defined]


def vectors_2d(vectors: np.ndarray, neighbours: int = 15, seed: int = 0) -> np.ndarray:
    n = len(vectors)
    if n < 4:
        return _scale(np.c_[np.arange(n), np.zeros(n)].astype(np.float32))
    model = _umap(n_neighbors=min(neighbours, n - 1), metric="cosine", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _scale(model.fit_transform(vectors))  # type: ignore[attr-defined]
