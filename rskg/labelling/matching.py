"""Chip similarity by graph matching (paper 2.7-2.8): Hungarian matching of two chips' segment
embeddings (scipy.optimize.linear_sum_assignment on cosine similarity), score = mean cosine similarity
of the matched pairs; repeated over all pairs of chips -> similarity matrix."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)).astype(np.float32)


def summarise(emb: np.ndarray, max_segments: int, seed: int = 0) -> np.ndarray:
    """At most ``max_segments`` unit vectors per chip: k-means centres of the segment embeddings when a
    chip has more segments (a 256-px chip has ~500; matching 500 x 500 for every pair is too slow on CPU)."""
    u = _unit(emb)
    if len(u) <= max_segments:
        return u
    km = KMeans(max_segments, n_init=1, max_iter=30, random_state=seed).fit(u)
    return _unit(km.cluster_centers_)


def pair_similarity(a: np.ndarray, b: np.ndarray) -> float:
    s = _unit(a) @ _unit(b).T
    r, c = linear_sum_assignment(s, maximize=True)
    return float(s[r, c].mean())


def similarity_matrix(embs: list[np.ndarray], max_segments: int = 64, seed: int = 0, exact_max: int = 800,
                      candidates: int = 50) -> np.ndarray:
    """(n, n) symmetric chip similarity, diagonal 1.

    Up to ``exact_max`` chips every pair is matched. Above, each chip is matched only with its
    ``candidates`` nearest chips by mean segment embedding (cosine), O(n * candidates) matchings instead
    of O(n^2); the other entries get that proxy similarity minus 2, i.e. they rank below every matched
    pair (UMAP only uses each chip's nearest neighbours)."""
    units = [summarise(e, max_segments, seed) for e in embs]
    n = len(units)
    if n > exact_max:
        return _candidate_matrix(units, candidates)
    offs = np.cumsum([0] + [len(u) for u in units])
    allu = np.concatenate(units)
    out = np.eye(n, dtype=np.float32)
    for i in range(n - 1):
        s_all = units[i] @ allu[offs[i + 1]:].T
        base = offs[i + 1]
        for j in range(i + 1, n):
            s = s_all[:, offs[j] - base:offs[j + 1] - base]
            r, c = linear_sum_assignment(s, maximize=True)
            out[i, j] = out[j, i] = s[r, c].mean()
    return out


def _candidate_matrix(units: list[np.ndarray], candidates: int) -> np.ndarray:
    n = len(units)
    means = _unit(np.stack([u.mean(0) for u in units]))
    proxy = means @ means.T
    np.fill_diagonal(proxy, -np.inf)
    cand = np.argsort(-proxy, 1)[:, :min(candidates, n - 1)]
    out = (np.where(np.isfinite(proxy), proxy, 0.0) - 2.0).astype(np.float32)
    np.fill_diagonal(out, 1.0)
    done = np.zeros((n, n), bool)
    for i in range(n):
        for j in cand[i]:
            if not done[i, j]:
                s = units[i] @ units[j].T
                r, c = linear_sum_assignment(s, maximize=True)
                out[i, j] = out[j, i] = s[r, c].mean()
                done[i, j] = done[j, i] = True
    return out
