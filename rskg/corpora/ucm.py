"""UCMerced as the experiments see it: images, the fixed split, truth multi-labels and feature variants.

Feature variants:

* ``pretrained``: the ImageNet EfficientNet-lite0 multi-scale fused feature (no fine-tuning);
* ``system``: what the encoder gives the product (``ImageEncoder.features_from_raw``: the fine-tuned head's
  embedding when one is trained for this backbone version, else the same as ``pretrained``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rskg import artifacts
from rskg.corpora.features import encoder, fused_features, raw_features
from rskg.corpora.images import EvalImages, from_folder
from rskg.corpora.split import Split, ucm_split
from rskg.settings import Settings

if TYPE_CHECKING:
    from embeddings.image import ImageEncoder

MULTILABEL_SET = "ucm_multilabel"


@dataclass
class FeatureSet:
    name: str
    version: str
    feats: np.ndarray
    head: Any = None                     # the head behind the features (class distributions for HIR)
    scene_trained: bool = False          # trained on the 21 scene classes (residential sub-classes seen)


@dataclass
class UCM:
    images: EvalImages
    split: Split
    scene: np.ndarray                    # (N,) scene class names
    labels: list[str]                    # the 17 multi-label names, in reader order
    truth: np.ndarray                    # (N, 17) bool multi-labels
    raw: np.ndarray
    encoder: ImageEncoder
    variants: list[FeatureSet] = field(default_factory=list)
    extra_heads: list[tuple[str, Any, bool]] = field(default_factory=list)   # (name, head, scene_trained)

    @property
    def head(self) -> Any:
        return self.encoder.head

    def head_info(self) -> str:
        h = self.encoder.head
        if h is None:
            return "no fine-tuned head loaded (system features = pretrained features)"
        m = h.cfg.metrics or {}
        keys = ", ".join(f"{k}={m[k]}" for k in sorted(m) if k in ("split", "seed", "train_size", "n_train"))
        return (f"head {self.encoder.version.rsplit('-', 1)[-1]} trained on {h.cfg.backbone_version}, "
                f"{len(h.cfg.labels)} labels{'; ' + keys if keys else ''}")


def load_ucm(settings: Settings, enc: ImageEncoder | None = None, protocol_head: bool = True) -> UCM:
    from rskg.ingest.readers.ucmerced import UCMercedReader

    enc = enc if enc is not None else encoder(settings)
    images = from_folder(settings, "ucm")
    split = ucm_split(images.rel_paths)
    names = list(UCMercedReader.multilabels)
    col = {n: j for j, n in enumerate(names)}
    truth = np.zeros((len(images), len(names)), bool)
    for i, labs in enumerate(images.labels_of(MULTILABEL_SET)):
        for lab in labs:
            truth[i, col[lab]] = True
    raw = raw_features(settings, enc, images, progress=True)
    ucm = UCM(images, split, np.asarray(images.scene_labels()), names, truth, raw, enc)
    if protocol_head:
        ucm.extra_heads.append((PROTOCOL_HEAD, train_protocol_head(ucm, settings), False))
    ucm.variants = variants(ucm, raw)
    return ucm


PROTOCOL_HEAD = "protocol head (train part, residential merged)"
RESIDENTIAL = ("denseresidential", "mediumresidential", "sparseresidential")


def variants(ucm: UCM, raw: np.ndarray) -> list[FeatureSet]:
    """Feature variants of raw pooled stages: pretrained, the product head's (when installed) and the
    harness's own heads."""
    enc = ucm.encoder
    fused = fused_features(enc, raw)
    out = [FeatureSet("pretrained", enc.feature_version, fused)]
    if enc.head is not None:
        labels = set(enc.head.cfg.labels)
        out.append(FeatureSet("system (fine-tuned head)", enc.version, enc.features_from_raw(raw), enc.head,
                              "mediumresidential" in labels))
    for name, head, scene_trained in ucm.extra_heads:
        out.append(FeatureSet(name, f"{enc.feature_version}-{name}", head.embed_numpy(fused), head, scene_trained))
    return out


def train_protocol_head(ucm: UCM, settings: Settings, seed: int = 0, rows: np.ndarray | None = None) -> Any:
    """Paper 002's training protocol: a head trained on the train part only, on the scene classes with dense,
    medium and sparse residential merged into 'residential', plus the 17 multi-labels. Same architecture and
    loss as the product head (``embeddings.head.train_head``), without augmented views. Cached on disk by
    feature version, seed and the train images' checksums (training takes minutes on a busy CPU).
    ``rows`` (bool, one per image): train on these images instead of the train part (a cross-fitting fold of
    the archive, ``rskg.evaluation.crossfit``)."""
    import hashlib

    from embeddings.head import train_head
    from embeddings.head_model import load_head

    scene = np.where(np.isin(ucm.scene, RESIDENTIAL), "residential", ucm.scene)
    classes = [str(c) for c in sorted(set(scene.tolist()))]
    tr = ucm.split.train if rows is None else np.asarray(rows, bool)
    digest = hashlib.sha256("|".join([*classes, *ucm.labels, *(ucm.images.sha256[i] for i in np.flatnonzero(tr))])
                            .encode()).hexdigest()[:12]
    path = artifacts.eval_head_cache(settings, f"mergedres-{ucm.encoder.feature_version}-s{seed}-{digest}.pt")
    if path.exists():
        return load_head(path)
    y = np.hstack([(scene[:, None] == np.asarray(classes)[None, :]).astype(np.float32), ucm.truth.astype(np.float32)])
    fused = fused_features(ucm.encoder, ucm.raw)
    res = train_head(fused[tr], y[tr], None, settings, seed, labels=[*classes, *ucm.labels], save_to=path,
                     feature_version=ucm.encoder.feature_version)
    return res.head
