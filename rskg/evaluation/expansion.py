"""Does the label-graph expansion (paper 000 Eq. 1, retrieval step 3) add *correct* supplementary samples, and
which Eq. 1 parameters are best? Measured on the UCMerced test split against its 17 multi-labels.

For each multi-label L (mapped to concept C by the label system) and each graph setting:

1. related concepts = Eq. 1 Dijkstra from C over SUBCLASS_OF + SIMILAR_TO (the synced Neo4j graph) +
   ADJACENT_TO recomputed from the *train* part only (UCMerced scene + multi-labels of the 1,470 train images,
   plus the Sentinel-2 CORINE labels): the product graph counts all 2,100 UCMerced images, which would leak
   the test images' labels into the expansion; the product keeps C, its subclasses and the ``MAX_RELATED``
   nearest others, as retrieval does;
2. each related concept R with prototype-source images (train images whose labels map to R or a subclass)
   gets 10 k-means prototypes; retrieved = test images among each prototype's k nearest (cosine >= the
   threshold), minus the *direct* samples (scene label maps to C or a subclass), as the pipeline does;
3. a retrieved image is correct when its ground truth contains L. Scores per label: precision, recall, F1 of
   the retrieved set over the non-direct test images; AP of the ranking of all non-direct test images by the
   pipeline's score max_R cos / (1 + d_R).

"no expansion" (max_distance 0) is the per-concept prototype search of ``rskg eval supplementary``; the other
rows show what walking the graph adds or costs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kg.label_graph import build_adjacency, dijkstra
from mappings.cooccurrence import Cooccurrence, Sample, s2_samples
from ontology.model import LabelSystem
from rskg.corpora.concepts import carriers, label_concepts, match_label
from rskg.evaluation import metrics as M
from rskg.evaluation.prototype_scoring import kmeans_prototypes, knn_retrieved

MAX_RELATED = 30          # as RetrievalRequest.max_related
K_PER_PROTOTYPE = 20
THRESHOLD = 0.6


@dataclass(frozen=True)
class GraphSetting:
    name: str
    alpha: float
    beta: float
    tau: float
    max_distance: float
    min_lift: float = 1.5
    adjacent: bool = True
    similar: bool = True
    score_threshold: bool = False        # threshold on cos / (1 + d) instead of cos (a related concept at distance
                                         # d must be (1 + d) times as similar to contribute)


def default_settings(alpha: float, beta: float, tau: float, max_distance: float, min_lift: float) -> list[GraphSetting]:
    """The product default, a radius sweep, a beta sweep, the paper's Eq. 1 as written, one edge type alone."""
    d = GraphSetting("product default", alpha, beta, tau, max_distance, min_lift)
    out = [GraphSetting("no expansion (C and subclasses)", alpha, beta, tau, 0.0, min_lift), d]
    out += [GraphSetting(f"max_distance {m:g}", alpha, beta, tau, m, min_lift) for m in (0.5, 1.0, 1.5, 2.0, 3.0)
            if m != max_distance]
    out += [GraphSetting(f"beta {b:g}", alpha, b, tau, max_distance, min_lift) for b in (1.0, 10.0, 200.0)
            if b != beta]
    out += [GraphSetting("paper Eq. 1 as first configured (beta 1, max_distance 2, raw counts: no lift floor)",
                         alpha, 1.0, tau, 2.0, 0.0),
            GraphSetting("product default, threshold on cos/(1+d)", alpha, beta, tau, max_distance, min_lift,
                         score_threshold=True),
            GraphSetting("SIMILAR_TO only", alpha, beta, tau, max_distance, min_lift, adjacent=False),
            GraphSetting("ADJACENT_TO only", alpha, beta, tau, max_distance, min_lift, similar=False)]
    return out


@dataclass
class Row:
    setting: GraphSetting
    per_label: dict[str, dict[str, float]] = field(default_factory=dict)

    def macro(self) -> dict[str, float]:
        keys = next(iter(self.per_label.values())).keys() if self.per_label else []
        return {k: M.macro_mean([v[k] for v in self.per_label.values()]) for k in keys}

    def weighted(self, weights: dict[str, int]) -> dict[str, float]:
        keys = next(iter(self.per_label.values())).keys() if self.per_label else []
        labels = list(self.per_label)
        return {k: M.weighted_mean([self.per_label[lab][k] for lab in labels], [weights[lab] for lab in labels])
                for k in keys}


