"""Cross-fitted HIR tuning inside ``python -m benchmarks hir_composition`` (``rskg.evaluation.crossfit``): the
archive split into seeded folds, one protocol head per fold trained on the other folds, each fold's archive
images querying the other folds with that head; every stage-2 variant fitted there and scored on the test
queries with the head trained on the whole archive (the benchmark's protocol head). Beside it, the same
variants fitted on the plain archive (the biased way) and the current product default, in the same run."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rskg.evaluation import crossfit as X

FOLDS = (2, 5)       # 2 folds: half-size heads and databases; 5: 4/5 of the archive, nearer the test's
SEED = 0
LAMBDAS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
SHORTLISTS = (25, 50, 75, 100, 150)
K_MAX = max(SHORTLISTS)
BLOCKS = ("hard 224px fine", "soft 224px fine", "3x3 patch")
# the product default the cross-fitting was measured against: hir_source "both", one λ 0.02 for fractions
# and patch, K=75 (the settings before this section chose hir_composition_lambda 0.01 / hir_patch_lambda 0.1)
PREVIOUS_DEFAULT = 0.02


def _r(x: float) -> float:
    return round(float(x), 4)


def variants(widths: tuple[int, ...], product_lambda: float) -> list[X.Variant]:
    one = [(lam, 0.0, lam) for lam in LAMBDAS]
    fixed = ((product_lambda, 0.0, product_lambda), 75)
    default = X.Variant("previous product default (both, hard 224px fine + patch, one λ, K=75)",
                        lambda s, p: fixed, lambda s, p, q: X.ap10(X.truncate(s, q[1]), X.block_weights(widths, q[0])),
                        lambda q: f"λ={q[0][0]:g}, K=75 (fixed)")
    return [
        default,
        X.grid_variant("stage 1 only", widths, [(0.0, 0.0, 0.0)], K_MAX),
        X.grid_variant("patch", widths, [(0.0, 0.0, lam) for lam in LAMBDAS], K_MAX),
        X.grid_variant("composition (hard 224px fine)", widths, [(lam, 0.0, 0.0) for lam in LAMBDAS], K_MAX),
        X.grid_variant("both, one λ", widths, one, K_MAX),
        X.grid_variant("both, one λ + shortlist length", widths, one, K_MAX, SHORTLISTS),
        X.grid_variant("soft 224px fine + patch, one λ", widths, [(0.0, lam, lam) for lam in LAMBDAS], K_MAX),
        X.grid_variant("fusion: cos - λc·WMD(fractions) - λp·WMD(patch)", widths,
                       [(lc, 0.0, lp) for lc in LAMBDAS for lp in LAMBDAS], K_MAX),
        X.grid_variant("fusion + shortlist length", widths,
                       [(lc, 0.0, lp) for lc in LAMBDAS for lp in LAMBDAS], K_MAX, SHORTLISTS),
        X.per_class_variant("both, λ per predicted query class", widths, one),
        X.per_class_variant("fusion, λc/λp per predicted query class", widths,
                            [(lc, 0.0, lp) for lc in LAMBDAS for lp in LAMBDAS]),
        _learned(widths),
    ]


def _learned(widths: tuple[int, ...]) -> X.Variant:
    """Learned class weights on the product's blocks (hard fractions + patch; the soft block weighted 0)."""
    keep = np.concatenate([np.full(n, b != 1) for b, n in enumerate(widths)])
    inner = X.learned_variant("learned", 75, SEED)

    def cols(s: Any) -> Any:
        return X.Shortlists(s.sims, s.diffs[:, :, keep], s.rel, s.rows)

    def fit(s: Any, pred: np.ndarray) -> np.ndarray:
        w = np.zeros(len(keep), np.float32)
        w[keep] = inner.fit(cols(s), pred)
        return w

    return X.Variant("both, learned class weights (pairwise logistic)", fit,
                     lambda s, p, w: X.ap10(X.truncate(s, 75), w), lambda w: inner.describe(w[keep]))


