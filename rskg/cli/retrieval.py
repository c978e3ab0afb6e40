"""``rskg index build``, ``rskg retrieve`` and ``rskg dataset build|list|show|accept|reject|export``."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from rskg import validation
from rskg.catalog.filters import CompositionBound
from rskg.errors import ValidationError
from rskg.retrieval.model import RetrievalRequest, RetrievalResult
from rskg.services import Services
from rskg.settings import load_settings

index_app = typer.Typer(help="Per-concept k-means prototypes over the image features.", no_args_is_help=True)
dataset_app = typer.Typer(help="Composite datasets: build, review (accept/reject), export.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
    app.command(name="retrieve")(retrieve_cmd)
    app.add_typer(dataset_app, name="dataset")


@index_app.command("build")
def index_build(
    k: int = typer.Option(10, help="prototypes per concept (k-means clusters)"),
    train_split: bool = typer.Option(False, "--train-split", help="fit on the training split only"),
    allowlist: Path | None = typer.Option(None, help="fit only on the sample ids listed in this file"),
) -> None:
    """Build the prototypes of every concept with labelled samples (idempotent)."""
    from rskg.retrieval.prototypes import build_prototypes
    from rskg.retrieval.prototypes import train_split as split_ids

    with Services(load_settings()) as svc:
        allow: set[str] | None = None
        if allowlist is not None:
            allow = {ln.strip() for ln in allowlist.read_text().splitlines() if ln.strip()}
        if train_split:
            ids = split_ids(svc)
            allow = ids if allow is None else allow & ids
        rep = build_prototypes(svc, svc.settings, k=k, allow=allow)
    typer.echo(f"prototypes {rep.version}: {rep.prototypes} for {rep.concepts} concepts from {rep.samples_used} "
               f"samples ({'all samples' if allow is None else f'allowlist of {len(allow)}'}) in {rep.seconds:.1f} s"
               f" -> {rep.path}")


BBOX_HINT = "Use --bbox minlon,minlat,maxlon,maxlat."


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise ValidationError(f"--bbox {text!r} is not four numbers", BBOX_HINT) from exc
    return validation.bbox(parts, "--bbox")


def _date(text: str | None, name: str = "date") -> datetime | None:
    return validation.date(text, name)


# the options `rskg retrieve` and `rskg dataset build` share (one declaration each)
BBoxOpt = Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat (WGS 84)")]
DateFromOpt = Annotated[str | None, typer.Option("--from", help="acquired on/after (ISO date)")]
DateToOpt = Annotated[str | None, typer.Option("--to", help="acquired on/before (ISO date)")]
DatasetsOpt = Annotated[str | None, typer.Option(help="comma-separated dataset ids")]
ThresholdOpt = Annotated[float | None, typer.Option(help="cosine similarity floor of supplementary samples")]
KOpt = Annotated[int, typer.Option(help="neighbours per prototype")]
HirOpt = Annotated[bool, typer.Option("--hir", help="re-rank supplementary samples (paper 002 HIR)")]
MaxDistanceOpt = Annotated[float | None, typer.Option(help="Dijkstra radius (default: settings)")]
HirGridOpt = Annotated[int | None, typer.Option("--hir-grid", help="HIR: NxN patch grid (default 3; 1 = whole)")]
HirLambdaOpt = Annotated[float | None, typer.Option("--hir-lambda",
                                                    help="HIR: order by score - lambda*WMD (default 0.2)")]
HirSourceOpt = Annotated[str | None, typer.Option(
    "--hir-source", help="HIR class distributions: both (default) | composition (stored pixel fractions) | patch")]
CompositionOpt = Annotated[list[str] | None, typer.Option(
    "--composition", help="land-cover share bound (repeat, all must hold): water_area>=0.3, "
                          "'artificial surface<=10%', grassland=0.2..0.6; only composed samples pass")]


def _composition(exprs: list[str] | None) -> list[CompositionBound] | None:
    if not exprs:
        return None
    return [CompositionBound(c, lo, hi) for c, lo, hi in (validation.composition_expr(e) for e in exprs)]


def _request(labels: list[str], bbox: str | None, date_from: str | None, date_to: str | None,
             datasets: str | None, threshold: float | None, k: int, limit: int, hir: bool,
             example: str | None, max_distance: float | None, example_image: Path | None = None,
             example_gsd: float | None = None, hir_grid: int | None = None,
             hir_lambda: float | None = None, composition: list[str] | None = None,
             hir_source: str | None = None) -> RetrievalRequest:
    image = None
    if example_image is not None:
        if not example_image.is_file():
            raise ValidationError(f"--example-image {example_image} is not a file", "Give the path of a PNG/JPEG/TIFF.")
        image = example_image.read_bytes()
    return RetrievalRequest(labels=labels, bbox=_bbox(bbox),
                            time_from=_date(date_from, "--from"), time_to=_date(date_to, "--to"),
                            datasets=[d for d in datasets.split(",") if d] if datasets else None,
                            similarity_threshold=threshold, k_per_prototype=k, limit_supplementary=limit,
                            rerank_hir=hir, example_sample_id=example, max_distance=max_distance,
                            example_image=image, example_gsd_m=example_gsd, hir_grid=hir_grid,
                            hir_lambda=hir_lambda, hir_source=hir_source, composition=_composition(composition))


def result_json(res: RetrievalResult) -> dict[str, object]:
    d = asdict(res)
    d["request"].pop("example_image", None)
    return d


def _print(res: RetrievalResult, show: int) -> None:
    for m in res.matches:
        typer.echo(f"label {m.query!r} -> {m.concept_id} ({m.concept_name}) by {m.how}")
    for u in res.unmatched:
        typer.secho(f"label {u!r} matched no concept", fg="yellow")
    if res.candidates is not None:
        typer.echo(f"filter: {res.candidates} candidate samples")
    if res.related:
        typer.echo("related: " + ", ".join(f"{r.concept_id} ({r.distance:.2f})" for r in res.related[:15])
                   + (" ..." if len(res.related) > 15 else ""))
    by_ds: dict[str, int] = {}
    for h in res.direct:
        by_ds[h.dataset] = by_ds.get(h.dataset, 0) + 1
    typer.echo(f"direct: {len(res.direct)} samples " + (str(dict(sorted(by_ds.items()))) if by_ds else ""))
    for h in res.direct[:show]:
        typer.echo(f"  {h.sample_id}  [{h.concept_id}] labels={','.join(h.labels)}")
    typer.echo(f"supplementary: {len(res.supplementary)} samples")
    for h in res.supplementary[:show]:
        ev = h.evidence
        assert ev is not None
        extra = f" hir={h.hir_distance:.3f}" if h.hir_distance is not None else ""
        extra += f" p={ev.probability:.2f}" if ev.probability is not None else ""
        typer.echo(f"  {h.sample_id}  [{h.concept_id}] score={h.score:.3f} sim={ev.similarity:.3f} via "
                   f"{ev.concept_id} (d={ev.graph_distance:.2f}, path={'>'.join(ev.path)}){extra}")
    for n in res.notes:
        typer.secho(f"note: {n}", fg="yellow")
    typer.echo("timings ms: " + ", ".join(f"{k}={v:.1f}" for k, v in res.timings_ms.items()))


def retrieve_cmd(
    labels: list[str] = typer.Argument(None, help="labels, synonyms, source-label spellings or concept ids"),
    bbox: BBoxOpt = None,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    datasets: DatasetsOpt = None,
    composition: CompositionOpt = None,
    threshold: ThresholdOpt = None,
    k: KOpt = 20,
    limit: int = typer.Option(200, help="most supplementary samples"),
    hir: HirOpt = False,
    hir_grid: HirGridOpt = None,
    hir_lambda: HirLambdaOpt = None,
    hir_source: HirSourceOpt = None,
    example: str | None = typer.Option(None, help="query by example: a sample id"),
    example_image: Path | None = typer.Option(None, "--example-image", help="query by example: an image file"),
    example_gsd: float | None = typer.Option(None, "--example-gsd", help="its GSD in metres (default unknown)"),
    max_distance: MaxDistanceOpt = None,
    show: int = typer.Option(5, help="samples printed per list"),
    as_json: bool = typer.Option(False, "--json", help="print the whole result as JSON"),
) -> None:
    """Retrieve training samples for labels (filter -> label expansion -> direct + supplementary samples)."""
    from rskg.retrieval.pipeline import retrieve

    req = _request(labels or [], bbox, date_from, date_to, datasets, threshold, k, limit, hir, example, max_distance,
                   example_image, example_gsd, hir_grid, hir_lambda, composition, hir_source)
    with Services(load_settings()) as svc:
        res = retrieve(svc, svc.settings, req)
    if as_json:
        typer.echo(json.dumps(result_json(res), indent=1, default=str))
    else:
        _print(res, show)


@dataset_app.command("build")
def dataset_build(
    name: str = typer.Argument(..., help="name of the composite dataset"),
    labels: str = typer.Option(..., help="comma-separated labels, one retrieval subtask each"),
    bbox: BBoxOpt = None,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    datasets: DatasetsOpt = None,
    composition: CompositionOpt = None,
    threshold: ThresholdOpt = None,
    k: KOpt = 20,
    limit: int = typer.Option(200, help="most supplementary samples per label"),
    hir: HirOpt = False,
    hir_grid: HirGridOpt = None,
    hir_lambda: HirLambdaOpt = None,
    hir_source: HirSourceOpt = None,
    max_distance: MaxDistanceOpt = None,
    author: str = typer.Option("rskg", help="recorded as created_by"),
) -> None:
    """Build a composite dataset: one retrieval per label in parallel, stored in PostgreSQL."""
    from rskg.composites.composite import build_composite

    tmpl = _request([], bbox, date_from, date_to, datasets, threshold, k, limit, hir, None, max_distance,
                    hir_grid=hir_grid, hir_lambda=hir_lambda, composition=composition, hir_source=hir_source)
    with Services(load_settings()) as svc:
        comp = build_composite(svc, svc.settings, name, [x for x in labels.split(",") if x.strip()], tmpl,
                               created_by=author)
    _show(comp)


def _show(comp: object) -> None:
    from rskg.composites.composite import CompositeSummary

    assert isinstance(comp, CompositeSummary)
    typer.echo(f"composite dataset {comp.id} '{comp.name}' (ontology {comp.ontology_version[:12]}, "
               f"{comp.index_version})")
    for concept, c in sorted(comp.counts.items()):
        typer.echo(f"  {concept}: {c.get('direct', 0)} direct, {c.get('supplementary', 0)} supplementary")
    for u in comp.unmatched:
        typer.secho(f"  label {u!r} matched no concept", fg="yellow")


@dataset_app.command("list")
def dataset_list() -> None:
    """The composite datasets, newest first."""
    from rskg.composites.composite import list_composites

    with Services(load_settings()) as svc:
        for cid, name, at, n in list_composites(svc):
            typer.echo(f"{cid}  {at:%Y-%m-%d %H:%M}  {n:6d} items  {name}")


@dataset_app.command("show")
def dataset_show(composite_id: str) -> None:
    """Counts per concept and kind of one composite dataset."""
    from rskg.composites.composite import get_composite

    with Services(load_settings()) as svc:
        _show(get_composite(svc, composite_id))


def _decide(composite_id: str, sample: str, concept: str | None, decision: str, author: str) -> None:
    from rskg.composites.feedback import record

    with Services(load_settings()) as svc:
        d = record(svc, composite_id, sample, concept, decision, author)
    typer.echo(f"{d.decision}: {d.sample_id} [{d.concept_id}] by {d.author} at {d.decided_at:%Y-%m-%d %H:%M:%S}")


@dataset_app.command("accept")
def dataset_accept(composite_id: str, sample: str,
                   concept: str | None = typer.Option(None, help="concept id of the item"),
                   author: str = typer.Option("rskg")) -> None:
    """Keep a (supplementary) sample in the dataset."""
    _decide(composite_id, sample, concept, "accept", author)


@dataset_app.command("reject")
def dataset_reject(composite_id: str, sample: str,
                   concept: str | None = typer.Option(None, help="concept id of the item"),
                   author: str = typer.Option("rskg")) -> None:
    """Leave a sample out of every export (recorded as feedback)."""
    _decide(composite_id, sample, concept, "reject", author)


@dataset_app.command("export")
def dataset_export(composite_id: str,
                   fmt: str = typer.Option("imagefolder", "--format", help="imagefolder | stac | csv"),
                   out: Path = typer.Option(..., help="output folder"),
                   accepted_only: bool = typer.Option(False, help="leave out supplementary items not accepted"),
                   ) -> None:
    """Write the dataset (rejected items left out) as an ImageFolder tree, a STAC ItemCollection or CSV."""
    from rskg.composites.export import export

    with Services(load_settings()) as svc:
        rep = export(svc, composite_id, fmt, out, include_pending=not accepted_only)
    typer.echo(f"exported {rep.items} items as {rep.format} to {rep.out} ({', '.join(rep.files)}); left out "
               f"{rep.rejected_left_out} rejected, {rep.pending_left_out} pending")
