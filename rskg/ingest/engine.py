"""Engines that read + hash + decode samples in parallel and hand batches back in order.

* ``local``: a thread pool (Pillow, rasterio and hashlib release the GIL while they work); the next
  batch is decoded while the caller stores the current one.
* ``ray``: the same per-sample function run as Ray Data ``map_batches`` tasks, on a Ray cluster
  given by its address (``rskg cluster up`` starts one of several nodes here; on real hosts
  ``ray start --head`` / ``ray start --address``) or on an in-process Ray instance
  (``pip install 'rskg[ray]'``); batches stream back to the driver in order. A task lost with its
  node is retried on another node by Ray; a driver that dies leaves what it stored, and the next
  run resumes from there (sha256 skip).

The caller (the pipeline) does everything that writes: Zarr, PostgreSQL, Neo4j, features.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rskg.errors import ConfigError, DataError
from rskg.ingest.readers.base import DatasetReader
from rskg.ingest.records import Decoded, Rejected, SampleRef, Skipped, sha256_of

Result = Decoded | Rejected | Skipped


@dataclass
class Processor:
    """Per-sample work: read bytes -> sha256 -> skip if already in -> decode. Picklable for Ray."""

    reader: DatasetReader
    existing: dict[str, str]           # source_path -> sha256 of the samples already in the catalog

    def __call__(self, ref: SampleRef) -> tuple[Result, float]:
        t0 = time.perf_counter()
        sha = None
        try:
            blobs = self.reader.read(ref)
            sha = sha256_of(blobs)
            if self.existing.get(ref.rel_path) == sha:
                return Skipped(ref, sha), time.perf_counter() - t0
            return self.reader.decode(ref, blobs, sha), time.perf_counter() - t0
        except DataError as exc:
            return Rejected(ref, exc.message, sha), time.perf_counter() - t0
        except Exception as exc:  # an unexpected decoder failure must not stop the run
            return Rejected(ref, f"{type(exc).__name__}: {exc}", sha), time.perf_counter() - t0


def _chunks(refs: list[SampleRef], n: int) -> Iterator[list[SampleRef]]:
    for i in range(0, len(refs), n):
        yield refs[i : i + n]


def run_local(proc: Processor, refs: list[SampleRef], batch_size: int,
              workers: int) -> Iterator[tuple[list[Result], float]]:
    """Yield (results, summed decode seconds) per batch, in order, one batch decoded ahead."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        pending: list[list[Future[tuple[Result, float]]]] = []
        chunks = _chunks(refs, batch_size)
        for _ in range(2):
            nxt = next(chunks, None)
            if nxt is not None:
                pending.append([pool.submit(proc, r) for r in nxt])
        while pending:
            outs = [f.result() for f in pending.pop(0)]
            nxt = next(chunks, None)
            if nxt is not None:
                pending.append([pool.submit(proc, r) for r in nxt])
            yield [o[0] for o in outs], sum(o[1] for o in outs)


_connected: list[str | None] = []     # the address this process's Ray driver is connected to


def _connect(ray: Any, address: str | None, workers: int) -> None:
    """Connect this process's Ray driver to ``address`` (None: an in-process instance of ``workers`` CPUs).
    Ray reads its token settings (RAY_AUTH_*) once, when it is imported: `rskg ingest` sets the local
    cluster's before that (rskg.servers.ray_local.auth_env)."""
    if ray.is_initialized() and _connected and _connected[0] == address:
        return
    if ray.is_initialized():
        ray.shutdown()
    _connected.clear()
    try:
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
    except ConnectionError as exc:
        raise ConfigError(f"no Ray cluster answers at {address}: {exc}",
                          "Start one with `rskg cluster up` (or `ray start --head` on the head host) "
                          "or drop --address to use an in-process Ray instance.") from exc
    _connected.append(address)


def run_ray(proc: Processor, refs: list[SampleRef], batch_size: int, workers: int,
            address: str | None = None) -> Iterator[tuple[list[Result], float]]:
    """The same work on Ray Data: a cluster at ``address``, or in-process Ray with ``workers`` CPUs."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray Data, which is not installed",
                          "Install it with `pip install 'rskg[ray]'` (ray[data]) or use --engine local.") from exc
    import numpy as np

    _connect(ray, address, workers)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    blob = pickle.dumps(proc)

    def work(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        p: Processor = pickle.loads(blob)
        outs = [p(pickle.loads(r)) for r in batch["ref"]]
        return {"out": np.array([pickle.dumps(o) for o in outs], dtype=object)}

    items = [{"ref": pickle.dumps(r)} for r in refs]
    source = ray.data.from_items(items, override_num_blocks=max(1, len(items) // batch_size))
    ds = source.map_batches(work, batch_size=batch_size, batch_format="numpy", zero_copy_batch=False)
    for batch in ds.iter_batches(batch_size=batch_size, batch_format="numpy", prefetch_batches=1):
        outs = [pickle.loads(b) for b in batch["out"]]
        yield [o[0] for o in outs], sum(o[1] for o in outs)


def run(engine: str, proc: Processor, refs: list[SampleRef], batch_size: int, workers: int,
        address: str | None = None) -> Iterator[tuple[list[Result], float]]:
    if engine == "local":
        if address:
            raise ConfigError("--address names a Ray cluster, but the engine is local", "Add --engine ray.")
        return run_local(proc, refs, batch_size, workers)
    if engine == "ray":
        return run_ray(proc, refs, batch_size, workers, address)
    raise ConfigError(f"unknown engine {engine!r}", "Use --engine local or --engine ray.")
