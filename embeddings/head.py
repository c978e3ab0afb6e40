"""Fine-tune the multi-label head on labelled samples: BCE + label-similarity-weighted pair loss.

``train_head`` takes either fused backbone features (N, in_dim) — what
``ImageEncoder(..., use_head=False).encode`` returns — or the images themselves (then it encodes
them and, unless ``views`` is given, builds the scale + rotation views of :mod:`embeddings.augment`).
The backbone stays frozen: its features (and those of the augmented views) are computed once, and
the head trains on them with feature-level augmentation (input dropout + Gaussian noise), which
runs in seconds to a few minutes on a CPU.

Every epoch each training image contributes one of its views (the original or an augmented one),
drawn at random. Loss = BCE(logits, labels) + ``pair_weight`` * :func:`embeddings.pair_loss.pair_loss`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from embeddings.head_model import HeadConfig, ProjectionHead, save_head
from embeddings.pair_loss import pair_loss
from rskg.artifacts import head_path
from rskg.errors import ValidationError
from rskg.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ViewSet:
    """Fused features of augmented views: row r is a view of training image ``source[r]``."""

    features: np.ndarray    # (M, in_dim)
    labels: np.ndarray      # (M, L) multi-hot
    source: np.ndarray      # (M,) int


@dataclass
class TrainConfig:
    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    pair_weight: float = 1.0
    margin: float = 1.0
    input_dropout: float = 0.1
    noise_std: float = 0.01
    hidden: int = 512
    emb_dim: int = 256


@dataclass
class TrainResult:
    head: ProjectionHead
    path: Path | None
    epoch_loss: list[float] = field(default_factory=list)
    epoch_bce: list[float] = field(default_factory=list)
    epoch_pair: list[float] = field(default_factory=list)
    seconds: float = 0.0


def encode_views(encoder: object, images: Sequence[np.ndarray], gsd_m: Sequence[float | None],
                 label_matrix: np.ndarray, groups: Sequence[object] | None, seed: int) -> ViewSet:
    """Build the augmented views of :mod:`embeddings.augment` and encode them (fused, no head)."""
    from embeddings.augment import make_views

    views = make_views(images, gsd_m, groups, seed)
    feats = []
    for s in range(0, len(views), 64):
        chunk = views[s : s + 64]
        feats.append(encoder.encode([v.image for v in chunk], [v.gsd_m for v in chunk]))  # type: ignore[attr-defined]
    y = np.stack([label_matrix[list(v.partners)].max(axis=0) for v in views]) if views else label_matrix[:0]
    return ViewSet(np.vstack(feats) if feats else np.zeros((0, label_matrix.shape[1])), y.astype(np.float32),
                   np.asarray([v.source for v in views], np.int64))


def train_head(
    features_or_images: np.ndarray | Sequence[np.ndarray],
    label_matrix: np.ndarray,
    label_similarity: np.ndarray | None,
    settings: Settings,
    seed: int = 0,
    *,
    labels: Sequence[str] | None = None,
    gsd_m: Sequence[float | None] | None = None,
    groups: Sequence[object] | None = None,
    views: ViewSet | None = None,
    augment: bool = True,
    config: TrainConfig | None = None,
    feature_version: str | None = None,
    save_to: Path | None = None,
    save: bool = True,
) -> TrainResult:
    """Train the head; save it to ``save_to`` (default ``settings.home/models/image_head.pt``)."""
    from embeddings.image import ImageEncoder, feature_version_of

    cfg = config or TrainConfig()
    y = np.asarray(label_matrix, np.float32)
    if isinstance(features_or_images, np.ndarray) and features_or_images.ndim == 2:
        x = features_or_images.astype(np.float32)
    else:
        images = list(features_or_images)
        enc = ImageEncoder(settings, use_head=False)
        gs = list(gsd_m) if gsd_m is not None else [None] * len(images)
        x = enc.encode(images, gs)
        if views is None and augment:
            views = encode_views(enc, images, gs, y, groups, seed)
    if len(x) != len(y) or y.ndim != 2 or len(x) < 2:
        raise ValidationError(f"{len(x)} samples but label matrix {y.shape}",
                              hint="Pass one multi-hot label row per sample (at least 2 samples).")
    n_labels = y.shape[1]
    names = list(labels) if labels is not None else [f"label_{j}" for j in range(n_labels)]
    sim = None if label_similarity is None else torch.as_tensor(np.asarray(label_similarity, np.float32))
    if sim is not None and sim.shape != (n_labels, n_labels):
        raise ValidationError(f"label_similarity {tuple(sim.shape)} does not match {n_labels} labels")

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = ProjectionHead(HeadConfig(in_dim=x.shape[1], labels=names, hidden=cfg.hidden, emb_dim=cfg.emb_dim,
                                     backbone_version=feature_version or feature_version_of(settings)))
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, int(np.ceil(len(x) / cfg.batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    pos = torch.as_tensor(y.mean(0))
    pos_weight = ((1 - pos) / pos.clamp_min(1e-3)).clamp(1.0, 10.0)  # rare labels count more, bounded

    feats_all = np.vstack([x, views.features]) if views is not None and len(views.source) else x
    y_all = np.vstack([y, views.labels]) if views is not None and len(views.source) else y
    options: list[list[int]] = [[i] for i in range(len(x))]
    if views is not None:
        for r, s in enumerate(views.source):
            options[int(s)].append(len(x) + r)
    xt, yt = torch.from_numpy(feats_all), torch.from_numpy(y_all)
    res = TrainResult(head, None)
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        head.train()
        rows = np.asarray([o[int(rng.integers(len(o)))] for o in options])[rng.permutation(len(x))]
        tot = bce_sum = pair_sum = 0.0
        for s in range(0, len(rows), cfg.batch_size):
            idx = torch.from_numpy(rows[s : s + cfg.batch_size])
            if len(idx) < 2:
                continue
            xb, yb = xt[idx], yt[idx]
            xb = F.dropout(xb, cfg.input_dropout, training=True) + cfg.noise_std * torch.randn_like(xb)
            z, logits = head(xb)
            bce = F.binary_cross_entropy_with_logits(logits, yb, pos_weight=pos_weight)
            pl = pair_loss(z, yb, sim, cfg.margin)
            loss = bce + cfg.pair_weight * pl
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
            bce_sum += float(bce.detach()) * len(idx)
            pair_sum += float(pl.detach()) * len(idx)
        res.epoch_loss.append(tot / len(rows))
        res.epoch_bce.append(bce_sum / len(rows))
        res.epoch_pair.append(pair_sum / len(rows))
        log.debug("epoch %d loss %.4f", epoch, res.epoch_loss[-1])
    res.seconds = time.perf_counter() - t0
    head.eval()
    if save:
        res.path = save_head(head, save_to or head_path(settings.home))
    return res
