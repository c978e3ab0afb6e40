"""`rskg label prepare|export`: the unsupervised labelling tool of paper 001 (page at /labelling)."""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from rskg.settings import load_settings

app = typer.Typer(help="Unsupervised labelling tool (paper 001): prepare a dataset, export labels.",
                  no_args_is_help=True)


@app.command("prepare")
def prepare_cmd(
    dataset: str = typer.Argument(..., help="an ingested dataset id (see `rskg ingest`)"),
    limit: int | None = typer.Option(None, help="a seeded random subset of N chips"),
    clusters: int = typer.Option(8, help="fuzzy c-means clusters C (paper: 2, 8, 18)"),
    gnn: str = typer.Option("gcn", help="graph network: gcn or gat"),
    unet_epochs: int = typer.Option(25, help="U-Net epochs at most (early stopping)"),
    gnn_epochs: int = typer.Option(60, help="graph network epochs"),
) -> None:
    """Train FCM -> U-Net -> SLIC graph -> GNN on the chips, match them, project to 2-D, save artefacts."""
    import logging

    from rskg.labelling.config import LabellingConfig
    from rskg.labelling.prepare import prepare
    from rskg.services import Services

    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    settings = load_settings()
    cfg = LabellingConfig(clusters=clusters, gnn=gnn, unet_epochs=unet_epochs, gnn_epochs=gnn_epochs)
    with Services(settings) as svc:
        p = prepare(svc, dataset, limit, cfg)
    t = p.meta["timings"]
    typer.echo(f"prepared {dataset}: {p.meta['n_chips']} chips, {p.meta['n_segments']} segments, "
               f"bands {','.join(p.meta['bands'])}; {t['total_seconds']:.1f} s (U-Net {t['unet_seconds']:.1f} s, "
               f"graphs {t['graph_seconds']:.1f} s, GNN {t['gnn_seconds']:.1f} s, matching {t['match_seconds']:.1f} s, "
               f"UMAP {t['umap_seconds']:.1f} s)")
    typer.echo(f"artefacts: {settings.home / 'labelling' / dataset}; page: "
               f"http://{settings.api_host}:{settings.api_port}/labelling?dataset={dataset}")


@app.command("export")
def export_cmd(
    dataset: str = typer.Argument(..., help="a user-made label dataset, or the prepared dataset labelled"),
    out: Path = typer.Option(..., "--out", help="CSV file to write"),
) -> None:
    """Write the saved labels as CSV (one row per chip or per chip's segment selection)."""
    from rskg.errors import NotFoundError
    from rskg.labelling.save import EXPORT_COLUMNS, export_rows
    from rskg.services import Services

    with Services(load_settings()) as svc:
        rows = export_rows(svc, dataset)
    if not rows:
        raise NotFoundError(f"no saved labels for dataset {dataset!r}",
                            "Label chips in the page (/labelling) first, or check the dataset id.")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(EXPORT_COLUMNS)
        w.writerows(rows)
    typer.echo(f"{len(rows)} label rows written to {out}")
