"""A small U-Net trained on fuzzy c-means memberships with Dice + BCE (paper 2.4), CPU only."""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rskg.labelling.config import LabellingConfig
from rskg.labelling.fcm import FuzzyCMeans

log = logging.getLogger(__name__)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Encoder widths ``widths`` (doubling per level), mirrored decoder with skip connections, then
    ``features`` activation maps (what the graph uses) and a 1x1 layer to the C cluster logits."""

    def __init__(self, in_ch: int, clusters: int, widths: tuple[int, ...] = (16, 32, 64), features: int = 32) -> None:
        super().__init__()
        self.in_ch, self.clusters, self.widths, self.features = in_ch, clusters, tuple(widths), features
        self.down = nn.ModuleList()
        c = in_ch
        for w in widths:
            self.down.append(_block(c, w))
            c = w
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.dec.append(_block(2 * w, w))
            c = w
        self.feat = nn.Sequential(nn.Conv2d(c, features, 1), nn.ReLU(inplace=True))
        self.head = nn.Conv2d(features, clusters, 1)

    @property
    def multiple(self) -> int:
        return 2 ** (len(self.widths) - 1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        skips = []
        for i, blk in enumerate(self.down):
            x = blk(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1]), strict=True):
            x = dec(torch.cat([up(x), skip], 1))
        return self.feat(x)[..., :h, :w]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.forward_features(x)
        return f, self.head(f)


def dice_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over classes of (1 - soft Dice) plus mean per-class BCE (combo loss, paper 2.4)."""
    p = torch.sigmoid(logits)
    dims = (0, 2, 3)
    dice = (2 * (p * target).sum(dims) + 1.0) / (p.sum(dims) + target.sum(dims) + 1.0)   # smoothed
    return (1 - dice.mean()) + F.binary_cross_entropy_with_logits(logits, target)


def _augment(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(4))
    x, y = np.rot90(x, k, (1, 2)), np.rot90(y, k, (1, 2))
    if rng.random() < 0.5:
        x, y = x[:, :, ::-1], y[:, :, ::-1]
    x = x + rng.normal(0, noise, x.shape).astype(np.float32)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _crops(images: list[np.ndarray], fcm: FuzzyCMeans, crop: int, n_per: int,
           rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Random crops with their FCM membership targets (computed per crop: no per-chip target store)."""
    xs, ys = [], []
    for img in images:
        h, w = img.shape[1:]
        for _ in range(n_per):
            i, j = int(rng.integers(h - crop + 1)), int(rng.integers(w - crop + 1))
            x0 = img[:, i:i + crop, j:j + crop]
            x, y = _augment(x0, fcm.predict_image(x0), rng, noise)
            xs.append(x)
            ys.append(y)
    return np.stack(xs), np.stack(ys)


def train(images: list[np.ndarray], fcm: FuzzyCMeans, cfg: LabellingConfig) -> tuple[UNet, dict[str, float]]:
    """Train on random crops of the normalised chips; targets are the FCM memberships of the crop."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    torch.set_num_threads(cfg.threads)
    side = min(min(im.shape[1:]) for im in images)
    net = UNet(images[0].shape[0], cfg.clusters, cfg.unet_widths, cfg.unet_features)
    crop = max(net.multiple, min(cfg.unet_crop, side) // net.multiple * net.multiple)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.unet_lr)
    best, stale, losses, t0 = np.inf, 0, [], time.perf_counter()
    for epoch in range(cfg.unet_epochs):
        net.train()
        pick = rng.permutation(len(images))[:cfg.unet_chips_per_epoch]
        xs, ys = _crops([images[i] for i in pick], fcm, crop, cfg.unet_crops_per_chip, rng, cfg.noise_std)
        order = rng.permutation(len(xs))
        tot = 0.0
        for s in range(0, len(order), cfg.unet_batch):
            b = order[s:s + cfg.unet_batch]
            if len(b) < 2:          # BatchNorm needs two samples
                continue
            _, logits = net(torch.from_numpy(xs[b]))
            loss = dice_bce(logits, torch.from_numpy(ys[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * len(b)
        ep = tot / max(len(order), 1)
        losses.append(ep)
        log.info("unet epoch %d loss %.4f", epoch, ep)
        if ep < best - 1e-4:
            best, stale = ep, 0
        else:
            stale += 1
            if stale >= cfg.unet_patience:
                break
    net.eval()
    return net, {"unet_epochs": len(losses), "unet_loss": losses[-1], "unet_first_loss": losses[0],
                 "unet_seconds": time.perf_counter() - t0}


@torch.inference_mode()
def activations(net: UNet, image: np.ndarray) -> np.ndarray:
    """(features, H, W) activation maps of one normalised chip."""
    if image.shape[0] != net.in_ch:
        from rskg.errors import ValidationError

        raise ValidationError(f"the U-Net was trained on {net.in_ch} bands; this chip has {image.shape[0]}",
                              "Prepare a model for this band count with `rskg label prepare`.")
    net.eval()
    return net.forward_features(torch.from_numpy(image)[None])[0].numpy()
