"""Data and metric helpers of benchmarks/features.py (not a benchmark itself: leading underscore)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embeddings.backbone import fuse
from embeddings.image import ImageEncoder
from embeddings.prototypes import kmeans_prototypes
from embeddings.splits import UCM_CLASSES
from rskg.evaluation import metrics as M
from rskg.image_training import CONCEPTS, Corpus, load_corpus, train_views

__all__ = ["CONCEPTS", "Corpus", "load_corpus", "train_views", "cbir_map10", "cross_dataset", "fused", "file_size"]


def cbir_map10(feats: np.ndarray, c: Corpus) -> float:
    """Paper 002 protocol: the 630 test images query the 1,470-image train archive; relevant = same class."""
    q, a = feats[~c.is_train], feats[c.is_train]
    lq, la = c.scene[~c.is_train], c.scene[c.is_train]
    order = M.ranking(q, a)[:, :10]
    return float(np.mean([M.ap_at_k(la[o] == lab, 10) for o, lab in zip(order, lq, strict=True)]))


def cross_dataset(src: np.ndarray, tgt: np.ndarray, c: Corpus, k: int = 10, seed: int = 0) -> dict[str, float]:
    """AP per concept: 10 prototypes from the UCMerced train images of the class rank all target images."""
    out = {}
    tr_feats, tr_scene = src[c.is_train], c.scene[c.is_train]
    for cls, rel_tags in CONCEPTS.items():
        protos = kmeans_prototypes(tr_feats[tr_scene == UCM_CLASSES.index(cls)], k, seed)
        score = (tgt @ protos.T).max(axis=1)
        out[cls] = M.average_precision(score, np.asarray([t in rel_tags for t in c.target_tags]))
    return out


def fused(c: Corpus, enc: ImageEncoder, fusion: str) -> tuple[np.ndarray, np.ndarray]:
    return fuse(c.raw, enc.stage_dims, fusion), fuse(c.target_raw, enc.stage_dims, fusion)


def file_size(path: Path) -> int:
    return path.stat().st_size
