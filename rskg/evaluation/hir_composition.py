"""Paper 002 Tables IV and V with HIR stage 2 from pixel fractions (issue 18), beside stage 1 (CBIR) and the
patch-probability HIR (``rskg.evaluation.cbir``) in the same run, split and protocol.

Every UCMerced image is composed once by the segmentation head (``embeddings.segmentation.Segmenter``):
the share of each fine GID class, from the argmax mask (``hard``, as stored in the catalog) or the mean
probability (``soft``), at one or more input sides (GSD: 224 px = the head's training side, UCMerced
0.3 m; smaller sides = coarser GSD, nearer to Gaofen-2's; ``+`` = the mean over sides). Cached in
``cache_dir/composition/ucm-<head version>-<side>-<images digest>.npz``.

A configuration = fractions (hard/soft, side) x view (``fine`` 15 concepts | ``rollup`` + ancestors) x
(alone | concatenated with the patch distribution) x order (paper 002's pure WMD | fused ``cos - λ·WMD``)
x class weights (w=1 | buildings x 4). Every configuration is scored on the *archive* (each archive image
queries the other archive images; λ from ``LAMBDAS``), and the one with the best archive mAP@10 is the
reported composition HIR: per table (all classes: archive queries of every class; residential: archive
queries of the three sub-classes). The test queries are only scored, never used to choose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

from rskg.corpora.ucm import RESIDENTIAL, UCM, FeatureSet
from rskg.evaluation import cbir
from rskg.evaluation import metrics as M
from rskg.retrieval.hir_composition import classes_of, from_fine
from rskg.settings import Settings

BUILDING_CONCEPTS = ("industrial_land", "urban_fabric", "residential_land")   # paper 002's 'buildings' class
SIDES: tuple[tuple[int, ...], ...] = ((224,), (128,), (64,), (224, 128, 64))
# λ of the fused order: cbir.LAMBDAS' positive values and two smaller ones (a first run chose the smallest,
# 0.02, for every composition configuration: WMD over fractions spans [0, 2], cos differences are small)
LAMBDAS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


@dataclass(frozen=True)
class Config:
    fractions: str          # "hard" | "soft"
    sides: tuple[int, ...]
    view: str               # "fine" | "rollup"
    with_patch: bool        # concatenated with the 3x3 patch distribution
    order: str              # "paper" (pure WMD) | "fused" (cos - λ·WMD)
    w4: bool                # buildings x 4

    @property
    def name(self) -> str:
        if self.fractions == "patch":
            return f"3x3 patch distribution only, {self.order} w=1"
        side = "+".join(map(str, self.sides))
        return (f"{self.fractions} {side}px {self.view}{' +patch' if self.with_patch else ''} "
                f"{self.order} w={'4' if self.w4 else '1'}")


def _digest(images_sha: Sequence[str]) -> str:
    return hashlib.sha256("|".join(images_sha).encode()).hexdigest()[:12]


def ucm_fractions(settings: Settings, ucm: UCM, seg: object, side: int, batch: int = 32
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(hard, soft) (N, 15) fine-class shares of every UCMerced image at input ``side``, cached on disk."""
    from embeddings.segmentation import N_FINE, Segmenter

    assert isinstance(seg, Segmenter)
    path = settings.cache_dir / "composition" / f"ucm-{seg.version}-{side}-{_digest(ucm.images.sha256)}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["hard"], z["soft"]
    hard, soft = [], []
    for i in range(0, len(ucm.images), batch):
        p = seg.probabilities([ucm.images.load(j) for j in range(i, min(i + batch, len(ucm.images)))], side=side)
        soft.append(p.mean(axis=(2, 3)))
        m = p.argmax(1)
        hard.append(np.stack([np.bincount(x.ravel(), minlength=N_FINE)[:N_FINE] / x.size for x in m]))
    from rskg import atomic

    out = np.concatenate(hard).astype(np.float32), np.concatenate(soft).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.savez(path, hard=out[0], soft=out[1])
    return out


def label_ancestors(settings: Settings) -> dict[str, list[str]]:
    """Each fine concept's ancestors in the label system (offline: the ontology files, no Neo4j)."""
    from ontology.store import load_label_system
    from rskg.composition.backfill import FINE_CONCEPTS

    concepts = load_label_system(settings.ontology_dir).concepts

    def up(c: str) -> list[str]:
        out: list[str] = []
        for p in concepts[c].parents if c in concepts else []:
            for a in (p, *up(p)):
                if a not in out:
                    out.append(a)
        return out

    return {c: up(c) for c in FINE_CONCEPTS}


