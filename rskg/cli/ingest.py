"""``rskg ingest <url> [--dataset READER] [--id NAME]``: a dataset in its published shape -> Zarr + catalog +
graph, then its labels onto the label system (rskg.onboard)."""

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
                                         "bigearthnet_43 or imagefolder")] = "imagefolder",
    dataset_id: Annotated[str | None, typer.Option("--id", help="catalog id (default: the reader name)")] = None,
    labels: Annotated[str | None, typer.Option("--labels", help="multi-label annotation file (default: the "
                                               "dataset's own, e.g. multilabels.csv / labels.csv)")] = None,
    engine: Annotated[str, typer.Option(help="local (thread pool) or ray (Ray Data)")] = "local",
    address: Annotated[str | None, typer.Option(help="with --engine ray: a running Ray cluster (host:port, e.g. "
                                                "from `rskg cluster up`); default RSKG_RAY_ADDRESS, else an "
                                                "in-process Ray instance")] = None,
    limit: Annotated[int | None, typer.Option(help="first N samples per label folder (N in all for "
                                              "datasets without label folders)")] = None,
    gsd: Annotated[float | None, typer.Option("--gsd", help="ground sample distance in m/pixel (overrides the "
                                              "reader's and the folder's dataset.yaml)")] = None,
    batch_size: Annotated[int, typer.Option(help="samples per catalog transaction")] = 64,
    workers: Annotated[int, typer.Option(help="decode threads / Ray CPUs")] = 4,
    features: Annotated[bool, typer.Option(help="compute image features and update the FAISS index")] = True,
    backend: Annotated[str, typer.Option(help="image encoder backend: onnx or torch")] = "onnx",
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    map_labels: Annotated[bool, typer.Option("--map/--no-map", help="map the dataset's labels onto the label "
                                             "system (Algorithm 1): auto-accepted ones at once, the rest to "
                                             "the review queue")] = True,
) -> None:
    """Ingest a dataset: pixels to Zarr, one catalog row per sample, Sample nodes in Neo4j, features."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    from rskg.composition.backfill import backfill as compose
    from rskg.composition.backfill import load_segmenter
    from rskg.ingest.features import default_extractor
    from rskg.ingest.pipeline import IngestOptions
    from rskg.ingest.pipeline import ingest as run_ingest

    settings = load_settings()
    if address or settings.ray_address:
        # Ray reads its token settings when it is first imported: the cluster's must be in place before that
        from rskg.servers.ray_local import auth_env

        for k, v in auth_env(settings).items():
            os.environ.setdefault(k, v)
    opts = IngestOptions(url=url, dataset=dataset, dataset_id=dataset_id, labels_file=labels, engine=engine,
                         address=address or settings.ray_address,
                         limit=limit, gsd_m=gsd, batch_size=batch_size, workers=workers, progress=not quiet,
                         onboard=map_labels)
    extractor = default_extractor(settings, backend, spinning=False) if features else None
    with Services(settings) as svc:
        rep = run_ingest(svc, opts, extractor)
        seg = load_segmenter(settings, required=False) if features else None
        composed = compose(svc, seg, rep.dataset_id, progress=not quiet) if seg is not None else None
    typer.echo(f"dataset {rep.dataset_id}: {rep.seen} seen, {rep.ingested} ingested, {rep.skipped} skipped "
               f"(already in), {len(rep.quarantined)} quarantined; {rep.total_in_catalog} in the catalog; "
               f"{rep.seconds:.1f} s ({rep.rate:.1f} new samples/s); job {rep.job_id}")
    if composed is not None:
        typer.echo(f"composition: {composed} samples composed by the segmentation head")
    if rep.interrupted_jobs:
        typer.echo(f"resumed after interrupted job(s) {rep.interrupted_jobs}")
    for which, rr in (("start", rep.reconcile_start), ("end", rep.reconcile_end)):
        if rr is not None and rr.changed():
            typer.echo(f"reconcile at {which}: neo4j +{rr.neo4j_added} -{rr.neo4j_removed} "
                       f"(labels fixed {rr.edges_fixed}), features +{rr.features_added} -{rr.features_dropped}, "
                       f"index +{rr.index_added}{' (rebuilt)' if rr.index_rebuilt else ''}")
    if rep.onboarding is not None:
        typer.echo(rep.onboarding.summary())
    if rep.repaired:
        typer.echo(f"repaired {len(rep.repaired)} samples that shared a pixel array with another sample "
                   "(written again under their own storage key)")
    if rep.labels_attached:
        typer.echo(f"labels attached to samples already in: {rep.labels_attached}")
    if rep.quarantined:
        typer.echo("quarantined (see table quarantine):", err=True)
        for path, reason in rep.quarantined[:50]:
            typer.echo(f"  {path}: {reason}", err=True)
        if len(rep.quarantined) > 50:
            typer.echo(f"  ... and {len(rep.quarantined) - 50} more", err=True)
