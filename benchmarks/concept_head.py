"""Concept head training cost on this machine: feature caching, head training time, peak memory.

Trains the product concept head exactly as `rskg image train-head` does (every family of
rskg.headtrain.corpus, one cached view per training image), into the benchmark cache (the installed head
is left alone), and writes benchmarks/results/concept_head.md. The first run on a fresh RSKG_HOME includes
the one-off backbone encoding of the corpus (cached afterwards, keyed by file SHA-256).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

from rskg.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "benchmarks" / "results" / "concept_head.md"


def run(settings: Settings, out: Path = OUT) -> dict[str, float]:
    from embeddings.image import ImageEncoder
    from rskg.headtrain.corpus import load_corpus
    from rskg.headtrain.fit import fit
    from rskg.headtrain.views import corpus_views
    from rskg.label_mapping import load_system

    system = load_system(settings)
    enc = ImageEncoder(settings, use_head=False)
    t0 = time.perf_counter()
    corpus = load_corpus(settings, enc, progress=False)
    t1 = time.perf_counter()
    views = corpus_views(settings, enc, corpus)
    t2 = time.perf_counter()
    f = fit(system, corpus, enc, views=views)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    sizes = ", ".join(f"{p.reader} {int(p.trainable.sum())}" for p in corpus.parts)
    m = {"features_s": t1 - t0, "views_s": t2 - t1, "train_s": f.result.seconds, "fit_total_s": t3 - t2,
         "peak_rss_mb": peak, "n_train": float(f.train_rows.sum()), "n_views": float(len(views[1])),
         "n_concepts": float(len(f.targets.concepts)), "load": os.getloadavg()[0]}
    md = ["# Concept head training (rskg image train-head)", "",
          f"Training images per reader: {sizes}; {int(m['n_views'])} cached views; {int(m['n_concepts'])} concepts.",
          f"Machine: {os.cpu_count()} CPUs visible, torch 2 threads, load average {m['load']:.1f} at the end "
          "(shared with other jobs: timings are upper bounds).", "",
          "| step | seconds |", "| --- | --- |",
          f"| backbone features of the corpus (cached after the first run) | {m['features_s']:.1f} |",
          f"| augmented views (cached after the first run) | {m['views_s']:.1f} |",
          f"| head training ({f.head.cfg.metrics.get('n_train')} images, 20 epochs, dataset-balanced) | "
          f"{m['train_s']:.1f} |",
          f"| targets + training total | {m['fit_total_s']:.1f} |", "",
          f"Peak resident memory of the process: {peak:.0f} MB.", ""]
    out.write_text("\n".join(md), encoding="utf-8")
    return m