@dataclass
class Scored:
    config: Config
    lam: float                       # 0 for the paper's order
    archive: float                   # archive mAP@10 (all classes or residential queries)
    test: dict[str, float]           # test scores (mAP@10, mAP@20, P@10, P@20)
    order: np.ndarray                # the test ranking (per query)


def _rank(order: np.ndarray, sims: np.ndarray, q: np.ndarray, a: np.ndarray, w: np.ndarray, how: str,
          lam: float) -> np.ndarray:
    return cbir.hir_rerank(order, q, a, w) if how == "paper" else cbir.hir_fuse(order, sims, q, a, w, lam)


class Evaluation:
    """One feature variant: stage 1, the patch HIR and every composition configuration."""

    def __init__(self, ucm: UCM, fs: FeatureSet, patch: np.ndarray) -> None:
        self.ucm, self.fs, self.patch = ucm, fs, patch
        tr, te = ucm.split.train, ucm.split.test
        self.a_lab, self.q_lab = ucm.scene[tr], ucm.scene[te]
        self.res_q = np.isin(self.q_lab, RESIDENTIAL)
        self.res_a = np.isin(self.a_lab, RESIDENTIAL)
        self.order = M.ranking(fs.feats[te], fs.feats[tr])
        self.sims = fs.feats[te] @ fs.feats[tr].T
        a = fs.feats[tr]
        self.a_sims = a @ a.T
        np.fill_diagonal(self.a_sims, -np.inf)
        self.a_order = np.argsort(-self.a_sims, axis=1, kind="stable")[:, : 2 * cbir.K_SHORTLIST]

    def scores(self, order: np.ndarray, res: bool) -> dict[str, float]:
        if res:
            return cbir.score(order[self.res_q], self.q_lab[self.res_q], self.a_lab)
        return cbir.score(order, self.q_lab, self.a_lab)

    def _archive(self, dist: np.ndarray, w: np.ndarray, how: str, lam: float, res: bool) -> float:
        tr = self.ucm.split.train
        rows = self.res_a if res else np.ones(len(self.a_lab), bool)
        order = _rank(self.a_order[rows], self.a_sims[rows], dist[tr][rows], dist[tr], w, how, lam)
        return cbir.score(order, self.a_lab[rows], self.a_lab, (10,))["mAP@10"]

    def score_config(self, cfg: Config, dist: np.ndarray, w: np.ndarray, res: bool) -> Scored:
        """λ (fused order) and the archive score chosen on the archive; then the test ranking and scores."""
        lams = (0.0,) if cfg.order == "paper" else LAMBDAS
        arch = {lam: self._archive(dist, w, cfg.order, lam, res) for lam in lams}
        lam = max(lams, key=lambda x: (arch[x], -x))
        tr, te = self.ucm.split.train, self.ucm.split.test
        order = _rank(self.order, self.sims, dist[te], dist[tr], w, cfg.order, lam)
        return Scored(cfg, lam, arch[lam], self.scores(order, res), order)


def weights_for(classes: Sequence[str], n_extra: int, w4: bool) -> np.ndarray:
    w = np.ones(len(classes) + n_extra, np.float32)
    if w4:
        for i, c in enumerate(classes):
            if c in BUILDING_CONCEPTS:
                w[i] = 4.0
    return w


def configs(sides: Sequence[tuple[int, ...]] = SIDES) -> list[Config]:
    return [Config(f, s, v, p, o, w) for f, s, v, p, o, w in
            product(("hard", "soft"), sides, ("fine", "rollup"), (False, True), ("paper", "fused"), (False, True))]


def distribution(fracs: dict[tuple[str, int], np.ndarray], cfg: Config, ancestors: dict[str, list[str]],
                 patch: np.ndarray) -> tuple[np.ndarray, list[str]]:
    fine = np.mean([fracs[(cfg.fractions, s)] for s in cfg.sides], axis=0)
    classes = classes_of(cfg.view, ancestors)
    d = from_fine(fine, classes, ancestors)
    return (np.hstack([d, patch]) if cfg.with_patch else d), classes


def per_class(ev: Evaluation, order: np.ndarray) -> dict[str, float]:
    rel = ev.a_lab[order] == ev.q_lab[:, None]
    ap = np.asarray([M.ap_at_k(r, 10) for r in rel])
    return {str(c): round(float(ap[ev.q_lab == c].mean()), 4) for c in sorted(set(ev.q_lab.tolist()))}
