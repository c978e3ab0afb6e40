"""Training data and fit of the calibrated accept model (``mappings.accept_model``), issue 16.

Training data: the curated leave-one-dataset-out (LODO) decisions. For each of the curated datasets D, the label
system as it was before D arrived (:func:`hide_dataset`: D's mappings and the altLabels only D contributed
hidden) maps D's labels; the example is (label, candidate list, first candidate is a curated concept). A second
pass hides every altLabel that spells one of D's labels (:func:`hide_spellings`), so the model also sees the
non-lexical decisions a new vocabulary needs (in plain LODO 91 % of the labels find an altLabel first).

Fit: standardised logistic regression (scikit-learn). The threshold is chosen on out-of-fold probabilities of a
grouped cross-validation (folds by dataset; a dataset's plain and hidden-spelling examples share a fold): the
lowest probability at which the auto-accepted out-of-fold examples reach ``target_precision`` (default 0.99), pooled
over the training groups (``per_group``: in every group; see ``fit``).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from embeddings.text import TextEncoder
from mappings.accept_model import FEATURES, AcceptModel, FeatureMaker
from mappings.merge import build_model
from mappings.osm import OsmVocab, norm
from mappings.similarity import Candidate, SimilarityModel, Weights
from mappings.vocab_context import vocabulary_pass
from mappings.wiki import WikiSummaries
from ontology.model import LabelSystem
from rskg.errors import ValidationError
from rskg.settings import Settings

TARGET_PRECISION = 0.99
FOLDS = 5
MIN_ACCEPTED = 30        # a threshold must auto-accept at least this many out-of-fold examples
C_REG = 1.0


@dataclass
class Example:
    group: str               # lodo | lodo_hard | fresh | fresh2 | fresh3 ...
    source: str              # dataset id / vocabulary file stem (the CV group)
    label: str
    gold: set[str]
    cands: list[Candidate]
    description: str = ""
    hold: str = ""                          # a vocabulary-level reason not to auto-accept (mappings.vocab_context)
    plain: list[Candidate] | None = None    # the candidates before the vocabulary pass (None: no pass was run)

    @property
    def correct(self) -> bool:
        return bool(self.cands) and self.cands[0].concept_id in self.gold


def hide_dataset(system: LabelSystem, dataset: str) -> LabelSystem:
    """The label system as it would be before ``dataset`` arrived: its mappings and every altLabel equal (after
    normalisation) to one of its labels and to no label of another dataset mapped to the same concept hidden."""
    held = [m for m in system.mappings if m.dataset == dataset]
    held_norm = {norm(m.name) for m in held}
    others: dict[str, set[str]] = {}
    for m in system.mappings:
        if m.dataset != dataset:
            others.setdefault(m.concept_id, set()).add(norm(m.name))
    concepts = {}
    for cid, c in system.concepts.items():
        keep = [a for a in c.alt_labels if norm(a) not in held_norm or norm(a) in others.get(cid, set())]
        concepts[cid] = replace(c, alt_labels=keep)
    return LabelSystem(concepts=concepts, datasets={k: v for k, v in system.datasets.items() if k != dataset},
                       mappings=[m for m in system.mappings if m.dataset != dataset], version=system.version)


def hide_spellings(system: LabelSystem, dataset: str) -> LabelSystem:
    """``hide_dataset`` plus every altLabel that spells one of the dataset's labels, whoever contributed it."""
    reduced = hide_dataset(system, dataset)
    held = {norm(m.name) for m in system.mappings if m.dataset == dataset}
    concepts = {cid: replace(c, alt_labels=[a for a in c.alt_labels if norm(a) not in held])
                for cid, c in reduced.concepts.items()}
    return LabelSystem(concepts=concepts, datasets=reduced.datasets, mappings=reduced.mappings,
                       version=reduced.version)


