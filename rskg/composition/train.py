"""Train the segmentation decoder on GID-MTL (5 + 15 classes at once) and score it on the held-out split.

The backbone is frozen, so its maps are computed once per image and cached
(``cache_dir/seg/taps-*.npz``, fp16); training then touches only the decoder: minutes on 2 cores.
GID-15 pixels train the fine classes, GID-5 pixels their coarse unions (partial labels through the
hierarchy). Scores: per-class IoU and mIoU on the GID-5 test part (fine probabilities summed per
coarse class) and on the GID-15 test part.
"""

from __future__ import annotations

import hashlib
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from embeddings.backbone import weights_sha256
from embeddings.segmentation import (
    COARSE_GROUPS,
    FINE_CLASSES,
    IGNORE,
    N_FINE,
    OUT_STRIDE,
    TAP_BLOCKS,
    DenseBackbone,
    SegDecoder,
    SegModelInfo,
    coarse_matrix,
    partial_label_loss,
    save_decoder,
    to_input,
)
from rskg.atomic import atomic_path
from rskg.composition.gid import GidItem, items, split, targets
from rskg.settings import Settings

SIDE = 224


@dataclass
class SegTrainConfig:
    epochs: int = 40
    batch: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 64
    seed: int = 0
    limit_per_scene: int | None = None     # a small subset (tests); None = every image
    threads: int = 2


@dataclass
class SegReport:
    info: SegModelInfo
    path: Path
    iou5: dict[str, float]
    iou15: dict[str, float]
    miou5: float
    miou15: float
    n_train: dict[str, int]
    n_test: dict[str, int]
    seconds_features: float
    seconds_train: float
    peak_rss_mb: float
    losses: list[float] = field(default_factory=list)


def seg_model_path(settings: Settings) -> Path:
    return settings.home / "models" / "segmentation.pt"


def _load(item: GidItem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from PIL import Image

    with Image.open(item.image) as im:
        rgb = np.asarray(im.convert("RGB"))[:SIDE, :SIDE]
    with Image.open(item.mask) as im:
        mask = np.asarray(im)[:SIDE, :SIDE]
    fine, coarse = targets(item, mask)
    return rgb, fine, coarse


def _subset(all_items: list[GidItem], limit: int | None) -> list[GidItem]:
    if limit is None:
        return all_items
    seen: dict[str, int] = {}
    out = []
    for it in all_items:
        if seen.get(it.scene, 0) < limit:
            out.append(it)
            seen[it.scene] = seen.get(it.scene, 0) + 1
    return out


def _taps(settings: Settings, backbone: DenseBackbone, group: list[GidItem], images: np.ndarray) -> list[np.ndarray]:
    """Backbone maps of ``images`` (fp16), cached on disk by the image list and the weights."""
    key = hashlib.sha256((weights_sha256() + repr(TAP_BLOCKS) + "v2" + "|".join(str(i.image) for i in group))
                         .encode()).hexdigest()[:16]
    path = settings.cache_dir / "seg" / f"taps-{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return [z[f"arr_{i}"] for i in range(len(z.files))]
    outs: list[list[np.ndarray]] = []
    with torch.no_grad():
        for i in range(0, len(images), 16):
            taps = backbone(torch.from_numpy(to_input(list(images[i : i + 16]), SIDE)))
            outs.append([t.numpy().astype(np.float16) for t in taps])
    arrays = [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, *arrays)               # keys arr_0, arr_1, ...
    return arrays


def _iou(pred: np.ndarray, truth: np.ndarray, n: int) -> np.ndarray:
    """Per-class IoU over all pixels whose truth is not IGNORE; NaN for a class absent from both."""
    keep = truth != IGNORE
    p, t = pred[keep].astype(np.int64), truth[keep].astype(np.int64)
    conf = np.bincount(t * n + p, minlength=n * n).reshape(n, n)
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def _predict(decoder: SegDecoder, taps: list[np.ndarray], idx: np.ndarray) -> np.ndarray:
    """(len(idx), 15, SIDE, SIDE) fine probabilities from cached maps."""
    decoder.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(idx), 16):
            b = idx[i : i + 16]
            logits = decoder([torch.from_numpy(t[b]) for t in taps])
            logits = F.interpolate(logits, size=(SIDE, SIDE), mode="bilinear", align_corners=False)
            outs.append(torch.softmax(logits, 1).numpy())
    return np.concatenate(outs)


