"""Ranking levers for cross-dataset retrieval, CHOSEN ON INNER FOLDS, then reported on the LODO targets.

Same subsampled corpus and short heads as ``lodo_variants`` (``CAP`` images per reader, cached frozen
EfficientNet-lite0 features). For every LODO target family T, one head is trained without T (the outer
fold, exactly :func:`rskg.evaluation.lodo.run`) and, for every other family V, one head without T and V
(inner fold: V is the validation target, prototypes come from the remaining families). The scoring
variants below all use the SAME heads (only the ranking of a cell changes), so the inner-fold table picks a
variant without looking at any LODO target, and the outer table shows what that choice gives on the
targets, next to today's default (prototype cosine) in the same run. Nested selection (per outer fold, the
variant best on ITS inner folds) is reported too: the honest estimate of "pick on inner folds".

Variants of a (target, concept) cell's ranking:
- prototypes: cosine to the concept's k-means prototypes of the head embedding (k = 10 today; 1 = the
  members' mean; 3, 30), soft-max over prototypes, mean cosine of the 10 nearest members (kNN);
- the head's P(C), and P(C) maxed over C's descendants (label-system hierarchy); prototypes of C and of its
  descendants, maxed;
- fusion of the two: rank or z-score averages (need the ranked population's statistics) and the
  per-sample ``cosine + w * logit(P(C))`` (:func:`rskg.retrieval.scoring.concept_score`, the product's);
- test-time zoom: the target image also encoded as its centre crop (half the side, objects 2x larger at
  the network input), embeddings averaged / probabilities averaged (re-encodes the targets once, cached).

Writes the section ``INNER`` of benchmarks/results/lodo_variants.md and the key ``inner_folds`` of
lodo_variants.json. 15-25 min on 2 shared cores: run it by name (``python -m benchmarks lodo_inner``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from rskg.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "benchmarks" / "results" / "lodo_variants.md"
INNER = "## Inner-fold selection of the ranking (`python -m benchmarks lodo_inner`)"
IN_MAKE_BENCH = False
WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5)
TODAY = "prototypes k=10 (today)"
# the product-feasible family: per-sample score, 10 k-means prototypes (the prototype store's k)
PRODUCT_FAMILY = tuple(f"cos + {w} logit P(C)" for w in WEIGHTS)


def _zoom_raw(settings: Settings, enc: Any, corpus: Any) -> np.ndarray:
    """Raw stages of every corpus image's centre crop (half side), cached per feature version + images."""
    import hashlib

    from rskg import atomic

    shas = [s for p in corpus.parts for s in p.images.sha256]
    key = hashlib.sha256("|".join(shas).encode()).hexdigest()[:12]
    path = settings.cache_dir / "tta_zoom" / f"{enc.feature_version}-{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return np.asarray(z["raw"])
    out = []
    for p in corpus.parts:
        for s in range(0, len(p.images), 32):
            rows = range(s, min(len(p.images), s + 32))
            imgs = [p.images.load(i) for i in rows]
            crops = [a[a.shape[0] // 4 : a.shape[0] * 3 // 4, a.shape[1] // 4 : a.shape[1] * 3 // 4] for a in imgs]
            out.append(enc.encode_raw(crops, [p.images.gsd_m[i] for i in rows]))
    raw = np.vstack(out).astype(np.float32)
    atomic.savez(path, raw=raw)
    return raw


def _pct(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return np.asarray(rankdata(x) / len(x))


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def cell_scores(emb: np.ndarray, proba_c: np.ndarray | None, members: np.ndarray, ranked: np.ndarray,
                desc_members: list[np.ndarray], desc_proba: list[np.ndarray],
                zoom: tuple[np.ndarray, np.ndarray | None] | None) -> dict[str, np.ndarray]:
    """Every variant's scores of the ranked rows for one concept (see the module docstring)."""
    from rskg.evaluation.prototype_scoring import kmeans_prototypes
    from rskg.retrieval.scoring import concept_score, logit

    def proto(feats: np.ndarray, mem: np.ndarray, k: int = 10, tau: float | None = None) -> np.ndarray:
        sims = feats[ranked] @ kmeans_prototypes(feats[mem], k=k).T
        if tau is None:
            return np.asarray(sims.max(1))
        m = sims.max(1, keepdims=True)
        return np.asarray((m + tau * np.log(np.exp((sims - m) / tau).sum(1, keepdims=True)))[:, 0])

    sc: dict[str, np.ndarray] = {}
    p10 = sc[TODAY] = proto(emb, members)
    sc["prototypes k=1 (mean)"] = p1 = proto(emb, members, 1)
    sc["prototypes k=3"] = proto(emb, members, 3)
    sc["prototypes k=30"] = proto(emb, members, 30)
    sc["prototypes k=10 soft-max t=0.05"] = proto(emb, members, tau=0.05)
    sims = emb[ranked] @ emb[members].T
    sc["kNN-10 members"] = -np.sort(-sims, axis=1)[:, : min(10, sims.shape[1])].mean(1)
    sc["prototypes k=10, max with descendants' prototypes"] = np.max(
        [p10, *[proto(emb, m) for m in desc_members]], axis=0)
    pc = p10 if proba_c is None else proba_c
    sc["P(C)"] = pc
    sc["P(C), max with descendants"] = np.max([pc, *desc_proba], axis=0) if proba_c is not None else pc
    sc["rank fusion 0.5/0.5"] = 0.5 * _pct(p10) + 0.5 * _pct(pc)
    sc["rank fusion 0.25 cos / 0.75 P"] = 0.25 * _pct(p10) + 0.75 * _pct(pc)
    sc["z fusion cos + logit P"] = _z(p10) + _z(logit(pc))
    for w in WEIGHTS:
        sc[f"cos + {w} logit P(C)"] = concept_score(p10, proba_c, w)
    sc["k=1 cos + 0.2 logit P(C)"] = concept_score(p1, proba_c, 0.2)
    if zoom is not None:
        z_emb, z_p = zoom
        e = emb.copy()
        e[ranked] = z_emb[ranked]
        pz = proto(e, members)
        pm = pc if z_p is None or proba_c is None else 0.5 * (pc + z_p)
        sc["zoom TTA: prototypes k=10 (mean emb)"] = pz
        sc["zoom TTA: P(C) mean"] = pm
        for w in (0.1, 0.2, 0.3):
            sc[f"zoom TTA: cos + {w} logit P(C)"] = concept_score(pz, None if proba_c is None else pm, w)
    return sc


def evaluate(settings: Settings, cap: int | None = None) -> dict[str, Any]:
    from benchmarks.lodo_variants import CAP, CONFIG, load_subsample
    from embeddings.backbone import fuse
    from embeddings.faiss_index import l2n
    from rskg.corpora.concepts import descendants
    from rskg.corpora.features import encoder
    from rskg.evaluation import metrics as M
    from rskg.evaluation.lodo import MIN_MEMBERS, RECALL, target_concepts
    from rskg.headtrain.corpus import FAMILIES
    from rskg.headtrain.fit import fit, vocab_labels
    from rskg.headtrain.targets import concept_targets
    from rskg.headtrain.train import ConceptTrainConfig
    from rskg.label_mapping import load_system

    t_all = time.perf_counter()
    system = load_system(settings)
    enc = encoder(settings, use_head=False)
    corpus = load_subsample(settings, enc, cap or CAP)
    fam = corpus.family_of()
    fused = fuse(corpus.raw(), enc.stage_dims, enc.fusion)
    t0 = time.perf_counter()
    zoom_fused = fuse(_zoom_raw(settings, enc, corpus), enc.stage_dims, enc.fusion)
    zoom_s = time.perf_counter() - t0
    full = concept_targets(system, corpus.label_sets(), vocab_labels(corpus), min_positives=1)
    col = {c: j for j, c in enumerate(full.concepts)}

    cfg = ConceptTrainConfig(**CONFIG)
    rows: list[dict[str, Any]] = []
    fit_s = 0.0
    for t in FAMILIES:
        for v in (None, *[f for f in FAMILIES if f != t]):
            t1 = time.perf_counter()
            f = fit(system, corpus, enc, exclude=(t,) if v is None else (t, v), config=cfg)
            fit_s += time.perf_counter() - t1
            emb, proba = f.head.embed_numpy(fused), f.head.predict_proba(fused)
            z_emb = l2n(0.5 * (emb + f.head.embed_numpy(zoom_fused)))
            z_proba = f.head.predict_proba(zoom_fused)
            hcol = {c: j for j, c in enumerate(f.head.cfg.labels)}
            ev = t if v is None else v
            tgt = (fam == ev) & (~corpus.trainable() if ev == "eurosat" else np.ones(len(fam), bool))
            for c in target_concepts(system, corpus, tgt):
                j = col[c]
                members = f.train_rows & (full.y[:, j] > 0)
                ranked = tgt & full.known[:, j]
                rel = full.y[ranked, j] > 0
                if members.sum() < MIN_MEMBERS or not rel.any() or rel.all():
                    continue
                d = [x for x in sorted(descendants(system, c) - {c}) if x in col]
                d_mem = [m for m in (f.train_rows & (full.y[:, col[x]] > 0) for x in d) if m.sum() >= MIN_MEMBERS]
                hc = hcol.get(c)
                sc = cell_scores(emb, None if hc is None else proba[ranked, hc], members, ranked, d_mem,
                                 [proba[ranked, hcol[x]] for x in d if x in hcol],
                                 (z_emb, None if hc is None else z_proba[ranked, hc]))
                sc["pretrained prototypes k=10"] = cell_scores(
                    fused, None, members, ranked, [], [], None)[TODAY]
                rows.append({"outer": t, "inner": v, "target": ev, "concept": c, "relevant": int(rel.sum()),
                             "ranked": int(ranked.sum()),
                             "ap": {k: round(M.average_precision(x, rel), 4) for k, x in sc.items()},
                             "p": {k: round(M.precision_at_recall(x, rel, RECALL), 4) for k, x in sc.items()}})
            print("lodo_inner", t, v, len(rows), round(time.perf_counter() - t_all), flush=True)
    (settings.cache_dir / "lodo_inner_rows.json").write_text(json.dumps(rows), encoding="utf-8")  # re-summarise
    return summarise(rows, {"cap": cap or CAP, "config": CONFIG, "zoom_encode_s": round(zoom_s, 1),
                            "fit_s": round(fit_s, 1), "seconds": round(time.perf_counter() - t_all, 1),
                            "load": round(os.getloadavg()[0], 1), "n_images": int(len(fam))})


def summarise(rows: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    from rskg.headtrain.corpus import FAMILIES

    names = list(rows[0]["ap"])

    def macro(name: str, inner: bool, outer: str | None = None, key: str = "ap") -> float:
        vals = [r[key][name] for r in rows
                if (r["inner"] is not None) == inner and (outer is None or r["outer"] == outer)]
        return round(float(np.mean(vals)), 4) if vals else float("nan")

    inner = {n: macro(n, True) for n in names}
    outer = {n: macro(n, False) for n in names}
    outer_p = {n: macro(n, False, key="p") for n in names}
    per_target = {n: {t: macro(n, False, t) for t in FAMILIES} for n in names}
    cands = [n for n in names if not n.startswith("pretrained")]
    nested: dict[str, Any] = {}
    for t in FAMILIES:
        inner_t = {n: macro(n, True, t) for n in cands}
        best = max(cands, key=inner_t.__getitem__)
        nested[t] = {"chosen": best, "inner_map": macro(best, True, t), "outer_map": per_target[best][t]}
    n_outer = [sum(r["inner"] is None and r["outer"] == t for r in rows) for t in FAMILIES]
    nested_macro = round(sum(nested[t]["outer_map"] * n for t, n in zip(FAMILIES, n_outer, strict=True))
                         / max(1, sum(n_outer)), 4)
    return {**meta, "n_inner_cells": sum(r["inner"] is not None for r in rows),
            "n_outer_cells": sum(n_outer), "inner_macro_map": inner, "outer_macro_map": outer,
            "outer_macro_p_at_r065": outer_p, "outer_per_target": per_target,
            "best_inner": max(cands, key=lambda n: inner[n]),
            "best_inner_product_family": max(PRODUCT_FAMILY, key=lambda n: inner[n]),
            "nested": nested, "nested_outer_macro_map": nested_macro, "cells": rows}


def markdown(r: dict[str, Any]) -> str:
    from rskg.headtrain.corpus import FAMILIES
    from rskg.retrieval.scoring import HEAD_WEIGHT

    names = list(r["inner_macro_map"])
    lines = [INNER, "", __doc__.split("\n\n", 1)[1].split("Writes")[0].strip(), "",
             f"Cap {r['cap']} images per reader ({r['n_images']} images); head {r['config']['epochs']} epochs x "
             f"{r['config']['per_family']} per family, no cached views; {r['n_inner_cells']} inner cells, "
             f"{r['n_outer_cells']} outer (LODO) cells. Run time {r['seconds']:.0f} s (25 head fits "
             f"{r['fit_s']:.0f} s, zoom views encoded in {r['zoom_encode_s']:.0f} s), load average {r['load']} "
             "at the end (2 shared cores).", "",
             "| ranking | inner-fold macro mAP (selection) | LODO macro mAP | LODO P@R≥0.65 | "
             + " | ".join(FAMILIES) + " |", "| --- |" + " --- |" * (3 + len(FAMILIES))]
    for n in names:
        b = "**" if n in (r["best_inner"], r["best_inner_product_family"], TODAY) else ""
        lines.append(f"| {b}{n}{b} | {r['inner_macro_map'][n]:.3f} | {r['outer_macro_map'][n]:.3f} | "
                     f"{r['outer_macro_p_at_r065'][n]:.3f} | "
                     + " | ".join(f"{r['outer_per_target'][n][t]:.3f}" for t in FAMILIES) + " |")
    bi, bp = r["best_inner"], r["best_inner_product_family"]
    lines += ["", f"Chosen on the inner folds: overall **{bi}** (inner {r['inner_macro_map'][bi]:.3f}, LODO "
              f"{r['outer_macro_map'][bi]:.3f}); among per-sample scores on the prototype store's 10 prototypes "
              f"(what retrieval can rank by without re-encoding) **{bp}** (inner {r['inner_macro_map'][bp]:.3f}, "
              f"LODO {r['outer_macro_map'][bp]:.3f}, P@R≥0.65 {r['outer_macro_p_at_r065'][bp]:.3f}), against "
              f"today's {TODAY}: LODO {r['outer_macro_map'][TODAY]:.3f} / P@R≥0.65 "
              f"{r['outer_macro_p_at_r065'][TODAY]:.3f} in the same run. Product default: "
              f"rskg.retrieval.scoring.HEAD_WEIGHT = {HEAD_WEIGHT}.", "",
              "Nested selection (each LODO fold takes the variant best on its own inner folds): "
              + "; ".join(f"{t}: {v['chosen']} ({v['outer_map']:.3f})" for t, v in r["nested"].items())
              + f"; LODO macro mAP of the nested choice {r['nested_outer_macro_map']:.3f}."]
    return "\n".join(lines) + "\n"


def write(r: dict[str, Any], out: Path = OUT) -> None:
    md = out.read_text(encoding="utf-8").split(INNER)[0].rstrip() + "\n\n" if out.exists() else ""
    out.write_text(md + markdown(r), encoding="utf-8")
    js_path = out.with_suffix(".json")
    js = json.loads(js_path.read_text(encoding="utf-8")) if js_path.exists() else {}
    js["inner_folds"] = r
    js_path.write_text(json.dumps(js, indent=1, default=float) + "\n", encoding="utf-8")


LODO = REPO_ROOT / "benchmarks" / "results" / "eval_crossdataset_lodo"
LODO_SECTION = "## Ranking chosen on inner folds (subsampled corpus, `python -m benchmarks lodo_inner`)"


def write_lodo_section(r: dict[str, Any], base: Path = LODO) -> None:
    """The choice and its LODO numbers as a section of eval_crossdataset_lodo.md and its JSON (key
    ``scoring_inner_folds``: chosen, macro_map, macro_p_at_r065, per target, today's beside); the full-corpus
    keys stay as `rskg eval crossdataset --lodo` wrote them."""
    md_path, js_path = base.with_suffix(".md"), base.with_suffix(".json")
    md = md_path.read_text(encoding="utf-8")
    if LODO_SECTION in md:
        head, tail = md.split(LODO_SECTION, 1)
        nxt = tail.find("\n## ")
        md = head.rstrip() + "\n" + (tail[nxt:] if nxt >= 0 else "")
    bp = r["best_inner_product_family"]
    js = json.loads(js_path.read_text(encoding="utf-8"))
    pick = {k: {"macro_map": r["outer_macro_map"][k], "macro_p_at_r065": r["outer_macro_p_at_r065"][k],
                "per_target": r["outer_per_target"][k], "inner_macro_map": r["inner_macro_map"][k]}
            for k in (bp, TODAY, r["best_inner"], "pretrained prototypes k=10")}
    js["scoring_inner_folds"] = {"chosen": bp, "today": TODAY, "best_overall": r["best_inner"],
                                 "corpus": f"subsampled, cap {r['cap']} per reader ({r['n_images']} images)",
                                 "macro_map": pick[bp]["macro_map"], "macro_p_at_r065": pick[bp]["macro_p_at_r065"],
                                 "per_target": pick[bp]["per_target"], "variants": pick}
    js_path.write_text(json.dumps(js, indent=2, default=float) + "\n", encoding="utf-8")
    rows = "".join(f"| {k} | {v['inner_macro_map']:.3f} | {v['macro_map']:.3f} | {v['macro_p_at_r065']:.3f} |\n"
                   for k, v in pick.items())
    md_path.write_text(md.rstrip() + "\n\n" + LODO_SECTION + "\n\n"
                       f"The tables above are the last full-corpus run; its 'head score' column is the product's "
                       f"ranking, **{bp}** (rskg.retrieval.scoring), chosen on inner folds "
                       f"of the subsampled corpus ({r['n_images']} images, short heads, load {r['load']}); LODO "
                       "numbers of that corpus, same run:\n\n| ranking | inner-fold macro mAP | LODO macro mAP | "
                       "LODO P@R≥0.65 |\n| --- | --- | --- | --- |\n" + rows +
                       "\nFull table: benchmarks/results/lodo_variants.md.\n", encoding="utf-8")


def run(settings: Settings, out: Path = OUT) -> dict[str, Any]:
    r = evaluate(settings)
    write(r, out)
    write_lodo_section(r)
    return r
