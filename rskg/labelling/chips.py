"""Chips of an ingested dataset: catalog rows (PostgreSQL) + pixels and original bands (Zarr)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rskg.catalog.zarr_store import PixelStore
from rskg.errors import NotFoundError, ValidationError
from rskg.services import Services

SELECT_CHIPS = """
SELECT id, storage, labels, width, height, bands FROM samples WHERE dataset_id = %s ORDER BY id
"""
SELECT_CHIPS_BY_ID = "SELECT id, storage, labels, width, height, bands FROM samples WHERE id = ANY(%s)"


@dataclass
class Chip:
    sample_id: str
    raw: np.ndarray                     # (B, H, W) float32 reflectance-like values in [0, ~1]
    rgb: np.ndarray                     # (H, W, 3) uint8 display image (RGB, or PCA-3 for multispectral)
    labels: list[str] = field(default_factory=list)
    band_names: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.raw.shape[1]), int(self.raw.shape[2])


def from_arrays(sample_id: str, rgb: np.ndarray, bands: np.ndarray | None = None,
                band_names: list[str] | None = None, labels: list[str] | None = None) -> Chip:
    """Multispectral chips use their original bands (uint16 reflectance x 10,000), others RGB / 255."""
    if bands is not None:
        raw = np.asarray(bands, np.float32) / 10_000.0
        names = list(band_names or [f"b{i}" for i in range(raw.shape[0])])
    else:
        raw = np.asarray(rgb, np.float32).transpose(2, 0, 1) / 255.0
        names = ["red", "green", "blue"]
    return Chip(sample_id, np.ascontiguousarray(raw), np.asarray(rgb, np.uint8), list(labels or []), names)


def _read(pixels: PixelStore, rows: list[tuple]) -> list[Chip]:
    out = []
    for sid, storage, labels, _w, _h, bands in rows:
        rgb = pixels.read_rgb(storage)
        arr, names = (pixels.read_bands(storage) if bands and len(bands) > 3 and
                      f"{storage}/bands" in pixels.root else (None, None))
        out.append(from_arrays(sid, rgb, arr, names, list(labels or [])))
    return out


def load_dataset(services: Services, dataset_id: str, limit: int | None = None, seed: int = 0) -> list[Chip]:
    """Chips of ``dataset_id``; with ``limit`` a seeded random subset of that size (sorted by id)."""
    with services.connection() as conn:
        rows = conn.execute(SELECT_CHIPS, (dataset_id,)).fetchall()
    if not rows:
        raise NotFoundError(f"dataset {dataset_id!r} has no samples in the catalog",
                            f"Ingest it first, e.g. `rskg ingest /path/to/data --dataset eurosat --id {dataset_id}`.")
    if limit is not None:
        if limit < 1:
            raise ValidationError(f"--limit must be positive, got {limit}", "Use --limit 40 or more.")
        if limit < len(rows):
            idx = np.sort(np.random.default_rng(seed).choice(len(rows), limit, replace=False))
            rows = [rows[i] for i in idx]
    return _read(PixelStore(services.settings.zarr_path), rows)


def load_ids(services: Services, sample_ids: list[str]) -> list[Chip]:
    with services.connection() as conn:
        rows = conn.execute(SELECT_CHIPS_BY_ID, (sample_ids,)).fetchall()
    missing = set(sample_ids) - {r[0] for r in rows}
    if missing:
        raise NotFoundError(f"{len(missing)} sample(s) not in the catalog: {sorted(missing)[:5]}")
    order = {s: i for i, s in enumerate(sample_ids)}
    rows.sort(key=lambda r: order[r[0]])
    return _read(PixelStore(services.settings.zarr_path), rows)


@dataclass
class Normaliser:
    """Per-band standardisation fitted on the training chips; also fixes the band count of the model."""
    mean: np.ndarray
    std: np.ndarray
    band_names: list[str]

    @classmethod
    def fit(cls, chips: list[Chip]) -> Normaliser:
        check_bands(chips)
        stack = np.concatenate([c.raw.reshape(c.raw.shape[0], -1)[:, ::7] for c in chips], axis=1)
        return cls(stack.mean(1).astype(np.float32), np.maximum(stack.std(1), 1e-4).astype(np.float32),
                   list(chips[0].band_names))

    @property
    def n_bands(self) -> int:
        return len(self.mean)

    def __call__(self, chip: Chip) -> np.ndarray:
        if chip.raw.shape[0] != self.n_bands:
            raise ValidationError(
                f"chip {chip.sample_id} has {chip.raw.shape[0]} bands, but the U-Net was trained on "
                f"{self.n_bands} ({', '.join(self.band_names)})",
                "Embed chips of the dataset the model was prepared on, or run `rskg label prepare` on a "
                "dataset with this band count.")
        return ((chip.raw - self.mean[:, None, None]) / self.std[:, None, None]).astype(np.float32)


def check_bands(chips: list[Chip]) -> None:
    counts = {c.raw.shape[0] for c in chips}
    if len(counts) > 1:
        raise ValidationError(f"chips with different band counts {sorted(counts)} in one run",
                              "Prepare one dataset (one sensor / band set) at a time.")
