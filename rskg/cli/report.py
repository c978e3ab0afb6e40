"""`rskg report ...`: reports on the label system (growth per dataset, paper 000 Fig. 4)."""

from __future__ import annotations

import json

import typer

from rskg.settings import load_settings

app = typer.Typer(help="Reports on the label system.", no_args_is_help=True)


@app.command("growth")
def growth_cmd(as_json: bool = typer.Option(False, "--json", help="rows as JSON instead of a table")) -> None:
    """Concepts in use, source labels, datasets and edges after each dataset joined (paper 000 Fig. 4)."""
    from ontology.store import load_label_system
    from rskg.growth import as_rows, growth, markdown
    from rskg.services import Services

    settings = load_settings()
    with Services(settings) as svc:
        steps = growth(svc, load_label_system(settings.ontology_dir))
    typer.echo(json.dumps(as_rows(steps), indent=2) if as_json else markdown(steps))


def refresh(dataset: str = typer.Argument(..., help="catalog id of an ingested dataset")) -> None:
    """Onboard an ingested dataset again: map its unmapped labels, ADJACENT_TO around it, changed prototypes."""
    from rskg.onboard import refresh_dataset
    from rskg.services import Services

    with Services(load_settings()) as svc:
        rep = refresh_dataset(svc, dataset)
    typer.echo(rep.summary())
