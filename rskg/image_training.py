"""Training data for the image head: UCMerced (fixed split, scene + multi-labels) and cross-dataset targets.

Used by ``rskg image train-head`` (installs the product head) and by benchmarks/features.py. Raw pooled
backbone features are cached by ``rskg.feature_cache`` (per feature version and file SHA-256); the
augmented training views by :func:`train_views` under ``settings.cache_dir / "bench_views"``.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass

import numpy as np

from embeddings.head import ViewSet, encode_views
from embeddings.image import ImageEncoder
from embeddings.splits import UCM_CLASSES, ucm_split
from rskg import atomic
from rskg.feature_cache import raw_features
from rskg.imagesets import EvalImages, from_folder
from rskg.settings import Settings

TARGETS = ("eurosat", "nwpu_resisc45", "rsscn7")
# UCMerced class -> target-dataset scene labels standing for the same concept
CONCEPTS: dict[str, set[str]] = {
    "river": {"eurosat:River", "nwpu_resisc45:river", "rsscn7:dRiverLake"},
    "forest": {"eurosat:Forest", "nwpu_resisc45:forest", "rsscn7:eForest"},
    "beach": {"nwpu_resisc45:beach"},
    "agricultural": {"eurosat:AnnualCrop", "eurosat:PermanentCrop", "rsscn7:bField"},
    "denseresidential": {"eurosat:Residential", "rsscn7:fResident"},
    "parkinglot": {"rsscn7:gParking"},
    "freeway": {"eurosat:Highway"},
}


@dataclass
class Corpus:
    """UCMerced (with split + labels) and the cross-dataset targets, raw pooled features cached."""

    ucm: EvalImages
    raw: np.ndarray             # UCMerced raw pooled stages
    is_train: np.ndarray        # fixed split mask
    scene: np.ndarray           # scene class index per UCMerced image
    y: np.ndarray               # (N, 21 + 17): scene one-hot | multilabels
    label_names: list[str]
    n_scene: int
    target_raw: np.ndarray
    target_tags: list[str]      # "dataset:label"
    target_counts: dict[str, int]


def load_corpus(settings: Settings, enc: ImageEncoder) -> Corpus:
    ucm = from_folder(settings, "ucmerced")
    raw = raw_features(settings, enc, ucm, progress=True)
    train = set(ucm_split(0).train)
    is_train = np.asarray([p in train for p in ucm.rel_paths])
    scene = np.asarray([UCM_CLASSES.index(p.split("/")[1]) for p in ucm.rel_paths])
    with open(settings.data_dir / "ucmerced" / "multilabels.csv") as fh:
        ml = {r["image"]: r["labels"].split("|") for r in csv.DictReader(fh)}
    ml_names = sorted({x for v in ml.values() for x in v})
    y = np.hstack([np.eye(len(UCM_CLASSES), dtype=np.float32)[scene],
                   np.asarray([[n in ml[p] for n in ml_names] for p in ucm.rel_paths], np.float32)])
    tg = [from_folder(settings, t) for t in TARGETS]
    t_raw = np.vstack([raw_features(settings, enc, t, progress=True) for t in tg])
    tags = [f"{t.dataset}:{lab}" for t in tg for lab in t.scene_labels()]
    return Corpus(ucm, raw, is_train, scene, y, list(UCM_CLASSES) + ml_names, len(UCM_CLASSES), t_raw, tags,
                  {t.dataset: len(t) for t in tg})


def train_views(settings: Settings, enc: ImageEncoder, c: Corpus, seed: int = 0) -> ViewSet:
    """Augmented views of the train split, encoded once and cached per feature version + seed."""
    rows = np.flatnonzero(c.is_train)
    key = hashlib.sha256("|".join(c.ucm.sha256[i] for i in rows).encode()).hexdigest()[:12]
    path = settings.cache_dir / "bench_views" / f"{enc.feature_version}-s{seed}-{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return ViewSet(z["features"], z["labels"], z["source"])
    images = [c.ucm.load(int(i)) for i in rows]
    vs = encode_views(enc, images, [c.ucm.gsd_m[int(i)] for i in rows], c.y[rows], list(c.scene[rows]), seed)
    atomic.savez(path, features=vs.features, labels=vs.labels, source=vs.source)
    return vs
