"""Segment-level evaluation of paper 001 (section 2.9, Tables 2 and 3).

For each query segment A, B = its nearest neighbour in the embedding space (cosine, any other segment).
- feature-based: the measures between A and B;
- context-aware: A's and B's 8 geographically nearest segments are paired by Hungarian matching (on
  embedding distance); the measures are averaged over the 9 pairs (A-B and the 8 matched pairs).
Measures (our reading of the paper's description):
- GLCM (lower = more similar): Euclidean distance between the GLCM property vectors (contrast,
  dissimilarity, homogeneity, energy, correlation, ASM; distance 1, 4 angles averaged, 64 grey levels)
  of the grey bounding boxes of the two segments;
- LBP (higher): histogram intersection of uniform LBP (P=8, R=1) histograms of the bounding boxes;
- SSIM (higher): SSIM of the segment contents (pixels outside the segment set to its mean), resized to
  16 x 16 grey patches;
- SAM (lower): spectral angle (radians) between the mean spectra (all bands) of the two segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from skimage.feature import graycomatrix, graycoprops, local_binary_pattern
from skimage.metrics import structural_similarity

from rskg.labelling.chips import Chip
from rskg.labelling.segments import centroids

PROPS = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM")
PATCH = 16
LEVELS = 64
MEASURES = ("GLCM", "LBP", "SSIM", "SAM")


@dataclass
class SegDesc:
    glcm: np.ndarray
    lbp: np.ndarray
    patch: np.ndarray
    spectrum: np.ndarray


def _gray(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)


def describe(gray: np.ndarray, lbp: np.ndarray, raw: np.ndarray, mask: np.ndarray) -> SegDesc:
    rows, cols = np.nonzero(mask)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    box = gray[r0:r1, c0:c1]
    if min(box.shape) < 2:
        box = np.pad(box, ((0, max(0, 2 - box.shape[0])), (0, max(0, 2 - box.shape[1]))), mode="edge")
    glcm = graycomatrix(box // (256 // LEVELS), [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], LEVELS,
                        symmetric=True, normed=True)
    g = np.array([graycoprops(glcm, p).mean() for p in PROPS], np.float64)
    hist = np.bincount(lbp[r0:r1, c0:c1].astype(np.int64).ravel(), minlength=10)[:10].astype(np.float64)
    content = gray[r0:r1, c0:c1].astype(np.float32)
    m = mask[r0:r1, c0:c1]
    content = np.where(m, content, content[m].mean())
    patch = np.asarray(Image.fromarray(content).resize((PATCH, PATCH), Image.Resampling.BILINEAR), np.float32)
    return SegDesc(np.nan_to_num(g), hist / max(hist.sum(), 1), patch, raw[:, mask].mean(1).astype(np.float64))


def measures(a: SegDesc, b: SegDesc) -> np.ndarray:
    glcm = float(np.linalg.norm(a.glcm - b.glcm))
    lbp = float(np.minimum(a.lbp, b.lbp).sum())
    ssim = float(structural_similarity(a.patch, b.patch, data_range=255.0, win_size=7))
    cos = float(a.spectrum @ b.spectrum / max(np.linalg.norm(a.spectrum) * np.linalg.norm(b.spectrum), 1e-12))
    return np.array([glcm, lbp, ssim, float(np.arccos(np.clip(cos, -1.0, 1.0)))])


class SegmentSet:
    """All segments of a set of chips with their embeddings; descriptors computed on demand."""

    def __init__(self, chips: list[Chip], seg_maps: list[np.ndarray], embeddings: list[np.ndarray], k: int = 8):
        self.chips, self.maps, self.k = chips, seg_maps, k
        self.owner = np.concatenate([np.full(len(e), i) for i, e in enumerate(embeddings)])
        self.local = np.concatenate([np.arange(len(e)) for e in embeddings])
        self.offs = np.cumsum([0] + [len(e) for e in embeddings])
        emb = np.concatenate(embeddings).astype(np.float32)
        self.unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-8)
        self._gray = [_gray(c.rgb) for c in chips]
        self._lbp = [local_binary_pattern(g, 8, 1, "uniform") for g in self._gray]
        self._cache: dict[int, SegDesc] = {}
        self._nbrs: list[np.ndarray] = []
        for m in seg_maps:
            n = int(m.max()) + 1
            cen, _ = centroids(m)
            _, idx = cKDTree(cen).query(cen, min(k, n - 1) + 1)
            self._nbrs.append(idx[:, 1:])

    def desc(self, g: int) -> SegDesc:
        if g not in self._cache:
            ci, s = int(self.owner[g]), int(self.local[g])
            self._cache[g] = describe(self._gray[ci], self._lbp[ci], self.chips[ci].raw, self.maps[ci] == s)
        return self._cache[g]

    def nearest(self, queries: np.ndarray, chunk: int = 512) -> np.ndarray:
        out = np.empty(len(queries), np.int64)
        for s in range(0, len(queries), chunk):
            q = queries[s:s + chunk]
            sim = self.unit[q] @ self.unit.T
            sim[np.arange(len(q)), q] = -np.inf
            out[s:s + chunk] = sim.argmax(1)
        return out

    def spatial_neighbours(self, g: int) -> np.ndarray:
        ci = int(self.owner[g])
        return self._nbrs[ci][int(self.local[g])] + self.offs[ci]

    def context_pairs(self, a: int, b: int) -> list[tuple[int, int]]:
        na, nb = self.spatial_neighbours(a), self.spatial_neighbours(b)
        cost = 1.0 - self.unit[na] @ self.unit[nb].T
        r, c = linear_sum_assignment(cost)
        return [(a, b)] + [(int(na[i]), int(nb[j])) for i, j in zip(r, c, strict=True)]


def evaluate(segs: SegmentSet, n_queries: int = 500, seed: int = 0) -> dict[str, dict[str, float]]:
    """Mean of each measure: {'feature': {...}, 'context': {...}} over ``n_queries`` random segments."""
    rng = np.random.default_rng(seed)
    total = len(segs.owner)
    q = np.sort(rng.choice(total, min(n_queries, total), replace=False))
    nn = segs.nearest(q)
    feat, ctx = [], []
    for a, b in zip(q, nn, strict=True):
        fa = measures(segs.desc(int(a)), segs.desc(int(b)))
        feat.append(fa)
        ctx.append(np.mean([measures(segs.desc(x), segs.desc(y)) for x, y in segs.context_pairs(int(a), int(b))], 0))
    return {"feature": dict(zip(MEASURES, np.mean(feat, 0).tolist(), strict=True)),
            "context": dict(zip(MEASURES, np.mean(ctx, 0).tolist(), strict=True)),
            "n_queries": {"n": float(len(q))}}
