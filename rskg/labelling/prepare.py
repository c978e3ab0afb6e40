"""``rskg label prepare``: train the pipeline on a dataset's chips, embed them, match, project, save."""

from __future__ import annotations

import logging
import time

from rskg.labelling import artifacts, matching, projection
from rskg.labelling.chips import Chip, load_dataset
from rskg.labelling.config import LabellingConfig
from rskg.labelling.model import train_pipeline
from rskg.services import Services

log = logging.getLogger(__name__)


def prepare_chips(dataset: str, chips: list[Chip], cfg: LabellingConfig) -> artifacts.Prepared:
    """Everything in memory (used by the CLI, the tests and the benchmark)."""
    if len(chips) < 2:
        from rskg.errors import ValidationError

        raise ValidationError(f"{len(chips)} chip(s) to prepare; at least 2 are needed",
                              "Ingest more samples or raise --limit.")
    t0 = time.perf_counter()
    model, graphs, stats = train_pipeline(chips, cfg)
    t = time.perf_counter()
    embs = model.embed(graphs)
    stats["embed_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    sim = matching.similarity_matrix(embs, cfg.match_max_segments, cfg.seed)
    stats["match_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    xy = projection.chips_2d(sim, cfg.umap_neighbors, cfg.seed)
    stats["umap_seconds"] = time.perf_counter() - t
    stats["total_seconds"] = time.perf_counter() - t0
    meta = {"config": cfg.to_dict(), "timings": {k: round(float(v), 3) for k, v in stats.items()},
            "n_chips": len(chips), "n_segments": int(sum(g.n for g in graphs)),
            "bands": model.norm.band_names, "chip_shapes": sorted({f"{c.shape[0]}x{c.shape[1]}" for c in chips})}
    return artifacts.Prepared(dataset, [c.sample_id for c in chips], xy, [g.labels for g in graphs], embs, sim,
                              meta, [c.labels for c in chips], model)


def prepare(services: Services, dataset: str, limit: int | None = None, cfg: LabellingConfig | None = None
            ) -> artifacts.Prepared:
    cfg = cfg or LabellingConfig()
    artifacts.labelling_dir(services.settings, dataset)        # validates the id before any work
    t = time.perf_counter()
    chips = load_dataset(services, dataset, limit, cfg.seed)
    load_s = time.perf_counter() - t
    p = prepare_chips(dataset, chips, cfg)
    p.meta["timings"]["load_seconds"] = round(load_s, 3)
    artifacts.save(services.settings, p)
    log.info("prepared %s: %d chips, %s", dataset, len(chips), p.meta["timings"])
    return p


__all__ = ["prepare", "prepare_chips"]
