"""Cross-fitted tuning of HIR stage 2 on the UCMerced archive (issue 18).

Tuning HIR on the archive (archive images query the other archive images) with the protocol head is biased:
that head was trained on the archive, so every archive query is an image the head has seen and its stage-1
shortlist is cleaner than a test query's (archive mAP@10 0.970 vs test 0.942). Choices made there (class
weights, λ) did not transfer to the test queries.

Cross-fitting rebuilds the test's situation inside the archive: the archive is split into ``n_folds`` seeded,
class-stratified folds (``archive_folds``); for fold f a protocol head is trained on the *other* folds only, and
the archive images of fold f query the other folds' images (the images that head was trained on) with that
head's features and patch distributions: a query the head never saw against a database it was trained on,
as a test query against the archive. No archive image is ever scored by a head that saw it
(``fold_queries``). The fold shortlists (``rskg.evaluation.hir_levers.Shortlists``) are concatenated, and
every stage-2 configuration is chosen on them; the test queries are then scored with the head trained on the
whole archive.

Stage-2 scorers over one shortlist (``ap10``): ``cos - diffs @ w`` where ``diffs`` holds the per-class
``|x_c - y_c|`` of the distribution blocks (pixel fractions, 3x3 patch distribution) and ``w`` is one vector
or one per query (``per query class`` weighting: λ chosen per *predicted* query class, the majority label of
its stage-1 top ``VOTE_K``, ``predicted_class``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rskg.evaluation.hir_levers import Shortlists

VOTE_K = 10


def archive_folds(labels: np.ndarray, n_folds: int = 2, seed: int = 0) -> np.ndarray:
    """Fold id (0..n_folds-1) of every archive row: per class a seeded permutation dealt round-robin, so every
    fold holds about 1/n_folds of each class."""
    if n_folds < 2:
        raise ValueError("cross-fitting needs at least 2 folds")
    rng = np.random.default_rng(seed)
    out = np.full(len(labels), -1, np.int64)
    for c in sorted(set(np.asarray(labels).tolist())):
        rows = np.flatnonzero(labels == c)
        out[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % n_folds
    return out


@dataclass
class FoldQueries:
    """One fold: the archive rows that query (``queries``), the rows they search (``database``: the rows the
    fold's head was trained on) and that head's features / class distributions of every archive row."""

    fold: int
    queries: np.ndarray        # archive row indices
    database: np.ndarray       # archive row indices
    feats: np.ndarray          # (n_archive, D) features by the fold head
    dists: np.ndarray          # (n_archive, C) stage-2 distributions (head-dependent blocks by the fold head)


def fold_queries(folds: np.ndarray, feats: Sequence[np.ndarray], dists: Sequence[np.ndarray]) -> list[FoldQueries]:
    """``feats[f]`` / ``dists[f]``: every archive row by the head trained on the rows with fold != f."""
    out = []
    for f in range(int(folds.max()) + 1):
        out.append(FoldQueries(f, np.flatnonzero(folds == f), np.flatnonzero(folds != f), feats[f], dists[f]))
    return out


def shortlists(fq: Sequence[FoldQueries], labels: np.ndarray, k: int, rows: np.ndarray | None = None
               ) -> tuple[Shortlists, np.ndarray]:
    """Every fold's queries' first ``k`` stage-1 database rows (cosine of the fold head's features), one
    ``Shortlists`` over all folds (``rows``: bool per archive row, only those query) and each query's
    predicted class (``predicted_class``). ``Shortlists.rows`` are archive row indices."""
    parts: list[Shortlists] = []
    pred: list[np.ndarray] = []
    for f in fq:
        q = f.queries if rows is None else f.queries[rows[f.queries]]
        if not len(q):
            continue
        sims = f.feats[q] @ f.feats[f.database].T
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        s = Shortlists.of(order, sims, f.dists[q], f.dists[f.database], labels[q], labels[f.database], k)
        parts.append(Shortlists(s.sims, s.diffs, s.rel, f.database[s.rows]))
        pred.append(predicted_class(labels[f.database][order]))
    return concat(parts), np.concatenate(pred)


def test_shortlists(order: np.ndarray, sims: np.ndarray, q_dist: np.ndarray, a_dist: np.ndarray,
                    q_lab: np.ndarray, a_lab: np.ndarray, k: int) -> tuple[Shortlists, np.ndarray]:
    """The test queries' shortlists (head trained on the whole archive) and predicted classes."""
    return (Shortlists.of(order, sims, q_dist, a_dist, q_lab, a_lab, k),
            predicted_class(a_lab[order[:, :VOTE_K]]))


def concat(parts: Sequence[Shortlists]) -> Shortlists:
    return Shortlists(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("sims", "diffs", "rel", "rows")))


def truncate(s: Shortlists, k: int) -> Shortlists:
    return Shortlists(s.sims[:, :k], s.diffs[:, :k], s.rel[:, :k], s.rows[:, :k])


def predicted_class(neighbour_labels: np.ndarray, k: int = VOTE_K) -> np.ndarray:
    """The most frequent label among each row's first ``k`` stage-1 neighbours (ties: the one met first)."""
    out = []
    for row in neighbour_labels[:, :k]:
        vals, first, counts = np.unique(row, return_index=True, return_counts=True)
        out.append(vals[max(range(len(vals)), key=lambda i: (counts[i], -first[i]))])
    return np.asarray(out)


def ap10(s: Shortlists, w: np.ndarray) -> np.ndarray:
    """AP@10 per query of the shortlist ordered by ``cos - diffs @ w`` (``w``: (C,) or one row per query (Q, C);
    stable on ties, so w = 0 keeps stage 1). As ``metrics.ap_at_k`` (mean precision at the relevant ranks)."""
    w = np.asarray(w, np.float32)
    pen = s.diffs @ w if w.ndim == 1 else np.einsum("qkc,qc->qk", s.diffs, w)
    order = np.argsort(-(s.sims - pen), axis=1, kind="stable")[:, :10]
    r = np.take_along_axis(s.rel, order, 1).astype(np.float32)
    prec = np.cumsum(r, axis=1) / np.arange(1, r.shape[1] + 1, dtype=np.float32)
    return (r * prec).sum(axis=1) / np.maximum(r.sum(axis=1), 1.0)


def block_weights(blocks: Sequence[int], lams: Sequence[float]) -> np.ndarray:
    """One weight per column: ``lams[b]`` on every column of block b (``blocks`` = the blocks' widths)."""
    return np.concatenate([np.full(n, lam, np.float32) for n, lam in zip(blocks, lams, strict=True)])


@dataclass
class Variant:
    """A stage-2 scorer: ``fit(shortlists, predicted classes) -> params``, ``apply(shortlists, predicted,
    params) -> AP@10 per query``; ``describe(params)`` for the report."""

    name: str
    fit: Callable[[Shortlists, np.ndarray], Any]
    apply: Callable[[Shortlists, np.ndarray, Any], np.ndarray]
    describe: Callable[[Any], str]


def _tie_key(x: Any) -> Any:
    return tuple(-v for v in np.ravel(x)) if isinstance(x, tuple | list | np.ndarray) else -x


def grid_variant(name: str, blocks: Sequence[int], grid: Sequence[tuple[float, ...]], k_max: int,
                 ks: Sequence[int] = (75,)) -> Variant:
    """The (λ per block, shortlist length) of ``grid`` x ``ks`` with the best mean AP@10 (ties: the smaller
    λ, then K nearest ``k_max``'s default 75)."""

    def score(s: Shortlists, lams: tuple[float, ...], k: int) -> np.ndarray:
        return ap10(truncate(s, min(k, k_max)), block_weights(blocks, lams))

    def fit(s: Shortlists, _pred: np.ndarray) -> tuple[tuple[float, ...], int]:
        cands = [(lams, k) for lams in grid for k in ks]
        vals = {c: float(score(s, *c).mean()) for c in cands}
        return max(cands, key=lambda c: (vals[c], _tie_key(c[0]), -abs(c[1] - 75)))

    def apply(s: Shortlists, _pred: np.ndarray, p: tuple[tuple[float, ...], int]) -> np.ndarray:
        return score(s, *p)

    def describe(p: tuple[tuple[float, ...], int]) -> str:
        return f"λ={'/'.join(f'{x:g}' for x in p[0])}, K={p[1]}"

    return Variant(name, fit, apply, describe)


def per_class_variant(name: str, blocks: Sequence[int], grid: Sequence[tuple[float, ...]], k: int = 75,
                      min_queries: int = 20) -> Variant:
    """λ per block chosen per *predicted* query class (``predicted_class``); classes with fewer than
    ``min_queries`` fitting queries use the λ chosen over all of them."""

    def best(s: Shortlists) -> tuple[float, ...]:
        vals = {g: float(ap10(s, block_weights(blocks, g)).mean()) for g in grid}
        return max(grid, key=lambda g: (vals[g], _tie_key(g)))

    def fit(s: Shortlists, pred: np.ndarray) -> dict[str, tuple[float, ...]]:
        s = truncate(s, k)
        out = {"*": best(s)}
        for c in sorted(set(pred.tolist())):
            rows = pred == c
            if rows.sum() >= min_queries:
                out[str(c)] = best(s.subset(rows))
        return out

    def apply(s: Shortlists, pred: np.ndarray, p: dict[str, tuple[float, ...]]) -> np.ndarray:
        w = np.stack([block_weights(blocks, p.get(str(c), p["*"])) for c in pred])
        return ap10(truncate(s, k), w)

    def describe(p: dict[str, tuple[float, ...]]) -> str:
        own = {c: g for c, g in p.items() if c != "*" and g != p["*"]}
        return (f"λ={'/'.join(f'{x:g}' for x in p['*'])} (K={k}); {len(own)} predicted classes with their own λ"
                + (": " + ", ".join(f"{c} {'/'.join(f'{x:g}' for x in g)}" for c, g in sorted(own.items()))
                   if own else ""))

    return Variant(name, fit, apply, describe)


def learned_variant(name: str, k: int = 75, seed: int = 0) -> Variant:
    """Class weights of the pairwise logistic model (``hir_levers.fit_weights``) fitted on the shortlists."""
    from rskg.evaluation.hir_levers import fit_weights

    def fit(s: Shortlists, _pred: np.ndarray) -> np.ndarray:
        return fit_weights(truncate(s, k), seed=seed)

    def apply(s: Shortlists, _pred: np.ndarray, w: np.ndarray) -> np.ndarray:
        return ap10(truncate(s, k), w)

    def describe(w: np.ndarray) -> str:
        return f"learned class weights (K={k}; {int((w > 1e-4).sum())} non-zero, sum {float(w.sum()):.3f})"

    return Variant(name, fit, apply, describe)


def inner_cv(v: Variant, s: Shortlists, pred: np.ndarray, seed: int = 0, n: int = 2) -> float:
    """The mean of ``inner_cv_ap``."""
    return float(inner_cv_ap(v, s, pred, seed, n).mean())


def inner_cv_ap(v: Variant, s: Shortlists, pred: np.ndarray, seed: int = 0, n: int = 2) -> np.ndarray:
    """AP@10 of ``v`` over the cross-fitted archive queries, each query scored with parameters fitted
    on the *other* ``n``-1 parts of the queries (seeded split): how well the variant's own fitting
    generalises, comparable across variants with different numbers of parameters."""
    part = np.random.default_rng(seed).permutation(len(s.sims)) % n
    ap = np.zeros(len(s.sims))
    for f in range(n):
        fit_on, score_on = part != f, part == f
        ap[score_on] = v.apply(s.subset(score_on), pred[score_on], v.fit(s.subset(fit_on), pred[fit_on]))
    return ap


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean of a - b, 2.5 %, 97.5 % quantiles of that mean over ``n`` seeded resamples of the queries): is
    variant a's gain over b on the same queries more than the luck of which queries there are?"""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    idx = np.random.default_rng(seed).integers(0, len(d), (n, len(d)))
    means = d[idx].mean(axis=1)
    return float(d.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))