@dataclass
class ExpansionResult:
    variant: str
    n_test: int
    rows: list[Row]
    concepts: dict[str, str]             # label -> concept
    positives: dict[str, int]            # label -> positives among non-direct test images
    skipped: list[str]
    n_adjacent: dict[float, int]         # min_lift -> ADJACENT_TO edges from the train part


def train_cooccurrence(system: LabelSystem, label_sets: list[dict[str, list[str]]], data_dir: object) -> Cooccurrence:
    """Co-occurrence as mappings.cooccurrence.real_cooccurrence counts it, from the given (train) images only."""
    from pathlib import Path

    co = Cooccurrence()
    samples: list[Sample] = [[(ls, lab) for ls, labs in sets.items() for lab in labs] for sets in label_sets]
    co.add(system, samples, "ucmerced-train")
    co.add(system, s2_samples(Path(str(data_dir))), "sentinel2_ms")
    return co


def graph_edges(base: list[dict[str, object]], co: Cooccurrence, min_count: int, s: GraphSetting
                ) -> list[dict[str, object]]:
    edges = [e for e in base if e["type"] == "SUBCLASS_OF" or (s.similar and e["type"] == "SIMILAR_TO")]
    if s.adjacent:
        edges += [{"a": r["a"], "b": r["b"], "type": "ADJACENT_TO", "cooccurrence": r["cooccurrence"]}
                  for r in co.rows(min_count, s.min_lift)]
    return edges


def run(system: LabelSystem, base_edges: list[dict[str, object]], co: Cooccurrence, min_count: int,
        feats: np.ndarray, train: np.ndarray, scene: list[str], label_sets: list[dict[str, list[str]]],
        truth: np.ndarray, truth_labels: list[str], settings: list[GraphSetting], variant: str,
        scene_set: str = "ucm", threshold: float = THRESHOLD, k: int = K_PER_PROTOTYPE,
        progress: Callable[[str], None] | None = None) -> ExpansionResult:
    test = ~train
    f = feats[test]
    gts = truth[test]
    test_scene = [s for s, t in zip(scene, test, strict=True) if t]
    src_sets = [label_sets[i] for i in np.flatnonzero(train)]
    src_feats = feats[train]
    src_concepts = [set().union(*(label_concepts(system, ls, lab) for ls, labs in sets.items() for lab in labs))
                    for sets in src_sets]
    scene_concepts = {s: label_concepts(system, scene_set, s) for s in set(test_scene)}
    protos: dict[str, np.ndarray | None] = {}

    def prototypes(cid: str) -> np.ndarray | None:
        if cid not in protos:
            members = carriers(system, cid, src_concepts)
            protos[cid] = kmeans_prototypes(src_feats[members]) if members.any() else None
        return protos[cid]

    adjs = {s: build_adjacency(graph_edges(base_edges, co, min_count, s), s.alpha, s.beta, s.tau)
            for s in settings}
    rows = [Row(s) for s in settings]
    concepts: dict[str, str] = {}
    positives: dict[str, int] = {}
    skipped: list[str] = []
    for j, label in enumerate(truth_labels):
        m = match_label(system, label, ["ucm_multilabel"])
        if m.concept_id is None or prototypes(m.concept_id) is None:
            skipped.append(label)
            continue
        c = m.concept_id
        direct = carriers(system, c, [scene_concepts[s] for s in test_scene])
        nd = ~direct
        positive = gts[:, j]
        if not (positive & nd).any():
            skipped.append(label)
            continue
        concepts[label], positives[label] = c, int((positive & nd).sum())
        for row in rows:
            found = dijkstra(adjs[row.setting], [c], row.setting.max_distance)
            ranked = sorted(found.values(), key=lambda r: (r.distance, r.concept_id))
            own = [r for r in ranked if r.distance == 0.0]
            near = [r for r in ranked if r.distance > 0.0][:MAX_RELATED]
            retrieved = np.zeros(len(f), bool)
            score = np.full(len(f), -np.inf)
            used = 0
            for r in own + near:
                p = prototypes(r.concept_id)
                if p is None:
                    continue
                used += 1
                thr = threshold * (1.0 + r.distance) if row.setting.score_threshold else threshold
                retrieved |= knn_retrieved(f, p, k, thr)
                score = np.maximum(score, (f @ p.T).max(axis=1) / (1.0 + r.distance))
            counts = M.binary_counts(retrieved[nd], positive[nd])
            pr, rc = counts["precision"], counts["recall"]      # precision is nan when nothing was retrieved
            f1 = 2 * pr * rc / (pr + rc) if not np.isnan(pr) and pr + rc > 0 else 0.0
            row.per_label[label] = {
                "reached": float(len(found)), "searched": float(used), "retrieved": float(retrieved[nd].sum()),
                "precision": pr, "recall": rc, "F1": f1,
                "AP": M.average_precision(score[nd], positive[nd])}
        if progress:
            progress(f"{variant}: {label} -> {c}")
    n_adj = {lift: len(co.rows(min_count, lift)) for lift in sorted({s.min_lift for s in settings})}
    return ExpansionResult(variant, int(test.sum()), rows, concepts, positives, skipped, n_adj)


