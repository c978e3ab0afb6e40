"""Label mapping on vocabularies the label system has never seen (issue 16), beside leave-one-dataset-out.

Fresh vocabularies: ``benchmarks/data/fresh_vocab/*.csv`` (11 published legends / class lists outside the 27
curated datasets; the gold concept per label was written down before the mapper was run on them, see the
README there). The mapper is Algorithm 1 as the ingest runs it (``SimilarityModel.candidates`` +
``mappings.merge.decide``, the settings' weights and thresholds) against the full label system.

Metrics: top-1 (the first candidate is a gold concept), precision of the auto-accepted mappings, recall of the
auto-accepted mappings (correct autos / labels), decided share (labels auto-accepted, i.e. decided without
review). Beside them, the same decider leave-one-dataset-out over the 27 curated datasets
(``benchmarks.mapping.evaluate``, default weights): the only numbers thresholds and evidence may be tuned on.

Writes ``benchmarks/results/mapping_fresh.json`` (keys ``auto_precision``, ``top1``, ``decided_share``, and
the rest) and ``mapping_fresh.md``.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from embeddings.text import TextEncoder
from mappings.merge import build_model, decide
from mappings.osm import load_osm_vocab
from ontology.model import LabelSystem
from rskg.settings import Settings

DATA = Path(__file__).parent / "data" / "fresh_vocab"
RESULTS_JSON = Path(__file__).parent / "results" / "mapping_fresh.json"
RESULTS_MD = Path(__file__).parent / "results" / "mapping_fresh.md"


@dataclass
class Fresh:
    n: int = 0
    top1: int = 0
    auto: int = 0
    auto_ok: int = 0
    pending: int = 0
    proposed: int = 0
    errors: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def row(self) -> dict[str, float | int]:
        return {"labels": self.n, "top1": self.top1 / max(self.n, 1),
                "auto_precision": self.auto_ok / self.auto if self.auto else 0.0,
                "auto_recall": self.auto_ok / max(self.n, 1), "decided_share": self.auto / max(self.n, 1),
                "auto": self.auto, "pending": self.pending, "proposed": self.proposed}


def read_gold(path: Path) -> dict[str, set[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["label"]: set(r["gold"].split("|")) for r in csv.DictReader(fh)}


def evaluate_fresh(settings: Settings, system: LabelSystem, encoder: TextEncoder) -> dict[str, Fresh]:
    model = build_model(settings, system, encoder, load_osm_vocab(settings))
    out: dict[str, Fresh] = {}
    for path in sorted(DATA.glob("*.csv")):
        gold = read_gold(path)
        labels = list(gold)
        sc = Fresh()
        for lb, cands in zip(labels, model.candidates(labels, settings.map_k), strict=True):
            d = decide(path.stem, lb, cands, system, settings.map_accept_threshold, settings.map_review_threshold)
            g = gold[lb]
            sc.n += 1
            top = cands[0].concept_id if cands else None
            sc.top1 += top in g
            if top not in g:
                sc.misses.append(f"{lb} -> {top} (gold {'|'.join(sorted(g))}; {d.status})")
            if d.status == "auto":
                sc.auto += 1
                sc.auto_ok += d.concept_id in g
                if d.concept_id not in g:
                    sc.errors.append(f"{lb} -> {d.concept_id} (gold {'|'.join(sorted(g))}, {d.score:.2f})")
            sc.pending += d.status == "pending"
            sc.proposed += d.status == "proposed"
        out[path.stem] = sc
    return out


def _total(per: dict[str, Fresh]) -> Fresh:
    t = Fresh()
    for sc in per.values():
        for k in ("n", "top1", "auto", "auto_ok", "pending", "proposed"):
            setattr(t, k, getattr(t, k) + getattr(sc, k))
        t.errors += sc.errors
        t.misses += sc.misses
    return t


def run(settings: Settings, system: LabelSystem | None = None) -> dict[str, object]:
    from benchmarks.mapping import VARIANTS, Score, evaluate
    from mappings.similarity import Weights

    if system is None:
        from rskg.label_mapping import load_system
        system = load_system(settings)
    load = os.getloadavg()
    encoder = TextEncoder(settings)
    t0 = time.perf_counter()
    per = evaluate_fresh(settings, system, encoder)
    t_fresh = time.perf_counter() - t0
    default = next(w for name, w in VARIANTS.items() if "default" in name and "augmented" not in name)
    weights = Weights(settings.sim_text_weight, settings.sim_struct_weight, default.text_mode,
                      default.struct_missing)
    lodo = evaluate(settings, system, weights, encoder)
    encoder.close()
    lt = Score()
    for fold in lodo.values():
        lt.add(fold)
    lodo_row = lt.row()
    total = _total(per)
    row = total.row()
    result: dict[str, object] = {
        **row,
        "per_vocabulary": {k: v.row() for k, v in per.items()},
        "wrong_auto": total.errors,
        "lodo": {"labels": lodo_row["labels"], "top1": lodo_row["top1"], "auto_precision": lodo_row["precision"],
                 "auto_recall": lodo_row["recall"], "decided_share": lodo_row["auto"] / max(lodo_row["labels"], 1),
                 "f1": lodo_row["f1"], "wrong_auto": [f"{d}: {e}" for d, f in lodo.items() for e in f.errors]},
        "thresholds": {"accept": settings.map_accept_threshold, "review": settings.map_review_threshold,
                       "text_weight": settings.sim_text_weight, "struct_weight": settings.sim_struct_weight},
        "label_system_version": system.version,
        "seconds_fresh": round(t_fresh, 1), "seconds_total": round(time.perf_counter() - t0, 1),
        "load_average_at_start": [round(x, 2) for x in load],
        "machine_note": "shared 2-core machine, 5 helpers running at once",
    }
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Label mapping on fresh vocabularies (outside the 27 curated) and leave-one-dataset-out", "",
             f"Label system {system.version}; thresholds auto >= {settings.map_accept_threshold}, review >= "
             f"{settings.map_review_threshold}; load average at start {load[0]:.1f} (shared 2-core machine, "
             "5 helpers at once). Gold: benchmarks/data/fresh_vocab (written before the mapper ran).", "",
             "| set | labels | top-1 | P(auto) | R(auto) | decided (auto) share | pending | proposed |",
             "|---|---|---|---|---|---|---|---|"]
    for name, fr in [*per.items(), ("**fresh, all**", total)]:
        r = fr.row()
        lines.append(f"| {name} | {r['labels']} | {r['top1']:.3f} | {r['auto_precision']:.3f} | "
                     f"{r['auto_recall']:.3f} | {r['decided_share']:.3f} | {r['pending']} | {r['proposed']} |")
    lo = result["lodo"]
    assert isinstance(lo, dict)
    lines.append(f"| **LODO, 27 curated** | {lo['labels']} | {lo['top1']:.3f} | {lo['auto_precision']:.3f} | "
                 f"{lo['auto_recall']:.3f} | {lo['decided_share']:.3f} | | |")
    lines += ["", "Wrong auto-accepted (fresh):", "", *[f"- {e}" for e in total.errors], "",
              "Top-1 misses (fresh):", "", *[f"- {e}" for e in total.misses], "",
              "Wrong auto-accepted (LODO):", "", *[f"- {e}" for e in lo["wrong_auto"]], ""]
    RESULTS_MD.write_text("\n".join(lines))
    return result


if __name__ == "__main__":
    from rskg.settings import load_settings

    r = run(load_settings())
    print({k: r[k] for k in ("labels", "top1", "auto_precision", "auto_recall", "decided_share")}, r["lodo"])
