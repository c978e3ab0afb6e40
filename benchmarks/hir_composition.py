"""Paper 002 Tables IV/V with HIR stage 2 from the segmentation head's pixel fractions (issue 18), next to
stage 1 (CBIR) and the patch-probability HIR in the same run (``rskg.evaluation.hir_composition``).

Writes benchmarks/results/hir_composition.json (keys hir_map10, residential_map10 = the composition HIR of
the protocol-head features; stage1_*, patch_* in the same run; per-class values; every configuration tried
with its archive and test scores; machine load) and hir_composition.md.
The head: ``cache_dir/bench/segmentation.pt`` (`python -m benchmarks segmentation`), else the installed one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from rskg.settings import Settings

RESULTS = Path(__file__).parent / "results"
RUN_AFTER = ("segmentation",)         # `make bench`: the head it trains is the one composed with here
HEADLINE = "protocol head (train part, residential merged)"


def _round(d: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in d.items()}


def evaluate_variant(ev: Any, fracs: dict[tuple[str, int], np.ndarray], anc: dict[str, list[str]],
                     pd: np.ndarray) -> dict[str, Any]:
    from rskg.evaluation import cbir
    from rskg.evaluation import hir_composition as H

    ucm, fs = ev.ucm, ev.fs
    tr, te = ucm.split.train, ucm.split.test
    w1 = np.ones(pd.shape[1], np.float32)
    lam = cbir.tune_lambda(fs.feats[tr], ev.a_lab, pd[tr], w1)          # exactly as `rskg eval cbir`
    patch_fused = cbir.hir_fuse(ev.order, ev.sims, pd[te], pd[tr], w1, lam)
    patch_paper = cbir.hir_rerank(ev.order, pd[te], pd[tr], w1)
    out: dict[str, Any] = {
        "stage1": {"all": _round(ev.scores(ev.order, False)), "residential": _round(ev.scores(ev.order, True))},
        "patch_hir": {"lambda": lam, "all": _round(ev.scores(patch_fused, False)),
                      "residential": _round(ev.scores(patch_fused, True))},
        "patch_hir_paper_order": {"all": _round(ev.scores(patch_paper, False)),
                                  "residential": _round(ev.scores(patch_paper, True))},
    }
    tried: list[dict[str, Any]] = []
    best: dict[str, Any] = {}
    for table, res in (("all", False), ("residential", True)):
        scored = []
        for cfg in H.configs():
            if cfg.w4 and not res:            # paper 002 weights 'buildings' in Table V only
                continue
            dist, classes = H.distribution(fracs, cfg, anc, pd)
            w = H.weights_for(classes, dist.shape[1] - len(classes), cfg.w4)
            scored.append(ev.score_config(cfg, dist, w, res))
        # the patch distribution alone, chosen the same way (a like-for-like patch baseline)
        for how in ("paper", "fused"):
            pc = H.Config("patch", (), "patch", True, how, False)
            scored.append(ev.score_config(pc, pd, w1, res))
        top = max(scored, key=lambda s: (s.archive, -s.lam))
        comp = [s for s in scored if s.config.fractions != "patch"]
        top_comp = max(comp, key=lambda s: (s.archive, -s.lam))
        best[table] = {"composition": top_comp, "overall": top}
        tried += [{"table": table, "config": s.config.name, "lambda": s.lam, "archive_map10": round(s.archive, 4),
                   **{f"test_{k}": round(v, 4) for k, v in s.test.items()}} for s in scored]
    ca, cr = best["all"]["composition"], best["residential"]["composition"]
    out["composition_hir"] = {
        "all": {"config": ca.config.name, "lambda": ca.lam, "archive_map10": round(ca.archive, 4),
                **_round(ca.test)},
        "residential": {"config": cr.config.name, "lambda": cr.lam, "archive_map10": round(cr.archive, 4),
                        **_round(cr.test)},
    }
    out["best_on_archive"] = {t: {"config": b["overall"].config.name, "archive_map10": round(b["overall"].archive, 4)}
                              for t, b in best.items()}
    out["per_class_map10"] = {"stage1": H.per_class(ev, ev.order), "patch_hir": H.per_class(ev, patch_fused),
                              "composition_hir": H.per_class(ev, ca.order)}
    res_q = ev.res_q
    out["residential_per_class_map10"] = {
        c: {"stage1": round(float(_ap10(ev, ev.order)[res_q & (ev.q_lab == c)].mean()), 4),
            "patch_hir": round(float(_ap10(ev, patch_fused)[res_q & (ev.q_lab == c)].mean()), 4),
            "composition_hir": round(float(_ap10(ev, cr.order)[res_q & (ev.q_lab == c)].mean()), 4)}
        for c in sorted(set(ev.q_lab[res_q].tolist()))}
    out["tried"] = tried
    from benchmarks import _hir_levers

    out["levers"] = _hir_levers.run(ev, fracs, pd, H.LAMBDAS)
    # what the product computes (rskg.retrieval.hir: stored argmax fractions at the head's side, fine view,
    # fused order, w=1): hir_source "composition" and "both" (+ the 3x3 patch distribution)
    for key, cfg_name in (("product_composition", "hard 224px fine fused w=1"),
                          ("product_both", "hard 224px fine +patch fused w=1")):
        out[key] = {t["table"]: {"lambda": t["lambda"], "archive_map10": t["archive_map10"],
                                 "mAP@10": t["test_mAP@10"]} for t in tried if t["config"] == cfg_name}
    return out


def previous_default(head: dict[str, Any]) -> dict[str, Any]:
    """The former product default (``hir_source`` both, one λ 0.02, K=75) on the test queries, from the last
    (most folds) cross-fitting section, with that section's decision (all classes / residential)."""
    if not head.get("crossfit"):
        return {}
    c = head["crossfit"][-1]
    return {"previous_default_map10": c["tables"]["all"][0]["test_map10_crossfit_chosen"],
            "previous_default_residential_map10": c["tables"]["residential"][0]["test_map10_crossfit_chosen"],
            "crossfit_folds_deciding": c["n_folds"], "crossfit_decision": c["decision"]}


