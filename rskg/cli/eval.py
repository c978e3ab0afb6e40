"""``rskg eval``: retrieval and classification quality as repeatable numbers (docs/evaluation.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from rskg.settings import REPO_ROOT, load_settings

app = typer.Typer(help="Measure retrieval quality against the papers (writes benchmarks/results/eval*.md).",
                  no_args_is_help=True)
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results"

OutOpt = typer.Option(DEFAULT_OUT, "--out", help="folder for eval_<name>.md/.json and the PNG plots")
NoWrite = typer.Option(False, "--no-write", help="print the section only, write nothing")
ProtoOpt = typer.Option(True, "--protocol-head/--no-protocol-head",
                        help="also score the paper 002 protocol head (trained once on the train part, cached)")


def _setup(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(message)s")


def _done(outcome: object, no_write: bool) -> None:
    typer.echo(outcome.markdown)  # type: ignore[attr-defined]
    written = outcome.written  # type: ignore[attr-defined]
    typer.secho(f"\n{outcome.runtime_s:.1f} s" + (f"; wrote {written}" if written and not no_write else ""),  # type: ignore[attr-defined]
                err=True)


@app.command("supplementary")
def supplementary_cmd(
    dataset: str = typer.Option(..., "--dataset", help="id of an ingested dataset (catalog samples.dataset_id)"),
    truth: Path = typer.Option(..., "--truth", help="ground-truth CSV: image,labels ('|'-separated)"),
    labels: str = typer.Option("", "--labels", help="comma-separated query labels (default: all in the CSV)"),
    threshold: float = typer.Option(0.6, "--threshold", help="cosine similarity floor of a supplementary hit"),
    out: Path = OutOpt, no_write: bool = NoWrite, verbose: bool = typer.Option(False, "-v"),
    protocol_head: bool = ProtoOpt,
) -> None:
    """Paper 000 Table 4: supplementary samples scored against multi-label ground truth."""
    from rskg.evaluation.runner import run_supplementary
    from rskg.services import Services

    _setup(verbose)
    settings = load_settings()
    services = Services(settings)
    try:
        chosen = [x.strip() for x in labels.split(",") if x.strip()] or None
        o = run_supplementary(settings, services, dataset, truth, chosen, None if no_write else out, threshold,
                              protocol_head=protocol_head)
    finally:
        services.close()
    _done(o, no_write)


@app.command("expansion")
def expansion_cmd(
    threshold: float = typer.Option(0.6, "--threshold", help="cosine similarity floor of a supplementary hit"),
    out: Path = OutOpt, no_write: bool = NoWrite, verbose: bool = typer.Option(False, "-v"),
) -> None:
    """Does the Eq. 1 label-graph expansion add correct supplementary samples? A sweep of its parameters on the
    UCMerced test split (ADJACENT_TO from the train part only)."""
    from rskg.evaluation.runner import run_expansion
    from rskg.services import Services

    _setup(verbose)
    settings = load_settings()
    services = Services(settings)
    try:
        o = run_expansion(settings, services, None if no_write else out, threshold=threshold)
    finally:
        services.close()
    _done(o, no_write)


@app.command("cbir")
def cbir_cmd(out: Path = OutOpt, no_write: bool = NoWrite, verbose: bool = typer.Option(False, "-v"),
             protocol_head: bool = ProtoOpt,
             grid: int = typer.Option(3, "--grid", help="HIR from GxG patches too (0: whole images only)"),
             hir_source: str | None = typer.Option(
                 None, "--hir-source", help="both | composition | patch: also HIR from the segmentation head's "
                 "pixel fractions (both/composition; default: the hir_source setting)")) -> None:
    """Paper 002 Tables IV and V on UCMerced: CBIR and HIR, 1,470 archive / 630 query images."""
    from rskg.evaluation.runner import run_cbir

    _setup(verbose)
    _done(run_cbir(load_settings(), None if no_write else out, protocol_head=protocol_head, grid=grid,
                   hir_source=hir_source), no_write)


@app.command("classify")
def classify_cmd(out: Path = OutOpt, no_write: bool = NoWrite, verbose: bool = typer.Option(False, "-v"),
                 protocol_head: bool = ProtoOpt) -> None:
    """Paper 004 metrics of the multi-label head on UCMerced (mAP, F1, ANMRR, P@k)."""
    from rskg.evaluation.runner import run_classify

    _setup(verbose)
    _done(run_classify(load_settings(), None if no_write else out, protocol_head=protocol_head), no_write)


@app.command("crossdataset")
def crossdataset_cmd(
    targets: str = typer.Option("eurosat,nwpu_resisc45,rsscn7", "--targets", help="target dataset folders (readers)"),
    classes: str = typer.Option("river,forest,beach,agricultural,denseresidential,parkinglot,freeway", "--classes",
                                help="UCMerced classes whose prototypes are searched in the targets"),
    out: Path = OutOpt, no_write: bool = NoWrite, verbose: bool = typer.Option(False, "-v"),
    protocol_head: bool = ProtoOpt,
    lodo: bool = typer.Option(False, "--lodo", help="leave-one-dataset-out with the concept head over ucm, "
                              "eurosat, nwpu, rsscn7, gid (writes eval_crossdataset_lodo.*)"),
    lodo_targets: str = typer.Option("", "--lodo-targets", help="LODO target families (default: all five)"),
    old_protocol: bool = typer.Option(True, "--old-protocol/--no-old-protocol",
                                      help="with --lodo: also the UCMerced-prototype protocol, concept head"),
) -> None:
    """UCMerced prototypes scored on EuroSAT RGB / NWPU-RESISC45 / RSSCN7 through the label system; with
    --lodo, every dataset family ranked by a concept head trained without it."""
    from rskg.evaluation.runner import run_crossdataset, run_crossdataset_lodo

    _setup(verbose)
    if lodo:
        fams = tuple(t.strip() for t in lodo_targets.split(",") if t.strip()) or None
        _done(run_crossdataset_lodo(load_settings(), None if no_write else out, fams, old_protocol=old_protocol),
              no_write)
        return
    o = run_crossdataset(load_settings(), None if no_write else out,
                         tuple(t.strip() for t in targets.split(",") if t.strip()),
                         tuple(c.strip() for c in classes.split(",") if c.strip()), protocol_head=protocol_head)
    _done(o, no_write)


@app.command("report")
def report_cmd(out: Path = OutOpt) -> None:
    """Assemble eval.md from the eval_<name>.md sections found in --out."""
    from rskg.evaluation.report import assemble

    typer.echo(f"wrote {assemble(out)}")