def lodo_examples(settings: Settings, system: LabelSystem, encoder: TextEncoder, osm: OsmVocab,
                  weights: Weights | None = None, legends: bool | None = None, hard: bool = False,
                  k: int | None = None, datasets: Sequence[str] | None = None,
                  context: bool = True) -> list[Example]:
    """One example per curated (dataset, label): candidates from the label system without that dataset.
    ``datasets``: only these folds (default: every curated dataset). ``context``: apply the vocabulary pass
    (``mappings.vocab_context``) over each dataset's labels."""
    w = weights or Weights(settings.sim_text_weight, settings.sim_struct_weight)
    wiki = WikiSummaries(settings, online=False)
    out: list[Example] = []
    for ds in sorted(set(datasets) if datasets is not None else {m.dataset for m in system.mappings}):
        reduced = hide_spellings(system, ds) if hard else hide_dataset(system, ds)
        model = build_model(settings, reduced, encoder, osm, w, wiki, legends=legends)
        gold: dict[str, str] = {}
        for m in system.mappings:
            if m.dataset == ds:
                gold.setdefault(m.name, m.concept_id)
        labels = sorted(gold)
        kk = max(3, k or settings.map_k)
        out += _examples(model, reduced, "lodo_hard" if hard else "lodo", ds, [(lb, {gold[lb]}, "") for lb in labels],
                         kk, context)
    return out


def _examples(model: SimilarityModel, system: LabelSystem | None, group: str, source: str,
              rows: Sequence[tuple[str, set[str], str]], k: int, context: bool) -> list[Example]:
    """Examples of one vocabulary; ``context``: with the vocabulary pass (``plain`` keeps the candidates before)."""
    labels = [lb for lb, _, _ in rows]
    plain = model.candidates(labels, k, descriptions=[d for _, _, d in rows])
    if not context or system is None:
        return [Example(group, source, lb, gold, c, d) for (lb, gold, d), c in zip(rows, plain, strict=True)]
    vp = vocabulary_pass(system, labels, plain, lambda more: model.candidates(list(more), k))
    return [Example(group, source, lb, gold, c, d, h, p)
            for (lb, gold, d), c, h, p in zip(rows, vp.cands, vp.holds, plain, strict=True)]


