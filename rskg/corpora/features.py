"""Image features for head training and the experiments, with a persistent cache of the encoder's raw pooled stages.

The expensive part (JPEG decode + EfficientNet-lite0) is cached per image as the *raw* pooled stages
(``ImageEncoder.encode_raw``), keyed by the SHA-256 of the file bytes and the GSD, in one file per backbone
feature version: ``settings.cache_dir/eval_raw/<feature_version>.npz``. Fusion and the fine-tuned head are
cheap and applied on top (``ImageEncoder.features_from_raw``), so training a new head never re-encodes images.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rskg import artifacts, atomic
from rskg.corpora.images import EvalImages
from rskg.settings import Settings

if TYPE_CHECKING:
    from embeddings.image import ImageEncoder

log = logging.getLogger(__name__)
BATCH = 32


def cache_key(sha256: str, gsd_m: float | None) -> str:
    return f"{sha256}:{'none' if gsd_m is None else f'{gsd_m:.6g}'}"


class RawFeatureCache:
    """sha256:gsd -> raw pooled-stage vector, one npz per feature version (atomic writes)."""

    def __init__(self, settings: Settings, feature_version: str) -> None:
        self.path = artifacts.eval_raw_features(settings, feature_version)
        self.rows: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as z:
                for k, v in zip(z["keys"].tolist(), z["raw"], strict=True):
                    self.rows[str(k)] = v

    def get(self, key: str) -> np.ndarray | None:
        return self.rows.get(key)

    def put(self, keys: list[str], raw: np.ndarray) -> None:
        for k, v in zip(keys, raw, strict=True):
            self.rows[k] = np.asarray(v, np.float32)

    def save(self) -> Path:
        keys = sorted(self.rows)
        return atomic.savez(self.path, keys=np.asarray(keys), raw=np.stack([self.rows[k] for k in keys]))


def encoder(settings: Settings, use_head: bool | None = None) -> ImageEncoder:
    from embeddings.image import ImageEncoder

    return ImageEncoder(settings, backend="onnx", use_head=use_head)


def raw_features(settings: Settings, enc: ImageEncoder, images: EvalImages, progress: bool = False,
                 grid: int = 1) -> np.ndarray:
    """(N, raw dim) raw pooled stages of every image, computing (and caching) the missing ones. ``grid`` > 1:
    (N * grid**2, raw dim), the stages of every image's grid x grid patches (``embeddings.patches``, row by
    row, consecutive per image), cached in ``<feature_version>-grid<G>.npz``."""
    from embeddings.patches import grid_patches

    n_views = grid * grid
    cache = RawFeatureCache(settings, enc.feature_version if grid == 1 else f"{enc.feature_version}-grid{grid}")
    keys = [[cache_key(s, g)] if grid == 1 else [f"{cache_key(s, g)}:{p}" for p in range(n_views)]
            for s, g in zip(images.sha256, images.gsd_m, strict=True)]
    missing = [i for i, ks in enumerate(keys) if any(cache.get(k) is None for k in ks)]
    if missing:
        t0 = time.perf_counter()
        for s in range(0, len(missing), BATCH):
            rows = missing[s : s + BATCH]
            views = [v for i in rows for v in grid_patches(images.load(i), grid)]
            raw = enc.encode_raw(views, [images.gsd_m[i] for i in rows for _ in range(n_views)])
            cache.put([k for i in rows for k in keys[i]], raw)
            if progress:
                log.info("%s: encoded %d/%d images%s (%.1f s)", images.dataset, s + len(rows), len(missing),
                         "" if grid == 1 else f" as {grid}x{grid} patches", time.perf_counter() - t0)
            if (s // BATCH) % 10 == 9:
                cache.save()           # a killed run keeps what it computed
        cache.save()
    return np.stack([cache.rows[k] for ks in keys for k in ks]).astype(np.float32)


def fused_features(enc: ImageEncoder, raw: np.ndarray) -> np.ndarray:
    """Pretrained multi-scale fused features (no head), L2-normalised."""
    from embeddings.backbone import fuse

    return fuse(raw, enc.stage_dims, enc.fusion)
