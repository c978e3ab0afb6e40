"""The product's concept head: train it on every labelled dataset, install it, re-encode the catalog with it.

``install_head`` trains on every family of :mod:`rskg.headtrain.corpus` (UCMerced train split, EuroSAT
train subsample, NWPU, RSSCN7, GID), saves it as ``RSKG_HOME/models/image_head.pt`` (the ImageEncoder
picks it up: its version, and so the FAISS index's version, names the head's file digest) and returns
what it did. ``reencode`` recomputes every ingested dataset's features with the current encoder from the
Zarr pixels and rebuilds the image index (``rskg image train-head --reencode`` does both).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings.backbone import fuse
from embeddings.head_model import ProjectionHead, save_head
from rskg.artifacts import head_path
from rskg.headtrain.calibrate import PRECISION, learn_thresholds
from rskg.headtrain.corpus import FAMILIES, load_corpus
from rskg.headtrain.fit import fit
from rskg.headtrain.train import ConceptTrainConfig
from rskg.headtrain.views import corpus_views
from rskg.settings import Settings

DATASET_IDS_SQL = "SELECT id FROM datasets ORDER BY id"


@dataclass
class Installed:
    head: ProjectionHead
    path: Path
    n_train: int
    families: list[str]
    n_concepts: int
    train_seconds: float
    total_seconds: float
    peak_rss_mb: float


def install_head(settings: Settings, system: Any, families: tuple[str, ...] = FAMILIES, seed: int = 0,
                 config: ConceptTrainConfig | None = None, save_to: Path | None = None) -> Installed:
    from embeddings.image import ImageEncoder

    t0 = time.perf_counter()
    enc = ImageEncoder(settings, use_head=False)
    corpus = load_corpus(settings, enc, families)
    views = corpus_views(settings, enc, corpus, seed)
    f = fit(system, corpus, enc, seed=seed, config=config, views=views)
    f.head.cfg.metrics["split"] = "ucm fixed split (train part); eurosat train-split subsample"
    held = ~f.train_rows                   # UCMerced test split + EuroSAT test subsample: never trained on
    if held.any():
        fused = fuse(corpus.raw()[held], enc.stage_dims, enc.fusion)
        f.head.cfg.metrics["thresholds"] = learn_thresholds(f.head.predict_proba(fused), f.targets.y[held],
                                                            f.targets.known[held], f.targets.concepts)
        f.head.cfg.metrics["thresholds_from"] = f"{int(held.sum())} held-out images, precision >= {PRECISION}"
    path = save_head(f.head, save_to or head_path(settings.home))
    return Installed(f.head, path, int(f.train_rows.sum()), list(f.head.cfg.metrics["families"]),
                     len(f.targets.concepts), f.result.seconds, time.perf_counter() - t0, f.result.peak_rss_mb)


def installed_concept_head(settings: Settings) -> str | None:
    """The encoder version when a concept head for the current backbone is installed, else None."""
    from embeddings.image import ImageEncoder

    enc = ImageEncoder(settings)
    if enc.head is None or (enc.head.cfg.metrics or {}).get("kind") != "concept":
        return None
    return enc.version


def reencode(services: Any, progress: bool = True) -> dict[str, int]:
    """Every ingested dataset's features with the current encoder (from Zarr pixels), index rebuilt."""
    from rskg.catalog.zarr_store import PixelStore
    from rskg.ingest.features import default_extractor
    from rskg.ingest.reconcile import ReconcileReport, reconcile_features, sync_index

    settings = services.settings
    extractor = default_extractor(settings)
    pixels = PixelStore(settings.zarr_path)
    with services.connection() as conn:
        ids = [r[0] for r in conn.execute(DATASET_IDS_SQL).fetchall()]
    out: dict[str, int] = {}
    for ds in ids:
        rr = ReconcileReport()
        store = reconcile_features(services, ds, pixels, extractor, rr)
        sync_index(services, ds, store, extractor.version, rr)
        out[ds] = int(rr.features_added)
        if progress:
            print(f"{ds}: {rr.features_added} features computed with {extractor.version}", flush=True)
    return out
