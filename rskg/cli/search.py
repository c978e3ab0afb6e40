"""`rskg search "<text>"`, `rskg describe SAMPLE_ID`, `rskg search-train` and `rskg eval text2image`
(registered on the main app by :func:`register`, one line in rskg/cli/main.py)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import typer

from rskg.settings import REPO_ROOT, load_settings


def _json(obj: Any) -> str:
    return json.dumps(dataclasses.asdict(obj), indent=1, default=str)


def search_cmd(
    text: str = typer.Argument(..., help='what the images should show, e.g. "a harbor with many boats"'),
    limit: int = typer.Option(10, "--limit", "-n", help="images to return (1..200)"),
    route: str = typer.Option("fused", "--route", help="fused | concepts | visual"),
    datasets: str = typer.Option("", "--datasets", help="comma-separated dataset ids to search (default: all)"),
    as_json: bool = typer.Option(False, "--json", help="print the whole result as JSON"),
) -> None:
    """Free-text image search: text -> concepts of the label system -> retrieval -> images with evidence."""
    from rskg.search.service import search
    from rskg.services import Services

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = load_settings()
    with Services(settings) as services:
        ds = [d.strip() for d in datasets.split(",") if d.strip()] or None
        r = search(services, settings, text, limit, route, ds)
    if as_json:
        typer.echo(_json(r))
        return
    typer.echo(f"query: {r.query}")
    for p in r.phrases:
        hits = ", ".join(f"{h.concept_id} {h.score:.2f} ({h.view_kind}: {h.view_text[:40]})" for h in p.hits)
        typer.echo(f"  phrase '{p.phrase}': {hits or f'no concept (closest {p.best_name} {p.best_score:.2f})'}")
    for c in r.concepts:
        typer.echo(f"  concept {c.concept_id} (level {c.level}) weight {c.weight:.2f} from {c.source}")
    if r.explanation:
        typer.echo(r.explanation)
    for i, h in enumerate(r.hits, 1):
        ev = "; ".join(("labelled " + e.root) if e.labelled else
                       f"{e.root}<-{e.concept_id} proto {e.prototype_id.rsplit(':', 1)[-1]} sim {e.similarity:.2f}"
                       f" d {e.graph_distance:g}" for e in h.evidence)
        vis = "" if h.visual_score is None else f" visual {h.visual_score:.3f}"
        typer.echo(f"{i:3d}. {h.sample_id}  score {h.score:.3f} (concepts {h.concept_score:.3f}{vis})  [{ev}]")
    for n in r.notes:
        typer.echo(f"note: {n}")
    typer.echo(f"{r.timings_ms.get('total', 0):.0f} ms", err=True)


def describe_cmd(
    sample_id: str = typer.Argument("", help="a catalog sample id, e.g. ucm:images/river/river07.jpg"),
    image: Path = typer.Option(None, "--image", help="describe an image file instead of a catalog sample"),
    top: int = typer.Option(8, "--top", help="concepts to list"),
    as_json: bool = typer.Option(False, "--json", help="print the whole result as JSON"),
) -> None:
    """Image -> text: the concepts (with their levels in the hierarchy) the image's pixels are closest to."""
    from rskg.errors import ValidationError
    from rskg.search.describe import describe
    from rskg.services import Services

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = load_settings()
    if image is not None and not image.is_file():
        raise ValidationError(f"no image file at {image}", "Check the path.")
    with Services(settings) as services:
        d = describe(services, settings, sample_id or None, image.read_bytes() if image is not None else None, top)
    if as_json:
        typer.echo(_json(d))
        return
    typer.echo(f"{d.source}: {d.text}")
    for c in d.concepts:
        typer.echo(f"  {c.score:.3f}  {c.concept_id} (level {c.level})  {' < '.join(c.path)}")
    for s, v in d.captions:
        typer.echo(f"  like: \"{s}\" ({v:.2f})")
    if d.composition:
        typer.echo(f"composition ({d.composition_source}, by {d.composition_model}):")
        for cid, name, f in d.composition:
            typer.echo(f"  {f:6.1%}  {cid} ({name})")
    for n in d.notes:
        typer.echo(f"note: {n}")


def train_cmd() -> None:
    """Fit the caption-learned text2visual / text2concept maps for the current image encoder (UCM-Captions)."""
    from rskg.errors import RskgError
    from rskg.search.resources import train
    from rskg.services import Services

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = load_settings()
    services: Services | None = Services(settings)
    try:
        services.driver  # type: ignore[union-attr]  # noqa: B018
    except RskgError:
        services = None
    try:
        folder, m = train(services, settings)
    finally:
        if services is not None:
            services.close()
    typer.echo(f"wrote {folder}\n  fusion lambda {m.calibration.lam}; val mean recall by ridge alpha "
               f"{m.meta.get('ridge_alpha_val_mean_recall')}")


def text2image_cmd(
    out: Path = typer.Option(REPO_ROOT / "benchmarks" / "results" / "text2image.md", "--out",
                             help="markdown report to write"),
    no_write: bool = typer.Option(False, "--no-write", help="print the report only"),
    no_graph: bool = typer.Option(False, "--no-graph", help="expand by the Turtle hierarchy, without Neo4j"),
) -> None:
    """Text -> image retrieval on the UCM-Captions test split: R@K and paper 003 MAP/WMAP/NDCG/ACG per route."""
    import importlib.util

    from rskg.search.t2i_report import markdown

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    spec = importlib.util.spec_from_file_location("bench_text2image", REPO_ROOT / "benchmarks" / "text2image.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = mod.run(load_settings(), use_graph=not no_graph, out=None if no_write else out)
    typer.echo(markdown(result))


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.command(name="search")(search_cmd)
    app.command(name="describe")(describe_cmd)
    app.command(name="search-train")(train_cmd)
    eval_app.command(name="text2image")(text2image_cmd)
