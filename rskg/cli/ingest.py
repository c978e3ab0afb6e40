"""``rskg ingest <url> --dataset NAME``: a dataset in its published shape -> Zarr + catalog + graph."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from rskg.services import Services
from rskg.settings import load_settings


def ingest(
    url: Annotated[str, typer.Argument(help="dataset root: a folder or an fsspec URL (zip://, https://, s3://)")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="reader: ucm, eurosat, eurosat_full, "
                                         "nwpu_resisc45, nwpu_resisc45_more, rsscn7, gid_mtl5, gid_mtl15, "
                                         "bigearthnet_43 or imagefolder")],
    dataset_id: Annotated[str | None, typer.Option("--id", help="catalog id (default: the reader name)")] = None,
    labels: Annotated[str | None, typer.Option("--labels", help="multi-label annotation file (default: the "
                                               "dataset's own, e.g. multilabels.csv / labels.csv)")] = None,
    engine: Annotated[str, typer.Option(help="local (thread pool) or ray (Ray Data, local)")] = "local",
    limit: Annotated[int | None, typer.Option(help="first N samples per label folder (N in all for "
                                              "datasets without label folders)")] = None,
    gsd: Annotated[float | None, typer.Option("--gsd", help="ground sample distance in m/pixel (overrides the "
                                              "reader's and the folder's dataset.yaml)")] = None,
    batch_size: Annotated[int, typer.Option(help="samples per catalog transaction")] = 64,
    workers: Annotated[int, typer.Option(help="decode threads / Ray CPUs")] = 4,
    features: Annotated[bool, typer.Option(help="compute image features and update the FAISS index")] = True,
    backend: Annotated[str, typer.Option(help="image encoder backend: onnx or torch")] = "onnx",
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Ingest a dataset: pixels to Zarr, one catalog row per sample, Sample nodes in Neo4j, features."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    from rskg.ingest.features import default_extractor
    from rskg.ingest.pipeline import IngestOptions
    from rskg.ingest.pipeline import ingest as run_ingest

    settings = load_settings()
    opts = IngestOptions(url=url, dataset=dataset, dataset_id=dataset_id, labels_file=labels, engine=engine,
                         limit=limit, gsd_m=gsd, batch_size=batch_size, workers=workers, progress=not quiet)
    extractor = default_extractor(settings, backend) if features else None
    with Services(settings) as svc:
        rep = run_ingest(svc, opts, extractor)
    typer.echo(f"dataset {rep.dataset_id}: {rep.seen} seen, {rep.ingested} ingested, {rep.skipped} skipped "
               f"(already in), {len(rep.quarantined)} quarantined; {rep.total_in_catalog} in the catalog; "
               f"{rep.seconds:.1f} s ({rep.rate:.1f} new samples/s); job {rep.job_id}")
    if rep.interrupted_jobs:
        typer.echo(f"resumed after interrupted job(s) {rep.interrupted_jobs}")
    for which, rr in (("start", rep.reconcile_start), ("end", rep.reconcile_end)):
        if rr is not None and rr.changed():
            typer.echo(f"reconcile at {which}: neo4j +{rr.neo4j_added} -{rr.neo4j_removed} "
                       f"(labels fixed {rr.edges_fixed}), features +{rr.features_added} -{rr.features_dropped}, "
                       f"index +{rr.index_added}{' (rebuilt)' if rr.index_rebuilt else ''}")
    if rep.labels_attached:
        typer.echo(f"labels attached to samples already in: {rep.labels_attached}")
    if rep.quarantined:
        typer.echo("quarantined (see table quarantine):", err=True)
        for path, reason in rep.quarantined[:50]:
            typer.echo(f"  {path}: {reason}", err=True)
        if len(rep.quarantined) > 50:
            typer.echo(f"  ... and {len(rep.quarantined) - 50} more", err=True)
