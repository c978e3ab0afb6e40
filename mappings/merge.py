"""Paper 000 Algorithm 1, MERGE_NEW_LABELS: map a new dataset's labels onto the label system.

For each source label: GET_SIMILAR_LABEL → the k nearest concepts with ``score = a·text + b·struct``
(``mappings.similarity``), then a three-way decision instead of the paper's single threshold:

- with the calibrated accept model (``mappings.accept_model``, file ``rskg.artifacts.accept_model_path``,
  setting ``map_accept_model``): its probability that the first candidate is right ≥ the model's threshold
  → ``auto`` (accepted without review; MAPS_TO status "auto"). Without a model file, the margin rule: a unique
  lexical match (normalised label = a concept's prefLabel/altLabel, one concept only), or
  score ≥ ``map_accept_threshold`` with a lead of at least ``map_accept_margin`` over the second
  candidate and of ``map_accept_hierarchy_margin`` over any broader / narrower candidate → ``auto``;
- ``map_review_threshold`` ≤ score < accept → ``pending`` (review queue, `rskg map review`);
- score < review → ``proposed``: a new concept is proposed under parent P, where P is the concept
  whose children and itself collect the most candidate score (Σ score of candidates c with
  P ∈ parents(c), plus the candidates themselves when they sit at level 1).

Decisions of a human (accepted / rejected / curated) are never replaced by an automatic run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from embeddings.text import TextEncoder
from mappings import decisions as D
from mappings.accept_model import AcceptModel, FeatureMaker, load_if_present
from mappings.cooccurrence import ancestors
from mappings.decisions import MappingDecision
from mappings.legends import concept_legends
from mappings.osm import OsmVocab
from mappings.similarity import Candidate, SimilarityModel, Weights
from mappings.vocab_context import vocabulary_pass
from mappings.vocab_file import check_labels
from mappings.wiki import WikiSummaries
from ontology.model import LabelSystem
from rskg.artifacts import accept_model_path
from rskg.errors import ValidationError
from rskg.settings import Settings

FROM_SETTINGS: Literal["settings"] = "settings"


def check_dataset_id(dataset_id: str) -> str:
    ds = (dataset_id or "").strip()
    if not ds or any(ch in ds for ch in " :/\t\n"):
        raise ValidationError(f"bad dataset id {dataset_id!r}",
                              "Use a short id without spaces, ':' or '/', e.g. `--dataset my_dataset`.")
    return ds


def proposed_parent(cands: Sequence[Candidate], system: LabelSystem) -> str | None:
    votes: dict[str, float] = defaultdict(float)
    for c in cands:
        concept = system.concepts.get(c.concept_id)
        if concept is None:
            continue
        for p in concept.parents or [c.concept_id]:
            votes[p] += max(c.score, 0.0)
    return max(sorted(votes), key=lambda p: votes[p]) if votes else None


def parent_reason(candidates: Sequence[dict[str, object]], system: LabelSystem, parent: str | None,
                  proposal: bool = True) -> str:
    """Why ``parent`` was proposed for a new concept: the candidates (stored evidence) that voted for it.
    ``proposal``: the label is a new-concept proposal (no candidate reached the review threshold); else
    it is the placement offered for a pending label that turns out to have no equivalent."""
    if parent is None:
        return "no candidate concept to place it under: a new top-level concept"
    votes, total = [], 0.0
    for c in candidates:
        cid = str(c.get("concept_id"))
        concept = system.concepts.get(cid)
        if concept is None:
            continue
        score = max(float(str(c.get("score") or 0.0)), 0.0)
        total += score
        if parent in (concept.parents or [cid]):
            votes.append(f"{cid} {score:.2f}" + (f" (a kind of {parent})" if cid != parent else ""))
    share = sum(float(v.split()[1]) for v in votes)
    name = system.concepts[parent].pref_label if parent in system.concepts else parent
    why = "no candidate reached the review threshold" if proposal else "if the label has no equivalent"
    return (f"under '{name}' ({parent}): it collects {share:.2f} of the {total:.2f} candidate score "
            f"({', '.join(votes)}); {why}")


def margin(cands: Sequence[Candidate]) -> float:
    """Score of the first candidate minus the second's (1.0 when there is no second)."""
    if not cands:
        return 0.0
    return cands[0].score - cands[1].score if len(cands) > 1 else 1.0


def hierarchy_margin(cands: Sequence[Candidate], system: LabelSystem) -> float:
    """Lead of the first candidate over the best candidate that is its ancestor or descendant (1.0 if none):
    a broader or narrower concept close behind means the evidence does not settle how specific the label is."""
    if not cands:
        return 0.0
    top = cands[0]
    up = ancestors(system, top.concept_id)
    lead = 1.0
    for c in cands[1:]:
        if c.concept_id in up or top.concept_id in ancestors(system, c.concept_id):
            lead = min(lead, top.score - c.score)
    return lead


def is_auto(cands: Sequence[Candidate], accept: float, min_margin: float = 0.0, min_hierarchy_margin: float = 0.0,
            system: LabelSystem | None = None) -> bool:
    """The auto-accept rule: a unique lexical match, or a first score >= ``accept`` that leads the second
    candidate by at least ``min_margin`` (a close runner-up means the evidence does not single one out) and
    any broader/narrower candidate by at least ``min_hierarchy_margin`` (needs ``system``)."""
    if not cands:
        return False
    top = cands[0]
    if top.lexical and sum(c.lexical for c in cands) == 1:
        return True
    if top.score < accept or margin(cands) < min_margin:
        return False
    return system is None or min_hierarchy_margin <= 0 or hierarchy_margin(cands, system) >= min_hierarchy_margin