def train_segmentation(settings: Settings, cfg: SegTrainConfig | None = None,
                       save_to: Path | None = None) -> SegReport:
    cfg = cfg or SegTrainConfig()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    root = settings.data_dir / "gid_mtl"
    parts: dict[str, tuple[list[GidItem], list[GidItem]]] = {}
    for which in ("gid_mtl5", "gid_mtl15"):
        tr, te = split(items(root, which))
        parts[which] = (_subset(tr, cfg.limit_per_scene), _subset(te, cfg.limit_per_scene))
    group = [it for which in parts for half in parts[which] for it in half]
    loaded = [_load(it) for it in group]
    images = np.stack([x[0] for x in loaded])
    fine = np.stack([x[1] for x in loaded])
    coarse = np.stack([x[2] for x in loaded])
    is_test = np.array([it in set(parts[it.set][1]) for it in group])
    t0 = time.perf_counter()
    taps = [t.astype(np.float32) for t in _taps(settings, DenseBackbone().eval(), group, images)]
    t_feat = time.perf_counter() - t0

    # targets on the decoder's grid: the pixel at each cell's centre
    h = OUT_STRIDE // 2
    fine_s, coarse_s = fine[:, h::OUT_STRIDE, h::OUT_STRIDE], coarse[:, h::OUT_STRIDE, h::OUT_STRIDE]
    train_idx = np.flatnonzero(~is_test)
    decoder = SegDecoder(width=cfg.width)
    opt = torch.optim.AdamW(decoder.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * int(np.ceil(len(train_idx) / cfg.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1))
    groups = torch.from_numpy(coarse_matrix())
    losses: list[float] = []
    t0 = time.perf_counter()
    for _ in range(cfg.epochs):
        decoder.train()
        order = rng.permutation(train_idx)
        total, n = 0.0, 0
        for i in range(0, len(order), cfg.batch):
            b = np.sort(order[i : i + cfg.batch])
            xs = [torch.from_numpy(t[b]) for t in taps]
            yf = torch.from_numpy(fine_s[b].astype(np.int64))
            yc = torch.from_numpy(coarse_s[b].astype(np.int64))
            flip = rng.integers(0, 4)             # flips of maps and targets together (the scenes have no up)
            dims = [d for d, on in ((-1, flip & 1), (-2, flip & 2)) if on]
            if dims:
                xs = [x.flip(dims) for x in xs]
                yf, yc = yf.flip(dims), yc.flip(dims)
            loss = partial_label_loss(decoder(xs), yf, yc, groups)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
            n += len(b)
        losses.append(total / max(n, 1))
    t_train = time.perf_counter() - t0

    test5 = np.flatnonzero(is_test & np.array([it.set == "gid_mtl5" for it in group]))
    test15 = np.flatnonzero(is_test & np.array([it.set == "gid_mtl15" for it in group]))
    m = coarse_matrix()
    p5 = np.einsum("gc,nchw->nghw", m, _predict(decoder, taps, test5)).argmax(1)
    p15 = _predict(decoder, taps, test15).argmax(1)
    iou5 = _iou(p5, coarse[test5], len(COARSE_GROUPS))
    iou15 = _iou(p15, fine[test15], N_FINE)
    path = save_to or seg_model_path(settings)
    info = save_decoder(decoder, path, SIDE, extra={"miou5": float(np.nanmean(iou5)),
                                                     "miou15": float(np.nanmean(iou15))})
    count = {w: (len(parts[w][0]), len(parts[w][1])) for w in parts}
    return SegReport(
        info, path,
        {name: float(v) for (name, _, _), v in zip(COARSE_GROUPS, iou5, strict=True)},
        {name: float(v) for (name, _), v in zip(FINE_CLASSES, iou15, strict=True)},
        float(np.nanmean(iou5)), float(np.nanmean(iou15)),
        {w: c[0] for w, c in count.items()}, {w: c[1] for w, c in count.items()},
        t_feat, t_train, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, losses,
    )
