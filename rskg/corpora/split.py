"""The fixed, seeded UCMerced split every experiment uses (``embeddings.splits.ucm_split(seed=0)``).

The multi-label head and every prototype an experiment builds see only the *train* part (70 %, 1,470
images = paper 002's archive); metrics are computed on the *test* part (30 %, 630 images = paper 002's
queries). The split is owned by ``embeddings.splits`` so that the head's training and the evaluation can
never disagree; this module only maps it onto the images an experiment loaded (by file name: UCMerced file
names such as ``agricultural00.jpg`` are unique).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rskg.errors import DataError

SEED = 0


@dataclass(frozen=True)
class Split:
    train: np.ndarray      # boolean mask over the images
    seed: int
    source: str

    @property
    def test(self) -> np.ndarray:
        return ~self.train

    def describe(self) -> str:
        return (f"{self.source}: {int(self.train.sum())} train / {int(self.test.sum())} test images "
                f"(seed {self.seed})")


def _names(items: Iterable[Any]) -> set[str]:
    return {posixpath.basename(str(x).replace("\\", "/")) for x in items}


def _parts(raw: Any) -> tuple[set[str], set[str]]:
    if isinstance(raw, dict):
        return _names(raw["train"]), _names(raw["test"])
    if hasattr(raw, "train") and hasattr(raw, "test"):
        return _names(raw.train), _names(raw.test)
    train, test = raw
    return _names(train), _names(test)


def ucm_split(rel_paths: list[str], seed: int = SEED) -> Split:
    """The train mask of ``rel_paths`` (UCMerced images) under the project's fixed split."""
    from embeddings.splits import ucm_split as owner_split

    train, test = _parts(owner_split(seed=seed))
    names = [posixpath.basename(p) for p in rel_paths]
    unknown = [n for n in names if n not in train and n not in test]
    if unknown:
        raise DataError(f"{len(unknown)} images are in neither part of the UCMerced split (e.g. {unknown[0]})",
                        "Evaluate the UCMerced images the split was made for (the shared data folder).")
    return Split(np.asarray([n in train for n in names]), seed, f"embeddings.splits.ucm_split(seed={seed})")
