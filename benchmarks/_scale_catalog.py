"""Catalog at paper scale for ``benchmarks.scale`` (section ``catalog``): N generated sample rows beside the real
ones, each marked as generated and carrying a real feature vector of the real-feature pool.

Rows go to dataset ``bench_scale_generated`` (sensor ``generated``, storage ``scale_pool#<entry>``: the pool
entry whose real vector the row carries; labels = the scene folder of that entry's real source image; a random
footprint of ~1 km in 70°S..70°N and a random acquisition date 2015..2024, seeded). Timed, with the 1-min load
beside each: PostgreSQL COPY (rows + their ``sample_labels`` edges) + indexes kept, the Neo4j sync of the same
rows (``merge_samples``: the product's UNWIND batches), the PG->Neo4j reconcile check over the whole dataset (what
every ingest runs at start and end; its changes are reported: 0 when PostgreSQL and Neo4j agree), and candidate
queries with and without a bbox / time filter (label match; + ``ST_Intersects`` + time range). Everything is
dropped afterwards (drop time reported too). A step that fails is reported with its error and the steps before it
are kept. History: a first try at 1.4M rows ran Neo4j (1 GB heap) out of memory in the reconcile check (one
query over every Sample; now pages of 20k); the next found the stale-edge deletion in one transaction (now
batches of 1,000) -- that run's COPY wrote no ``sample_labels``, so its check repaired every sample.
"""

from __future__ import annotations

import hashlib
import resource
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._scale_ingest import load1
from rskg.catalog import samples as catalog
from rskg.ingest.admin import drop_dataset
from rskg.ingest.reconcile import ReconcileReport, merge_samples, reconcile_graph
from rskg.ingest.records import vector_id
from rskg.services import Services
from rskg.settings import Settings

DS = "bench_scale_generated"
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


def _rows(n: int, prov: list[dict[str, Any]], rng: np.random.Generator) -> Any:
    t0 = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(n):
        p = prov[i % len(prov)]
        label = _label(p)
        lon, lat = float(rng.uniform(-180, 179.99)), float(rng.uniform(-70, 70))
        sid = f"{DS}:generated/{i}"
        yield (sid, DS, f"generated/{i}", [label],
               f"SRID=4326;POLYGON(({lon} {lat},{lon + .01} {lat},{lon + .01} {lat + .01},{lon} {lat + .01},"
               f"{lon} {lat}))", t0 + timedelta(days=float(rng.uniform(0, 3650))), "generated", p.get("gsd_m"),
               256, 256, f"scale_pool#{p['entry']}", hashlib.sha256(sid.encode()).hexdigest(), vector_id(sid))


def _time(svc: Services, sql: str, args_of: Any, n: int = 40) -> dict[str, float]:
    lat = []
    with svc.connection() as conn:
        for i in range(n):
            t0 = time.perf_counter()
            conn.execute(sql, args_of(i)).fetchone()
            lat.append(time.perf_counter() - t0)
    return {"p50_ms": round(float(np.median(lat)) * 1000, 1), "p99_ms": round(float(np.percentile(lat, 99)) * 1000, 1),
            "load1": load1()}


def catalog_scale(settings: Settings, n: int) -> dict[str, Any]:
    from benchmarks._scale_pool import load_pool

    _, prov = load_pool(settings)
    if not prov:
        return {"note": "no real-feature pool yet (--only pool)"}
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"rows": n, "pool_vectors": len(prov)}
    with Services(settings) as svc, PeakRss(str(settings.home)) as peak:
        _drop(svc)
        try:
            with svc.connection() as conn:
                catalog.upsert_dataset(conn, DS, "generated rows (benchmark)", "", "", "", False, None)
                real = conn.execute("SELECT count(*) FROM samples WHERE dataset_id <> %s", (DS,)).fetchone()[0]
            out["real_rows_in_catalog"] = int(real)
            load0, t0 = load1(), time.perf_counter()
            with svc.connection() as conn, conn.transaction(), conn.cursor() as cur:
                with cur.copy(COPY) as cp:
                    for row in _rows(n, prov, rng):
                        cp.write_row(row)
                with cur.copy(COPY_LABELS) as cp:   # the edges reconcile_graph compares Neo4j with
                    for i in range(n):
                        cp.write_row((f"{DS}:generated/{i}", DS, _label(prov[i % len(prov)])))
            out["pg_copy"] = {"seconds": round(time.perf_counter() - t0, 1), "load1_start": load0, "load1_end": load1()}
            labels = sorted({_label(p) for p in prov})
            load0, t0 = load1(), time.perf_counter()
            step = 10_000
            for s in range(0, n, step):   # the same label as the PostgreSQL row (the reconcile check must agree)
                merge_samples(svc, [{"id": f"{DS}:generated/{i}", "dataset": DS,
                                     "labels": [{"id": f"{DS}:{_label(prov[i % len(prov)])}", "dataset": DS,
                                                 "name": _label(prov[i % len(prov)])}]}
                                    for i in range(s, min(n, s + step))])
            out["neo4j_sync"] = {"seconds": round(time.perf_counter() - t0, 1), "load1_start": load0,
                                 "load1_end": load1()}
            out["server_rss_mb_after_sync"] = server_rss_mb(str(settings.home))
            lab = [[labels[i % len(labels)]] for i in range(40)]
            out["query_label_only"] = _time(svc, Q_LABEL, lambda i: (DS, lab[i]))
            out["query_bbox_time"] = _time(svc, Q_FILTER, lambda i: (
                DS, lab[i], -10 + i, 40, 0 + i, 55, datetime(2018, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)))
            load0, t0 = load1(), time.perf_counter()
            rep = ReconcileReport()
            reconcile_graph(svc, DS, rep)
            out["reconcile_check"] = {"seconds": round(time.perf_counter() - t0, 1), "load1_start": load0,
                                      "changes": [rep.neo4j_added, rep.neo4j_removed, rep.edges_fixed],
                                      "load1_end": load1()}
        except Exception as exc:       # keep what was measured, and say where it stopped
            out["error"] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            load0, t0 = load1(), time.perf_counter()
            _drop(svc)
            out["drop"] = {"seconds": round(time.perf_counter() - t0, 1), "load1_start": load0}
    out["peak_rss_mb"] = peak.result()
    return out
