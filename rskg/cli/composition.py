"""``rskg composition train|backfill|show``: land-cover composition of samples (segmentation head)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from rskg.services import Services
from rskg.settings import load_settings

app = typer.Typer(help="Land-cover composition: train the segmentation head on GID-MTL, compose samples, show one.",
                  no_args_is_help=True)


@app.command()
def train(epochs: Annotated[int, typer.Option(help="passes over the GID-MTL training part")] = 40,
          limit: Annotated[int | None, typer.Option(help="first N images per scene class (a quick run)")] = None,
          ) -> None:
    """Train the decoder on GID-MTL5 + GID-MTL15 (frozen backbone) and install it; print held-out IoU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rskg.composition.train import SegTrainConfig, train_segmentation

    rep = train_segmentation(load_settings(), SegTrainConfig(epochs=epochs, limit_per_scene=limit))
    typer.echo(f"segmentation head {rep.info.version} -> {rep.path}")
    typer.echo(f"train {rep.n_train}, test {rep.n_test}; backbone maps {rep.seconds_features:.0f} s, "
               f"decoder {rep.seconds_train:.0f} s, peak RSS {rep.peak_rss_mb:.0f} MB")
    typer.echo(f"GID-5 test mIoU {rep.miou5:.3f}: " + ", ".join(f"{k} {v:.3f}" for k, v in rep.iou5.items()))
    typer.echo(f"GID-15 test mIoU {rep.miou15:.3f}: " + ", ".join(f"{k} {v:.3f}" for k, v in rep.iou15.items()))
    typer.echo("next: `rskg composition backfill` composes the samples already in the catalog")


@app.command()
def backfill(datasets: Annotated[list[str] | None, typer.Option("--dataset", "-d", help="dataset id (repeat); "
                                                               "default: every dataset in the catalog")] = None,
             quiet: Annotated[bool, typer.Option(help="no progress bar")] = False) -> None:
    """Compose every sample that has no composition by the installed head (idempotent)."""
    from rskg.composition.backfill import backfill as run
    from rskg.composition.backfill import load_segmenter

    settings = load_settings()
    seg = load_segmenter(settings)
    assert seg is not None
    with Services(settings) as svc:
        if not datasets:
            with svc.connection() as conn:
                datasets = [d for (d,) in conn.execute("SELECT id FROM datasets ORDER BY id").fetchall()]
        for ds in datasets:
            n = run(svc, seg, ds, progress=not quiet)
            typer.echo(f"dataset {ds}: {n} samples composed by {seg.version}")


@app.command()
def show(sample_id: Annotated[str, typer.Argument(help="sample id, e.g. ucm:images/river/river00.jpg")],
         top: Annotated[int, typer.Option(help="concepts to print")] = 12) -> None:
    """Print a sample's composition: the share of each concept's pixels."""
    from rskg.composition import store

    with Services(load_settings()) as svc, svc.connection() as conn:
        fr, model = store.read(conn, sample_id)
    if not fr:
        typer.echo(f"{sample_id}: no composition (run `rskg composition backfill`)")
        raise typer.Exit(1)
    typer.echo(f"{sample_id} (by {model})")
    for c, f in list(fr.items())[:top]:
        typer.echo(f"  {c:<28} {f:6.1%}")
