"""The feature step: an injected image encoder, the Zarr feature store and the FAISS image index.

The FAISS index is derived data: :func:`sync_index` adds to it the feature rows of a dataset that it
lacks (and rebuilds it when it holds vectors the catalog no longer has), under a file lock, then saves
it atomically. Every ingest checkpoint and every restart calls it, so a killed run loses nothing.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rskg.settings import Settings

IMAGE_INDEX_FILE = "image.npz"


@runtime_checkable
class FeatureExtractor(Protocol):
    """What the pipeline needs from an image encoder (embeddings.image.ImageEncoder fits)."""

    dim: int
    version: str

    def encode(self, images: Sequence[np.ndarray], gsd_m: Sequence[float | None] | None = None) -> np.ndarray:
        """uint8 (H, W, 3) RGB arrays -> float32 (N, dim)."""
        ...


def default_extractor(settings: Settings, backend: str = "onnx") -> FeatureExtractor:
    from embeddings.image import ImageEncoder

    return ImageEncoder(settings, backend=backend)  # type: ignore[arg-type]


def image_index_path(settings: Settings) -> Path:
    return settings.index_dir / IMAGE_INDEX_FILE


@contextmanager
def index_lock(settings: Settings) -> Iterator[None]:
    """Serialise load-modify-save of the shared index file between processes."""
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.index_dir / (IMAGE_INDEX_FILE + ".lock"), "w") as fh:
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
