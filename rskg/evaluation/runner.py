"""Run one experiment end to end (load data, features, score, write the report section). Used by the CLI."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rskg.corpora.features import encoder, raw_features
from rskg.corpora.images import from_catalog, from_folder
from rskg.corpora.ucm import UCM, load_ucm, variants
from rskg.errors import ValidationError
from rskg.evaluation import cbir, classify, crossdataset, report, supplementary
from rskg.evaluation.truth import read_truth
from rskg.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    markdown: str
    summary: dict[str, Any]
    runtime_s: float
    written: Path | None = None


def _label_system(settings: Settings) -> Any:
    from ontology.store import load_label_system

    return load_label_system(settings.ontology_dir)


def _finish(name: str, md: str, summary: dict[str, Any], t0: float, out: Path | None) -> Outcome:
    written = report.write(out, name, md, summary) if out is not None else None
    return Outcome(md, summary, time.perf_counter() - t0, written)


def run_supplementary(settings: Settings, services: Any, dataset: str, truth_csv: Path,
                      labels: list[str] | None = None, out: Path | None = None,
                      threshold: float = supplementary.DEFAULT_THRESHOLD, ucm: UCM | None = None,
                      protocol_head: bool = True) -> Outcome:
    t0 = time.perf_counter()
    truth = read_truth(truth_csv)
    if labels:
        unknown = [lab for lab in labels if lab not in truth.labels]
        if unknown:
            raise ValidationError(f"labels {unknown} do not occur in {truth_csv}",
                                  f"Choose among: {', '.join(truth.labels)}.")
    system = _label_system(settings)
    images = from_catalog(services, settings, dataset)
    ucm = ucm or load_ucm(settings, protocol_head=protocol_head)
    raw = raw_features(settings, ucm.encoder, images, progress=True)
    tr = ucm.split.train
    results = []
    for src_fs, fs in zip(ucm.variants, variants(ucm, raw), strict=True):
        source = supplementary.PrototypeSource(
            f"UCMerced train part ({int(tr.sum())} images)", src_fs.feats[tr],
            [ucm.images.label_sets[i] for i in np.flatnonzero(tr)],
            {ucm.images.sha256[i] for i in np.flatnonzero(tr)})
        results.append(supplementary.run(system, images, fs.feats, truth, source, fs.name, labels, threshold))
    plot = None
    if out is not None:
        res = results[-1]
        curves = {r.match.label: r.curve for r in res.labels if r.curve is not None}
        plot_path = report.plot_curves(curves, f"label-prototype retrieval on {dataset} ({res.variant})",
                                       out / "eval_supplementary_pr.png")
        plot = plot_path.name
    md, summary = report.supplementary_section(results, ucm.split.describe(), time.perf_counter() - t0, plot)
    return _finish("supplementary", md, summary, t0, out)


def run_cbir(settings: Settings, out: Path | None = None, ucm: UCM | None = None, protocol_head: bool = True,
             grid: int = 3, hir_source: str | None = None) -> Outcome:
    """``grid`` > 1 adds HIR rows whose class distributions come from grid x grid patches (0 or 1: none).
    ``hir_source`` (default: the setting) "both" / "composition" adds rows from the installed segmentation
    head's pixel fractions (``rskg composition train``; without a head they are left out and a note says so)."""
    t0 = time.perf_counter()
    source = hir_source or settings.hir_source
    if source not in cbir.HIR_SOURCES:
        raise ValidationError(f"hir_source must be one of {', '.join(cbir.HIR_SOURCES)}",
                              "Use both, composition or patch.")
    ucm = ucm or load_ucm(settings, protocol_head=protocol_head)
    patch_raw = raw_features(settings, ucm.encoder, ucm.images, progress=True, grid=grid) if grid > 1 else None
    composition, note = _ucm_composition(settings, ucm) if source != "patch" else (None, "")
    lf = settings.hir_composition_lambda
    lp = lf if settings.hir_patch_lambda is None else settings.hir_patch_lambda
    rows, notes = cbir.run(ucm, patch_raw, grid, composition, source, (lf, lp))
    if note:
        notes["composition HIR"] = note
    md, summary = report.cbir_section(rows, notes, ucm.split.describe(), time.perf_counter() - t0)
    return _finish("cbir", md, summary, t0, out)


def _ucm_composition(settings: Settings, ucm: UCM) -> tuple[np.ndarray | None, str]:
    """The installed segmentation head's argmax fractions of every UCMerced image at its own input side (what
    the catalog stores), cached; (None, why) without a head."""
    from rskg.composition.backfill import load_segmenter
    from rskg.evaluation.hir_composition import ucm_fractions

    seg = load_segmenter(settings, required=False)
    if seg is None:
        return None, "no segmentation head installed: composition rows left out (`rskg composition train`)"
    hard = ucm_fractions(settings, ucm, seg, seg.side)[0]
    return hard, (f"pixel fractions of segmentation head {seg.version} ({seg.side} px input, argmax, 15 fine "
                  "classes, as stored in the catalog); λ tuned on the archive")


def run_classify(settings: Settings, out: Path | None = None, ucm: UCM | None = None, protocol_head: bool = True
                 ) -> Outcome:
    t0 = time.perf_counter()
    ucm = ucm or load_ucm(settings, protocol_head=protocol_head)
    res = classify.run(ucm)
    md, summary = report.classify_section(res, ucm.split.describe(), ucm.head_info(), time.perf_counter() - t0)
    return _finish("classify", md, summary, t0, out)


