"""Markdown sections, JSON summaries and PNG plots of the experiments; ``assemble`` writes eval.md.

Every experiment writes ``<out>/eval_<name>.md`` (its section), ``<out>/eval_<name>.json`` (headline numbers
for the summary table) and its plots; :func:`assemble` stitches the sections that exist into ``eval.md``
under a summary of our numbers against the papers' and the project targets, followed by the hand-written
analysis ``<out>/eval_notes.md`` (shortfalls and what would close them) when present.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from rskg.evaluation.cbir import PAPER_002, Row
from rskg.evaluation.classify import PAPER_004, PAPER_004_NOTE, ClassifyResult
from rskg.evaluation.crossdataset import REFERENCE, CrossResult
from rskg.evaluation.supplementary import PAPER_000_TABLE4, SupplementaryResult

SECTIONS = ("supplementary", "expansion", "cbir", "classify", "crossdataset")


def f3(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f} %"


def table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, path: Path,
                recall_floor: float = 0.65) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    cmap = plt.get_cmap("tab20")
    for i, (name, (precision, recall)) in enumerate(sorted(curves.items())):
        ax.plot(recall, precision, label=name, color=cmap(i % 20), lw=1.2)
    ax.axvline(recall_floor, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write(out: Path, name: str, markdown: str, summary: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"eval_{name}.md").write_text(markdown.rstrip() + "\n", encoding="utf-8")
    (out / f"eval_{name}.json").write_text(json.dumps(summary, indent=2, default=float) + "\n", encoding="utf-8")
    return out / f"eval_{name}.md"


# --- sections -------------------------------------------------------------------------------------------
def supplementary_section(results: list[SupplementaryResult], split: str, runtime_s: float,
                          plot: str | None) -> tuple[str, dict[str, Any]]:
    parts = ["## Supplementary-sample retrieval (paper 000 §4.3.2, Table 4)", ""]
    r0 = results[0]
    parts += [f"Dataset `{r0.dataset}`: {r0.n_samples} samples; {r0.n_excluded_trained} excluded because the "
              f"prototypes/head were trained on them; {r0.n_without_truth} without a ground-truth row. "
              f"Split: {split}. Settings: " + ", ".join(f"{k} = {v}" for k, v in r0.settings.items())
              + f". Runtime {runtime_s:.0f} s.", ""]
    parts += ["How each ground-truth label was matched to a concept (by the label system):", ""]
    parts.append(table(["label", "concept", "how"],
                       [[r.match.label, f"`{r.match.concept_id}` ({r.match.concept_name})", r.match.how]
                        for r in r0.labels] + [[m.label, f"`{m.concept_id}`" if m.concept_id else "-", m.how]
                                               for m in r0.skipped]))
    summary: dict[str, Any] = {"dataset": r0.dataset, "variants": {}}
    for res in results:
        ov = res.overall()
        summary["variants"][res.variant] = ov
        rk = [k for k in (res.labels[0].ranking if res.labels else {})]
        parts += ["", f"### Features: {res.variant}", ""]
        parts.append(table(
            ["label", "eval", "direct", "positives (non-direct)", "retrieved", "precision", "recall", "accuracy",
             *rk],
            [[r.match.label, str(r.n_eval), str(r.n_direct), f"{r.n_positive} ({r.n_positive_nondirect})",
              str(r.n_retrieved), f3(r.counts["precision"]), f3(r.counts["recall"]), f3(r.counts["accuracy"]),
              *[f3(r.ranking[k]) for k in rk]] for r in res.labels]
            + [[f"**overall, {w}**", "", "", "", "", *[f3(ov[w].get(k)) for k in ("precision", "recall",
                                                                               "accuracy", *rk)]]
               for w in ("weighted", "macro")]))
    p = PAPER_000_TABLE4["UCMerced_multi_label"]
    parts += ["", "Paper 000 Table 4, UCMerced_multi_label: accuracy "
              f"{pct(p['accuracy'])}, precision {pct(p['precision'])} (weighted by positives; their prototypes "
              "came from a 20-dataset label system, their split is not stated)."]
    if plot:
        parts += ["", f"![precision-recall per label]({plot})"]
    return "\n".join(parts), summary


def cbir_section(rows: list[Row], notes: dict[str, str], split: str, runtime_s: float) -> tuple[str, dict[str, Any]]:
    keys = ["mAP@10", "mAP@20", "P@10", "P@20"]
    parts = ["## Content-based retrieval on UCMerced (paper 002 protocol)", "",
             f"Archive = train part, queries = test part of {split}; relevance = same scene class; cosine "
             f"similarity; HIR re-ranks the top 75. Runtime {runtime_s:.0f} s.", ""]
    parts += [f"- {v}: {n}" for v, n in notes.items()]
    parts += ["- † = features trained on the residential sub-class labels (paper 002 withholds them)."]
    summary: dict[str, Any] = {}
    for tab, title in (("IV", "Table IV: all classes"), ("V", "Table V: residential sub-classes "
                                                            "(dense/medium/sparse; queries = their test images)")):
        parts += ["", f"### {title}", ""]
        ours = [r for r in rows if r.table == tab]
        ref = [r for r in PAPER_002 if r.table == tab]
        parts.append(table(["method", "features", *keys],
                           [[r.method, r.variant, *[f3(r.scores[k]) for k in keys]] for r in ours + ref]))
        summary[tab] = [{"method": r.method, "variant": r.variant, **r.scores} for r in ours]
    return "\n".join(parts), summary


def classify_section(res: ClassifyResult, split: str, head_info: str, runtime_s: float) -> tuple[str, dict[str, Any]]:
    parts = ["## Multi-label classification and retrieval (paper 004 metrics)", "",
             f"UCMerced 17 labels, test part of {split}. {head_info}. Runtime {runtime_s:.0f} s.", ""]
    parts += [f"- {n}" for n in res.notes]
    ck = ["map", "macro_f1", "micro_f1", "example_f1", "sample_f1"]
    parts.append(table(["model", *ck], [[name, *[f3(m.get(k)) for k in ck]] for name, m in res.classification.items()]
                       + [["paper 004 DenseNet201 on MLRSNet (40 % train)",
                           *[f3(PAPER_004["classification DenseNet201 (40% training)"].get(k)) for k in ck]]]))
    labels = sorted({lab for v in res.per_label_ap.values() for lab in v})
    parts += ["", "Per-label AP:", ""]
    parts.append(table(["label", *res.per_label_ap], [[lab, *[f3(v.get(lab)) for v in res.per_label_ap.values()]]
                                                       for lab in labels]))
    rk = ["ANMRR", "mAP (P@1..100)", "P@10", "P@50", "P@100"]
    ref = PAPER_004["retrieval DenseNet201 (5% queries)"]
    parts += ["", "Retrieval (queries = test images, database = train images, relevant = shares a label):", ""]
    parts.append(table(["features", *rk], [[n, *[f3(m.get(k)) for k in rk]] for n, m in res.retrieval.items()]
                       + [["paper 004 DenseNet201 on MLRSNet (5 % queries)", *[f3(ref.get(k)) for k in rk]]]))
    parts += ["", f"({PAPER_004_NOTE}.)"]
    return "\n".join(parts), {"classification": res.classification, "retrieval": res.retrieval}


def crossdataset_section(results: list[CrossResult], split: str, runtime_s: float,
                         plot: str | None) -> tuple[str, dict[str, Any]]:
    r0 = results[0]
    parts = ["## Cross-dataset retrieval (prototypes from UCMerced only)", "",
             f"Prototypes: 10 k-means per concept from the UCMerced train part ({split}); targets: "
             + ", ".join(f"{k} ({v} images)" for k, v in r0.targets.items())
             + f" = {sum(r0.targets.values())} images, none used to train the features. Runtime {runtime_s:.0f} s.",
             ""]
    summary: dict[str, Any] = {}
    for res in results:
        parts += [f"### Features: {res.variant}", ""]
        parts.append(table(["UCMerced class", "concept (how)", "prototype members", "relevant targets", "AP",
                            "P@R>=0.65"],
                           [[c.source_class, f"`{c.concept_id}` ({c.how})", str(c.n_members),
                             f"{c.n_relevant}: " + ", ".join(c.relevant_labels), f3(c.ap), f3(c.p_at_r)]
                            for c in res.concepts]
                           + [["**macro**", f"{len(res.concepts)} concepts", "", "", f3(res.macro_ap),
                               f3(res.macro_p_at_r)]]))
        parts.append("")
        summary[res.variant] = {"macro_ap": res.macro_ap, "macro_p_at_r": res.macro_p_at_r,
                                "concepts": len(res.concepts)}
    for name, ref in REFERENCE.items():
        parts.append(f"Reference, {name}: macro P@R>=0.65 {ref['macro P@R>=0.65']}, macro mAP {ref['macro mAP']}.")
    if plot:
        parts += ["", f"![precision-recall per concept]({plot})"]
    return "\n".join(parts), summary


def latency_points(retrieval_md: Path) -> list[tuple[int, float, float]]:
    """(index vectors, p50 ms, p99 ms) rows without a spatial filter from the retrieval benchmark's table."""
    pts = []
    for line in retrieval_md.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].replace(",", "").isdigit() and cells[2] == "none":
            try:
                pts.append((int(cells[0].replace(",", "")), float(cells[3]), float(cells[4])))
            except ValueError:
                continue
    return sorted(pts)


