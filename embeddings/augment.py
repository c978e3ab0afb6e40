"""Image-level scale + rotation augmentation for the head's training views.

Each training image gets a few extra *views*, encoded once by the backbone and cached by the
caller, then sampled at random per epoch (the head trains on cached features, so augmentation
costs backbone passes only once):

* ``rotate``: a random multiple of 90 degrees plus a random flip (overhead imagery has no "up");
* ``coarse``: the image downsampled by a random factor in ``COARSE_RANGE`` and returned at that
  size with the correspondingly coarser GSD — what a lower-resolution sensor sees of the same ground;
* ``mosaic``: an ``n x n`` mosaic of the image and partners from the same group (e.g. the same
  scene class; the image itself, randomly rotated, when it has none), each tile downsampled ``n``
  times: the same pixel count covering ``n`` times the ground extent at ``n`` times the GSD, as a
  coarse, large-footprint scene (EuroSAT-like) would. Its labels are the union of the tiles' labels.

The encoder treats every view exactly like a real image with that GSD (see ``preprocess``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

COARSE_RANGE = (0.2, 0.5)
VIEW_KINDS = ("rotate", "coarse", "mosaic")


@dataclass
class View:
    source: int                 # index of the training image
    kind: str
    image: np.ndarray
    gsd_m: float | None
    partners: tuple[int, ...]   # images whose labels the view carries (itself included)


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((max(1, w), max(1, h)), Image.Resampling.BILINEAR))


def rotate_flip(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.rot90(a, int(rng.integers(0, 4)))
    return np.ascontiguousarray(out[:, ::-1] if rng.random() < 0.5 else out)


def coarse(a: np.ndarray, factor: float) -> np.ndarray:
    return _resize(a, round(a.shape[0] * factor), round(a.shape[1] * factor))


def mosaic(tiles: Sequence[np.ndarray], n: int) -> np.ndarray:
    h, w = tiles[0].shape[:2]
    th, tw = h // n, w // n
    rows = [np.concatenate([_resize(tiles[r * n + c], th, tw) for c in range(n)], axis=1) for r in range(n)]
    return np.concatenate(rows, axis=0)


def make_views(
    images: Sequence[np.ndarray],
    gsd_m: Sequence[float | None],
    groups: Sequence[object] | None,
    seed: int,
    kinds: Sequence[str] = VIEW_KINDS,
    mosaic_n: int = 2,
) -> list[View]:
    """Extra views of every image, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    members: dict[object, list[int]] = {}
    for i, g in enumerate(groups if groups is not None else range(len(images))):
        members.setdefault(g, []).append(i)
    views: list[View] = []
    for i, img in enumerate(images):
        g = gsd_m[i]
        for kind in kinds:
            if kind == "rotate":
                views.append(View(i, kind, rotate_flip(img, rng), g, (i,)))
            elif kind == "coarse":
                f = float(rng.uniform(*COARSE_RANGE))
                views.append(View(i, kind, coarse(img, f), None if g is None else g / f, (i,)))
            elif kind == "mosaic":
                pool = [j for j in members[groups[i] if groups is not None else i] if j != i]
                need = mosaic_n * mosaic_n - 1
                picks = [int(j) for j in rng.choice(pool, need, replace=len(pool) < need)] if pool else [i] * need
                tiles = [rotate_flip(images[j], rng) for j in (i, *picks)]
                views.append(View(i, kind, mosaic(tiles, mosaic_n), None if g is None else g * mosaic_n,
                                  (i, *picks)))
            else:
                raise ValueError(f"unknown view kind {kind!r}; use {VIEW_KINDS}")
    return views