def run_crossdataset(settings: Settings, out: Path | None = None,
                     targets: tuple[str, ...] = crossdataset.DEFAULT_TARGETS,
                     classes: tuple[str, ...] = crossdataset.DEFAULT_CLASSES, ucm: UCM | None = None,
                     protocol_head: bool = True) -> Outcome:
    t0 = time.perf_counter()
    ucm = ucm or load_ucm(settings, protocol_head=protocol_head)
    system = _label_system(settings)
    imgs = [from_folder(settings, t) for t in targets]
    raws = np.concatenate([raw_features(settings, ucm.encoder, im, progress=True) for im in imgs])
    feats = {fs.name: fs.feats for fs in variants(ucm, raws)}
    results = crossdataset.run(system, ucm, imgs, feats, classes)
    plot = None
    if out is not None:
        res = results[-1]
        plot = report.plot_curves(res.curves, f"UCMerced prototypes -> {', '.join(targets)} ({res.variant})",
                                  out / "eval_crossdataset_pr.png").name
    md, summary = report.crossdataset_section(results, ucm.split.describe(), time.perf_counter() - t0, plot)
    return _finish("crossdataset", md, summary, t0, out)


def run_expansion(settings: Settings, services: Any, out: Path | None = None, ucm: UCM | None = None,
                  threshold: float = 0.6) -> Outcome:
    """Eq. 1 expansion vs per-concept search on the UCMerced test split (rskg.evaluation.expansion)."""
    from rskg.evaluation import expansion
    from rskg.retrieval.labels import label_graph

    t0 = time.perf_counter()
    system = _label_system(settings)
    ucm = ucm or load_ucm(settings, protocol_head=False)
    tr = ucm.split.train
    base, _ = label_graph(services)
    co = expansion.train_cooccurrence(system, [ucm.images.label_sets[i] for i in np.flatnonzero(tr)],
                                      settings.data_dir)
    grid = expansion.default_settings(settings.alpha, settings.beta, settings.tau, settings.max_distance,
                                      settings.adjacency_min_lift)
    results = [expansion.run(system, base, co, settings.adjacency_min_cooccurrence, fs.feats, tr,
                             list(ucm.scene), ucm.images.label_sets, ucm.truth, ucm.labels, grid, fs.name,
                             threshold=threshold, progress=log.info)
               for fs in ucm.variants]
    md, summary = expansion.markdown(results, ucm.split.describe(), time.perf_counter() - t0, threshold,
                                     expansion.K_PER_PROTOTYPE)
    return _finish("expansion", md, summary, t0, out)


def shared_ucm(settings: Settings) -> UCM:
    return load_ucm(settings, encoder(settings))


OLD_TARGETS = ("eurosat", "nwpu_resisc45", "rsscn7")


def run_crossdataset_lodo(settings: Settings, out: Path | None = None,
                          targets: tuple[str, ...] | None = None, seed: int = 0, old_protocol: bool = True,
                          use_views: bool = True) -> Outcome:
    """Leave-one-dataset-out with the concept head (rskg.evaluation.lodo), and the old protocol (UCMerced
    prototypes -> EuroSAT/NWPU/RSSCN7) with a concept head trained without any image of those datasets."""
    import os

    from rskg.evaluation import lodo
    from rskg.headtrain.corpus import FAMILIES, load_corpus
    from rskg.headtrain.fit import fit
    from rskg.headtrain.views import corpus_views

    t0 = time.perf_counter()
    system = _label_system(settings)
    enc = encoder(settings, use_head=False)
    corpus = load_corpus(settings, enc)
    views = corpus_views(settings, enc, corpus, seed) if use_views else None
    res = lodo.run(system, corpus, enc, targets or FAMILIES, seed, views=views)
    sizes = ", ".join(f"{p.reader} {len(p.images)} ({int(p.trainable.sum())} trainable)" for p in corpus.parts)
    load = os.getloadavg()[0]
    note = (f"Corpus: {sizes}. EuroSAT: seeded class-balanced subsample of the full release (train split for "
            f"training, test split as target); UCMerced: fixed split (train part trainable). Frozen "
            f"EfficientNet-lite0 features, cached; head trained per fold on the other families. Machine: 2 shared "
            f"cores, load average {load:.1f} at the end. Views: "
            f"{'one cached scale/rotation view per training image' if use_views else 'none'}.")
    summary: dict[str, Any] = res.summary()
    md = lodo.markdown(res, time.perf_counter() - t0, note)
    if old_protocol:
        old = fit(system, corpus, enc, exclude=("eurosat", "nwpu", "rsscn7"), seed=seed, views=views).head
        ucm = load_ucm(settings, enc, protocol_head=False)
        ucm.extra_heads.append(("concept head (no target data)", old, True))
        ucm.variants = variants(ucm, ucm.raw)
        imgs = [from_folder(settings, t) for t in OLD_TARGETS]
        raws = np.concatenate([raw_features(settings, enc, im, progress=True) for im in imgs])
        feats = {fs.name: fs.feats for fs in variants(ucm, raws)}
        results = crossdataset.run(system, ucm, imgs, feats)
        summary["old_protocol"] = {r.variant: {"macro_map": round(r.macro_ap, 4),
                                               "macro_p_at_r065": round(r.macro_p_at_r, 4),
                                               "per_concept": {c.concept_id: round(c.ap, 4) for c in r.concepts}}
                                   for r in results}
        md += ("\n## Old protocol: UCMerced prototypes -> EuroSAT RGB / NWPU-RESISC45 / RSSCN7\n\n"
               "Concept head trained on UCMerced (train part) + GID only: no image of the three targets.\n\n"
               "| features | macro mAP | macro P@R≥0.65 |\n| --- | --- | --- |\n"
               + "".join(f"| {r.variant} | {r.macro_ap:.3f} | {r.macro_p_at_r:.3f} |\n" for r in results))
    return _finish("crossdataset_lodo", md, summary, t0, out)
