"""The composition of one image or sample for `describe`: the stored one of a catalog sample, else the installed
segmentation head applied to the pixels (loaded once per process and model file)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embeddings.segmentation import Segmenter
from rskg.catalog.zarr_store import PixelStore
from rskg.composition import store
from rskg.composition.backfill import FINE_CONCEPTS, compositions, load_segmenter
from rskg.composition.train import seg_model_path
from rskg.services import KeyedCache, Services

NO_HEAD = "no segmentation head is installed: no composition (train one with `rskg composition train`)"


class SegmenterCache(KeyedCache[Segmenter]):
    """The installed segmentation head, rebuilt when its file changes."""


@dataclass(frozen=True)
class ImageComposition:
    fractions: dict[str, float]       # concept id -> share of the pixels (fine concepts and ancestors)
    model_version: str
    source: str                       # "stored" (catalog) | "segmented" (head applied now)


def installed(services: Services) -> Segmenter | None:
    path = seg_model_path(services.settings)
    if not path.exists():
        return None
    key = (str(path), path.stat().st_mtime_ns)

    def build() -> Segmenter:
        seg = load_segmenter(services.settings)
        assert seg is not None
        return seg

    return services.cache(SegmenterCache).get(key, build)


def of_image(services: Services, rgb: np.ndarray) -> ImageComposition | None:
    """The head's composition of RGB pixels; None when no head is installed."""
    seg = installed(services)
    if seg is None:
        return None
    comp = compositions(seg, [rgb], ["image"], store.ancestors(services, FINE_CONCEPTS))[0]
    return ImageComposition(comp.fractions, seg.version, "segmented")


def of_sample(services: Services, sample_id: str) -> ImageComposition | None:
    """The stored composition of a catalog sample; None when it has none."""
    with services.connection() as conn:
        fractions, model = store.read(conn, sample_id)
    return ImageComposition(fractions, model, "stored") if model is not None else None


def of_sample_pixels(services: Services, sample_id: str) -> ImageComposition | None:
    """The head applied now to a catalog sample's stored pixels; None without a head or without the sample."""
    with services.connection() as conn:
        row = conn.execute("SELECT storage FROM samples WHERE id = %s", (sample_id,)).fetchone()
    if row is None or installed(services) is None:
        return None
    return of_image(services, PixelStore(services.settings.zarr_path).read_rgb(row[0]))
