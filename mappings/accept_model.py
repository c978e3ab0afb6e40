"""Calibrated auto-accept decision of Algorithm 1 (issue 16): P(the first candidate is right) from its candidate list.

The margin rule of ``mappings.merge.is_auto`` (score, lead over the runner-up, lead over a broader / narrower
candidate) was tuned by hand; this module replaces it by a small logistic regression on features of each label's
candidate list, trained on leave-one-dataset-out decisions (``mappings.accept_train``) and thresholded at the
probability whose cross-validated precision reaches the target. The model is a JSON file (standardisation,
coefficients, threshold, provenance) at ``rskg.artifacts.accept_model_path``; when the file is missing the margin
rule stays in force.

Features (``FEATURES``; all from the candidates, the label text and the label system):
score / margin to the runner-up / margin to the third / lead over a broader-or-narrower candidate; the runner-up
is the first's broader or narrower concept; lexical match, unique lexical match, number of lexical candidates;
text and structure similarity of the first; the label's modifiers (count, agreeing, conflicting, the first's extra
ones, :mod:`mappings.modifiers`); token overlap (share of the label's content words in the first's names, share of
the best name's words in the label); label length; depth and number of children of the first concept in the
hierarchy; whether the first concept carries legend classes (LCCS/CORINE/ESA/WorldCover codes).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mappings import modifiers as M
from mappings.cooccurrence import ancestors
from mappings.similarity import Candidate
from ontology.model import LabelSystem
from ontology.normalize import words
from rskg.errors import ValidationError

FEATURES = ("score", "margin", "margin3", "hier_margin", "second_related", "lexical", "unique_lexical",
            "n_lexical", "text_sim", "struct_sim", "n_mods", "mod_agree", "mod_conflict", "mod_extra",
            "label_in_names", "name_in_label", "label_words", "depth", "log_children", "legend_linked")
FORMAT = 1


def _content(text: str) -> frozenset[str]:
    return M.bag(w for w in words(text) if len(w) > 1)


def names_of(system: LabelSystem, cid: str) -> list[str]:
    c = system.concepts.get(cid)
    return [c.pref_label, *c.alt_labels] if c is not None else []


def _children_counts(system: LabelSystem) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in system.concepts.values():
        if c.deprecated:
            continue
        for p in c.parents:
            out[p] = out.get(p, 0) + 1
    return out


class FeatureMaker:
    """Features of candidate lists against one label system (hierarchy facts computed once)."""

    def __init__(self, system: LabelSystem) -> None:
        self.system = system
        self.children = _children_counts(system)
        self._anc: dict[str, set[str]] = {}

    def ancestors(self, cid: str) -> set[str]:
        if cid not in self._anc:
            self._anc[cid] = ancestors(self.system, cid)
        return self._anc[cid]

    def related(self, a: str, b: str) -> bool:
        """``a`` and ``b`` are broader / narrower of each other."""
        return a in self.ancestors(b) or b in self.ancestors(a)

    def vector(self, label: str, cands: Sequence[Candidate]) -> np.ndarray:
        if not cands:
            return np.zeros(len(FEATURES), np.float64)
        top = cands[0]
        s2 = cands[1].score if len(cands) > 1 else 0.0
        s3 = cands[2].score if len(cands) > 2 else 0.0
        hier = 1.0
        for c in cands[1:]:
            if self.related(top.concept_id, c.concept_id):
                hier = min(hier, top.score - c.score)
        mods, _ = M.modifiers(label)
        cmods, _ = M.modifiers(self.system.concepts[top.concept_id].pref_label
                               if top.concept_id in self.system.concepts else "")
        lw = _content(label)
        names = names_of(self.system, top.concept_id)
        name_words = frozenset().union(*(_content(n) for n in names)) if names else frozenset()
        best_name = max((len(_content(n) & lw) / max(len(_content(n)), 1) for n in names), default=0.0)
        concept = self.system.concepts.get(top.concept_id)
        vals = {
            "score": top.score, "margin": top.score - s2, "margin3": top.score - s3, "hier_margin": hier,
            "second_related": float(len(cands) > 1 and self.related(top.concept_id, cands[1].concept_id)),
            "lexical": float(top.lexical), "unique_lexical": float(top.lexical and sum(c.lexical for c in cands) == 1),
            "n_lexical": float(sum(c.lexical for c in cands)), "text_sim": top.text_sim, "struct_sim": top.struct_sim,
            "n_mods": float(len(mods)), "mod_agree": float(M.agreements(mods, cmods)),
            "mod_conflict": float(M.conflicts(mods, cmods)),
            "mod_extra": float(sum(1 for a in cmods if a not in mods)),
            "label_in_names": len(lw & name_words) / max(len(lw), 1), "name_in_label": best_name,
            "label_words": float(min(len(lw), 6)), "depth": float(len(self.ancestors(top.concept_id))),
            "log_children": math.log1p(self.children.get(top.concept_id, 0)),
            "legend_linked": float(bool(concept and concept.lccs_codes)),
        }
        return np.array([vals[f] for f in FEATURES], np.float64)

    def matrix(self, rows: Sequence[tuple[str, Sequence[Candidate]]]) -> np.ndarray:
        return np.stack([self.vector(lb, c) for lb, c in rows]) if rows else np.zeros((0, len(FEATURES)))


@dataclass
class AcceptModel:
    """Standardised logistic regression: p = sigmoid(coef · (x - mean) / scale + intercept); auto iff p >= threshold."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    trained_on: dict[str, Any] = field(default_factory=dict)   # provenance: sets, counts, CV precision, version
    format: int = FORMAT

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def probability(self, fm: FeatureMaker, label: str, cands: Sequence[Candidate]) -> float:
        return float(self.probabilities(fm.vector(label, cands)[None, :])[0]) if cands else 0.0

    def is_auto(self, fm: FeatureMaker, label: str, cands: Sequence[Candidate]) -> bool:
        return bool(cands) and self.probability(fm, label, cands) >= self.threshold

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> AcceptModel:
        try:
            raw = json.loads(path.read_text())
            model = cls(**raw)
        except (OSError, ValueError, TypeError) as exc:
            raise ValidationError(f"cannot read the accept model {path}: {exc}",
                                  "Retrain it with `rskg map train-accept` (or delete the file to use the "
                                  "margin rule).") from exc
        if model.format != FORMAT or list(model.features) != list(FEATURES):
            raise ValidationError(f"accept model {path} was trained with other features ({model.features})",
                                  "Retrain it with `rskg map train-accept`.")
        return model


def load_if_present(path: Path) -> AcceptModel | None:
    """The model at ``path``, or None when there is no file (the margin rule applies)."""
    return AcceptModel.load(path) if path.is_file() else None
