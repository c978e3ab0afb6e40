"""Patch grids for the HIR class distributions (paper 002 stage 2 without a segmentation network).

Paper 002 compares the *pixel fractions* of land-cover classes. rskg has no pixel-level labels, so an image's
class distribution is built from a G x G grid of patches instead: the multi-label head (or, without a head,
the prototype softmax) gives each patch's class probabilities, and the image's distribution is their mean
over the patches (each patch normalised to sum 1), i.e. a coarse "share of the image that shows class c".
"""

from __future__ import annotations

from typing import cast

import numpy as np

DEFAULT_GRID = 3


def grid_patches(image: np.ndarray, grid: int = DEFAULT_GRID) -> list[np.ndarray]:
    """The grid x grid equal crops of an (H, W, C) image, row by row (edges split as evenly as possible)."""
    if grid < 1:
        raise ValueError(f"grid must be >= 1, not {grid}")
    h, w = image.shape[:2]
    if h < grid or w < grid:
        raise ValueError(f"a {h}x{w} image cannot be split into {grid}x{grid} patches")
    rows = np.linspace(0, h, grid + 1).round().astype(int)
    cols = np.linspace(0, w, grid + 1).round().astype(int)
    return [image[rows[i]:rows[i + 1], cols[j]:cols[j + 1]] for i in range(grid) for j in range(grid)]


def normalise(p: np.ndarray) -> np.ndarray:
    """Rows scaled to sum 1 (all-zero rows stay zero)."""
    p = np.asarray(p, np.float32)
    return cast(np.ndarray, (p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-12)).astype(np.float32))


def image_distributions(patch_probs: np.ndarray, grid: int = DEFAULT_GRID) -> np.ndarray:
    """(N * grid**2, C) per-patch class scores of N images (patches consecutive per image) -> (N, C) image
    distributions: the mean of the normalised patch distributions."""
    if grid == 1:
        return normalise(patch_probs)          # one patch per image: its own distribution
    n_patch = grid * grid
    if len(patch_probs) % n_patch:
        raise ValueError(f"{len(patch_probs)} patch rows are not a multiple of {n_patch}")
    per = normalise(patch_probs).reshape(-1, n_patch, patch_probs.shape[-1])
    return normalise(per.mean(axis=1))