def product_default(ev: Any, settings: Settings, fracs: dict[tuple[str, int], np.ndarray]) -> dict[str, Any]:
    """Test mAP@10 of what ``rskg.retrieval.hir`` does by default (``hir_source``; λ ``hir_composition_lambda``
    on the stored hard 224 px fine fractions, ``hir_patch_lambda`` on the 3x3 patch distribution beside them
    (``hir_lambda`` when only patches take part); the shortlist ``cbir.K_SHORTLIST``), no tuning; all classes
    and residential sub-classes."""
    from rskg.evaluation import crossfit as X

    src, k = settings.hir_source, 75
    comp = fracs[("hard", 224)]
    lam_c = settings.hir_composition_lambda if src in ("both", "composition") else 0.0
    both_p = settings.hir_composition_lambda if settings.hir_patch_lambda is None else settings.hir_patch_lambda
    lam_p = {"both": both_p, "patch": settings.hir_lambda}.get(src, 0.0)
    dist = np.hstack([comp, ev.patch])
    w = X.block_weights((comp.shape[1], ev.patch.shape[1]), (lam_c, lam_p))
    tr, te = ev.ucm.split.train, ev.ucm.split.test
    out: dict[str, Any] = {"hir_source": src, "lambda_fractions": lam_c, "lambda_patch": lam_p, "shortlist": k}
    for table, rq in (("all", np.ones(len(ev.q_lab), bool)), ("residential", ev.res_q)):
        s, _ = X.test_shortlists(ev.order[rq][:, :k], ev.sims[rq], dist[te][rq], dist[tr], ev.q_lab[rq], ev.a_lab, k)
        out[table] = round(float(X.ap10(s, w).mean()), 4)
    return out


def _ap10(ev: Any, order: np.ndarray) -> np.ndarray:
    from rskg.evaluation import metrics as M

    rel = ev.a_lab[order] == ev.q_lab[:, None]
    return np.asarray([M.ap_at_k(r, 10) for r in rel])


