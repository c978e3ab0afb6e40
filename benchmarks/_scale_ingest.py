"""Ingest sections of ``benchmarks.scale``: UCMerced end to end vs the machine's limit in the same run, and the
ingest time per dataset size (Table 3's analogue).

*Limit*: the same reader, the same per-sample function (read + sha256 + decode) on the same local engine
(4 decode threads, one batch decoded ahead) feeding the same encoder (ONNX Runtime, its configured threads)
batch by batch in the driver, and nothing else: no Zarr, no PostgreSQL, no Neo4j, no FAISS. It is measured
before and after the end-to-end run and averaged, so load that changes during the run hits both alike.
*End to end*: ``rskg.ingest.pipeline.ingest`` with features into a temporary RSKG home (own Zarr store and
FAISS index; catalog rows under ``bench_scale_*`` ids, dropped afterwards).
"""

from __future__ import annotations

import os
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


def load1() -> float:
    return round(os.getloadavg()[0], 2)


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
    load0, t0, n = load1(), time.perf_counter(), 0
    for results, _ in engines.run_local(proc, refs, BATCH, WORKERS):
        dec = [r for r in results if isinstance(r, Decoded) and r.rgb is not None]
        extractor.encode([d.rgb for d in dec], [d.gsd_m for d in dec])  # type: ignore[misc]
        n += len(dec)
    dt = time.perf_counter() - t0
    return {"images": n, "seconds": round(dt, 2), "images_per_s": round(n / dt, 1), "load1_start": load0,
            "load1_end": load1()}


def e2e_run(svc: Services, opts: IngestOptions, extractor: FeatureExtractor | None) -> dict[str, Any]:
    load0 = load1()
    rep: IngestReport = ingest(svc, opts, extractor)
    n = rep.ingested
    return {"images": n, "seconds": round(rep.seconds, 2), "images_per_s": round(n / rep.seconds, 1),
            "stages_s": {k: round(v, 2) for k, v in sorted(rep.stages.items())}, "load1_start": load0,
            "load1_end": load1()}


def ingest_ucm(settings: Settings) -> dict[str, Any]:
    ds = "bench_scale_ucm"
    with temp_home(settings, "rskg-bench-scale-") as s, Services(s) as svc:
        extractor = default_extractor(s, "onnx")
        opts = IngestOptions(url=str(s.data_dir / "ucmerced"), dataset="ucm", dataset_id=ds, progress=False,
                             batch_size=BATCH, workers=WORKERS)
        extractor.encode([np.zeros((256, 256, 3), np.uint8)], [0.3])   # warm the session up
        drop_dataset(svc, ds, [f"{ds}_multilabel"])
        try:
            before = limit_run(opts, extractor)
            e2e = e2e_run(svc, opts, extractor)
            after = limit_run(opts, extractor)
        finally:
            drop_dataset(svc, ds, [f"{ds}_multilabel"])
    limit = (before["images_per_s"] + after["images_per_s"]) / 2
    return {"encoder": extractor.version, "threads": {"decode": WORKERS, "encoder": s.encoder_threads},
            "batch": BATCH, "limit_before": before, "end_to_end": e2e, "limit_after": after,
            "limit_images_per_s": round(limit, 1), "efficiency": round(e2e["images_per_s"] / limit, 3)}


SIZES = {"1k": 100, "5k": 500, "27k": None}      # EuroSAT RGB full, images per class (10 classes)


def ingest_sizes(settings: Settings, sizes: list[str], engine: str = "local") -> dict[str, Any]:
    """Ingest time per dataset size, with features (EuroSAT full). ``engine`` "ray": decoding on a real two-node
    local Ray cluster (``ray start --head`` + ``ray start --address``, one CPU each, started and stopped here; the
    driver encodes and writes the stores as with the local engine)."""
    out: dict[str, Any] = {}
    with temp_home(settings, "rskg-bench-sizes-") as s, Services(s) as svc, _cluster(s, engine) as address:
        extractor = default_extractor(s, "onnx")
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
