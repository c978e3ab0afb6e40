"""SLIC superpixels and the segment graph of a chip (paper 2.5): nodes = segments with the mean U-Net
activations, edges to the K geographically nearest segments (by centroid)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from skimage.segmentation import slic

from rskg.errors import ValidationError
from rskg.labelling.config import LabellingConfig


@dataclass
class ChipGraph:
    labels: np.ndarray          # (H, W) int32 segment id per pixel, ids 0..n-1
    centroids: np.ndarray       # (n, 2) row, col
    sizes: np.ndarray           # (n,) pixels per segment
    edges: np.ndarray           # (2, n*k) source -> target (each node to its k nearest)
    features: np.ndarray        # (n, F) mean activations
    targets: np.ndarray         # (n, C) mean fuzzy memberships (rows sum to 1)

    @property
    def n(self) -> int:
        return len(self.sizes)


def check_size(height: int, width: int, cfg: LabellingConfig, sample_id: str = "") -> None:
    need = (cfg.k + 1) * cfg.min_segment_px
    if height * width < need or min(height, width) < 4:
        raise ValidationError(
            f"chip {sample_id or ''} of {height} x {width} px is too small for {cfg.k + 1} segments of at "
            f"least {cfg.min_segment_px} px (k = {cfg.k} neighbours)",
            f"Use chips of at least {int(np.ceil(np.sqrt(need)))} x {int(np.ceil(np.sqrt(need)))} px, or lower k.")


def segment(rgb: np.ndarray, cfg: LabellingConfig, sample_id: str = "") -> np.ndarray:
    """SLIC on the display image; ids relabelled to 0..n-1."""
    h, w = rgb.shape[:2]
    check_size(h, w, cfg, sample_id)
    lab = slic(rgb, n_segments=cfg.n_segments(h, w), compactness=cfg.slic_compactness, start_label=0,
               channel_axis=-1 if rgb.ndim == 3 else None)
    _, lab = np.unique(lab, return_inverse=True)
    lab = lab.reshape(h, w).astype(np.int32)
    if lab.max() + 1 < cfg.k + 1:       # SLIC merges pure noise into one region: fall back to a grid
        lab = grid(h, w, cfg.n_segments(h, w))
    return lab


def grid(height: int, width: int, n: int) -> np.ndarray:
    """Regular blocks, about ``n`` of them (the fallback when SLIC finds too few regions)."""
    rows = max(1, round(np.sqrt(n * height / width)))
    cols = max(1, round(n / rows))
    r = np.minimum(np.arange(height) * rows // height, rows - 1)
    c = np.minimum(np.arange(width) * cols // width, cols - 1)
    return (r[:, None] * cols + c[None, :]).astype(np.int32)


def segment_means(labels: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """(n, channels) mean of each channel of ``maps`` (channels, H, W) over each segment."""
    n = int(labels.max()) + 1
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=m.ravel(), minlength=n) for m in maps], 1)
    return (sums / np.maximum(sizes, 1)[:, None]).astype(np.float32)


def centroids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = int(labels.max()) + 1
    rr, cc = np.indices(labels.shape)
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n).astype(np.float64)
    cen = np.stack([np.bincount(flat, rr.ravel(), n), np.bincount(flat, cc.ravel(), n)], 1) / sizes[:, None]
    return cen.astype(np.float32), sizes.astype(np.int64)


def knn_edges(cen: np.ndarray, k: int) -> np.ndarray:
    """(2, n*k) edges src -> each of its k geographically nearest segments."""
    kk = min(k, len(cen) - 1)
    _, idx = cKDTree(cen).query(cen, kk + 1)
    src = np.repeat(np.arange(len(cen)), kk)
    return np.stack([src, idx[:, 1:].ravel()]).astype(np.int64)


def build(labels: np.ndarray, activations: np.ndarray, memberships: np.ndarray, k: int) -> ChipGraph:
    cen, sizes = centroids(labels)
    tgt = segment_means(labels, memberships)
    tgt = tgt / np.maximum(tgt.sum(1, keepdims=True), 1e-6)
    return ChipGraph(labels, cen, sizes, knn_edges(cen, k), segment_means(labels, activations), tgt)
