"""Fuzzy c-means (Bezdek) on pixel vectors, vectorised numpy: soft multi-label pixel targets (paper 2.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def memberships(x: np.ndarray, centres: np.ndarray, m: float = 2.0) -> np.ndarray:
    """(N, C) membership of each row of ``x`` (N, D) to each centre (C, D); rows sum to 1."""
    d2 = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    d2 = np.maximum(d2, 1e-12)
    inv = d2 ** (-1.0 / (m - 1.0))
    return (inv / inv.sum(1, keepdims=True)).astype(np.float32)


@dataclass
class FuzzyCMeans:
    centres: np.ndarray
    m: float
    iterations: int
    objective: float

    def predict(self, x: np.ndarray, chunk: int = 65536) -> np.ndarray:
        return np.concatenate([memberships(x[i:i + chunk], self.centres, self.m)
                               for i in range(0, max(len(x), 1), chunk)])[: len(x)]

    def predict_image(self, img: np.ndarray) -> np.ndarray:
        """(C_bands, H, W) -> (clusters, H, W)."""
        b, h, w = img.shape
        u = self.predict(img.reshape(b, -1).T)
        return u.T.reshape(-1, h, w)


def fit(x: np.ndarray, c: int, m: float = 2.0, max_iter: int = 150, tol: float = 1e-5,
        seed: int = 0) -> FuzzyCMeans:
    """Alternate centre and membership updates until the memberships move less than ``tol``."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float64)
    u = rng.dirichlet(np.ones(c), size=len(x))
    obj = np.inf
    it = 0
    while it < max_iter:
        it += 1
        um = u ** m
        centres = (um.T @ x) / np.maximum(um.sum(0)[:, None], 1e-12)
        new = memberships(x, centres, m).astype(np.float64)
        d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
        obj = float((new ** m * d2).sum())
        delta = np.abs(new - u).max()
        u = new
        if delta < tol:
            break
    return FuzzyCMeans(centres.astype(np.float32), m, it, obj)
