"""Index search vs repository size on the real-feature pool (Fig. 8's analogue) and the refine-factor curve.

Per size ``n`` (10k / 100k / 1M and the pool's own size, as far as the pool reaches): the first ``n`` pool vectors
are the index, the last ``NQ`` the queries (in no index). Rows:

* exact: faiss ``IndexFlatIP`` (the truth of recall@10) and, up to ``PRODUCT_FLAT_MAX``, the product's exact
  path (``VectorIndex`` flat: one matrix product while n <= EXACT_LIMIT);
* ``PQ{m}``: the product's IVF-PQ without re-ranking, at the product's nprobe: measured as refine factor 1 of the
  refined index (the PQ's own top k re-scored exactly: the same set, so the same recall, as the PQ alone;
  ``index_mb`` = the PQ part only);
* ``PQ{m},RFlat``: the same IVF-PQ under faiss ``IndexRefineFlat``, refine factor x nprobe grid (the factor and
  nprobe are read at search time, so one trained index serves the grid, as in the product).

Memory: the pool stays float16 (3.4 GB at 1M x 1712); one float32 copy at a time beside it (the exact flat, then
the refined index's exact store: 6.9 GB each); the IVF-PQ is trained on the first TRAIN_MAX vectors, with the
list count the product picks for the full size (training on all 1M, as the product does, was OOM-killed at
22.5 GB here).

Latency: one query at a time (NQ timings) and batches of ``BATCH`` queries (each batch ``REPEATS`` times), under
:func:`rskg.retrieval.knn.single_threaded` (1 FAISS / BLAS thread, as a request runs). Chosen per size: among
the rows with recall@10 >= ``TARGET_RECALL``, the least work per query: the lowest nprobe (IVF lists scanned),
then the lowest refine factor (exact distances computed) -- not the lowest measured latency, because on this
shared machine (1-min load ~10 on 2 cores) rows differing by a few lists or candidates differ in latency by
less than the scheduling noise. Else (no row reaches the target) the best recall.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks._scale_ingest import load1
from benchmarks._scale_pool import load_pool
from rskg.settings import Settings

SIZES = (10_000, 100_000, 1_000_000)
NQ = 200
BATCH = 20
REPEATS = 3
FACTORS = (2, 4, 8)
NPROBES = (8, 16, 32)
TARGET_RECALL = 0.99
TRAIN_MAX = 262_144          # training vectors of the IVF-PQ (the product trains on all; at 1M that needs one more
#                              float32 copy + faiss's training copies: 22.5 GB, killed by the OOM killer here)
CHUNK = 50_000
PRODUCT_FLAT_MAX = 200_000   # above: the product's flat path (same exact scores) is not timed (time, memory)


def _ms(xs: list[float]) -> tuple[float, float]:
    return round(float(np.median(xs)) * 1000, 3), round(float(np.percentile(xs, 99)) * 1000, 3)


def _measure(search: Callable[[np.ndarray], np.ndarray], q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    from rskg.retrieval.knn import single_threaded

    one, batch, got = [], [], np.zeros((len(q), 10), np.int64)
    with single_threaded():
        for i in range(len(q)):
            t0 = time.perf_counter()
            got[i] = search(q[i : i + 1])[0]
            one.append(time.perf_counter() - t0)
        for _ in range(REPEATS):
            for s in range(0, len(q), BATCH):
                t0 = time.perf_counter()
                search(q[s : s + BATCH])
                batch.append(time.perf_counter() - t0)
    rec = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got.tolist(), truth.tolist(), strict=True)]))
    (p50, p99), (b50, b99) = _ms(one), _ms(batch)
    return {"recall10": round(rec, 4), "p50_ms": p50, "p99_ms": p99, "batch20_p50_ms": b50, "batch20_p99_ms": b99,
            "load1": load1()}


def _searcher(idx: Any) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: idx.search_positions(x, 10)[0]


def _size(xb: np.ndarray, q: np.ndarray, s: Settings) -> dict[str, Any]:
    import faiss

    from embeddings.faiss_index import IndexParams, VectorIndex, default_nlist

    n = len(xb)
    flat = faiss.IndexFlatIP(xb.shape[1])
    for s0 in range(0, n, CHUNK):                 # xb may be float16 (the pool's own precision)
        flat.add(np.ascontiguousarray(xb[s0 : s0 + CHUNK], np.float32))
    truth = flat.search(q, 10)[1]
    ids = [str(i) for i in range(n)]
    curve: list[dict[str, Any]] = [
        {"index": "exact: faiss IndexFlatIP", **_measure(lambda x: flat.search(x, 10)[1], q, truth)}]
    flat.reset()                               # frees 6.9 GB at 1M x 1712: one float32 copy at a time
    if n <= PRODUCT_FLAT_MAX:
        ex = VectorIndex.build(ids, np.asarray(xb, np.float32), IndexParams(ivfpq_min_vectors=10**12))
        curve.append({"index": "exact: VectorIndex flat (product path)", **_measure(_searcher(ex), q, truth)})
        del ex
    base = IndexParams.from_settings(s)
    params = dataclasses.replace(base, ivfpq_min_vectors=0, refine_factor=max(FACTORS))
    nlist = default_nlist(n)
    t0 = time.perf_counter()
    k = min(n, TRAIN_MAX)
    idx = VectorIndex.build(ids[:k], np.asarray(xb[:k], np.float32), dataclasses.replace(params, nlist=nlist))
    for s0 in range(k, n, CHUNK):
        idx.add(ids[s0 : s0 + CHUNK], np.asarray(xb[s0 : s0 + CHUNK], np.float32))
    build_s = round(time.perf_counter() - t0, 1)
    pq_mb = round(len(faiss.serialize_index(idx._base())) / 2**20, 1)
    # + the exact store, 4 bytes x dim per position (serialising it would be one more 6.9 GB copy at 1M)
    mb = round(pq_mb + idx._refine_store().ntotal * xb.shape[1] * 4 / 2**20, 1)
    # factor 1 = the PQ's own top k, re-scored exactly: the same set (so the same recall) as the PQ alone
    for factor, nprobe in [(1, base.nprobe)] + [(f, p) for f in FACTORS for p in NPROBES]:
        idx.params = dataclasses.replace(idx.params, nprobe=nprobe, refine_factor=factor)  # read at search time
        name = idx.factory_string(n) if factor > 1 else idx.factory_string(n).removesuffix(",RFlat")
        curve.append({"index": name, "nprobe": nprobe, "refine_factor": factor, "build_s": build_s,
                      "index_mb": mb if factor > 1 else pq_mb, "trained_on": k, **_measure(_searcher(idx), q, truth)})
    ann = [c for c in curve if "nprobe" in c]
    good = [c for c in ann if c["recall10"] >= TARGET_RECALL] or [max(ann, key=lambda c: c["recall10"])]
    best = min(good, key=lambda c: (c["nprobe"], c["refine_factor"]))
    best["chosen"] = True
    keys = ("index", "nprobe", "refine_factor", "recall10", "p50_ms", "p99_ms", "batch20_p50_ms", "batch20_p99_ms")
    return {"curve": curve, "chosen": {k: best[k] for k in keys}, "p99_ms": best["p99_ms"], "p50_ms": best["p50_ms"]}


def retrieval_curve(settings: Settings, only_sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    x, _prov = load_pool(settings, np.float16)      # 3.4 GB at 1M; float32 chunk by chunk
    del _prov
    if len(x) < NQ + 1000:
        return {"note": f"the pool holds {len(x)} vectors: build it first (--only pool)", "sizes": {}}
    q, base = np.ascontiguousarray(x[-NQ:], np.float32), x[:-NQ]
    # the pool's own size joins the default sizes only (RSKG_SCALE_RETRIEVAL_SIZES names exactly the sizes rerun)
    own = [len(base)] if only_sizes == SIZES and len(base) not in SIZES else []
    sizes = [n for n in only_sizes if n <= len(base)] + own
    out: dict[str, Any] = {}
    for n in sizes:
        out[str(n)] = _size(np.ascontiguousarray(base[:n]), q, settings)
        print(f"   retrieval {n}: chosen {out[str(n)]['chosen']} (load {load1()})", flush=True)
    return {"note": (f"Pool of {len(x)} real-feature vectors (dim {x.shape[1]}); the last {NQ} are the queries "
                     f"(in no index). 1 FAISS/BLAS thread. Latency of one query ({NQ} timings) and of a batch of "
                     f"{BATCH} ({NQ // BATCH} batches x {REPEATS}). Chosen per size (bold): among rows with "
                     f"recall@10 >= {TARGET_RECALL} vs exact, the least work per query (lowest nprobe, then lowest "
                     "refine factor; latencies of such rows differ by less than the scheduling noise at this "
                     "load), else the best recall. "
                     "Index search only (the whole retrieval pipeline against repository size: the catalog section)."),
            "sizes": out, "pool_vectors": len(x), "os_cpus": os.cpu_count(), "target_recall10": TARGET_RECALL}