def plot_latency(out: Path) -> Path | None:
    src = out / "retrieval.md"
    pts = latency_points(src) if src.exists() else []
    if not pts:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    n = [p[0] for p in pts]
    ax.plot(n, [p[1] for p in pts], "o-", label="p50")
    ax.plot(n, [p[2] for p in pts], "s--", label="p99")
    ax.set_xscale("log")
    ax.set_xlabel("image index vectors")
    ax.set_ylabel("retrieval latency (ms)")
    ax.set_title("retrieval latency vs index size (whole pipeline)", fontsize=10)
    ax.legend()
    fig.tight_layout()
    path = out / "eval_latency.png"
    fig.savefig(path)
    plt.close(fig)
    return path


# --- eval.md ------------------------------------------------------------------------------------------------
def _best(summary: dict[str, Any], path: list[str]) -> float | None:
    cur: Any = summary
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return float(cur) if isinstance(cur, (int, float)) else None


def _met(value: float | None, target: float | None) -> str:
    if target is None:
        return "-"
    if value is None or math.isnan(value):
        return "n/a"
    return "yes" if value >= target else f"**no** (-{target - value:.3f})"


def summary_rows(out: Path) -> list[list[str]]:
    """[measure, rskg, target, met?, paper] rows from the eval_<name>.json summaries found in ``out``."""
    def load(name: str) -> dict[str, Any]:
        p = out / f"eval_{name}.json"
        return json.loads(p.read_text()) if p.exists() else {}

    rows: list[list[str]] = []
    sup = load("supplementary")
    for variant, ov in sup.get("variants", {}).items():
        v = ov["macro"].get("P@R>=0.65")
        rows.append([f"label-prototype retrieval, macro P@R>=0.65, 17 labels ({variant})", f3(v),
                     "≥ 0.90 (pretrained ≈ 0.82)", _met(v, 0.90), "-"])
        rows.append([f"supplementary accuracy / precision, weighted ({variant})",
                     f"{pct(ov['weighted'].get('accuracy'))} / {pct(ov['weighted'].get('precision'))}",
                     "-", "-", "64.61 % / 57.45 % (Table 4)"])
    cb = load("cbir")
    for r in cb.get("IV", []):
        paper = "0.9532" if r["method"] == "CBIR" else "0.9623"
        rows.append([f"CBIR mAP@10, {r['method']} ({r['variant']})", f3(r["mAP@10"]), "≥ 0.96 (pretrained ≈ 0.90)",
                     _met(r["mAP@10"], 0.96), paper])
    for r in cb.get("V", []):
        if r["method"] == "CBIR" or "w=4" in r["method"]:
            rows.append([f"residential mAP@10, {r['method']} ({r['variant']})", f3(r["mAP@10"]), "≥ 0.87",
                         _met(r["mAP@10"], 0.87), "0.8501"])
    cl = load("classify")
    for name, m in cl.get("classification", {}).items():
        rows.append([f"multi-label mAP, 17 labels ({name})", f3(m.get("map")), "-", "-", "0.8877 (MLRSNet)"])
    cx = load("crossdataset")
    for variant, m in cx.items():
        worst = min(m["macro_p_at_r"], m["macro_ap"])
        rows.append([f"cross-dataset macro P@R>=0.65 / mAP ({variant}, {m['concepts']} concepts)",
                     f"{f3(m['macro_p_at_r'])} / {f3(m['macro_ap'])}", "≥ 0.60 / ≥ 0.60 (pretrained 0.29 / 0.34)",
                     _met(worst, 0.60), "-"])
    return rows


def assemble(out: Path, preamble: str = "") -> Path:
    parts = ["# rskg evaluation", "", "Written by `make eval` (`rskg eval ...`, see docs/evaluation.md). "
             "All numbers are measured on the shared real data; the papers' numbers are quoted for comparison.", ""]
    if preamble:
        parts += [preamble, ""]
    parts += ["## Summary", "", table(["measure", "rskg", "target", "met", "paper"], summary_rows(out)), ""]
    notes = out / "eval_notes.md"
    if notes.exists():
        parts += [notes.read_text(encoding="utf-8"), ""]
    for name in SECTIONS:
        p = out / f"eval_{name}.md"
        if p.exists():
            parts += [p.read_text(encoding="utf-8"), ""]
    lat = plot_latency(out)
    parts += ["## Latency vs index size", ""]
    parts += ["From `retrieval.md` (the retrieval benchmark, `python -m benchmarks.retrieval`): whole-pipeline "
              "latency, no spatial filter.", "", f"![latency vs index size]({lat.name})", ""] if lat else [
        "Not plotted: `retrieval.md` (written by `python -m benchmarks.retrieval`) is not in the results folder.", ""]
    path = out / "eval.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
