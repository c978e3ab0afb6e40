"""Plain records that flow through the ingestion pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


def vector_id(sample_id: str) -> int:
    """63-bit int key of a sample's vector in FAISS (blake2b-8 of the sample id, top bit cleared).

    Deterministic, so a rerun or a reconcile after a crash recomputes the same key; stored in
    ``samples.vector_id`` (unique) so a FAISS hit maps back to exactly one sample.
    """
    digest = hashlib.blake2b(sample_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class SampleRef:
    """A sample found by discovery, before its bytes are read."""

    rel_path: str                       # path relative to the dataset root, '/'-separated
    paths: list[str]                    # absolute fsspec paths of the file(s) that make the sample
    labels: list[str]                   # primary labels, as the dataset spells them
    extra_labels: dict[str, list[str]] = field(default_factory=dict)   # label_set -> labels
    meta: dict[str, object] = field(default_factory=dict)              # reader-specific hints


@dataclass
class Decoded:
    """A sample after reading: pixels and the metadata that goes into the catalog."""

    ref: SampleRef
    sha256: str
    rgb: np.ndarray | None              # uint8 (H, W, 3): the visual path (RGB, or PCA-3 set later)
    bands: np.ndarray | None = None     # original bands (C, H, W) on one grid, multispectral only
    band_names: list[str] = field(default_factory=list)
    footprint_wkt: str | None = None    # WGS 84 polygon
    acquired_at: datetime | None = None
    gsd_m: float | None = None
    encoded: bytes | None = None        # the file whose rskg.imaging.decode_rgb is exactly ``rgb``: stored as is


@dataclass
class Rejected:
    """A sample that could not be read; it goes to the quarantine table."""

    ref: SampleRef
    reason: str
    sha256: str | None = None


@dataclass
class Skipped:
    """A sample already in the catalog with the same checksum."""

    ref: SampleRef
    sha256: str


def sha256_of(chunks: list[bytes]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()