def accept_model_for(settings: Settings) -> AcceptModel | None:
    """The calibrated accept model when the settings use it and its file exists, else None (margin rule)."""
    return load_if_present(accept_model_path(settings)) if settings.map_accept_model else None


def decide(dataset: str, label: str, cands: list[Candidate], system: LabelSystem, accept: float,
           review: float, author: str = "rskg", min_margin: float = 0.0,
           min_hierarchy_margin: float = 0.0, accept_model: AcceptModel | None = None,
           features: FeatureMaker | None = None, hold: str = "") -> MappingDecision:
    """``accept_model``: decide auto vs pending by its probability (``features``: a FeatureMaker of ``system``,
    built here when not given); None: the margin rule (``accept``, ``min_margin``, ``min_hierarchy_margin``).
    ``hold``: a vocabulary-level reason (``mappings.vocab_context``) that keeps an auto decision pending; it is
    recorded in the first candidate's evidence."""
    evidence = [c.as_dict() for c in cands]
    top = cands[0] if cands else None
    unique_lexical = top is not None and top.lexical and sum(c.lexical for c in cands) == 1
    if top is not None and (top.score >= review or unique_lexical):
        if accept_model is not None:
            p = accept_model.probability(features or FeatureMaker(system), label, cands)
            evidence[0]["accept_probability"] = round(p, 4)
            auto = p >= accept_model.threshold
        else:
            auto = is_auto(cands, accept, min_margin, min_hierarchy_margin, system)
        if hold:
            evidence[0]["hold"] = hold
            auto = False
        status = D.AUTO if auto else D.PENDING
        # a pending label may have no equivalent after all: it carries the placement a reviewer can accept
        # as a new concept (``rskg map accept ID --parent/--label``), with the same reason as a proposal
        place = proposed_parent(cands, system) if status == D.PENDING else None
        return MappingDecision(dataset=dataset, label=label, concept_id=top.concept_id, status=status,
                               score=round(top.score, 6), justification=D.LEXICAL if top.lexical else D.SEMANTIC,
                               predicate="skos:exactMatch", candidates=evidence, proposed_parent=place,
                               author=author)
    return MappingDecision(dataset=dataset, label=label, concept_id=None, status=D.PROPOSED,
                           score=round(top.score, 6) if top else None, justification=D.SEMANTIC,
                           predicate="skos:broadMatch", candidates=evidence,
                           proposed_parent=proposed_parent(cands, system), author=author)


def build_model(settings: Settings, system: LabelSystem, encoder: TextEncoder, osm: OsmVocab,
                weights: Weights | None = None, wiki: WikiSummaries | None = None,
                legends: bool | None = None) -> SimilarityModel:
    """``legends``: add the land-cover legends' class names/descriptions as text evidence
    (``mappings.legends``; default ``settings.map_legend_evidence``)."""
    w = weights or Weights(settings.sim_text_weight, settings.sim_struct_weight)
    active = system.active()
    use = settings.map_legend_evidence if legends is None else legends
    leg = concept_legends(active, settings.data_dir / "vocab") if use else None
    return SimilarityModel(active, encoder, osm, wiki or WikiSummaries(settings), w, leg)


def merge_new_labels(dataset_id: str, labels: Sequence[str], label_system: LabelSystem, encoder: TextEncoder,
                     settings: Settings, osm: OsmVocab, *, model: SimilarityModel | None = None,
                     existing: dict[str, MappingDecision] | None = None, k: int | None = None,
                     author: str = "rskg", descriptions: dict[str, str] | None = None,
                     accept_model: AcceptModel | None | Literal["settings"] = FROM_SETTINGS) -> list[MappingDecision]:
    """Decide every label (validated first: non-empty, unique). ``existing`` = current decisions of
    the dataset; the human ones are returned unchanged. ``descriptions``: label -> its own definition
    (text evidence). The labels are one vocabulary: ``mappings.vocab_context`` reads them together (compound
    classes, an object list's semantic type, a concept another label names) before deciding.
    ``accept_model``: the calibrated accept model ("settings": the file at
    ``accept_model_path`` if ``map_accept_model`` and it exists; None: the margin rule). Nothing is stored here."""
    ds = check_dataset_id(dataset_id)
    names = check_labels(list(labels), f"dataset {ds}")
    model = model or build_model(settings, label_system, encoder, osm)
    existing = existing or {}
    todo = [n for n in names if not (n in existing and existing[n].status in D.HUMAN)]
    descs = [(descriptions or {}).get(n, "") for n in todo]
    kk = k or settings.map_k
    vp = vocabulary_pass(label_system, todo, model.candidates(todo, kk, descriptions=descs),
                         lambda more: model.candidates(list(more), kk)) if todo else None
    cands = dict(zip(todo, vp.cands, strict=True)) if vp else {}
    holds = dict(zip(todo, vp.holds, strict=True)) if vp else {}
    am = accept_model_for(settings) if accept_model == FROM_SETTINGS else accept_model
    assert not isinstance(am, str)
    fm = FeatureMaker(label_system) if am is not None else None
    out = []
    for n in names:
        if n not in cands:
            out.append(existing[n])
            continue
        out.append(decide(ds, n, cands[n], label_system, settings.map_accept_threshold,
                          settings.map_review_threshold, author, settings.map_accept_margin,
                          settings.map_accept_hierarchy_margin, am, fm, holds[n]))
    return out
