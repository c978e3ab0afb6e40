"""The levers of ``rskg.evaluation.hir_levers`` measured inside ``python -m benchmarks hir_composition``: stage-1
query expansion / database-side augmentation, class weights learned on the archive, GSD-matched segmentation
input and the shortlist length per source. Each is chosen on the archive; the test queries are only scored."""

from __future__ import annotations

from typing import Any

import numpy as np

from rskg.evaluation import hir_levers as L

QE_K = (0, 1, 2, 3, 5, 10)
DBA_K = (0, 1, 2, 3, 5, 10, 20)
ALPHAS = (0.0, 1.0, 3.0)
SHORTLISTS = (25, 50, 75, 100, 150)
K = 75


def _r(x: float) -> float:
    return round(float(x), 4)


def _tables(ev: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"all": (np.ones(len(ev.a_lab), bool), np.ones(len(ev.q_lab), bool)), "residential": (ev.res_a, ev.res_q)}


def _stage1(ev: Any, a_sims: np.ndarray, q_sims: np.ndarray) -> dict[str, float]:
    ap_a = L.ap10_of_order(np.argsort(-a_sims, axis=1, kind="stable")[:, :10], ev.a_lab, ev.a_lab)
    ap_q = L.ap10_of_order(np.argsort(-q_sims, axis=1, kind="stable")[:, :10], ev.q_lab, ev.a_lab)
    return {"archive_map10": _r(ap_a.mean()), "archive_residential_map10": _r(ap_a[ev.res_a].mean()),
            "test_map10": _r(ap_q.mean()), "test_residential_map10": _r(ap_q[ev.res_q].mean())}


