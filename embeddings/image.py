"""ImageEncoder: uint8 RGB images -> L2-normalised float32 features (the contract ingestion uses).

Pipeline: :func:`embeddings.preprocess.make_views` (GSD resampling / crops) -> backbone (ONNX
Runtime or torch, same weights, same raw pooled stages) -> crops averaged per image ->
:func:`embeddings.backbone.fuse` (multi-scale fusion) -> the fine-tuned head's embedding when one
is trained for this backbone version and ``encoder_use_head`` is on.

``version`` names the weights and every setting that changes the output, so caches and stored
features keyed by it are invalidated when any of them changes.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, cast

import numpy as np
import torch

from embeddings.backbone import MultiScaleBackbone, fuse, fused_dim, weights_sha256
from embeddings.head_model import ProjectionHead, file_digest, load_head
from embeddings.onnx_backend import OnnxBackbone, export_backbone
from embeddings.preprocess import ViewConfig, load_rgb, make_views, to_batch
from rskg import artifacts
from rskg.errors import ConfigError
from rskg.settings import Settings

log = logging.getLogger(__name__)
Backend = Literal["onnx", "torch"]


def view_config(settings: Settings) -> ViewConfig:
    return ViewConfig(
        input_px=settings.encoder_input_px,
        ref_gsd_m=settings.encoder_ref_gsd_m,
        max_zoom=settings.encoder_max_zoom,
        max_px=settings.encoder_max_px,
    )


def feature_version_of(settings: Settings) -> str:
    """Version of the fused backbone feature under these settings (what a head is trained on)."""
    name = settings.encoder_backbone
    return f"{name}-{weights_sha256(name)[:12]}-{settings.encoder_fusion}-{view_config(settings).key()}"


class ImageEncoder:
    """Encode images into retrieval features. Build once, share (it holds the network)."""

    def __init__(
        self,
        settings: Settings,
        backend: Backend = "onnx",
        *,
        use_head: bool | None = None,
        batch_size: int = 16,
        spinning: bool = True,
    ) -> None:
        if backend not in ("onnx", "torch"):
            raise ConfigError(f"unknown image backend {backend!r}", hint="Use backend='onnx' or 'torch'.")
        if settings.encoder_fusion not in ("multiscale", "last"):
            raise ConfigError(f"RSKG_ENCODER_FUSION={settings.encoder_fusion!r} is not 'multiscale' or 'last'")
        torch.set_num_threads(max(1, settings.encoder_threads))
        self.settings = settings
        self.backend: Backend = backend
        self.batch_size = batch_size
        self.fusion = settings.encoder_fusion
        self.views = view_config(settings)
        name = settings.encoder_backbone
        self.torch_backbone = MultiScaleBackbone(name=name).eval()
        self.stage_dims = self.torch_backbone.stage_dims
        self.backbone_version = f"{name}-{weights_sha256(name)[:12]}"
        self.onnx: OnnxBackbone | None = None
        if backend == "onnx":
            onnx_path = artifacts.onnx_cache(settings, self.backbone_version)
            if not onnx_path.exists():
                export_backbone(self.torch_backbone, onnx_path)
            self.onnx = OnnxBackbone(onnx_path, threads=settings.encoder_threads, spinning=spinning)
        self.head: ProjectionHead | None = None
        head_tag = "nohead"
        want_head = settings.encoder_use_head if use_head is None else use_head
        hp = artifacts.head_path(settings.home)
        if want_head and hp.exists():
            head = load_head(hp)
            if head.cfg.backbone_version != self.feature_version:
                log.warning("ignoring %s: trained on %s, not %s", hp, head.cfg.backbone_version,
                            self.feature_version)
            else:
                self.head, head_tag = head, f"head{file_digest(hp)}"
        self.version = f"{self.feature_version}-{head_tag}"
        self.dim = self.head.cfg.emb_dim if self.head is not None else fused_dim(self.stage_dims, self.fusion)

    @property
    def feature_version(self) -> str:
        """Version of the fused backbone feature (what a head is trained on)."""
        return feature_version_of(self.settings)

    # ---------------------------------------------------------------------------------------------
    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self.onnx is not None:
            return self.onnx(batch)
        with torch.inference_mode():
            return cast(np.ndarray, self.torch_backbone(torch.from_numpy(batch)).numpy().astype(np.float32))

    def encode_raw(
        self, images: Sequence[np.ndarray], gsd_m: Sequence[float | None] | None = None
    ) -> np.ndarray:
        """Raw pooled stages per image (N, sum(stage_dims)), crops averaged."""
        if gsd_m is not None and len(gsd_m) != len(images):
            raise ConfigError(f"{len(images)} images but {len(gsd_m)} GSD values", hint="Pass one GSD per image.")
        gsds = list(gsd_m) if gsd_m is not None else [None] * len(images)
        out = np.zeros((len(images), sum(self.stage_dims)), np.float32)
        counts = np.zeros(len(images), np.float32)
        groups: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = defaultdict(list)
        for i, (img, g) in enumerate(zip(images, gsds, strict=True)):
            for v in make_views(img, g, self.views):
                groups[v.shape[:2]].append((i, v))
        for items in groups.values():
            for s in range(0, len(items), self.batch_size):
                chunk = items[s : s + self.batch_size]
                feats = self._run(to_batch([v for _, v in chunk]))
                for (i, _), f in zip(chunk, feats, strict=True):
                    out[i] += f
                    counts[i] += 1
        return out / np.maximum(counts, 1)[:, None]

    def features_from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Raw pooled stages -> final features (fusion, then the head when one is loaded)."""
        fused = fuse(raw, self.stage_dims, self.fusion)
        return self.head.embed_numpy(fused) if self.head is not None else fused

    def encode(self, images: Sequence[np.ndarray], gsd_m: Sequence[float | None] | None = None) -> np.ndarray:
        """(N, dim) float32, L2-normalised rows."""
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.features_from_raw(self.encode_raw(images, gsd_m))

    def encode_paths(self, paths: Sequence[str | Path], gsd_m: Sequence[float | None] | None = None) -> np.ndarray:
        return self.encode([load_rgb(p) for p in paths], gsd_m)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
