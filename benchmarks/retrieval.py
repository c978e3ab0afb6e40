"""Retrieval latency against image-index size (10k, 100k, 1M vectors) -> benchmarks/results/retrieval.md.

Data: small deterministic subsets of the real datasets (UCMerced 20/class, EuroSAT RGB 30/class,
NWPU-RESISC45 20/class, RSSCN7 30/class, the 11 BigEarthNet patches) are ingested with the real pipeline and
encoder into a private rskg home (dataset ids ``bench_retr_*``; features cached by pixel hash), and the
prototypes are built from them. The larger indexes are filled with the REAL features plus vectors of the
real-feature pool of ``benchmarks.scale`` (real images and real flips/rotations/crops of them, encoded by the
product encoder; benchmarks/_scale_pool.py), under ids ``scale_pool:<entry>`` that have no catalog row; a size
beyond real + pool is skipped (the noise-perturbed copies used before, cosine ~0.96 to their source, made
IVF-PQ's job unrealistically easy and are retired). Every index is IVF-PQ
(``PCAR256,IVF{min(4 sqrt n, TRAIN_MAX/20)},PQ{faiss_pq_m}``, nprobe 16) trained on the first ``TRAIN_MAX`` vectors,
built once and cached under ``settings.cache_dir``. Each size is pinned as the image
index (rskg.retrieval.caches.set_image_index) and the WHOLE pipeline is timed (PostGIS filter, label
resolution, Dijkstra, direct matches in PostgreSQL, prototype kNN, metadata look-up).

Run: ``.venv/bin/python -m benchmarks.retrieval [--sizes 10000,100000,1000000] [--requests 200]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.faiss_index import IndexParams, VectorIndex, l2n
from rskg.retrieval.caches import image_index, set_image_index
from rskg.retrieval.features import load_features
from rskg.retrieval.model import RetrievalRequest
from rskg.retrieval.pipeline import retrieve, warm_up
from rskg.services import Services
from rskg.settings import Settings, load_settings

OUT = Path(__file__).resolve().parent / "results" / "retrieval.md"
PREFIX = "bench_retr_"
SUBSETS = (("ucm", "ucmerced", 20), ("eurosat", "eurosat_rgb", 30), ("nwpu_resisc45", "nwpu_resisc45", 20),
           ("rsscn7", "rsscn7", 30), ("bigearthnet_43", "sentinel2_ms", None))
LABELS = ("river", "forest", "beach", "residential", "Pastures", "harbor", "farmland", "industrial area",
          "lake", "grassland")
IRELAND = (-7.2, 52.0, -6.5, 53.5)
TRAIN_MAX = 20_000     # IVF-PQ trained on the first TRAIN_MAX vectors (fits a few minutes on 2 loaded cores)
CHUNK = 50_000


def bench_home(settings: Settings) -> Settings:
    return load_settings(home=settings.cache_dir / "bench_retrieval_home", data_dir=settings.data_dir)


def prepare_corpus(settings: Settings) -> tuple[Settings, Services]:
    """Ingest the subsets into the private home (skips what is already in) and build the prototypes."""
    from kg.retrieval_queries import ADOPT_MAPPINGS
    from ontology.store import load_label_system
    from rskg.catalog.migrate import migrate
    from rskg.ingest.features import CachedExtractor, default_extractor
    from rskg.ingest.pipeline import IngestOptions, ingest, make_reader
    from rskg.retrieval.prototypes import build_prototypes

    s = bench_home(settings)
    svc = Services(s)
    with svc.connection() as conn:
        migrate(conn)
    system = load_label_system(s.ontology_dir)
    extractor = CachedExtractor(default_extractor(s), settings.cache_dir, "retrieval_test_features")
    for key, folder, limit in SUBSETS:
        opts = IngestOptions(url=str(s.data_dir / folder), dataset=key, dataset_id=PREFIX + key, limit=limit,
                             progress=False, workers=2)
        rows = []
        for ls in make_reader(opts).label_sets():
            onto = key + ls[len(PREFIX + key):]
            for m in system.mappings:
                if m.dataset == onto:
                    src = f"{m.dataset}:{m.name}"
                    rows.append({"dataset": ls, "name": m.name, "concept": m.concept_id, "rel": "MAPS_TO",
                                 "source": src})
                    rows += [{"dataset": ls, "name": m.name, "concept": c, "rel": "COVERS", "source": src}
                             for c in m.covers]
        svc.driver.execute_query(ADOPT_MAPPINGS, rows=rows)
        ingest(svc, opts, extractor)
    build_prototypes(svc, s)
    return s, svc


def pool_index(s: Settings, real_ids: list[str], real: np.ndarray, pool: np.ndarray, n: int,
               version: str) -> tuple[VectorIndex, float]:
    """The real features, then the first ``n - len(real)`` real-feature pool vectors; cached by size."""
    key = hashlib.sha1(f"{n}|pool|{TRAIN_MAX}|{version}|{len(real_ids)}|pq{s.faiss_pq_m}|rf{s.faiss_refine_factor}"
                       .encode()).hexdigest()[:12]
    path = s.cache_dir / "bench_indexes" / f"ivfpq_pool_{n}_{key}.npz"
    meta = path.with_suffix(".build.json")    # how long the cached index took to build, and the load then
    if path.exists():
        built = json.loads(meta.read_text()) if meta.exists() else {}
        return VectorIndex.load(path), float(built.get("build_s", "nan"))
    t0 = time.perf_counter()
    nlist = min(int(4 * math.sqrt(n)), TRAIN_MAX // 20)   # >= 20 training points per list
    params = IndexParams(ivfpq_min_vectors=1, nlist=nlist, pq_m=s.faiss_pq_m, pq_dim=256, nprobe=16,
                         refine_factor=s.faiss_refine_factor)
    m = n - len(real_ids)
    ids = list(real_ids) + [f"scale_pool:{i}" for i in range(m)]
    vecs = np.vstack([real, pool[:m]])
    index = VectorIndex.build(ids[:TRAIN_MAX], vecs[:TRAIN_MAX], params, version)
    for start in range(min(n, TRAIN_MAX), n, CHUNK):
        index.add(ids[start : start + CHUNK], vecs[start : start + CHUNK])
    build_s = time.perf_counter() - t0
    index.save(path)
    meta.write_text(json.dumps({"build_s": round(build_s, 1), "load_avg": os.getloadavg()}))
    return index, build_s


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


def time_requests(svc: Services, s: Settings, n_req: int, bbox: tuple[float, float, float, float] | None = None,
                  backend: str = "sql", **filters: Any) -> dict[str, list[float]]:
    """Timings (ms) of ``n_req`` retrievals cycling over LABELS; ``filters``: more RetrievalRequest fields
    (e.g. time_from / time_to). Also the result sizes (``n_direct``, ``n_supplementary``)."""
    out: dict[str, list[float]] = {"total": [], "supplementary": [], "direct": [], "cpu": [], "n_direct": [],
                                   "n_supplementary": []}
    for i in range(5):   # warm-up: caches, first-touch of the index
        retrieve(svc, s, RetrievalRequest(labels=[LABELS[i % len(LABELS)]], bbox=bbox, **filters))
    for i in range(n_req):
        c0 = time.process_time()
        r = retrieve(svc, s, RetrievalRequest(labels=[LABELS[i % len(LABELS)]], bbox=bbox, direct_backend=backend,
                                              **filters))
        out["cpu"].append((time.process_time() - c0) * 1000)
        for k in ("total", "supplementary", "direct"):
            out[k].append(r.timings_ms.get(k, 0.0))
        out["n_direct"].append(len(r.direct))
        out["n_supplementary"].append(len(r.supplementary))
    return out


def run(settings: Settings, sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000), n_req: int = 200) -> Path:
    s, svc = prepare_corpus(settings)
    real_index = image_index(svc)
    assert real_index is not None
    real_ids, real = load_features(s, real_index.version)
    real = l2n(real)
    from benchmarks._scale_pool import load_pool

    pool, _ = load_pool(settings)
    skipped = [n for n in sizes if n > len(real_ids) + len(pool)]
    sizes = tuple(n for n in sizes if n not in skipped)
    lines = ["# Retrieval latency vs image-index size", "",
             f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, 2 cores shared with other jobs "
             "(load average was high while measuring); one request at a time, single-threaded BLAS/FAISS.", "",
             f"Real vectors: {len(real_ids)} image features (dim {real.shape[1]}) of the real subsets ingested into "
             "a private home; larger indexes = these real features + the real-feature pool of benchmarks.scale "
             f"({len(pool)} vectors of real pixels: images, flips/rotations, crops; ids without catalog rows; "
             f"sizes beyond {len(real_ids) + len(pool):,} skipped: {skipped or 'none'}). IVF-PQ "
             f"`PCAR256,IVF(min(4 sqrt n, {TRAIN_MAX // 20})),PQ{s.faiss_pq_m}`, nprobe 16, trained on the first "
             f"{TRAIN_MAX} vectors. "
             f"{n_req} requests per row, labels cycling over {', '.join(LABELS)}; whole pipeline timed "
             "(`RetrievalResult.timings_ms`).", "",
             "Before timing, each pinned index gets `warm_up` (what `rskg serve` runs at startup: lexicon, label "
             "graph, prototype links and every prototype's cached neighbour list for that index); its duration is "
             "the `warm-up s` column, a one-off cost per (index, prototype store) version. `p50 CPU ms` = process "
             "CPU time per request (wall times are inflated by the other jobs on the machine).", "",
             "| index vectors | build s (when built) | warm-up s | filter | p50 total ms | p99 total ms | "
             "p50 supplementary ms | "
             "p99 supplementary ms | p50 direct ms | p50 CPU ms | load avg (1 min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    summary: dict[int, tuple[float, float]] = {}
    for n in sizes:
        idx, build_s = pool_index(s, real_ids, real, pool, n, real_index.version)
        set_image_index(svc, idx)
        try:
            t0 = time.perf_counter()
            warm_up(svc)
            warm_s = time.perf_counter() - t0
            for bbox in (None, IRELAND):
                t = time_requests(svc, s, n_req if bbox is None else max(20, n_req // 4), bbox)
                p50, p99 = pct(t["total"], 50), pct(t["total"], 99)
                if bbox is None:
                    summary[n] = (p50, p99)
                lines.append(f"| {n:,} | {'?' if math.isnan(build_s) else f'{build_s:.0f}'} | {warm_s:.1f} | "
                             f"{'bbox Ireland' if bbox else 'none'} | {p50:.1f} | {p99:.1f} | "
                             f"{pct(t['supplementary'], 50):.1f} | {pct(t['supplementary'], 99):.1f} | "
                             f"{pct(t['direct'], 50):.1f} | {pct(t['cpu'], 50):.1f} | {os.getloadavg()[0]:.1f} |")
                print(lines[-1], flush=True)
        finally:
            set_image_index(svc, None)
    if summary:
        lo, hi = min(summary), max(summary)
        ratio = summary[hi][0] / summary[lo][0]
        lines += ["", f"Targets at {hi:,}: p50 < 50 ms -> {summary[hi][0]:.1f} ms "
                      f"({'met' if summary[hi][0] < 50 else 'NOT met'}); p99 < 250 ms -> {summary[hi][1]:.1f} ms "
                      f"({'met' if summary[hi][1] < 250 else 'NOT met'}); p50 at most 1.5x the {lo:,} figure -> "
                      f"{ratio:.2f}x ({'met' if ratio <= 1.5 else 'NOT met'})."]
    # direct-match backends on the real index
    sql_t = time_requests(svc, s, 50, None, "sql")["direct"]
    cy_t = time_requests(svc, s, 50, None, "cypher")["direct"]
    lines += ["", "Direct matches (step 3), same requests, real index: PostgreSQL join p50 "
              f"{pct(sql_t, 50):.1f} ms / p99 {pct(sql_t, 99):.1f} ms; Neo4j Cypher p50 {pct(cy_t, 50):.1f} ms / "
              f"p99 {pct(cy_t, 99):.1f} ms -> the default backend is "
              f"{'sql' if pct(sql_t, 50) <= pct(cy_t, 50) else 'cypher (faster here, but sql stays default)'}."]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    svc.close()
    return OUT


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()
    print(run(load_settings(), tuple(int(x) for x in a.sizes.split(",")), a.requests))
