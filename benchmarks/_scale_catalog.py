"""Catalog at paper scale for ``benchmarks.scale`` (section ``catalog``): the whole product retrieval against
repository size (Fig. 8's analogue), catalog rows and index vectors growing together.

Where: the private home of benchmarks/retrieval.py (its real subsets of UCMerced, EuroSAT, NWPU-RESISC45,
RSSCN7 and the Sentinel-2 patches, ingested by the product with features; prototypes built from them), on the
project's PostgreSQL + Neo4j. Beside the real rows, generated rows go to dataset ``bench_scale_generated``
(sensor ``generated``, storage ``scale_pool#<entry>``: the pool entry whose real vector the row carries; a random
footprint of ~1 km in 70°S..70°N and a random acquisition date 2015..2024, seeded). Each generated row is
labelled like its real source image: the source's scene folder, in the label set of the source's benchmark
subset (``bench_retr_ucm:river``, ...), so the product's mappings make it a direct match of that concept.

Steps: the catalog grows to each size of ``STEPS`` and then to N rows (RSKG_SCALE_CATALOG_ROWS, default 1.4M):
PostgreSQL COPY (rows + ``sample_labels``), the Neo4j sync of the same rows (``merge_samples``: the product's
UNWIND batches), the image index of the real features + the generated rows' pool vectors (one vector per
generated row while the pool lasts; rows beyond the pool carry a pool vector in the catalog but are not indexed
twice), pinned as the image index, and then the whole product retrieval (label resolution, Dijkstra, direct
matches in PostgreSQL, prototype kNN, metadata) timed without a filter, with a bbox and with bbox + time.
At N: the PG->Neo4j reconcile check over the whole dataset (what every ingest runs at start and end; its changes
are reported: 0 when PostgreSQL and Neo4j agree) and the raw candidate counts. Everything generated is dropped
afterwards (drop time reported too). A step that fails is reported with its error; the steps before it are kept.
Resident memory of Neo4j, PostgreSQL and this process (which runs the API's retrieval code with the index pinned)
is sampled throughout. History: a first try at 1.4M rows ran Neo4j (1 GB heap) out of memory in the reconcile
check (one query over every Sample; now pages of 20k); the next found the stale-edge deletion in one transaction
(now batches of 1,000) -- that run's COPY wrote no ``sample_labels``, so its check repaired every sample.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import resource
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._scale_ingest import load1
from benchmarks.retrieval import CHUNK, PREFIX
from embeddings.faiss_index import IndexParams, VectorIndex, default_nlist, l2n
from kg.label_sync import source_label_id
from rskg.catalog import samples as catalog
from rskg.ingest.admin import drop_dataset
from rskg.ingest.reconcile import ReconcileReport, merge_samples, reconcile_graph
from rskg.ingest.records import vector_id
from rskg.retrieval.labels import lexicon
from rskg.services import Services
from rskg.settings import Settings

DS = "bench_scale_generated"
STEPS = (10_000, 100_000, 1_000_000)
POOL_TO_SUBSET = {"eurosat_full": "eurosat"}     # pool dataset -> benchmarks/retrieval.py subset (else the same)
EUROPE = (-10.0, 35.0, 30.0, 60.0)
TRAIN_MAX = 262_144      # IVF-PQ training vectors of a step's index (>= 128 per list at 1M: 2,000 lists)
COPY = ("COPY samples (id, dataset_id, source_path, labels, footprint, acquired_at, sensor, gsd_m, width, height, "
        "storage, sha256, vector_id) FROM STDIN")
COPY_LABELS = "COPY sample_labels (sample_id, label_set, label) FROM STDIN"
Q_LABEL = "SELECT count(*) FROM samples WHERE dataset_id = %s AND labels && %s::text[]"
Q_FILTER = ("SELECT count(*) FROM samples WHERE dataset_id = %s AND labels && %s::text[] AND "
            "ST_Intersects(footprint, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) AND acquired_at BETWEEN %s AND %s")


DELETE_SOME_SAMPLES = """
MATCH (s:Sample {dataset: $dataset})
WITH s LIMIT $n
DETACH DELETE s
RETURN count(*) AS n
"""


def server_rss_mb(home: str) -> dict[str, float]:
    """Resident memory (MB) of this home's Neo4j and PostgreSQL processes (the server whose command line names the
    home, plus its children: PostgreSQL's backends; shared pages counted once per process; /proc)."""
    procs: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text().splitlines()
        except OSError:
            continue
        rss = [int(ln.split()[1]) / 1024 for ln in status if ln.startswith("VmRSS:")]
        ppid = [int(ln.split()[1]) for ln in status if ln.startswith("PPid:")]
        procs[int(entry.name)] = (ppid[0] if ppid else 0, cmd, rss[0] if rss else 0.0)
    out = {}
    for kind in ("neo4j", "postgres"):
        roots = {p for p, (_, cmd, _) in procs.items() if kind in cmd and home in cmd}
        kids = {p for p, (pp, _, _) in procs.items() if pp in roots}
        out[kind] = round(sum(procs[p][2] for p in roots | kids), 1)
    return out


