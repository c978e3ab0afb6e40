"""GID-MTL (../shared/data/gid_mtl) as segmentation training data: images, masks, a fixed seeded split.

GID-MTL5 masks hold the 5 coarse classes (value 5 = undefined), GID-MTL15 masks the 15 fine ones
(value 15 = undefined). Both are remapped to (fine, coarse) targets of the fine-class decoder:
a GID-15 pixel has a fine label (its coarse one follows from it), a GID-5 pixel only a coarse one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.segmentation import COARSE_GROUPS, IGNORE, N_FINE
from rskg.errors import DataError

SETS = {"gid_mtl5": len(COARSE_GROUPS), "gid_mtl15": N_FINE}   # set -> its undefined value


@dataclass(frozen=True)
class GidItem:
    set: str              # gid_mtl5 | gid_mtl15
    image: Path
    mask: Path
    scene: str


def items(root: Path, which: str) -> list[GidItem]:
    """Every image of one GID-MTL set, in scenes.csv order."""
    base = root / which
    scenes = base / "scenes.csv"
    if not scenes.is_file():
        raise DataError(f"GID-MTL set not found: {scenes}",
                        "Point RSKG_DATA_DIR at the shared data folder (it holds gid_mtl/).")
    with scenes.open() as fh:
        rows = list(csv.DictReader(fh))
    return [GidItem(which, base / r["image"], (base / r["image"].replace("images/", "masks/", 1)).with_suffix(".png"),
                    r["scene_class"]) for r in rows]


def split(all_items: list[GidItem], test_share: float = 0.2, seed: int = 0) -> tuple[list[GidItem], list[GidItem]]:
    """Seeded split per scene class: ``test_share`` of each class held out (at least one image)."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    by_scene: dict[str, list[GidItem]] = {}
    for it in all_items:
        by_scene.setdefault(it.scene, []).append(it)
    for scene in sorted(by_scene):
        group = by_scene[scene]
        order = rng.permutation(len(group))
        n_test = max(1, round(test_share * len(group)))
        test += [group[i] for i in sorted(order[:n_test])]
        train += [group[i] for i in sorted(order[n_test:])]
    return train, test


def targets(item: GidItem, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fine, coarse) uint8 targets from a raw mask; IGNORE where undefined or unknown."""
    undefined = SETS[item.set]
    fine = np.full(mask.shape, IGNORE, np.uint8)
    coarse = np.full(mask.shape, IGNORE, np.uint8)
    known = mask < undefined
    if item.set == "gid_mtl15":
        fine[known] = mask[known]
        for g, (_, _, members) in enumerate(COARSE_GROUPS):
            coarse[np.isin(mask, members)] = g
    else:
        coarse[known] = mask[known]
    return fine, coarse
