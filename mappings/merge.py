"""Paper 000 Algorithm 1, MERGE_NEW_LABELS: map a new dataset's labels onto the label system.

For each source label: GET_SIMILAR_LABEL → the k nearest concepts with ``score = a·text + b·struct``
(``mappings.similarity``), then a three-way decision instead of the paper's single threshold:

- a unique lexical match (normalised label = a concept's prefLabel/altLabel, one concept only) or
  score ≥ ``map_accept_threshold`` → ``auto`` (accepted without review; MAPS_TO status "auto");
- ``map_review_threshold`` ≤ score < accept → ``pending`` (review queue, `rskg map review`);
- score < review → ``proposed``: a new concept is proposed under parent P, where P is the concept
  whose children and itself collect the most candidate score (Σ score of candidates c with
  P ∈ parents(c), plus the candidates themselves when they sit at level 1).

Decisions of a human (accepted / rejected / curated) are never replaced by an automatic run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from embeddings.text import TextEncoder
from mappings import decisions as D
from mappings.decisions import MappingDecision
from mappings.osm import OsmVocab
from mappings.similarity import Candidate, SimilarityModel, Weights
from mappings.vocab_file import check_labels
from mappings.wiki import WikiSummaries
from ontology.model import LabelSystem
from rskg.errors import ValidationError
from rskg.settings import Settings


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


def parent_reason(candidates: Sequence[dict[str, object]], system: LabelSystem, parent: str | None) -> str:
    """Why ``parent`` was proposed for a new concept: the candidates (stored evidence) that voted for it."""
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
    return (f"under '{name}' ({parent}): it collects {share:.2f} of the {total:.2f} candidate score "
            f"({', '.join(votes)}); no candidate reached the review threshold")


def decide(dataset: str, label: str, cands: list[Candidate], system: LabelSystem, accept: float,
           review: float, author: str = "rskg") -> MappingDecision:
    evidence = [c.as_dict() for c in cands]
    top = cands[0] if cands else None
    unique_lexical = top is not None and top.lexical and sum(c.lexical for c in cands) == 1
    if top is not None and (top.score >= review or unique_lexical):
        status = D.AUTO if top.score >= accept or unique_lexical else D.PENDING
        return MappingDecision(dataset=dataset, label=label, concept_id=top.concept_id, status=status,
                               score=round(top.score, 6), justification=D.LEXICAL if top.lexical else D.SEMANTIC,
                               predicate="skos:exactMatch", candidates=evidence, author=author)
    return MappingDecision(dataset=dataset, label=label, concept_id=None, status=D.PROPOSED,
                           score=round(top.score, 6) if top else None, justification=D.SEMANTIC,
                           predicate="skos:broadMatch", candidates=evidence,
                           proposed_parent=proposed_parent(cands, system), author=author)


def build_model(settings: Settings, system: LabelSystem, encoder: TextEncoder, osm: OsmVocab,
                weights: Weights | None = None, wiki: WikiSummaries | None = None) -> SimilarityModel:
    w = weights or Weights(settings.sim_text_weight, settings.sim_struct_weight)
    return SimilarityModel(system.active(), encoder, osm, wiki or WikiSummaries(settings), w)


def merge_new_labels(dataset_id: str, labels: Sequence[str], label_system: LabelSystem, encoder: TextEncoder,
                     settings: Settings, osm: OsmVocab, *, model: SimilarityModel | None = None,
                     existing: dict[str, MappingDecision] | None = None, k: int | None = None,
                     author: str = "rskg") -> list[MappingDecision]:
    """Decide every label (validated first: non-empty, unique). ``existing`` = current decisions of
    the dataset; the human ones are returned unchanged. Nothing is stored here."""
    ds = check_dataset_id(dataset_id)
    names = check_labels(list(labels), f"dataset {ds}")
    model = model or build_model(settings, label_system, encoder, osm)
    existing = existing or {}
    todo = [n for n in names if not (n in existing and existing[n].status in D.HUMAN)]
    cands = dict(zip(todo, model.candidates(todo, k or settings.map_k), strict=True)) if todo else {}
    out = []
    for n in names:
        if n not in cands:
            out.append(existing[n])
            continue
        out.append(decide(ds, n, cands[n], label_system, settings.map_accept_threshold,
                          settings.map_review_threshold, author))
    return out
