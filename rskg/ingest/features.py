"""The feature step: an injected image encoder, the Zarr feature store and the FAISS image index.

The FAISS index is derived data: :func:`sync_index` adds to it the feature rows of a dataset that it
lacks (and rebuilds it when it holds vectors the catalog no longer has), under a file lock, then saves
it atomically. Every ingest checkpoint and every restart calls it, so a killed run loses nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rskg.artifacts import image_index_lock_path, image_index_path
from rskg.settings import Settings


@runtime_checkable
class FeatureExtractor(Protocol):
    """What the pipeline needs from an image encoder (embeddings.image.ImageEncoder fits)."""

    dim: int
    version: str

    def encode(self, images: Sequence[np.ndarray], gsd_m: Sequence[float | None] | None = None) -> np.ndarray:
        """uint8 (H, W, 3) RGB arrays -> float32 (N, dim)."""
        ...


class CachedExtractor:
    """A feature extractor behind a per-image cache on disk (pixel hash + shape + GSD, per encoder version),
    so that repeated ingests of the same pixels (test fixtures, benchmarks) skip the network."""

    def __init__(self, encoder: FeatureExtractor, cache_dir: Path, name: str = "features") -> None:
        self.encoder, self.dim, self.version = encoder, encoder.dim, encoder.version
        self.dir = cache_dir / name / hashlib.sha1(self.version.encode()).hexdigest()[:12]
        self.dir.mkdir(parents=True, exist_ok=True)

    def _key(self, img: np.ndarray, gsd: float | None) -> Path:
        h = hashlib.sha256(np.ascontiguousarray(img).tobytes())
        h.update(f"{img.shape}|{gsd}".encode())
        return self.dir / f"{h.hexdigest()[:32]}.npy"

    def encode(self, images: Sequence[np.ndarray], gsd_m: Sequence[float | None] | None = None) -> np.ndarray:
        gsds = list(gsd_m) if gsd_m is not None else [None] * len(images)
        keys = [self._key(i, g) for i, g in zip(images, gsds, strict=True)]
        todo = [j for j, k in enumerate(keys) if not k.exists()]
        if todo:
            vecs = self.encoder.encode([images[j] for j in todo], [gsds[j] for j in todo])
            for j, v in zip(todo, vecs, strict=True):
                np.save(keys[j], v)
        out = np.zeros((len(images), self.dim), np.float32)
        for j, k in enumerate(keys):
            out[j] = np.load(k)
        return out

def default_extractor(settings: Settings, backend: str = "onnx", spinning: bool = True) -> FeatureExtractor:
    """The product image encoder; ``spinning`` False for the ingest (its ONNX threads sleep between ops, leaving
    the cores to the decode and writer threads: embeddings.onnx_backend.OnnxBackbone)."""
    from embeddings.image import ImageEncoder

    return ImageEncoder(settings, backend=backend, spinning=spinning)  # type: ignore[arg-type]


@contextmanager
def index_lock(settings: Settings) -> Iterator[None]:
    """Serialise load-modify-save of the shared index file between processes."""
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with open(image_index_lock_path(settings), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def index_ids(settings: Settings, prefix: str | None = None) -> set[str]:
    """Ids in the saved image index (optionally only those starting with ``prefix``)."""
    from embeddings.faiss_index import VectorIndex

    path = image_index_path(settings)
    if not path.exists():
        return set()
    ids = {i for i in VectorIndex.load(path).ids if i}
    return {i for i in ids if i.startswith(prefix)} if prefix else ids
