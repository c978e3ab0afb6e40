"""The trained pipeline of one dataset: normaliser + fuzzy c-means + U-Net + GNN; chips -> graphs -> embeddings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rskg.errors import NotFoundError
from rskg.labelling import fcm as fcm_mod
from rskg.labelling import gnn, segments, unet
from rskg.labelling.chips import Chip, Normaliser
from rskg.labelling.config import LabellingConfig
from rskg.labelling.segments import ChipGraph


@dataclass
class PipelineModel:
    cfg: LabellingConfig
    norm: Normaliser
    fcm: fcm_mod.FuzzyCMeans
    unet: unet.UNet
    gnn: gnn.SegmentGNN

    def graph(self, chip: Chip) -> ChipGraph:
        """One chip -> its segment graph (checks size and band count first)."""
        h, w = chip.shape
        segments.check_size(h, w, self.cfg, chip.sample_id)
        x = self.norm(chip)
        labels = segments.segment(chip.rgb, self.cfg, chip.sample_id)
        return segments.build(labels, unet.activations(self.unet, x), self.fcm.predict_image(x), self.cfg.k)

    def embed(self, graphs: list[ChipGraph], layer: int = 2) -> list[np.ndarray]:
        return gnn.embed(self.gnn, graphs, layer)

    # --- persistence ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"cfg": self.cfg.to_dict(), "norm": {"mean": self.norm.mean, "std": self.norm.std,
                                                    "band_names": self.norm.band_names},
                "fcm": {"centres": self.fcm.centres, "m": self.fcm.m},
                "unet": {"in_ch": self.unet.in_ch, "state": self.unet.state_dict()},
                "gnn": {"kind": self.gnn.kind, "in_dim": self.unet.features, "state": self.gnn.state_dict()}}

    def save(self, path: Path) -> None:
        torch.save(self.state(), path)

    @classmethod
    def load(cls, path: Path) -> PipelineModel:
        if not path.exists():
            raise NotFoundError(f"no trained labelling model at {path}",
                                "Run `rskg label prepare <dataset>` first.")
        st = torch.load(path, weights_only=False)
        cfg = LabellingConfig.from_dict(st["cfg"])
        norm = Normaliser(np.asarray(st["norm"]["mean"]), np.asarray(st["norm"]["std"]), st["norm"]["band_names"])
        f = fcm_mod.FuzzyCMeans(np.asarray(st["fcm"]["centres"]), float(st["fcm"]["m"]), 0, 0.0)
        u = unet.UNet(st["unet"]["in_ch"], cfg.clusters, cfg.unet_widths, cfg.unet_features)
        u.load_state_dict(st["unet"]["state"])
        g = gnn.SegmentGNN(st["gnn"]["kind"], st["gnn"]["in_dim"], cfg.clusters, cfg)
        g.load_state_dict(st["gnn"]["state"])
        u.eval()
        g.eval()
        return cls(cfg, norm, f, u, g)


def fit_fcm(images: list[np.ndarray], cfg: LabellingConfig) -> fcm_mod.FuzzyCMeans:
    """Fit the centroids on every ``fcm_pixel_step``-th pixel of the chips (at most ``fcm_max_pixels``)."""
    px = np.concatenate([im.reshape(im.shape[0], -1).T for im in images])
    step = max(1, min(cfg.fcm_pixel_step, len(px) // 2000 or 1))
    sample = px[::step]
    if len(sample) > cfg.fcm_max_pixels:
        sample = sample[np.random.default_rng(cfg.seed).choice(len(sample), cfg.fcm_max_pixels, replace=False)]
    return fcm_mod.fit(sample, cfg.clusters, cfg.fcm_m, seed=cfg.seed)


def train_pipeline(chips: list[Chip], cfg: LabellingConfig
                   ) -> tuple[PipelineModel, list[ChipGraph], dict[str, float]]:
    """FCM -> U-Net -> SLIC graphs -> GNN, on ``chips``. Returns the model, the chips' graphs, timings."""
    import time

    torch.set_num_threads(cfg.threads)
    for c in chips:
        segments.check_size(*c.shape, cfg, c.sample_id)
    t = time.perf_counter()
    norm = Normaliser.fit(chips)
    images = [norm(c) for c in chips]
    f = fit_fcm(images, cfg)
    stats: dict[str, float] = {"fcm_seconds": time.perf_counter() - t, "fcm_iterations": f.iterations}
    net, st = unet.train(images, f, cfg)
    stats.update(st)
    t = time.perf_counter()
    graphs = []
    for c, x in zip(chips, images, strict=True):
        lab = segments.segment(c.rgb, cfg, c.sample_id)
        graphs.append(segments.build(lab, unet.activations(net, x), f.predict_image(x), cfg.k))
    stats["graph_seconds"] = time.perf_counter() - t
    g, st = gnn.train(graphs, cfg)
    stats.update(st)
    return PipelineModel(cfg, norm, f, net, g), graphs, stats
