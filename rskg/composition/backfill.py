"""Composition of every sample of a dataset by the installed segmentation head (`rskg composition backfill`,
and after each `rskg ingest` while a head is installed): the argmax mask's share of each fine class,
summed up the label hierarchy, written to the catalog and the Sample nodes. Idempotent per model."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from embeddings.segmentation import FINE_CLASSES, Segmenter, fractions, mask_png
from rskg.catalog.zarr_store import PixelStore
from rskg.composition import store
from rskg.composition.train import seg_model_path
from rskg.errors import ConfigError
from rskg.services import Services
from rskg.settings import Settings

FINE_CONCEPTS = tuple(c for _, c in FINE_CLASSES)


def load_segmenter(settings: Settings, required: bool = True) -> Segmenter | None:
    path = seg_model_path(settings)
    if not path.exists():
        if required:
            raise ConfigError(f"no segmentation head at {path}",
                              "Train one with `rskg composition train` (GID-MTL, about 10 min on 2 cores).")
        return None
    return Segmenter(path, onnx_dir=settings.cache_dir / "onnx", threads=settings.encoder_threads)


def roll_up(fine: np.ndarray, ancestors: dict[str, list[str]]) -> dict[str, float]:
    """Fine-class shares -> shares of the fine concepts and of every ancestor (sums of their parts)."""
    out: dict[str, float] = {}
    for concept, share in zip(FINE_CONCEPTS, fine.tolist(), strict=True):
        for c in (concept, *ancestors.get(concept, [])):
            out[c] = out.get(c, 0.0) + share
    return {c: min(1.0, round(v, 6)) for c, v in out.items()}


def compositions(seg: Segmenter, images: Sequence[np.ndarray], ids: Sequence[str],
                 ancestors: dict[str, list[str]]) -> list[store.Composition]:
    masks = seg.masks(images)
    return [store.Composition(i, roll_up(fractions(m), ancestors), mask_png(m))
            for i, m in zip(ids, masks, strict=True)]


def backfill(svc: Services, seg: Segmenter, dataset_id: str, batch: int = 32, progress: bool = False) -> int:
    """Compose every sample of ``dataset_id`` that has no composition by this head; returns how many."""
    with svc.connection() as conn:
        todo = store.missing(conn, dataset_id, seg.version)
    if not todo:
        return 0
    anc = store.ancestors(svc, FINE_CONCEPTS)
    pixels = PixelStore(svc.settings.zarr_path)
    bar = tqdm(total=len(todo), desc=f"composition {dataset_id}", unit="img", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    for i in range(0, len(todo), batch):
        part = todo[i : i + batch]
        images = [pixels.read_rgb(storage) for _, storage in part]
        store.write(svc, compositions(seg, images, [sid for sid, _ in part], anc), seg.version)
        bar.update(len(part))
    bar.close()
    return len(todo)