def run(ev: Any, settings: Any, fracs: dict[tuple[str, int], np.ndarray], patch_raw: np.ndarray, n_folds: int = 2
        ) -> dict[str, Any]:
    from rskg.corpora.features import fused_features
    from rskg.corpora.ucm import FeatureSet, train_protocol_head
    from rskg.evaluation import cbir

    t0 = time.perf_counter()
    ucm = ev.ucm
    tr, te = ucm.split.train, ucm.split.test
    tr_idx = np.flatnonzero(tr)
    folds = X.archive_folds(ev.a_lab, n_folds, SEED)
    fused = fused_features(ucm.encoder, ucm.raw)
    comp = np.hstack([fracs[("hard", 224)], fracs[("soft", 224)]])
    widths = (fracs[("hard", 224)].shape[1], fracs[("soft", 224)].shape[1], ev.patch.shape[1])
    feats, dists = [], []
    for f in range(n_folds):
        rows = np.zeros(len(ucm.scene), bool)
        rows[tr_idx[folds != f]] = True
        head = train_protocol_head(ucm, settings, SEED, rows=rows)
        fs = FeatureSet(f"fold {f}", "", head.embed_numpy(fused), head)
        pd = cbir.distributions(ucm, fs, patch_raw, 3)[0]
        feats.append(fs.feats[tr])
        dists.append(np.hstack([comp, pd])[tr])
    t_heads = time.perf_counter() - t0
    fq = X.fold_queries(folds, feats, dists)
    full = np.hstack([comp, ev.patch])
    tables = {"all": (np.ones(len(ev.a_lab), bool), np.ones(len(ev.q_lab), bool)),
              "residential": (ev.res_a, ev.res_q)}
    out: dict[str, Any] = {"n_folds": n_folds, "seed": SEED, "blocks": list(BLOCKS), "heads_s": round(t_heads, 1),
                           "fold_sizes": [int((folds == f).sum()) for f in range(n_folds)], "tables": {}}
    vs = variants(widths, PREVIOUS_DEFAULT)
    for table, (ra, rq) in tables.items():
        cf, cf_pred = X.shortlists(fq, ev.a_lab, K_MAX, ra)
        a_order = np.argsort(-ev.a_sims[ra], axis=1, kind="stable")[:, :K_MAX]
        plain = X.Shortlists.of(a_order, ev.a_sims[ra], full[tr][ra], full[tr], ev.a_lab[ra], ev.a_lab, K_MAX)
        plain_pred = X.predicted_class(ev.a_lab[a_order])
        test, test_pred = X.test_shortlists(ev.order[rq][:, :K_MAX], ev.sims[rq], full[te][rq], full[tr],
                                            ev.q_lab[rq], ev.a_lab, K_MAX)
        rows_out = []
        cv_ap: dict[str, np.ndarray] = {}
        for v in vs:
            cv_ap[v.name] = X.inner_cv_ap(v, cf, cf_pred, SEED)
            p_cf = v.fit(cf, cf_pred)
            p_plain = v.fit(plain, plain_pred)
            rows_out.append({
                "variant": v.name, "crossfit_params": v.describe(p_cf), "plain_params": v.describe(p_plain),
                "crossfit_archive_map10": _r(v.apply(cf, cf_pred, p_cf).mean()),
                "crossfit_inner_cv_map10": _r(cv_ap[v.name].mean()),
                "plain_archive_map10": _r(v.apply(plain, plain_pred, p_plain).mean()),
                "test_map10_crossfit_chosen": _r(v.apply(test, test_pred, p_cf).mean()),
                "test_map10_plain_chosen": _r(v.apply(test, test_pred, p_plain).mean())})
        out["tables"][table] = rows_out
        out.setdefault("decision", {})[table] = decide(rows_out, cv_ap)
    out["runtime_s"] = round(time.perf_counter() - t0, 1)
    return out


def decide(rows: list[dict[str, Any]], cv_ap: dict[str, np.ndarray]) -> dict[str, Any]:
    """The variant with the best inner-CV archive mAP@10 against the previous product default (row 0): it *wins* when
    the paired bootstrap's 95 % interval of its per-query gain lies above 0; the test move it would bring."""
    default = rows[0]
    best = max(rows, key=lambda r: (r["crossfit_inner_cv_map10"], r is default))
    gain, lo, hi = X.paired_bootstrap(cv_ap[best["variant"]], cv_ap[default["variant"]], seed=SEED)
    return {"best": best["variant"], "params": best["crossfit_params"], "inner_cv_gain": _r(gain),
            "inner_cv_gain_ci95": [_r(lo), _r(hi)], "wins": bool(best is not default and lo > 0),
            "test_move": _r(best["test_map10_crossfit_chosen"] - default["test_map10_crossfit_chosen"])}


def markdown(c: dict[str, Any]) -> list[str]:
    lines = ["### Cross-fitted tuning (archive split into seeded folds; chosen on the cross-fitted archive)", "",
             f"{c['n_folds']} class-stratified folds of the archive (seed {c['seed']}, sizes {c['fold_sizes']}); "
             "for each fold a protocol head trained on the other folds only; the fold's archive images query the "
             "other folds' images (the ones that head was trained on) with that head's features and 3x3 patch "
             "distributions, so no archive image is scored by a head that saw it. Every variant is fitted on those "
             "shortlists and scored on the test queries with the head trained on the whole archive. 'inner CV' = "
             "the cross-fitted archive queries split in 2 (seeded), each half scored with parameters fitted on the "
             "other (what decides between variants with different numbers of parameters). 'plain' = the same "
             f"variant fitted on the ordinary archive (head trained on it; the biased way). Heads: "
             f"{c['heads_s']:.0f} s; section {c['runtime_s']:.0f} s.", ""]
    for table, rows in c["tables"].items():
        lines += [f"{table}:", "", "| variant | cross-fit params | cross-fit archive | inner CV | test (cross-fit "
                  "chosen) | plain params | plain archive | test (plain chosen) |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['variant']} | {r['crossfit_params']} | {r['crossfit_archive_map10']:.3f} | "
                  f"{r['crossfit_inner_cv_map10']:.3f} | {r['test_map10_crossfit_chosen']:.3f} | {r['plain_params']} "
                  f"| {r['plain_archive_map10']:.3f} | {r['test_map10_plain_chosen']:.3f} |" for r in rows]
        d = c["decision"][table]
        lines += ["", f"Decision ({table}): best inner CV **{d['best']}** ({d['params']}), gain over the previous "
                  f"product default {d['inner_cv_gain']:+.4f} (95 % paired bootstrap over the archive queries "
                  f"[{d['inner_cv_gain_ci95'][0]:+.4f}, {d['inner_cv_gain_ci95'][1]:+.4f}]): "
                  f"{'wins' if d['wins'] else 'does not win'} on the archive; on the test queries it would move "
                  f"mAP@10 by {d['test_move']:+.4f}.", ""]
    return lines
