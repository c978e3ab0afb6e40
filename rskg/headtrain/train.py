"""Train the concept head on cached backbone features: masked BCE over concepts, dataset-balanced batches.

The head is :class:`embeddings.head_model.ProjectionHead` (fused backbone feature -> 256-d L2-normalised
embedding -> one logit per concept). Loss: binary cross-entropy over the *known* (sample, concept) cells
only (:mod:`rskg.headtrain.targets`; unknown cells are masked, never negatives), with a bounded positive
weight per concept. Every epoch draws the same number of samples from each dataset family (with
replacement for small ones), so 2,000 EuroSAT chips do not drown 210 RSSCN7 images. Feature-level
augmentation (input dropout + Gaussian noise) on top of optional cached image views (rotation/scale).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from embeddings.head_model import HeadConfig, ProjectionHead
from rskg.errors import ValidationError


@dataclass
class ConceptTrainConfig:
    epochs: int = 20
    per_family: int = 1000          # samples drawn from every family per epoch
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    input_dropout: float = 0.2
    noise_std: float = 0.01
    hidden: int = 512
    emb_dim: int = 256
    max_pos_weight: float = 5.0
    threads: int = 2                # torch CPU threads (the machine's cores are shared)


@dataclass
class ConceptTrainResult:
    head: ProjectionHead
    epoch_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_concept_head(x: np.ndarray, y: np.ndarray, known: np.ndarray, family: np.ndarray, concepts: list[str],
                       *, backbone_version: str, seed: int = 0, config: ConceptTrainConfig | None = None,
                       views: tuple[np.ndarray, np.ndarray] | None = None) -> ConceptTrainResult:
    """``x`` (N, D) fused features, ``y``/``known`` (N, C), ``family`` (N,) dataset family per row.
    ``views``: optional (features (M, D), source row (M,)) augmented views; a drawn sample uses one of
    its views or itself at random."""
    cfg = config or ConceptTrainConfig()
    if not (len(x) == len(y) == len(known) == len(family)) or y.shape[1] != len(concepts) or len(x) < 2:
        raise ValidationError(f"features {x.shape}, targets {y.shape}, mask {known.shape}, families {family.shape} "
                              f"and {len(concepts)} concepts do not agree",
                              "Pass one target row, mask row and family per feature row.")
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    head = ProjectionHead(HeadConfig(in_dim=x.shape[1], labels=list(concepts), hidden=cfg.hidden,
                                     emb_dim=cfg.emb_dim, backbone_version=backbone_version))
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    fams = sorted(set(family.tolist()))
    rows_of = {f: np.flatnonzero(family == f) for f in fams}
    per_epoch = cfg.per_family * len(fams)
    steps = max(1, int(np.ceil(per_epoch / cfg.batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps)
    kn = known.astype(np.float32)
    pos = (y * kn).sum(0)
    neg = ((1 - y) * kn).sum(0)
    pos_weight = torch.as_tensor(np.clip(neg / np.maximum(pos, 1.0), 1.0, cfg.max_pos_weight), dtype=torch.float32)
    feats = np.vstack([x, views[0]]).astype(np.float32) if views is not None else x.astype(np.float32)
    options: list[list[int]] = [[i] for i in range(len(x))]
    if views is not None:
        for r, s in enumerate(views[1]):
            options[int(s)].append(len(x) + r)
    xt = torch.from_numpy(feats)
    yt, kt = torch.from_numpy(y.astype(np.float32)), torch.from_numpy(kn)
    res = ConceptTrainResult(head)
    t0 = time.perf_counter()
    for _ in range(cfg.epochs):
        head.train()
        src = np.concatenate([rng.choice(rows_of[f], cfg.per_family, replace=len(rows_of[f]) < cfg.per_family)
                              for f in fams])
        src = src[rng.permutation(len(src))]
        tot = 0.0
        for s in range(0, len(src), cfg.batch_size):
            b = src[s : s + cfg.batch_size]
            if len(b) < 2:
                continue
            feat_rows = np.asarray([o[int(rng.integers(len(o)))] for o in (options[int(i)] for i in b)])
            xb = xt[torch.from_numpy(feat_rows)]
            xb = F.dropout(xb, cfg.input_dropout, training=True) + cfg.noise_std * torch.randn_like(xb)
            bi = torch.from_numpy(b)
            yb, mb = yt[bi], kt[bi]
            _, logits = head(xb)
            cell = F.binary_cross_entropy_with_logits(logits, yb, pos_weight=pos_weight, reduction="none")
            loss = (cell * mb).sum() / mb.sum().clamp_min(1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(b)
        res.epoch_loss.append(tot / len(src))
    res.seconds = time.perf_counter() - t0
    res.peak_rss_mb = _peak_rss_mb()
    head.eval()
    return res
