"""The fixed, seeded 70/30 UCMerced split (by image id) used for training the head and for evaluation.

Stratified: 70 train / 30 test images in each of the 21 classes (1,470 / 630 = paper 002's
archive / queries protocol). Ids are paths relative to the UCMerced folder, as in
``multilabels.csv`` (``images/<class>/<class>NN.jpg``). The split depends only on the seed (no
disk access), so every process computes the same one; images trained on are never evaluated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

UCM_CLASSES: tuple[str, ...] = (
    "agricultural", "airplane", "baseballdiamond", "beach", "buildings", "chaparral", "denseresidential",
    "forest", "freeway", "golfcourse", "harbor", "intersection", "mediumresidential", "mobilehomepark",
    "overpass", "parkinglot", "river", "runway", "sparseresidential", "storagetanks", "tenniscourt",
)
PER_CLASS = 100
TRAIN_PER_CLASS = 70


@dataclass(frozen=True)
class UcmSplit:
    train: tuple[str, ...]
    test: tuple[str, ...]
    seed: int

    def __iter__(self) -> Iterator[tuple[str, ...]]:  # allows ``train, test = ucm_split()``
        return iter((self.train, self.test))

    def part_of(self, image_id: str) -> str:
        """'train' or 'test' for a UCMerced id (a bare file name such as ``beach07.jpg`` also works)."""
        name = image_id.replace("\\", "/").rsplit("/", 1)[-1]
        if name in {t.rsplit("/", 1)[-1] for t in self.train}:
            return "train"
        if name in {t.rsplit("/", 1)[-1] for t in self.test}:
            return "test"
        raise KeyError(f"{image_id!r} is not a UCMerced image id")


def ucm_image_id(cls: str, i: int) -> str:
    return f"images/{cls}/{cls}{i:02d}.jpg"


def ucm_split(seed: int = 0) -> UcmSplit:
    rng = np.random.default_rng(seed)
    train: list[str] = []
    test: list[str] = []
    for cls in UCM_CLASSES:
        order = rng.permutation(PER_CLASS)
        train += [ucm_image_id(cls, int(i)) for i in sorted(order[:TRAIN_PER_CLASS])]
        test += [ucm_image_id(cls, int(i)) for i in sorted(order[TRAIN_PER_CLASS:])]
    return UcmSplit(tuple(train), tuple(test), seed)
