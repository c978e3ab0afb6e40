"""Cross-dataset retrieval: prototypes from one dataset, scored on datasets they never saw.

For every source class (default: the UCMerced classes river, forest, beach, agricultural, dense residential,
parking lot, freeway) the label system maps the class to a concept C; its 10 k-means prototypes are built from
the source images (train part of the fixed split) whose scene label maps to C or a subclass. Every image of the
target datasets (EuroSAT RGB, NWPU-RESISC45, RSSCN7 subsets: 1,410 images) is scored by its best cosine
similarity to those prototypes and the whole target pool is ranked. A target image is relevant when the label
system maps its scene label (or a concept a disjunctive label covers, e.g. RSSCN7 'dRiverLake' -> river, lake)
to C or a subclass of C, or to C's direct non-root parent (EuroSAT 'Residential' counts for dense residential).
Per concept: average precision over the full ranking and the best precision at recall >= 0.65; macro means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ontology.model import LabelSystem
from rskg.corpora.concepts import carriers, is_same_concept, label_concepts, match_label
from rskg.corpora.images import EvalImages
from rskg.corpora.ucm import UCM
from rskg.evaluation import metrics as M
from rskg.evaluation.prototype_scoring import kmeans_prototypes

DEFAULT_CLASSES = ("river", "forest", "beach", "agricultural", "denseresidential", "parkinglot", "freeway")
DEFAULT_TARGETS = ("eurosat", "nwpu_resisc45", "rsscn7")
RECALL = 0.65


@dataclass
class ConceptScore:
    source_class: str
    concept_id: str
    how: str
    n_members: int
    n_relevant: int
    relevant_labels: list[str]
    ap: float
    p_at_r: float


@dataclass
class CrossResult:
    variant: str
    targets: dict[str, int]
    concepts: list[ConceptScore] = field(default_factory=list)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def macro_ap(self) -> float:
        return M.macro_mean([c.ap for c in self.concepts])

    @property
    def macro_p_at_r(self) -> float:
        return M.macro_mean([c.p_at_r for c in self.concepts])


def target_concepts(system: LabelSystem, targets: list[EvalImages]) -> tuple[list[set[str]], list[str]]:
    """Per target image: the concepts its scene label stands for, and a 'dataset:label' tag."""
    concepts: list[set[str]] = []
    tags: list[str] = []
    for t in targets:
        for lab in t.scene_labels():
            concepts.append(label_concepts(system, t.primary_set, lab))
            tags.append(f"{t.dataset}:{lab}")
    return concepts, tags


def run(system: LabelSystem, ucm: UCM, targets: list[EvalImages], target_feats: dict[str, np.ndarray],
        classes: tuple[str, ...] = DEFAULT_CLASSES) -> list[CrossResult]:
    """``target_feats``: variant name -> (sum of target sizes, dim) features, targets concatenated in order."""
    t_concepts, tags = target_concepts(system, targets)
    sizes = {t.dataset: len(t) for t in targets}
    train = ucm.split.train
    results = []
    for fs in ucm.variants:
        feats_t = target_feats[fs.name]
        res = CrossResult(fs.name, sizes)
        for cls in classes:
            m = match_label(system, cls, [ucm.images.primary_set])
            if m.concept_id is None:
                continue
            members = train & carriers(system, m.concept_id,
                                       [label_concepts(system, ucm.images.primary_set, s) for s in ucm.scene])
            if not members.any():
                continue
            scores = (feats_t @ kmeans_prototypes(fs.feats[members]).T).max(axis=1)
            relevant = np.asarray([is_same_concept(system, m.concept_id, c) for c in t_concepts])
            if not relevant.any():
                continue
            res.concepts.append(ConceptScore(
                cls, m.concept_id, m.how, int(members.sum()), int(relevant.sum()),
                sorted({tags[i] for i in np.flatnonzero(relevant)}),
                M.average_precision(scores, relevant), M.precision_at_recall(scores, relevant, RECALL)))
            res.curves[m.concept_id] = M.pr_curve(scores, relevant)
        results.append(res)
    return results


REFERENCE = {"pretrained EfficientNet-lite0 (issue baseline, 3-scale fusion, 10 prototypes/class)":
             {"macro P@R>=0.65": 0.29, "macro mAP": 0.34}}
