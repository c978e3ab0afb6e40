"""`rskg map ...`: map a dataset's labels (paper Algorithm 1), review, SSSOM export/import, and the
SIMILAR_TO / ADJACENT_TO edges of the label graph."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from rskg.settings import load_settings

app = typer.Typer(help="Label mapping: source labels -> concepts (Algorithm 1), review queue, SSSOM.",
                  no_args_is_help=True)


@contextmanager
def _ctx(with_encoder: bool = True) -> Iterator[object]:
    from kg.schema import apply_schema
    from rskg.catalog.migrate import migrate
    from rskg.label_mapping import MappingContext
    from rskg.services import Services

    with Services(load_settings()) as svc:
        with svc.connection() as conn:
            migrate(conn)
        apply_schema(svc.driver)
        ctx = MappingContext.open(svc, with_encoder=with_encoder)
        try:
            yield ctx
        finally:
            if ctx.encoder is not None:
                ctx.encoder.close()


def _line(d: object) -> str:
    target = getattr(d, "concept_id", None) or f"NEW under {getattr(d, 'proposed_parent', None)}"
    score = getattr(d, "score", None)
    return (f"#{getattr(d, 'id', None)} {getattr(d, 'dataset', '')}:{getattr(d, 'label', '')} -> {target} "
            f"[{getattr(d, 'status', '')}{'' if score is None else f', {score:.3f}'}]")


@app.command("add")
def add(vocab_file: Path = typer.Argument(..., help=".yaml/.yml list, .csv (label column) or .txt"),
        dataset: str = typer.Option(..., "--dataset", "-d", help="dataset id the labels belong to"),
        author: str = typer.Option("rskg", help="recorded as the author of the automatic decisions")) -> None:
    """Map every label of a new dataset vocabulary onto the label system (Algorithm 1)."""
    from rskg.label_mapping import map_file

    with _ctx() as ctx:
        decisions, stored = map_file(ctx, vocab_file, dataset, author)  # type: ignore[arg-type]
    for d in decisions:
        typer.echo(_line(d))
    counts = {s: sum(d.status == s for d in decisions) for s in sorted({d.status for d in decisions})}
    typer.echo(f"{len(decisions)} labels, {len(stored)} decisions stored; {counts}")


@app.command("train-accept")
def train_accept(extra: list[Path] = typer.Option([], "--extra", help="folder of gold vocabularies "
                                                  "(label,gold CSV files) added to the training data; repeatable"),
                 target: float | None = typer.Option(None, "--target", help="precision the threshold is set "
                                                     "for (default: setting map_accept_target_precision)")) -> None:
    """Train the calibrated auto-accept model on the curated leave-one-dataset-out decisions (no servers needed)."""
    from embeddings.text import TextEncoder
    from mappings.accept_train import train
    from mappings.osm import load_osm_vocab
    from rskg.artifacts import accept_model_path
    from rskg.label_mapping import load_system

    settings = load_settings()
    encoder = TextEncoder(settings)
    try:
        model, report = train(settings, load_system(settings), encoder, load_osm_vocab(settings), extra, target)
    finally:
        encoder.close()
    path = model.save(accept_model_path(settings))
    typer.echo(f"accept model -> {path}: threshold {model.threshold:.4f}; {report}")


@app.command("review")
def review_cmd(dataset: str | None = typer.Option(None, "--dataset", "-d"),
               all_: bool = typer.Option(False, "--all", help="every current decision, not only open ones")) -> None:
    """List open mappings (pending review / new concept proposed) with their evidence."""
    from rskg.label_mapping import pending

    with _ctx(with_encoder=False) as ctx:
        items = pending(ctx, dataset, all_)  # type: ignore[arg-type]
    if not items:
        typer.echo("nothing to review")
    for it in items:
        typer.echo(_line(it["decision"]))
        if it.get("parent_reason") and it["decision"].status == "proposed":
            typer.echo(f"    new concept proposed {it['parent_reason']}; `rskg map accept ID --author NAME` "
                       "creates it (--new-id / --label / --parent to change it), `rskg map reject` refuses it")
        elif it.get("parent_reason"):
            typer.echo(f"    placement {it['parent_reason']}: `rskg map accept ID --author NAME --label LABEL` "
                       "creates a new concept there (--parent to place it elsewhere)")
        for c in it["candidates"]:
            definition = (c.get("definition") or "")[:90]
            typer.echo(f"    {c['concept_id']:<32} score={c['score']:.3f} text={c['text_sim']:.3f} "
                       f"struct={c['struct_sim']:.3f}{' lexical' if c.get('lexical') else ''}  {definition}")
        for sid, path, storage in it["thumbnails"]:
            typer.echo(f"    sample {sid}: {path} ({storage})")


def _act(action: str, decision_id: int, author: str, concept: str | None, **new: str | None) -> None:
    from rskg.label_mapping import review

    with _ctx(with_encoder=False) as ctx:
        known = set(ctx.system.concepts)  # type: ignore[attr-defined]
        d = review(ctx, decision_id, action, author, concept, **new)  # type: ignore[arg-type]
        created = ctx.system.concepts.get(d.concept_id) if d.concept_id not in known else None  # type: ignore[attr-defined]
    typer.echo(f"{action}: {_line(d)} by {d.author}")
    if created is not None:
        typer.echo(f"new concept {created.id} ({created.pref_label!r}) under {', '.join(created.parents) or '-'}; "
                   f"aligned to {', '.join(created.osm_tags + created.lccs_codes) or 'nothing'}; "
                   "ontology edited (changelog.ttl), Neo4j synced")


@app.command("accept")
def accept(decision_id: int, author: str = typer.Option(..., "--author"),
           concept: str | None = typer.Option(None, "--concept"),
           new_id: str | None = typer.Option(None, "--new-id", help="new concept (proposal / pending label): its id "
                                             "(default: the label as a slug)"),
           new_label: str | None = typer.Option(None, "--label", help="new concept: its prefLabel"),
           new_parent: str | None = typer.Option(None, "--parent", help="new concept: another parent"),
           ) -> None:
    """Accept a mapping (optionally to another concept); a new-concept proposal creates the concept, and so does
    a pending decision accepted with --label / --new-id / --parent."""
    _act("accept", decision_id, author, concept, new_id=new_id, new_label=new_label, new_parent=new_parent)


@app.command("reject")
def reject(decision_id: int, author: str = typer.Option(..., "--author")) -> None:
    """Reject a mapping: its MAPS_TO edge is removed."""
    _act("reject", decision_id, author, None)


@app.command("remap")
def remap(decision_id: int, concept: str = typer.Option(..., "--concept"),
          author: str = typer.Option(..., "--author")) -> None:
    """Map the label to another concept."""
    _act("remap", decision_id, author, concept)


@app.command("export")
def export(file: Path, dataset: str | None = typer.Option(None, "--dataset", "-d")) -> None:
    """Write the current mappings as SSSOM TSV."""
    from rskg.label_mapping import export_sssom

    with _ctx(with_encoder=False) as ctx:
        n = export_sssom(ctx, file, dataset)  # type: ignore[arg-type]
    typer.echo(f"{n} mappings written to {file}")


@app.command("import")
def import_(file: Path, author: str = typer.Option("sssom-import", "--author")) -> None:
    """Read SSSOM TSV mappings (validated as a whole; nothing changes on an error)."""
    from rskg.label_mapping import import_sssom

    with _ctx(with_encoder=False) as ctx:
        stored = import_sssom(ctx, file, author)  # type: ignore[arg-type]
    typer.echo(f"{len(stored)} decisions stored from {file}")


@app.command("similar")
def similar(dry_run: bool = typer.Option(False, "--dry-run")) -> None:
    """Compute SIMILAR_TO (a*text + b*struct >= sim_threshold) between concepts and write them."""
    from rskg.label_mapping import similar_edges

    with _ctx() as ctx:
        rows = similar_edges(ctx, write=not dry_run)  # type: ignore[arg-type]
    for r in sorted(rows, key=lambda r: -float(r["score"]))[:20]:
        typer.echo(f"{r['a']} ~ {r['b']}: {r['score']:.3f} (text {r['text_sim']:.3f}, struct {r['struct_sim']:.3f})")
    typer.echo(f"{len(rows)} SIMILAR_TO edges{' (dry run)' if dry_run else ''}")


@app.command("adjacency")
def adjacency(dry_run: bool = typer.Option(False, "--dry-run")) -> None:
    """Compute ADJACENT_TO (label co-occurrence in UCMerced and Sentinel-2 samples) and write them."""
    from rskg.label_mapping import adjacency_edges

    with _ctx(with_encoder=False) as ctx:
        rows = adjacency_edges(ctx, write=not dry_run)  # type: ignore[arg-type]
    for r in sorted(rows, key=lambda r: -int(r["cooccurrence"]))[:20]:
        typer.echo(f"{r['a']} -- {r['b']}: {r['cooccurrence']} ({', '.join(r['sources'])})")
    typer.echo(f"{len(rows)} ADJACENT_TO edges{' (dry run)' if dry_run else ''}")