def markdown(results: list[ExpansionResult], split: str, runtime_s: float, threshold: float, k: int
             ) -> tuple[str, dict[str, object]]:
    parts = ["## Label-graph expansion (paper 000 Eq. 1) and supplementary samples", "",
             f"UCMerced test images ({results[0].n_test}; split {split}); query = each of the 17 multi-labels "
             "mapped to its concept C; supplementary samples from the prototypes (10 k-means, train part) of C, "
             f"its subclasses and up to {MAX_RELATED} nearest related concepts (k = {k} per prototype, cosine >= "
             f"{threshold}), minus the direct samples; correct = the image's ground truth contains the label. "
             "ADJACENT_TO is recomputed from the train part only (the product graph counts all 2,100 images, "
             "which would leak the test labels); edges with min lift 1.5 / none: "
             + ", ".join(f"{n} (lift >= {lift:g})" for lift, n in results[0].n_adjacent.items())
             + f". Macro over labels; weighted = by positives. Runtime {runtime_s:.0f} s.", ""]
    summary: dict[str, object] = {}
    for res in results:
        parts += [f"### Features: {res.variant}", "",
                  "| graph setting | concepts reached | searched (with prototypes) | retrieved | precision | recall "
                  "| F1 | AP | weighted F1 |", "|---|---|---|---|---|---|---|---|---|"]
        best = max(res.rows, key=lambda r: r.macro().get("F1", 0.0))
        best_w = max(res.rows, key=lambda r: r.weighted(res.positives).get("F1", 0.0))
        for row in res.rows:
            m, w = row.macro(), row.weighted(res.positives)
            s = row.setting
            name = (f"{s.name} (alpha {s.alpha:g}, beta {s.beta:g}, tau {s.tau:g}, max_distance "
                    f"{s.max_distance:g}, lift >= {s.min_lift:g})")
            mark = (" **best macro F1**" if row is best else "") + (" **best weighted F1**" if row is best_w else "")
            parts.append(f"| {name}{mark} | {m['reached']:.1f} | {m['searched']:.1f} | {m['retrieved']:.1f} | "
                         f"{m['precision']:.3f} | {m['recall']:.3f} | {m['F1']:.3f} | {m['AP']:.3f} | "
                         f"{w['F1']:.3f} |")
            summary[f"{res.variant} / {s.name}"] = {"macro": m, "weighted": w}
        parts += ["", "Per label (product default vs no expansion), F1 / AP:", "",
                  "| label | concept | positives (non-direct) | no expansion | product default |",
                  "|---|---|---|---|---|"]
        no_exp, prod = res.rows[0], res.rows[1]
        for label, c in res.concepts.items():
            a, b = no_exp.per_label[label], prod.per_label[label]
            parts.append(f"| {label} | `{c}` | {res.positives[label]} | {a['F1']:.3f} / {a['AP']:.3f} | "
                         f"{b['F1']:.3f} / {b['AP']:.3f} |")
        if res.skipped:
            parts += ["", f"Skipped (no concept, no prototype-source image or no non-direct positive): "
                          f"{', '.join(res.skipped)}."]
        parts.append("")
    return "\n".join(parts), summary
