"""Ingest sections of ``benchmarks.scale``: UCMerced end to end vs the machine's limit in the same run, and the
ingest time per dataset size (Table 3's analogue).

*Limit*: the same reader, the same per-sample function (read + sha256 + decode) on the same local engine
(4 decode threads, one batch decoded ahead) feeding the same encoder (ONNX Runtime, its configured threads)
batch by batch in the driver, and nothing else: no Zarr, no PostgreSQL, no Neo4j, no FAISS. It is measured
before and after the end-to-end runs and averaged, so load that changes during the run hits both alike, after
one uncounted warm-up pass (in one run beside other jobs a fresh process's first pass took 8.8 s of CPU against
6.9 s for the last, first-touch memory on this VM, which flattered the efficiency; in a quieter run it did not).
*End to end*: ``rskg.ingest.pipeline.ingest`` with features into a temporary RSKG home (own Zarr store and
FAISS index; catalog rows under ``bench_scale_*`` ids, dropped afterwards). It runs REPEATS times with the
product's pixel path (image files kept as read, ``encoded_pixels``) and, alternating with it, REPEATS times with
the decoded stacks the store wrote before (``encoded_pixels=False``): the before/after of the same run. Each run
carries its wall time, its stage times, this process's CPU seconds (all threads) and the CPU seconds of this
home's PostgreSQL and Neo4j processes (with PostgreSQL's backends), so the extra work over the limit is visible
even when other jobs load the machine.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rskg.ingest import engine as engines
from rskg.ingest.admin import drop_dataset
from rskg.ingest.features import FeatureExtractor, default_extractor
from rskg.ingest.pipeline import IngestOptions, IngestReport, ingest, make_reader
from rskg.ingest.records import Decoded
from rskg.services import Services
from rskg.settings import Settings, load_settings

BATCH, WORKERS = 64, 4
REPEATS = 2


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def server_cpu_s(home: Path) -> float:
    """CPU seconds so far of the PostgreSQL and Neo4j servers whose command line names ``home`` (and their
    children: PostgreSQL's backends); /proc."""
    from benchmarks.api import tree_cpu_s

    roots = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(home) in cmd and ("postgres" in cmd or "neo4j" in cmd):
            roots.append(int(entry.name))
    return sum(tree_cpu_s(pid) for pid in roots)


@contextmanager
def temp_home(settings: Settings, prefix: str) -> Iterator[Settings]:
    home = Path(tempfile.mkdtemp(prefix=prefix))
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    (home / "cache").symlink_to(settings.cache_dir)
    try:
        yield load_settings(home=home, data_dir=settings.data_dir)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def limit_run(opts: IngestOptions, extractor: FeatureExtractor) -> dict[str, Any]:
    """decode + resample + encode of the dataset with nothing else; images/s."""
    reader = make_reader(opts)
    refs = reader.discover()
    proc = engines.Processor(reader, {})
    load0, c0, t0, n = load1(), own_cpu_s(), time.perf_counter(), 0
    for results, _ in engines.run_local(proc, refs, BATCH, WORKERS):
        dec = [r for r in results if isinstance(r, Decoded) and r.rgb is not None]
        extractor.encode([d.rgb for d in dec], [d.gsd_m for d in dec])  # type: ignore[misc]
        n += len(dec)
    dt = time.perf_counter() - t0
    return {"images": n, "seconds": round(dt, 2), "images_per_s": round(n / dt, 1),
            "cpu_s": round(own_cpu_s() - c0, 2), "load1_start": load0, "load1_end": load1()}


def e2e_run(svc: Services, opts: IngestOptions, extractor: FeatureExtractor | None,
            servers_home: Path | None = None) -> dict[str, Any]:
    load0, c0 = load1(), own_cpu_s()
    s0 = server_cpu_s(servers_home) if servers_home else 0.0
    rep: IngestReport = ingest(svc, opts, extractor)
    n = rep.ingested
    out = {"images": n, "seconds": round(rep.seconds, 2), "images_per_s": round(n / rep.seconds, 1),
           "stages_s": {k: round(v, 2) for k, v in sorted(rep.stages.items())}, "cpu_s": round(own_cpu_s() - c0, 2),
           "load1_start": load0, "load1_end": load1()}
    if servers_home:
        out["server_cpu_s"] = round(server_cpu_s(servers_home) - s0, 2)
    return out


def _mean(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' mean (images/s, seconds, CPU, stages), with every run beside it."""
    def avg(key: str) -> float:
        return round(sum(r[key] for r in runs) / len(runs), 2)

    stages = sorted({k for r in runs for k in r["stages_s"]})
    out: dict[str, Any] = {"images": runs[0]["images"], "seconds": avg("seconds"), "images_per_s": avg("images_per_s"),
                           "cpu_s": avg("cpu_s"), "load1_start": runs[0]["load1_start"],
                           "load1_end": runs[-1]["load1_end"], "runs": runs,
                           "stages_s": {k: round(sum(r["stages_s"].get(k, 0.0) for r in runs) / len(runs), 2)
                                        for k in stages}}
    if all("server_cpu_s" in r for r in runs):
        out["server_cpu_s"] = avg("server_cpu_s")
    return out


def ingest_ucm(settings: Settings) -> dict[str, Any]:
    ds = "bench_scale_ucm"
    with temp_home(settings, "rskg-bench-scale-") as s, Services(s) as svc:
        extractor = default_extractor(s, "onnx", spinning=False)
        opts = IngestOptions(url=str(s.data_dir / "ucmerced"), dataset="ucm", dataset_id=ds, progress=False,
                             batch_size=BATCH, workers=WORKERS)
        extractor.encode([np.zeros((256, 256, 3), np.uint8)], [0.3])   # warm the session up
        old = IngestOptions(**{**vars(opts), "encoded_pixels": False})
        drop_dataset(svc, ds, [f"{ds}_multilabel"])
        runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
        try:
            warmup = limit_run(opts, extractor)   # not counted: a first pass may pay this process's first-touch
            before = limit_run(opts, extractor)   # memory and the page cache of the files (see zarr_store)
            for _ in range(REPEATS):
                for encoded, o in ((False, old), (True, opts)):
                    runs[encoded].append(e2e_run(svc, o, extractor, settings.home))
                    drop_dataset(svc, ds, [f"{ds}_multilabel"])
            after = limit_run(opts, extractor)
        finally:
            drop_dataset(svc, ds, [f"{ds}_multilabel"])
    limit = (before["images_per_s"] + after["images_per_s"]) / 2
    e2e, stacks = _mean(runs[True]), _mean(runs[False])
    return {"encoder": extractor.version, "threads": {"decode": WORKERS, "encoder": s.encoder_threads},
            "batch": BATCH, "repeats": REPEATS, "limit_warmup_not_counted": warmup, "limit_before": before,
            "end_to_end": e2e,
            "end_to_end_decoded_stacks": stacks, "limit_after": after,
            "limit_images_per_s": round(limit, 1), "limit_cpu_s": round((before["cpu_s"] + after["cpu_s"]) / 2, 2),
            "efficiency": round(e2e["images_per_s"] / limit, 3),
            "efficiency_decoded_stacks": round(stacks["images_per_s"] / limit, 3)}


SIZES = {"1k": 100, "5k": 500, "27k": None}      # EuroSAT RGB full, images per class (10 classes)


def ingest_sizes(settings: Settings, sizes: list[str], engine: str = "local") -> dict[str, Any]:
    """Ingest time per dataset size, with features (EuroSAT full). ``engine`` "ray": decoding on a real two-node
    local Ray cluster (``ray start --head`` + ``ray start --address``, one CPU each, started and stopped here; the
    driver encodes and writes the stores as with the local engine)."""
    out: dict[str, Any] = {}
    with temp_home(settings, "rskg-bench-sizes-") as s, Services(s) as svc, _cluster(s, engine) as address:
        extractor = default_extractor(s, "onnx", spinning=False)
        for size in sizes:
            ds = f"bench_scale_eurosat_{size}_{engine}"
            opts = IngestOptions(url=str(s.data_dir / "eurosat_rgb_full"), dataset="eurosat_full", dataset_id=ds,
                                 limit=SIZES[size], progress=False, batch_size=BATCH, workers=WORKERS,
                                 engine=engine, address=address)
            drop_dataset(svc, ds, [])
            try:
                out[size] = {**e2e_run(svc, opts, extractor), "engine": engine,
                             **({"ray_nodes": 2, "cpus_per_node": 1} if engine == "ray" else {})}
            finally:
                drop_dataset(svc, ds, [])
    return out


@contextmanager
def _cluster(s: Settings, engine: str) -> Iterator[str | None]:
    if engine != "ray":
        yield None
        return
    import sys

    from rskg.servers.common import port_bindable
    from rskg.servers.ray_local import RayLocalCluster, token_file

    if "ray" in sys.modules:   # Ray reads RAY_AUTH_* once, at import (see rskg.ingest.engine._connect)
        raise RuntimeError("run the sizes_ray section in a process of its own (`--only sizes_ray`)")
    port = next(p for p in range(6600, 6800) if port_bindable("127.0.0.1", p))
    cl = RayLocalCluster(load_settings(home=s.home, data_dir=s.data_dir, ray_port=port))
    # before up(): it imports ray here (alive_nodes); the token file it names is written by up()
    os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file(cl.s))})
    cl.up(nodes=2, cpus_per_node=1)
    try:
        yield cl.address
    finally:
        cl.down()