def read_gold(path: Path) -> list[tuple[str, set[str], str]]:
    """A gold vocabulary file: CSV with columns ``label``, ``gold`` (concept ids, ``a|b`` = equally right) and
    optionally ``description`` (benchmarks/data/fresh_vocab*/)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"label", "gold"} <= set(rows[0]):
        raise ValidationError(f"{path} has no 'label' and 'gold' columns",
                              "Write one row per label: label,gold[,note][,description].")
    return [(r["label"], set(r["gold"].split("|")), (r.get("description") or "").strip()) for r in rows]


def gold_examples(model: SimilarityModel, folder: Path, group: str, k: int, system: LabelSystem | None = None,
                  context: bool = True) -> list[Example]:
    """Examples from every gold vocabulary ``folder/*.csv`` (one source per file), mapped against ``model``;
    with ``context`` and ``system`` the vocabulary pass runs over each file's labels."""
    out: list[Example] = []
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise ValidationError(f"no gold vocabulary (*.csv) in {folder}",
                              "Point --extra at a folder like benchmarks/data/fresh_vocab.")
    for path in files:
        out += _examples(model, system, group, path.stem, read_gold(path), max(3, k), context)
    return out


def threshold_for(probs: np.ndarray, correct: np.ndarray, target: float = TARGET_PRECISION,
                  min_accepted: int = MIN_ACCEPTED) -> float:
    """Lowest threshold t (one of ``probs``) with precision(probs >= t) >= target and >= min_accepted accepted;
    1.0 (never auto) when none reaches it."""
    order = np.argsort(-probs, kind="stable")
    p, y = probs[order], correct[order].astype(np.float64)
    prec = np.cumsum(y) / np.arange(1, len(y) + 1)
    best = 1.0 + 1e-9
    for i in range(len(p)):
        if i + 1 >= min_accepted and prec[i] >= target and (i + 1 == len(p) or p[i + 1] < p[i]):
            best = float(p[i])
    return min(best, 1.0)


def _rates(y: np.ndarray, acc: np.ndarray) -> dict[str, float | int]:
    return {"examples": int(len(y)), "auto_precision": round(float(y[acc].mean()) if acc.any() else 0.0, 4),
            "decided_share": round(float(acc.mean()) if len(acc) else 0.0, 4)}


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=C_REG, max_iter=2000)
    clf.fit((x - mean) / scale, y)
    return mean, scale, clf.coef_[0], float(clf.intercept_[0])


def fit(examples: Sequence[Example], system: LabelSystem, target: float = TARGET_PRECISION,
        folds: int = FOLDS, per_group: bool = False) -> tuple[AcceptModel, dict[str, object]]:
    """The model fitted on all ``examples`` with the threshold from grouped CV; and the CV report.
    ``per_group``: the threshold must reach ``target`` on the out-of-fold examples of every group (lodo,
    lodo_hard, each extra vocabulary folder), not only pooled — the pooled figure is dominated by the curated
    LODO, whose labels mostly find a lexical match; default False: pooled. (Measured in
    benchmarks/results/mapping_fresh.md: with LODO + fresh + fresh2 no threshold reaches 0.99 in the fresh
    groups, whose most confident errors are lexical matches through an altLabel, so per_group accepts nothing.)"""
    from sklearn.model_selection import GroupKFold

    rows = [e for e in examples if e.cands and not e.hold]     # a held label is never auto: not the model's to decide
    y = np.array([e.correct for e in rows], dtype=np.int64)
    if len(rows) < 2 * folds or y.min() == y.max():
        raise ValidationError(f"{len(rows)} training examples ({int(y.sum())} correct): too few or one class only",
                              "Train on the curated label system (its datasets' mappings are the examples).")
    fm = FeatureMaker(system)
    x = fm.matrix([(e.label, e.cands) for e in rows])
    groups = np.array([e.source for e in rows])
    oof = np.zeros(len(rows))
    for tr, te in GroupKFold(n_splits=folds).split(x, y, groups):
        mean, scale, coef, b = _fit(x[tr], y[tr])
        oof[te] = AcceptModel(list(mean), list(scale), list(coef), b, 1.0).probabilities(x[te])
    thr = threshold_for(oof, y, target)
    names = sorted({e.group for e in rows})
    if per_group:
        for g in names:
            m = np.array([e.group == g for e in rows])
            thr = max(thr, threshold_for(oof[m], y[m], target, min(MIN_ACCEPTED, max(1, int(m.sum()) // 4))))
    acc = oof >= thr
    report: dict[str, object] = {
        "examples": len(rows), "correct_first": int(y.sum()),
        "groups": {g: sum(e.group == g for e in rows) for g in sorted({e.group for e in rows})},
        "cv_folds": folds, "target_precision": target, "threshold": round(thr, 6), "per_group": per_group,
        "cv_auto_precision": round(float(y[acc].mean()) if acc.any() else 0.0, 4),
        "cv_decided_share": round(float(acc.mean()), 4),
        "cv_by_group": {g: _rates(y[m], acc[m]) for g in names
                        for m in [np.array([e.group == g for e in rows])]}}
    mean, scale, coef, b = _fit(x, y)
    model = AcceptModel([float(v) for v in mean], [float(v) for v in scale], [float(v) for v in coef], b, thr,
                        list(FEATURES), {**report, "label_system_version": system.version,
                                         "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return model, report


def train(settings: Settings, system: LabelSystem, encoder: TextEncoder, osm: OsmVocab,
          extra_folders: Sequence[Path] = (), target: float | None = None) -> tuple[AcceptModel, dict[str, object]]:
    """Fit on the curated LODO examples (plain and hidden-spelling), plus the gold vocabularies of
    ``extra_folders`` mapped against the full label system (group = folder name)."""
    examples = lodo_examples(settings, system, encoder, osm) + lodo_examples(settings, system, encoder, osm,
                                                                             hard=True)
    if extra_folders:
        model = build_model(settings, system, encoder, osm, wiki=WikiSummaries(settings, online=False))
        for folder in extra_folders:
            examples += gold_examples(model, Path(folder), Path(folder).name, settings.map_k, system)
    return fit(examples, system, settings.map_accept_target_precision if target is None else target)