def expanded_sims(ev: Any, method: str, k: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(archive-on-archive sims with -inf diagonal, test-on-archive sims) of a stage-1 re-ranking."""
    tr, te = ev.ucm.split.train, ev.ucm.split.test
    a, q = ev.fs.feats[tr], ev.fs.feats[te]
    if method == "DBA":
        return L.dba_sims(a, k, alpha), q @ L.dba(a, k, alpha).T
    sa = L.alpha_qe(a, a, ev.a_sims, k, alpha) @ a.T
    np.fill_diagonal(sa, -np.inf)
    return sa, L.alpha_qe(q, a, ev.sims, k, alpha) @ a.T


def stage1_expansion(ev: Any) -> dict[str, Any]:
    """alpha-QE and DBA grids on stage 1; the (method, k, alpha) with the best archive mAP@10 (all queries)."""
    methods = (("alpha-QE", QE_K), ("DBA", DBA_K))
    params = [("none", 0, 0.0)] + [(m, k, al) for m, ks in methods for k in ks[1:] for al in ALPHAS]
    grid: list[dict[str, Any]] = [{"method": m, "k": k, "alpha": al, **_stage1(ev, *expanded_sims(ev, m, k, al))}
                                  for m, k, al in params]
    best = max(grid, key=lambda g: (g["archive_map10"], g["method"] == "none", -g["k"]))
    return {"grid": grid, "chosen": best}


def _shortlists(ev: Any, dist: np.ndarray, a_sims: np.ndarray, q_sims: np.ndarray, table: str, k: int = K
                ) -> tuple[L.Shortlists, L.Shortlists]:
    tr, te = ev.ucm.split.train, ev.ucm.split.test
    ra, rq = _tables(ev)[table]
    a_order = np.argsort(-a_sims[ra], axis=1, kind="stable")[:, :k]
    q_order = np.argsort(-q_sims[rq], axis=1, kind="stable")[:, :k]
    return (L.Shortlists.of(a_order, a_sims[ra], dist[tr][ra], dist[tr], ev.a_lab[ra], ev.a_lab, k),
            L.Shortlists.of(q_order, q_sims[rq], dist[te][rq], dist[tr], ev.q_lab[rq], ev.a_lab, k))


def hand(ev: Any, dist: np.ndarray, a_sims: np.ndarray, q_sims: np.ndarray, table: str, lambdas: Any,
         k: int = K) -> dict[str, float]:
    sa, sq = _shortlists(ev, dist, a_sims, q_sims, table, k)
    lam = L.best_lambda(sa, lambdas)
    ones = np.ones(dist.shape[1], np.float32)
    return {"lambda": lam, "shortlist": k, "archive_map10": _r(sa.map10(lam * ones)),
            "test_map10": _r(sq.map10(lam * ones))}


def run(ev: Any, fracs: dict[tuple[str, int], np.ndarray], pd: np.ndarray, lambdas: Any) -> dict[str, Any]:
    from benchmarks.segmentation import UCM_CHECK
    from embeddings.segmentation import FINE_CLASSES

    tr = ev.ucm.split.train
    out: dict[str, Any] = {}
    # 1. stage 1: alpha-QE / DBA, then the product's 'both' HIR on top of the chosen stage 1
    s1 = stage1_expansion(ev)
    chosen = s1["chosen"]
    a_sims, q_sims = expanded_sims(ev, chosen["method"], chosen["k"], chosen["alpha"])
    both = np.hstack([fracs[("hard", 224)], pd])
    out["stage1_expansion"] = {
        "grid": s1["grid"], "chosen": chosen,
        "both_hir_on_chosen_stage1": {t: hand(ev, both, a_sims, q_sims, t, lambdas) for t in _tables(ev)}}
    base_a, base_q = ev.a_sims, ev.sims
    # 2. class weights learned on the archive vs the hand-set lambda * 1 (2-fold archive split decides)
    sources = {"3x3 patch distribution": pd, "hard 224px fine +patch (product both)": both,
               "soft 224px fine +patch": np.hstack([fracs[("soft", 224)], pd]),
               "soft 224|128|64px side by side +patch": np.hstack([fracs[("soft", s)] for s in (224, 128, 64)] + [pd])}
    learned: list[dict[str, Any]] = []
    for name, dist in sources.items():
        for table in _tables(ev):
            sa, sq = _shortlists(ev, dist, base_a, base_q, table)
            cv = L.cross_fit(sa, lambdas)
            w = L.fit_weights(sa)
            lam = L.best_lambda(sa, lambdas)
            ones = np.ones(dist.shape[1], np.float32)
            learned.append({"source": name, "table": table, "archive_cv_hand": _r(cv["hand"]),
                            "archive_cv_learned": _r(cv["learned"]), "lambda": lam,
                            "test_hand": _r(sq.map10(lam * ones)), "test_learned": _r(sq.map10(w)),
                            "chosen": "learned" if cv["learned"] > cv["hand"] else "hand",
                            "weights_nonzero": int((w > 1e-4).sum()), "weights_sum": _r(w.sum())})
    out["learned_weights"] = learned
    # 3. GSD-matched input: per label's fine classes the side agreeing best with the archive multi-labels
    fine = [n for n, _ in FINE_CLASSES]
    gsd: list[dict[str, Any]] = []
    for kind in ("hard", "soft"):
        by_side = {s: fracs[(kind, s)] for s in (224, 128, 64)}
        sides = L.gsd_sides({s: f[tr] for s, f in by_side.items()}, ev.ucm.truth[tr], ev.ucm.labels, UCM_CHECK, fine)
        matched = L.gsd_matched(by_side, sides, fine)
        for table in _tables(ev):
            gsd.append({"fractions": kind, "table": table, "sides": {c: s for c, s in sides.items() if s != 224},
                        "matched": hand(ev, np.hstack([matched, pd]), base_a, base_q, table, lambdas),
                        "224px": hand(ev, np.hstack([by_side[224], pd]), base_a, base_q, table, lambdas)})
    out["gsd_matched"] = gsd
    # 4. shortlist length and lambda per source, chosen together on the archive
    per_source = {"patch": pd, "composition (hard 224px fine)": fracs[("hard", 224)], "both": both}
    sl: list[dict[str, Any]] = []
    for name, dist in per_source.items():
        for table in _tables(ev):
            rows = [hand(ev, dist, base_a, base_q, table, lambdas, k) for k in SHORTLISTS]
            best = max(rows, key=lambda r: (r["archive_map10"], r["shortlist"] == K, -r["shortlist"]))
            sl.append({"source": name, "table": table, "chosen": best,
                       "at_75": next(r for r in rows if r["shortlist"] == K)})
    out["shortlist"] = sl
    return out


def markdown(v: dict[str, Any]) -> list[str]:
    s1 = v["stage1_expansion"]
    c = s1["chosen"]
    none = next(g for g in s1["grid"] if g["method"] == "none")
    best_of = {m: max((g for g in s1["grid"] if g["method"] == m), key=lambda g: g["archive_map10"])
               for m in ("alpha-QE", "DBA")}
    lines = ["### Levers (each chosen on the archive; test only scored)", "",
             "Stage 1 re-ranking (mAP@10; archive = archive images query the archive, DBA leave-one-out):", "",
             "| stage 1 | k | α | archive | archive residential | test | test residential |",
             "|---|---|---|---|---|---|---|"]
    for label, g in (("plain cosine", none), *((f"best {m} on the archive", g) for m, g in best_of.items())):
        lines.append(f"| {label} | {g['k']} | {g['alpha']:g} | {g['archive_map10']:.3f} | "
                     f"{g['archive_residential_map10']:.3f} | {g['test_map10']:.3f} | "
                     f"{g['test_residential_map10']:.3f} |")
    bh = s1["both_hir_on_chosen_stage1"]
    lines += ["", f"Chosen on the archive: **{c['method']}** (k={c['k']}, α={c['alpha']:g}); the product's `both` HIR "
              f"on top of it: all {bh['all']['test_map10']:.3f} (λ={bh['all']['lambda']:g}), residential "
              f"{bh['residential']['test_map10']:.3f} (λ={bh['residential']['lambda']:g}).", "",
              "Class weights learned on the archive (pairwise logistic, w >= 0) vs hand-set λ·1; the 2-fold "
              "archive split (fit on one half of the archive queries, score the other) chooses:", "",
              "| distribution | table | archive CV hand | archive CV learned | chosen | test hand | test learned |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['source']} | {r['table']} | {r['archive_cv_hand']:.3f} | {r['archive_cv_learned']:.3f} | "
              f"{r['chosen']} | {r['test_hand']:.3f} | {r['test_learned']:.3f} |" for r in v["learned_weights"]]
    lines += ["", "GSD-matched segmentation input (per label's fine classes the side whose shares agree best with "
              "the archive's multi-labels; + patch distribution, λ on the archive):", "",
              "| fractions | table | sides other than 224 px | archive matched | archive 224 px | test matched | "
              "test 224 px |", "|---|---|---|---|---|---|---|"]
    for g in v["gsd_matched"]:
        sides = ", ".join(f"{c} {s}" for c, s in g["sides"].items()) or "none"
        lines.append(f"| {g['fractions']} | {g['table']} | {sides} | {g['matched']['archive_map10']:.3f} | "
                     f"{g['224px']['archive_map10']:.3f} | {g['matched']['test_map10']:.3f} | "
                     f"{g['224px']['test_map10']:.3f} |")
    lines += ["", f"Shortlist length {list(SHORTLISTS)} and λ per source, chosen together on the archive:", "",
              "| source | table | chosen K | λ | archive | test | test at K=75 |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['source']} | {r['table']} | {r['chosen']['shortlist']} | {r['chosen']['lambda']:g} | "
              f"{r['chosen']['archive_map10']:.3f} | {r['chosen']['test_map10']:.3f} | {r['at_75']['test_map10']:.3f} |"
              for r in v["shortlist"]]
    return [*lines, ""]
