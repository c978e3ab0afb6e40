"""The ingestion pipeline: discover -> (read, hash, skip, decode in parallel) -> per batch: pixels to
Zarr, catalog rows to PostgreSQL (one transaction), Sample nodes to Neo4j, features to Zarr -> FAISS.

Resumable by construction: PostgreSQL is written after the pixels and before everything derived, and
:mod:`rskg.ingest.reconcile` repairs the derived stores from it at the start and end of every run.
A rerun skips every sample whose (path, sha256) is already in the catalog.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from kg import samples as cy
from rskg.catalog import samples as catalog
from rskg.catalog.zarr_store import FeatureStore, PixelStore, PixelWrite, sample_key
from rskg.errors import DataError, RskgError
from rskg.ingest import engine as engines
from rskg.ingest.discovery import open_root
from rskg.ingest.features import FeatureExtractor
from rskg.ingest.readers import DatasetReader, reader_class
from rskg.ingest.reconcile import (
    ReconcileReport,
    label_rows,
    merge_samples,
    reconcile_features,
    reconcile_graph,
    sync_index,
)
from rskg.ingest.records import Decoded, Rejected, Skipped, vector_id
from rskg.onboard import OnboardReport, onboard_label_sets
from rskg.services import Services


@dataclass
class IngestOptions:
    url: str
    dataset: str                          # reader name (ucm, eurosat, ... or imagefolder)
    dataset_id: str | None = None         # catalog id; default = the reader's key
    labels_file: str | None = None
    engine: str = "local"
    address: str | None = None            # --engine ray: a running cluster (host:port); None = in-process Ray
    limit: int | None = None
    gsd_m: float | None = None            # --gsd: overrides the reader's and the dataset.yaml's GSD
    batch_size: int = 64
    workers: int = 4
    index_every: int = 1024               # samples between FAISS checkpoints
    overlap: bool = True                  # store batch k in a writer thread while batch k+1 is encoded
    encoded_pixels: bool = True           # keep image files as read where the reader allows (zarr_store docs);
                                          # False: decoded stacks, as before (the benchmark's A/B)
    progress: bool = True
    onboard: bool = False                 # map the label sets onto the label system (rskg.onboard)


@dataclass
class IngestReport:
    dataset_id: str
    job_id: int
    seen: int = 0
    ingested: int = 0
    skipped: int = 0
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    labels_attached: int = 0
    repaired: list[str] = field(default_factory=list)   # samples re-written because they shared a pixel array
    interrupted_jobs: list[int] = field(default_factory=list)
    total_in_catalog: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    reconcile_start: ReconcileReport | None = None
    reconcile_end: ReconcileReport | None = None
    onboarding: OnboardReport | None = None

    @property
    def rate(self) -> float:
        return self.ingested / self.seconds if self.seconds else 0.0


def make_reader(opts: IngestOptions) -> DatasetReader:
    root = open_root(opts.url)
    cls = reader_class(opts.dataset)
    return cls(root, dataset_id=opts.dataset_id, labels_file=opts.labels_file, limit=opts.limit, gsd_m=opts.gsd_m)


class Ingestor:
    def __init__(self, services: Services, extractor: FeatureExtractor | None, opts: IngestOptions) -> None:
        self.svc = services
        self.extractor = extractor
        self.opts = opts
        self.reader = make_reader(opts)
        self.dataset_id = self.reader.dataset_id
        self.pixels = PixelStore(services.settings.zarr_path)
        self.features: FeatureStore | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ingest-writer")
        self._inflight: list[Future[None]] = []   # writer-thread batches not yet confirmed
        self._feature_rows: list[tuple[list[str], list[int], np.ndarray]] = []   # written at checkpoints
        self._existing: dict[str, str] = {}
        self._replaced: set[str] = set()          # ids re-ingested with new content: vectors to replace

    # --- setup -----------------------------------------------------------------------------------
    def _register(self) -> None:
        r, info = self.reader, self.reader.info
        with self.svc.connection() as conn:
            catalog.upsert_dataset(conn, self.dataset_id, info.name, info.url, info.license, info.citation,
                                   r.multi_label, info.gsd_m)
        self.svc.driver.execute_query(cy.MERGE_DATASET, id=self.dataset_id, name=info.name, url=info.url,
                                      license=info.license)
        for label_set, names in r.label_sets().items():
            self.svc.driver.execute_query(cy.MERGE_DATASET_LABELS, dataset=label_set, names=list(names))

    def _reconcile(self, rep: IngestReport, which: str) -> ReconcileReport:
        rr = ReconcileReport()
        t0 = time.perf_counter()
        reconcile_graph(self.svc, self.dataset_id, rr)
        t1 = time.perf_counter()
        rr.seconds["graph"] = t1 - t0
        if self.extractor is not None:
            self.features = reconcile_features(self.svc, self.dataset_id, self.pixels, self.extractor, rr)
            t2 = time.perf_counter()
            sync_index(self.svc, self.dataset_id, self.features, self.extractor.version, rr,
                       replace=self._replaced)
            self._replaced.clear()
            rr.seconds["features"], rr.seconds["index"] = t2 - t1, time.perf_counter() - t2
        rep.stages[f"reconcile_{which}"] += time.perf_counter() - t0
        return rr

    # --- one batch -------------------------------------------------------------------------------
    def _write_pixels(self, decoded: list[Decoded]) -> tuple[list[catalog.SampleRow], float]:
        t0 = time.perf_counter()
        writes = []
        for d in decoded:
            assert d.rgb is not None
            writes.append(PixelWrite(sample_key(d.ref.rel_path), d.rgb, d.bands, d.band_names, d.gsd_m,
                                     d.encoded if self.opts.encoded_pixels else None))
        storages = self.pixels.write_many(self.dataset_id, writes)
        rows = []
        for d, storage in zip(decoded, storages, strict=True):
            assert d.rgb is not None
            sid = f"{self.dataset_id}:{d.ref.rel_path}"
            if d.ref.rel_path in self._existing:
                self._replaced.add(sid)
            label_sets = {self.dataset_id: d.ref.labels, **d.ref.extra_labels}
            rows.append(catalog.SampleRow(
                id=sid, dataset_id=self.dataset_id, source_path=d.ref.rel_path, labels=d.ref.labels,
                label_sets=label_sets, footprint_wkt=d.footprint_wkt, acquired_at=d.acquired_at,
                sensor=self.reader.info.sensor, gsd_m=d.gsd_m, bands=d.band_names or self.reader.info.bands,
                width=int(d.rgb.shape[1]), height=int(d.rgb.shape[0]), storage=storage, sha256=d.sha256,
                vector_id=vector_id(sid)))
        return rows, time.perf_counter() - t0

    def _write_rows(self, decoded: list[Decoded], rep: IngestReport) -> list[catalog.SampleRow]:
        """Pixels, then the catalog rows that point at them (PostgreSQL, one transaction), then Neo4j."""
        rows, store_s = self._write_pixels(decoded)
        t0 = time.perf_counter()
        with self.svc.connection() as conn:
            catalog.write_batch(conn, rows)
        edges = [(r.id, ls, lab) for r in rows for ls, labs in r.label_sets.items() for lab in labs]
        merge_samples(self.svc, label_rows(self.dataset_id, edges, {r.id for r in rows}))
        rep.stages["store"] += store_s
        rep.stages["catalog"] += time.perf_counter() - t0
        return rows

    def _append_features(self, rows: Future[list[catalog.SampleRow]], vecs: np.ndarray | None,
                         rep: IngestReport) -> None:
        """Queue the batch's feature rows once its catalog rows are in; they are written at the next
        checkpoint (:meth:`_drain`): one append of ``index_every`` rows fills whole chunks, where one per
        batch rewrote a partly filled chunk each time. A crash before the checkpoint loses only derived
        rows: reconcile re-encodes them from the stored pixels."""
        got = rows.result()
        if vecs is not None and self.features is not None:
            self._feature_rows.append(([r.id for r in got], [r.vector_id for r in got], vecs))
        rep.ingested += len(got)

    def _flush_features(self, rep: IngestReport) -> None:
        if not self._feature_rows or self.features is None:
            return
        t0 = time.perf_counter()
        ids = [i for b in self._feature_rows for i in b[0]]
        vids = [v for b in self._feature_rows for v in b[1]]
        vecs = np.concatenate([b[2] for b in self._feature_rows])
        self._feature_rows.clear()
        self.features.append(ids, vids, vecs)
        rep.stages["feature_rows"] += time.perf_counter() - t0

    def _drain(self, rep: IngestReport) -> None:
        """Wait for every batch handed to the writer thread (and raise its error, if any); write the queued
        feature rows."""
        t0 = time.perf_counter()
        while self._inflight:
            self._inflight.pop(0).result()
        rep.stages["store_wait"] += time.perf_counter() - t0
        self._flush_features(rep)

    def _checkpoint(self, rep: IngestReport) -> None:
        """Write the queued feature rows and bring the FAISS index up to date with them: on the writer thread,
        after the batches already handed to it, so the driver keeps encoding meanwhile (py-spy: the index save
        held up the encoder ~0.2 s per checkpoint); without overlap, here."""
        if self.extractor is None or self.features is None:
            return
        if self.opts.overlap:
            self._inflight.append(self._writer.submit(self._sync_features, rep))
        else:
            self._sync_features(rep)

    def _sync_features(self, rep: IngestReport) -> None:
        assert self.extractor is not None and self.features is not None
        self._flush_features(rep)
        t1 = time.perf_counter()
        sync_index(self.svc, self.dataset_id, self.features, self.extractor.version, replace=self._replaced)
        self._replaced.clear()
        rep.stages["index"] += time.perf_counter() - t1

    def _store_batch(self, decoded: list[Decoded], rep: IngestReport) -> None:
        """Hand the batch to the writer thread (pixels -> PostgreSQL -> Neo4j, in that order) and encode it
        here meanwhile (ONNX Runtime releases the GIL); its feature rows follow its catalog rows on the same
        thread. At most two batches are in the writer's hands, so memory stays bounded."""
        t0 = time.perf_counter()
        if any(d.rgb is None for d in decoded):
            new_state = self.reader.visual(decoded, self.pixels.dataset_attrs(self.dataset_id))
            if new_state is not None:
                self.pixels.set_dataset_attrs(self.dataset_id, new_state)
        if not self.opts.overlap:
            rows = self._write_rows(decoded, rep)
            done: Future[list[catalog.SampleRow]] = Future()
            done.set_result(rows)
            t0 = time.perf_counter()
        else:
            done = self._writer.submit(self._write_rows, decoded, rep)
        vecs = None
        if self.extractor is not None and self.features is not None:
            vecs = self.extractor.encode([d.rgb for d in decoded], [d.gsd_m for d in decoded])  # type: ignore[misc]
        rep.stages["feature"] += time.perf_counter() - t0
        if not self.opts.overlap:
            self._append_features(done, vecs, rep)
            self._flush_features(rep)
            return
        self._inflight.append(self._writer.submit(self._append_features, done, vecs, rep))
        t1 = time.perf_counter()
        while len(self._inflight) > 2:
            self._inflight.pop(0).result()
        rep.stages["store_wait"] += time.perf_counter() - t1

    def _attach_labels(self, skipped: list[Skipped], rep: IngestReport) -> None:
        """Labels of samples already in (e.g. a rerun with --labels): added to PG; reconcile syncs Neo4j."""
        items = [(f"{self.dataset_id}:{s.ref.rel_path}", ls, lab)
                 for s in skipped for ls, labs in s.ref.extra_labels.items() for lab in labs]
        if not items:
            return
        with self.svc.connection() as conn:
            have = set(catalog.label_edges(conn, self.dataset_id))
            rep.labels_attached = catalog.add_labels(conn, [i for i in items if i not in have])

    def _forget_collisions(self, found: list[catalog.Collision]) -> list[str]:
        """Samples sharing a pixel array (lossy keys of earlier versions) are decoded and written again under
        their own key: treated as not yet in, their vectors replaced and their cached thumbnails removed."""
        paths = [p for c in found for p in c.source_paths]
        thumbs = self.svc.settings.cache_dir / "thumbnails"
        for c in found:
            for sha in c.sha256s:
                for f in thumbs.glob(f"{sha}_*.jpg"):
                    f.unlink(missing_ok=True)
        for p in paths:
            self._existing.pop(p, None)
            self._replaced.add(f"{self.dataset_id}:{p}")
        return paths

    def _quarantine(self, rejected: list[Rejected], rep: IngestReport) -> None:
        with self.svc.connection() as conn:
            catalog.quarantine(conn, rep.job_id, self.dataset_id,
                               [(r.ref.rel_path, r.reason, r.sha256) for r in rejected])
        rep.quarantined += [(r.ref.rel_path, r.reason) for r in rejected]

    # --- the run ---------------------------------------------------------------------------------
    def run(self) -> IngestReport:
        t_start = time.perf_counter()
        with self.svc.connection() as lock_conn:
            if not catalog.try_lock(lock_conn, self.dataset_id):
                raise RskgError(f"another `rskg ingest` of dataset {self.dataset_id!r} is running",
                                "Wait for it to finish (or stop it); a killed run is resumed by rerunning.")
            try:
                return self._run(t_start)
            finally:
                self._writer.shutdown(wait=True)
                catalog.unlock(lock_conn, self.dataset_id)

    def _run(self, t_start: float) -> IngestReport:
        self._register()
        with self.svc.connection() as conn:
            job_id, stale = catalog.start_job(conn, self.dataset_id, self.opts.url, self.opts.engine)
        rep = IngestReport(self.dataset_id, job_id, interrupted_jobs=stale)
        status, error = "failed", None
        try:
            rep.reconcile_start = self._reconcile(rep, "start")
            t0 = time.perf_counter()
            refs = self.reader.discover()
            rep.stages["discover"] += time.perf_counter() - t0
            if self.reader.rejected:
                self._quarantine(self.reader.rejected, rep)
            with self.svc.connection() as conn:
                self._existing = catalog.existing(conn, self.dataset_id)
                rep.repaired = self._forget_collisions(catalog.collisions(conn, self.dataset_id))
            proc = engines.Processor(self.reader, self._existing)
            skipped: list[Skipped] = []
            since_index = 0
            bar = tqdm(total=len(refs), desc=f"ingest {self.dataset_id}", unit="img", file=sys.stderr,
                       disable=not self.opts.progress, dynamic_ncols=True)
            t_wait = time.perf_counter()
            for results, decode_s in engines.run(self.opts.engine, proc, refs, self.opts.batch_size,
                                                 self.opts.workers, self.opts.address):
                rep.stages["decode_wait"] += time.perf_counter() - t_wait
                rep.stages["decode_cpu"] += decode_s
                rep.seen += len(results)
                decoded = [r for r in results if isinstance(r, Decoded)]
                rejected = [r for r in results if isinstance(r, Rejected)]
                skipped += [r for r in results if isinstance(r, Skipped)]
                if rejected:
                    self._quarantine(rejected, rep)
                if decoded:
                    self._store_batch(decoded, rep)
                    since_index += len(decoded)
                if since_index >= self.opts.index_every:
                    self._checkpoint(rep)
                    since_index = 0
                bar.update(len(results))
                bar.set_postfix(new=rep.ingested, skip=len(skipped), bad=len(rep.quarantined), refresh=False)
                t_wait = time.perf_counter()
            if since_index:
                self._checkpoint(rep)   # the last rows too: the end-of-ingest reconcile then only checks
            self._drain(rep)
            bar.close()
            rep.skipped = len(skipped)
            self._attach_labels(skipped, rep)
            rep.reconcile_end = self._reconcile(rep, "end")
            with self.svc.connection() as conn:
                rep.total_in_catalog = catalog.count(conn, self.dataset_id)
            status = "done"
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            for pending in self._inflight:      # let the writer finish what it has, so the counts are true
                pending.exception()
            self._inflight.clear()
            with contextlib.suppress(Exception):   # derived rows: the next run's reconcile re-encodes them
                self._flush_features(rep)
            raise
        finally:
            rep.seconds = time.perf_counter() - t_start
            counts = {"seen": rep.seen, "ingested": rep.ingested, "skipped": rep.skipped,
                      "quarantined": len(rep.quarantined)}
            with self.svc.connection() as conn:
                catalog.finish_job(conn, job_id, status, counts, error)
        return rep


def ingest(services: Services, opts: IngestOptions, extractor: FeatureExtractor | None) -> IngestReport:
    """Run one ingest; ``extractor`` None skips the feature and index steps."""
    if opts.batch_size < 1:
        raise DataError(f"batch size {opts.batch_size} < 1", "Use --batch-size 1 or more.")
    ingestor = Ingestor(services, extractor, opts)
    rep = ingestor.run()
    if opts.onboard:
        rep.onboarding = onboard_label_sets(services, ingestor.reader.label_sets(), dataset=ingestor.dataset_id,
                                            samples_changed=bool(rep.ingested or rep.labels_attached))
    return rep