def agreement(ucm: Any, fracs: dict[tuple[str, int], np.ndarray], sides: list[tuple[int, ...]]
              ) -> dict[str, dict[str, float]]:
    """UCMerced 17-label annotations vs the hard composition at each input side (or mean over sides): the AUC
    of the label's fine-class share as a score for the label (as `python -m benchmarks segmentation`)."""
    from sklearn.metrics import roc_auc_score

    from benchmarks.segmentation import UCM_CHECK
    from embeddings.segmentation import FINE_CLASSES

    names = [n for n, _ in FINE_CLASSES]
    out: dict[str, dict[str, float]] = {}
    for ss in sides:
        frac = np.mean([fracs[("hard", s)] for s in ss], axis=0)
        row = {}
        for label, fine in UCM_CHECK.items():
            has = ucm.truth[:, ucm.labels.index(label)]
            row[label] = round(float(roc_auc_score(has, frac[:, [names.index(f) for f in fine]].sum(1))), 4)
        out["+".join(map(str, ss))] = row
    return out


def run(settings: Settings) -> dict[str, Any]:
    from embeddings.segmentation import Segmenter
    from rskg.composition.train import seg_model_path
    from rskg.corpora.features import raw_features
    from rskg.corpora.ucm import load_ucm
    from rskg.evaluation import cbir
    from rskg.evaluation import hir_composition as H

    load0 = os.getloadavg()
    t0 = time.perf_counter()
    ucm = load_ucm(settings)
    patch_raw = raw_features(settings, ucm.encoder, ucm.images, progress=True, grid=3)
    path = settings.cache_dir / "bench" / "segmentation.pt"
    path = path if path.exists() else seg_model_path(settings)
    if not path.exists():
        from rskg.errors import ConfigError

        raise ConfigError("no segmentation head for the composition HIR benchmark",
                          "Run `python -m benchmarks segmentation` (or `rskg composition train`) first.")
    seg = Segmenter(path, onnx_dir=settings.cache_dir / "onnx", threads=settings.encoder_threads)
    t1 = time.perf_counter()
    sides = sorted({s for ss in H.SIDES for s in ss}, reverse=True)
    fracs: dict[tuple[str, int], np.ndarray] = {}
    for side in sides:
        hard, soft = H.ucm_fractions(settings, ucm, seg, side)
        fracs[("hard", side)], fracs[("soft", side)] = hard, soft
    t_frac = time.perf_counter() - t1
    anc = H.label_ancestors(settings)
    by_variant: dict[str, Any] = {}
    evs: dict[str, Any] = {}
    for fs in ucm.variants:
        pd = cbir.distributions(ucm, fs, patch_raw, 3)[0]
        evs[fs.name] = H.Evaluation(ucm, fs, pd)
        by_variant[fs.name] = evaluate_variant(evs[fs.name], fracs, anc, pd)
    head_name = HEADLINE if HEADLINE in by_variant else ucm.variants[-1].name
    head = by_variant[head_name]
    if head_name == HEADLINE:            # cross-fitting re-trains the protocol head on archive folds
        from benchmarks import _hir_crossfit

        head["crossfit"] = [_hir_crossfit.run(evs[HEADLINE], settings, fracs, patch_raw, n)
                            for n in _hir_crossfit.FOLDS]
    default = product_default(evs[head_name], settings, fracs)
    load1 = os.getloadavg()
    out: dict[str, Any] = {
        # the product default (settings hir_source / lambdas, K=75) on the headline features
        "hir_map10": default["all"], "residential_map10": default["residential"],
        "product_default": default,
        **previous_default(head),
        "best_composition_config_map10": head["composition_hir"]["all"]["mAP@10"],
        "best_composition_config_residential_map10": head["composition_hir"]["residential"]["mAP@10"],
        "stage1_map10": head["stage1"]["all"]["mAP@10"],
        "stage1_residential_map10": head["stage1"]["residential"]["mAP@10"],
        "patch_hir_map10": head["patch_hir"]["all"]["mAP@10"],
        "patch_residential_map10": head["patch_hir"]["residential"]["mAP@10"],
        "default_both_map10": head["product_both"]["all"]["mAP@10"],
        "default_both_residential_map10": head["product_both"]["residential"]["mAP@10"],
        "levers_stage1": head["levers"]["stage1_expansion"]["chosen"],
        "levers_both_on_chosen_stage1_map10": head["levers"]["stage1_expansion"]["both_hir_on_chosen_stage1"]["all"][
            "test_map10"],
        "levers_both_on_chosen_stage1_residential_map10": head["levers"]["stage1_expansion"][
            "both_hir_on_chosen_stage1"]["residential"]["test_map10"],
        "headline_features": HEADLINE if HEADLINE in by_variant else ucm.variants[-1].name,
        "default_hir_source": settings.hir_source,
        "default_hir_composition_lambda": settings.hir_composition_lambda,
        "segmentation_model": seg.version, "split": ucm.split.describe(), "shortlist_k": cbir.K_SHORTLIST,
        "sides_px": sides, "fractions_s": round(t_frac, 1), "runtime_s": round(time.perf_counter() - t0, 1),
        "load_avg_start": [round(x, 1) for x in load0], "load_avg_end": [round(x, 1) for x in load1],
        "machine": f"{os.cpu_count()} cores, possibly shared with other jobs (load averages above)",
        "ucm_agreement_auc_by_side": agreement(ucm, fracs, list(H.SIDES)),
        "by_features": by_variant,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hir_composition.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "hir_composition.md").write_text(markdown(out))
    return out


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Paper 002 Tables IV/V with HIR from pixel fractions (issue 18)", "",
        f"`python -m benchmarks hir_composition`: {r['split']}; stage 1 = cosine similarity of the features, "
        f"HIR re-ranks the top {r['shortlist_k']}. Segmentation head {r['segmentation_model']} (GID-MTL, never "
        f"saw UCMerced) composes all 2,100 images at input sides {r['sides_px']} px ({r['fractions_s']:.0f} s, "
        "cached). Every composition configuration is chosen **on the archive** (archive images query the "
        "archive; λ too); the test queries are only scored. Patch HIR = the current "
        "`rskg.retrieval.hir` (3x3 patches, fused cos-λ·WMD, λ tuned on the archive as `rskg eval cbir`).", "",
        f"Runtime {r['runtime_s']:.0f} s; load average {r['load_avg_start']} at start, {r['load_avg_end']} at end "
        f"({r['machine']}).", "",
        f"**Headline ({r['headline_features']}): all classes mAP@10 stage 1 {r['stage1_map10']:.3f}, patch HIR "
        f"{r['patch_hir_map10']:.3f}, best composition configuration {r['best_composition_config_map10']:.3f} "
        "(target 0.96); residential sub-classes "
        f"stage 1 {r['stage1_residential_map10']:.3f}, patch HIR {r['patch_residential_map10']:.3f}, best composition "
        f"HIR {r['best_composition_config_residential_map10']:.3f} (target 0.87).** The product default "
        f"(`hir_map10` / `residential_map10`: `{r['product_default']['hir_source']}`, λ fractions "
        f"{r['product_default']['lambda_fractions']:g} / patch {r['product_default']['lambda_patch']:g}, K=75, no "
        f"tuning) in the same run: **{r['hir_map10']:.3f} / {r['residential_map10']:.3f}**. "
        + (f"The previous default (one λ 0.02 for fractions and patch) in the same run: "
           f"{r['previous_default_map10']:.3f} / {r['previous_default_residential_map10']:.3f}; the current one is "
           f"the {r['crossfit_folds_deciding']}-fold cross-fitted archive's choice (all classes: "
           f"{r['crossfit_decision']['all']['best']}, {r['crossfit_decision']['all']['params']}, archive gain "
           f"{r['crossfit_decision']['all']['inner_cv_gain']:+.4f}, 95 % CI "
           f"[{r['crossfit_decision']['all']['inner_cv_gain_ci95'][0]:+.4f}, "
           f"{r['crossfit_decision']['all']['inner_cv_gain_ci95'][1]:+.4f}]; section 'Cross-fitted tuning'). "
           if "previous_default_map10" in r else "") +
        f"Best lever: the stage 1 chosen on the archive ({r['levers_stage1']['method']}, k={r['levers_stage1']['k']}, "
        f"α={r['levers_stage1']['alpha']:g}) under `both`: {r['levers_both_on_chosen_stage1_map10']:.3f} / "
        f"{r['levers_both_on_chosen_stage1_residential_map10']:.3f} (section 'Levers' per feature variant).", "",
        f"Product default: `hir_source` = `{r['default_hir_source']}`, `hir_composition_lambda` "
        f"{r['product_default']['lambda_fractions']:g}, `hir_patch_lambda` {r['product_default']['lambda_patch']:g} "
        "(the rows 'hir_source ...' below are the distributions `rskg.retrieval.hir` uses: stored argmax "
        "fractions, fine view, fused order, with one λ tuned on the plain archive).", "",
    ]
    ag = r["ucm_agreement_auc_by_side"]
    labels = list(next(iter(ag.values())))
    lines += ["## GSD: input side vs UCMerced label agreement (AUC, hard fractions)", "",
              "UCMerced is 0.3 m/px (256 px); GID-MTL's GSD is not documented (Gaofen-2 imagery: about 4 m "
              "multispectral, about 1 m pan-sharpened; which one the crops are is not stated). 224 px = the "
              "head's training side (~0.34 m here); 128 / 64 px = ~0.6 / "
              "~1.2 m; `224+128+64` = the mean of the three.", "",
              "| input side | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|",
              *[f"| {side} | " + " | ".join(f"{row[k]:.3f}" for k in labels) + " |" for side, row in ag.items()], ""]
    for name, v in r["by_features"].items():
        ca, cr = v["composition_hir"]["all"], v["composition_hir"]["residential"]
        lines += [f"## {name}", "", "| method | all mAP@10 | all mAP@20 | all P@10 | residential mAP@10 | "
                  "residential mAP@20 | residential P@10 |", "|---|---|---|---|---|---|---|"]
        for label, a, b in (("CBIR (stage 1)", v["stage1"]["all"], v["stage1"]["residential"]),
                            (f"patch HIR (fused, λ={v['patch_hir']['lambda']:g})", v["patch_hir"]["all"],
                             v["patch_hir"]["residential"]),
                            ("patch HIR, paper order", v["patch_hir_paper_order"]["all"],
                             v["patch_hir_paper_order"]["residential"])):
            lines.append(f"| {label} | {a['mAP@10']:.3f} | {a['mAP@20']:.3f} | {a['P@10']:.3f} | {b['mAP@10']:.3f} "
                         f"| {b['mAP@20']:.3f} | {b['P@10']:.3f} |")
        for label, key in (("hir_source composition (product: hard 224px fine fused)", "product_composition"),
                           ("hir_source both (product: + 3x3 patches)", "product_both")):
            pa, pr = v[key]["all"], v[key]["residential"]
            lines.append(f"| {label}, λ={pa['lambda']:g} / {pr['lambda']:g} | {pa['mAP@10']:.3f} | | | "
                         f"{pr['mAP@10']:.3f} | | |")
        lines += [f"| composition HIR, all: {ca['config']} λ={ca['lambda']:g} | {ca['mAP@10']:.3f} | "
                  f"{ca['mAP@20']:.3f} | {ca['P@10']:.3f} | | | |",
                  f"| composition HIR, residential: {cr['config']} λ={cr['lambda']:g} | | | | {cr['mAP@10']:.3f} | "
                  f"{cr['mAP@20']:.3f} | {cr['P@10']:.3f} |", "",
                  "Best on the archive among all configurations (patch ones included): " + "; ".join(
                      f"{t}: {b['config']} ({b['archive_map10']:.3f})" for t, b in v["best_on_archive"].items()), "",
                  "| residential class | stage 1 | patch HIR | composition HIR |", "|---|---|---|---|",
                  *[f"| {c} | {x['stage1']:.3f} | {x['patch_hir']:.3f} | {x['composition_hir']:.3f} |"
                    for c, x in v["residential_per_class_map10"].items()], "",
                  "Configurations (archive mAP@10 chooses; test mAP@10 shown, sorted by archive score, top 12 per "
                  "table):", "", "| table | configuration | λ | archive mAP@10 | test mAP@10 |",
                  "|---|---|---|---|---|"]
        for table in ("all", "residential"):
            rows = sorted((t for t in v["tried"] if t["table"] == table), key=lambda t: -t["archive_map10"])[:12]
            lines += [f"| {table} | {t['config']} | {t['lambda']:g} | {t['archive_map10']:.3f} | "
                      f"{t['test_mAP@10']:.3f} |" for t in rows]
        lines.append("")
        if "levers" in v:
            from benchmarks import _hir_levers

            lines += _hir_levers.markdown(v["levers"])
        if "crossfit" in v:
            from benchmarks import _hir_crossfit

            for c in v["crossfit"]:
                lines += _hir_crossfit.markdown(c)
    return "\n".join(lines) + "\n"
