"""The labelled image corpus the concept head trains on: every shipped scene dataset, raw features cached.

Sources are grouped by *dataset family* (the unit of leave-one-dataset-out): ``ucm`` (UCMerced, scene
classes + 17 multi-labels; only its fixed train split is trainable), ``eurosat`` (the full release, a
seeded class-balanced subsample: its ``splits.csv`` train part for training, its test part as target),
``nwpu`` (both NWPU-RESISC45
folders), ``rsscn7`` and ``gid`` (GID-MTL5 + GID-MTL15). Compute on 2 CPU cores is the limit, so EuroSAT is
subsampled (``EUROSAT_TRAIN_PER_CLASS`` + ``EUROSAT_TEST_PER_CLASS`` chips per class, seed 0); the others
are used whole. The backbone is frozen: raw pooled stages are computed once per image
(:func:`rskg.corpora.features.raw_features`, keyed by file SHA-256 + GSD) and every head trains on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from rskg.corpora.features import raw_features
from rskg.corpora.images import EvalImages, from_folder
from rskg.errors import NotFoundError
from rskg.settings import Settings

log = logging.getLogger(__name__)

# family -> (reader, vocabulary of its label sets in the label system)
SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "ucm": (("ucm", "ucm"),),
    "eurosat": (("eurosat_full", "eurosat"),),
    "nwpu": (("nwpu_resisc45", "nwpu_resisc45"), ("nwpu_resisc45_more", "nwpu_resisc45")),
    "rsscn7": (("rsscn7", "rsscn7"),),
    "gid": (("gid_mtl5", "gid_mtl5"), ("gid_mtl15", "gid_mtl15")),
}
FAMILIES = tuple(SOURCES)
EUROSAT_TRAIN_PER_CLASS = 150
EUROSAT_TEST_PER_CLASS = 100


@dataclass
class Part:
    """One reader's images in the corpus."""

    family: str
    reader: str
    vocabulary: str
    images: EvalImages
    raw: np.ndarray                     # (N, raw dim) raw pooled backbone stages
    trainable: np.ndarray               # (N,) bool: may be used to train a head (False: held-out test part)

    def label_sets(self) -> list[dict[str, list[str]]]:
        """Per image: label set id *in the label system's vocabulary* -> labels."""
        ren = {self.images.primary_set: self.vocabulary}
        return [{ren.get(k, k.replace(self.images.primary_set, self.vocabulary, 1)): v for k, v in ls.items()}
                for ls in self.images.label_sets]


@dataclass
class Corpus:
    parts: list[Part] = field(default_factory=list)

    def family_of(self) -> np.ndarray:
        return np.concatenate([[p.family] * len(p.images) for p in self.parts])

    def raw(self) -> np.ndarray:
        return np.vstack([p.raw for p in self.parts])

    def trainable(self) -> np.ndarray:
        return np.concatenate([p.trainable for p in self.parts])

    def label_sets(self) -> list[dict[str, list[str]]]:
        return [ls for p in self.parts for ls in p.label_sets()]

    def tags(self) -> list[str]:
        return [f"{p.reader}:{s}" for p in self.parts for s in p.images.scene_labels()]

    def gsd(self) -> list[float | None]:
        return [g for p in self.parts for g in p.images.gsd_m]


def balanced_subsample(images: EvalImages, split: str, per_class: int, seed: int = 0) -> list[int]:
    """Seeded, class-balanced rows of one split (all rows of a class when it has fewer)."""
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = {}
    for i, (lab, sp) in enumerate(zip(images.scene_labels(), images.splits or [""] * len(images), strict=True)):
        if sp == split:
            by_class.setdefault(lab, []).append(i)
    rows: list[int] = []
    for lab in sorted(by_class):
        r = by_class[lab]
        rows += sorted(int(x) for x in rng.choice(r, min(per_class, len(r)), replace=False))
    return rows


def _select(reader: str, images: EvalImages) -> tuple[EvalImages, np.ndarray]:
    if reader == "ucm":   # the fixed UCMerced split: its test part is never trained on (CBIR is scored on it)
        from embeddings.splits import ucm_split

        train = set(ucm_split(0).train)
        return images, np.asarray([p in train for p in images.rel_paths])
    if reader != "eurosat_full":
        return images, np.ones(len(images), bool)
    tr = balanced_subsample(images, "train", EUROSAT_TRAIN_PER_CLASS)
    te = balanced_subsample(images, "test", EUROSAT_TEST_PER_CLASS)
    return images.subset(tr + te), np.asarray([True] * len(tr) + [False] * len(te))


def load_corpus(settings: Settings, enc: object, families: tuple[str, ...] = FAMILIES,
                progress: bool = True) -> Corpus:
    """Every available source of ``families`` (missing folders are skipped with a warning)."""
    out = Corpus()
    for fam in families:
        for reader, vocab in SOURCES[fam]:
            try:
                imgs = from_folder(settings, reader)
            except NotFoundError as exc:
                log.warning("skipping %s: %s", reader, exc)
                continue
            imgs, trainable = _select(reader, imgs)
            raw = raw_features(settings, enc, imgs, progress=progress)  # type: ignore[arg-type]
            out.parts.append(Part(fam, reader, vocab, imgs, raw, trainable))
    if not out.parts:
        raise NotFoundError("no labelled dataset folder found for head training",
                            "Set RSKG_DATA_DIR to the shared data folder (ucmerced/, eurosat_rgb_full/, ...).")
    return out