class PeakRss:
    """Peak resident memory (MB) of this home's Neo4j / PostgreSQL, sampled every ``every_s`` in a thread, and of
    this process (``ru_maxrss``: the benchmark runs the product's catalog / graph client code in-process)."""

    def __init__(self, home: str, every_s: float = 1.0) -> None:
        self.home, self.every_s, self.peak = home, every_s, {"neo4j": 0.0, "postgres": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            for k, v in server_rss_mb(self.home).items():
                self.peak[k] = max(self.peak[k], v)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def result(self) -> dict[str, float]:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {**self.peak, "benchmark_process": round(own, 1), "sample_every_s": self.every_s}


def _drop(svc: Services) -> None:
    """Neo4j nodes in batches first (one transaction over 1.4M nodes would not fit the heap), then the rest."""
    while svc.driver.execute_query(DELETE_SOME_SAMPLES, dataset=DS, n=50_000).records[0]["n"]:
        pass
    drop_dataset(svc, DS, [])


def _label(p: dict[str, Any]) -> str:
    """The scene folder of a pool entry's real source image."""
    return str(p["source"].split(":", 1)[1].rsplit("/", 2)[-2])


def _label_set(p: dict[str, Any]) -> str:
    """The label set of the real source's benchmark subset (benchmarks/retrieval.py), whose mappings it shares."""
    return PREFIX + POOL_TO_SUBSET.get(p["source"].split(":", 1)[0], p["source"].split(":", 1)[0])


def _sid(i: int) -> str:
    return f"{DS}:generated/{i}"


@dataclass(frozen=True)
class PoolLabels:
    """Per pool entry, as arrays: its (label set, label) as an index into ``pairs``, its entry number, its GSD
    (not the pool's provenance dicts, about half a GB of Python objects at 1M entries, in the process whose
    memory stands for the API's)."""

    pairs: list[tuple[str, str]]
    code: np.ndarray
    entry: np.ndarray
    gsd: np.ndarray

    @classmethod
    def of(cls, prov: list[dict[str, Any]]) -> PoolLabels:
        pairs: dict[tuple[str, str], int] = {}
        code = np.array([pairs.setdefault((_label_set(p), _label(p)), len(pairs)) for p in prov], np.int32)
        return cls(list(pairs), code, np.array([p["entry"] for p in prov], np.int64),
                   np.array([p.get("gsd_m") or np.nan for p in prov], np.float64))

    def __len__(self) -> int:
        return len(self.code)

    def pair(self, i: int) -> tuple[str, str]:
        """(label set, label) of generated row ``i`` (row i carries pool entry i mod len)."""
        return self.pairs[int(self.code[i % len(self)])]


def _rows(start: int, end: int, pl: PoolLabels, rng: np.random.Generator) -> Any:
    """Rows ``start..end`` (call with consecutive ranges: ``rng`` is one stream over all rows)."""
    t0 = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(start, end):
        j = i % len(pl)
        gsd = float(pl.gsd[j])
        lon, lat = float(rng.uniform(-180, 179.99)), float(rng.uniform(-70, 70))
        sid = _sid(i)
        yield (sid, DS, f"generated/{i}", [pl.pair(i)[1]],
               f"SRID=4326;POLYGON(({lon} {lat},{lon + .01} {lat},{lon + .01} {lat + .01},{lon} {lat + .01},"
               f"{lon} {lat}))", t0 + timedelta(days=float(rng.uniform(0, 3650))), "generated",
               None if np.isnan(gsd) else gsd, 256, 256, f"scale_pool#{int(pl.entry[j])}",
               hashlib.sha256(sid.encode()).hexdigest(), vector_id(sid))


def _time(svc: Services, sql: str, args_of: Any, n: int = 40) -> dict[str, float]:
    lat = []
    with svc.connection() as conn:
        for i in range(n):
            t0 = time.perf_counter()
            conn.execute(sql, args_of(i)).fetchone()
            lat.append(time.perf_counter() - t0)
    return {"p50_ms": round(float(np.median(lat)) * 1000, 1), "p99_ms": round(float(np.percentile(lat, 99)) * 1000, 1),
            "load1": load1()}


def _own_rss_mb() -> float:
    for ln in Path("/proc/self/status").read_text().splitlines():
        if ln.startswith("VmRSS:"):
            return round(int(ln.split()[1]) / 1024, 1)
    return 0.0


def _load_rows(svc: Services, start: int, end: int, pl: PoolLabels, rng: np.random.Generator,
               out: dict[str, Any]) -> None:
    """COPY rows ``start..end`` (+ their sample_labels) into PostgreSQL, then MERGE them into Neo4j; the step
    times are added to ``out["pg_copy"]`` / ``out["neo4j_sync"]``."""
    load0, t0 = load1(), time.perf_counter()
    with svc.connection() as conn, conn.transaction(), conn.cursor() as cur:
        with cur.copy(COPY) as cp:
            for row in _rows(start, end, pl, rng):
                cp.write_row(row)
        with cur.copy(COPY_LABELS) as cp:   # the edges reconcile_graph compares Neo4j with
            for i in range(start, end):
                cp.write_row((_sid(i), *pl.pair(i)))
    _add_step(out, "pg_copy", time.perf_counter() - t0, load0)
    load0, t0 = load1(), time.perf_counter()
    step = 10_000
    for s in range(start, end, step):   # the same label as the PostgreSQL row (the reconcile check must agree)
        rows = []
        for i in range(s, min(end, s + step)):
            ls, name = pl.pair(i)
            rows.append({"id": _sid(i), "dataset": DS, "labels": [{"id": source_label_id(ls, name), "dataset": ls,
                                                                    "name": name}]})
        merge_samples(svc, rows)
    _add_step(out, "neo4j_sync", time.perf_counter() - t0, load0)


def _add_step(out: dict[str, Any], key: str, seconds: float, load0: float) -> None:
    cur = out.setdefault(key, {"seconds": 0.0, "load1_start": load0})
    cur["seconds"] = round(cur["seconds"] + seconds, 1)
    cur["load1_end"] = load1()


def _index(s: Settings, real_ids: list[str], real: np.ndarray, pool: np.ndarray, m: int, version: str,
           have: VectorIndex | None) -> tuple[VectorIndex, dict[str, Any]]:
    """The image index of one step: the real features + the vectors of generated rows 0..m (their pool entries).
    Built with the product's parameters for its size (IVF lists ~2 sqrt n, IVF-PQ under exact re-ranking),
    trained on the first TRAIN_MAX vectors (the product trains on all; here that would be one more float32
    copy of 1M x 1712 = 6.9 GB); ``have`` (the previous step's index, when its IVF list count fits this size
    too, within 25 %) only gets the new rows added, as the product's incremental sync does."""
    n = len(real_ids) + m
    params = dataclasses.replace(IndexParams.from_settings(s), ivfpq_min_vectors=0)
    nlist = default_nlist(n)
    t0 = time.perf_counter()
    if have is not None and len(have) <= n and abs(have.params.nlist - nlist) <= 0.25 * nlist:
        start, idx, how = len(have) - len(real_ids), have, "incremental add to the previous step's index"
    else:
        params = dataclasses.replace(params, nlist=nlist)
        k = min(TRAIN_MAX, n)
        train = np.vstack([real, pool[: max(0, k - len(real_ids))].astype(np.float32)])[:k]
        idx = VectorIndex.build(real_ids + [_sid(i) for i in range(max(0, k - len(real_ids)))], train, params, version)
        start, how = max(0, k - len(real_ids)), f"built, trained on the first {k:,} vectors"
        del train
    for c in range(start, m, CHUNK):
        e = min(m, c + CHUNK)
        idx.add([_sid(i) for i in range(c, e)], pool[c:e].astype(np.float32))
    return idx, {"vectors": len(idx), "index": idx.factory_string(n), "nprobe": idx.params.nprobe,
                 "refine_factor": idx.params.refine_factor, "how": how,
                 "seconds": round(time.perf_counter() - t0, 1), "load1": load1()}


def _pipeline(svc: Services, s: Settings, n_req: int) -> dict[str, Any]:
    """The whole product retrieval (benchmarks/retrieval.py's requests) on the pinned index: no filter, a bbox
    (Europe), a bbox + time range (2018-2019); p50 / p99 of the total and of its steps, CPU per request."""
    from benchmarks.retrieval import pct, time_requests
    from rskg.retrieval.pipeline import warm_up

    t0 = time.perf_counter()
    warm_up(svc)
    res: dict[str, Any] = {"warm_up_s": round(time.perf_counter() - t0, 1)}
    window: dict[str, Any] = {"time_from": datetime(2018, 1, 1, tzinfo=UTC),
                              "time_to": datetime(2020, 1, 1, tzinfo=UTC)}
    cases: tuple[tuple[str, tuple[float, float, float, float] | None, dict[str, Any]], ...] = (
        ("none", None, {}), ("bbox", EUROPE, {}), ("bbox_time", EUROPE, window))
    for name, bbox, extra in cases:
        tm = time_requests(svc, s, n_req if bbox is None else max(20, n_req // 2), bbox, **extra)
        res[name] = {"p50_ms": round(pct(tm["total"], 50), 1), "p99_ms": round(pct(tm["total"], 99), 1),
                     "p50_direct_ms": round(pct(tm["direct"], 50), 1), "p99_direct_ms": round(pct(tm["direct"], 99), 1),
                     "p50_supplementary_ms": round(pct(tm["supplementary"], 50), 1),
                     "p99_supplementary_ms": round(pct(tm["supplementary"], 99), 1),
                     "p50_cpu_ms": round(pct(tm["cpu"], 50), 1),
                     "mean_direct": round(float(np.mean(tm["n_direct"])), 1),
                     "mean_supplementary": round(float(np.mean(tm["n_supplementary"])), 1),
                     "requests": len(tm["total"]), "load1": load1()}
    return res


def catalog_scale(settings: Settings, n: int, steps: tuple[int, ...] = STEPS, n_req: int = 100) -> dict[str, Any]:
    """Grow the catalog of benchmarks/retrieval.py's private home (real subsets, prototypes) with generated rows
    to each size in ``steps`` and then ``n``; at each, the image index of real + generated vectors is pinned and
    the whole product retrieval timed. At ``n``: the reconcile check and the candidate counts; then the drop."""
    from benchmarks._scale_pool import load_pool
    from benchmarks.retrieval import prepare_corpus
    from rskg.retrieval.caches import image_index, set_image_index
    from rskg.retrieval.features import load_features

    pool, prov = load_pool(settings, np.float16)        # 3.4 GB at 1M; float32 per chunk where needed
    if not prov:
        return {"note": "no real-feature pool yet (--only pool)"}
    pl = PoolLabels.of(prov)
    del prov
    gc.collect()
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"rows": n, "pool_vectors": len(pl), "steps": []}
    s, svc = prepare_corpus(settings)
    try:
        with PeakRss(str(settings.home)) as peak:
            real_index = image_index(svc)
            assert real_index is not None
            real_ids, real = load_features(s, real_index.version)
            real = l2n(real)
            _drop(svc)
            try:
                with svc.connection() as conn:
                    catalog.upsert_dataset(conn, DS, "generated rows (benchmark)", "", "", "", False, None)
                    r = conn.execute("SELECT count(*) FROM samples WHERE dataset_id <> %s", (DS,)).fetchone()[0]
                out["real_rows_in_catalog"] = int(r)
                out["real_vectors"] = len(real_ids)
                mapped = {(ls, name) for ls, name, _ in lexicon(svc).mappings}
                labs = set(pl.pairs)
                out["generated_labels_mapped"] = f"{len(labs & mapped)} of {len(labs)} (label set, label) pairs"
                done, idx = 0, None
                for total in sorted({t for t in steps if t < n} | {n}):
                    g = max(0, total - int(r))
                    _load_rows(svc, done, g, pl, rng, out)
                    done = g
                    set_image_index(svc, None)
                    idx, built = _index(s, real_ids, real, pool, min(g, len(pool)), real_index.version, idx)
                    set_image_index(svc, idx)
                    step = {"catalog_rows": int(r) + g, "index": built, **_pipeline(svc, s, n_req),
                            "rss_mb": {**server_rss_mb(str(settings.home)), "benchmark_process": _own_rss_mb()}}
                    out["steps"].append(step)
                    print(f"   catalog {step['catalog_rows']:,} rows / {built['vectors']:,} vectors: "
                          f"p50/p99 {step['none']['p50_ms']}/{step['none']['p99_ms']} ms (load {load1()})", flush=True)
                set_image_index(svc, None)
                idx = None
                out["server_rss_mb_after_sync"] = server_rss_mb(str(settings.home))
                labels = sorted({label for _, label in pl.pairs})
                lab = [[labels[i % len(labels)]] for i in range(40)]
                out["query_label_only"] = _time(svc, Q_LABEL, lambda i: (DS, lab[i]))
                out["query_bbox_time"] = _time(svc, Q_FILTER, lambda i: (
                    DS, lab[i], -10 + i, 40, 0 + i, 55, datetime(2018, 1, 1, tzinfo=UTC),
                    datetime(2020, 1, 1, tzinfo=UTC)))
                load0, t0 = load1(), time.perf_counter()
                rep = ReconcileReport()
                reconcile_graph(svc, DS, rep)
                out["reconcile_check"] = {"seconds": round(time.perf_counter() - t0, 1), "load1_start": load0,
                                          "changes": [rep.neo4j_added, rep.neo4j_removed, rep.edges_fixed],
                                          "load1_end": load1()}
            except Exception as exc:       # keep what was measured, and say where it stopped
                out["error"] = f"{type(exc).__name__}: {exc}"[:300]
            finally:
                set_image_index(svc, None)
                load0, t0 = load1(), time.perf_counter()
                _drop(svc)
                out["drop"] = {"seconds": round(time.perf_counter() - t0, 1), "load1_start": load0}
        out["peak_rss_mb"] = peak.result()
    finally:
        svc.close()
    return out
