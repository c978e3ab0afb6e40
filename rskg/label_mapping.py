"""Label-mapping pipeline: Algorithm 1 decisions, review actions, SSSOM import, SIMILAR_TO and
ADJACENT_TO — each stored in PostgreSQL and reflected in Neo4j, both or neither.

Every entry point validates its whole input first (labels, concept ids, presence of the Concept
nodes), then writes PostgreSQL inside one transaction and Neo4j inside that transaction's scope:
an error anywhere rolls PostgreSQL back and leaves Neo4j untouched (its write is one transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings.text import TextEncoder
from kg import mappings_graph as G
from mappings import decision_table as store
from mappings import decisions as D
from mappings.decisions import MappingDecision
from mappings.merge import build_model, check_dataset_id, merge_new_labels, parent_reason
from mappings.osm import OsmVocab, load_osm_vocab
from mappings.similarity import SimilarityModel
from mappings.sssom_io import export_tsv, import_tsv
from ontology.model import LabelSystem
from rskg.errors import NotFoundError, ValidationError
from rskg.services import Services
from rskg.settings import Settings


def load_system(settings: Settings) -> LabelSystem:
    try:
        from ontology.store import load_label_system
    except ImportError as exc:
        raise NotFoundError("the label system loader (ontology.store) is not available",
                            "Build the ontology first: `rskg ontology build`.") from exc
    return load_label_system(settings.ontology_dir)


@dataclass
class MappingContext:
    """What the mapping entry points share; build once per process."""
    services: Services
    system: LabelSystem
    osm: OsmVocab
    encoder: TextEncoder | None = None
    _model: SimilarityModel | None = None

    @classmethod
    def open(cls, services: Services, system: LabelSystem | None = None, with_encoder: bool = True) -> MappingContext:
        s = services.settings
        return cls(services, system or load_system(s), load_osm_vocab(s), TextEncoder(s) if with_encoder else None)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def model(self) -> SimilarityModel:
        if self._model is None:
            assert self.encoder is not None, "MappingContext opened without an encoder"
            self._model = build_model(self.settings, self.system, self.encoder, self.osm)
        return self._model


def _graph_rows(decisions: Sequence[MappingDecision]) -> list[dict[str, Any]]:
    return [{"id": d.source_label_id, "dataset": d.dataset, "name": d.label, "target": d.graph_target,
             "score": d.score, "status": d.status, "predicate": d.predicate, "justification": d.justification,
             "decision_id": d.id} for d in decisions]


def _require_concepts(ctx: MappingContext, decisions: Sequence[MappingDecision]) -> None:
    wanted = {d.graph_target for d in decisions if d.graph_target}
    missing = wanted - G.existing_concepts(ctx.services.driver, sorted(wanted))
    if missing:
        raise NotFoundError(f"{len(missing)} concept(s) are not in Neo4j: {', '.join(sorted(missing)[:10])}",
                            "Load the label system into the graph with `rskg sync`; nothing was changed.")


def apply(ctx: MappingContext, decisions: Sequence[MappingDecision]) -> list[MappingDecision]:
    """Store what changed (PG, append-only) and set MAPS_TO for every given decision (Neo4j)."""
    _require_concepts(ctx, decisions)
    with ctx.services.connection() as conn, conn.transaction():
        stored = store.record(conn, decisions)
        by_key = {(d.dataset, d.label): d for d in stored}
        final = [by_key.get((d.dataset, d.label), d) for d in decisions]
        if not all(d.id is not None for d in final):     # unchanged ones: take the stored ids
            cur = {(c.dataset, c.label): c for ds in {d.dataset for d in final} for c in store.current(conn, ds)}
            final = [cur.get((d.dataset, d.label), d) for d in final]
        G.write_maps_to(ctx.services.driver, _graph_rows(final))
    return stored


def map_vocabulary(ctx: MappingContext, dataset: str, labels: Sequence[str], author: str = "rskg",
                   descriptions: dict[str, str] | None = None
                   ) -> tuple[list[MappingDecision], list[MappingDecision]]:
    """Algorithm 1 for a new vocabulary; returns (all current decisions, those newly stored).
    ``descriptions``: label -> the label's own definition, where the vocabulary gives one."""
    ds = check_dataset_id(dataset)
    with ctx.services.connection() as conn:
        existing = store.current_map(conn, ds)
    assert ctx.encoder is not None
    decisions = merge_new_labels(ds, labels, ctx.system, ctx.encoder, ctx.settings, ctx.osm, model=ctx.model,
                                 existing=existing, author=author, descriptions=descriptions)
    return decisions, apply(ctx, decisions)


def map_file(ctx: MappingContext, path: Path, dataset: str, author: str = "rskg"
             ) -> tuple[list[MappingDecision], list[MappingDecision]]:
    """Map a vocabulary file (labels, and their descriptions where the file has them)."""
    from mappings.vocab_file import read_vocabulary_entries

    entries = read_vocabulary_entries(path, dataset)
    return map_vocabulary(ctx, dataset, [lb for lb, _ in entries], author, {lb: d for lb, d in entries if d})


# ---- review -----------------------------------------------------------------------------------------
def _current_by_id(ctx: MappingContext, decision_id: int) -> MappingDecision:
    with ctx.services.connection() as conn:
        d, superseded = store.get(conn, decision_id)
        if superseded:
            newest = store.current_map(conn, d.dataset).get(d.label)
            raise ValidationError(f"decision {decision_id} was superseded"
                                  + (f" by decision {newest.id} ({newest.status})" if newest else ""),
                                  "Act on the current decision (see `rskg map review --all`); nothing was changed.")
    return d


def review(ctx: MappingContext, decision_id: int, action: str, author: str, concept: str | None = None, *,
           new_id: str | None = None, new_label: str | None = None, new_parent: str | None = None
           ) -> MappingDecision:
    """accept | reject | remap one decision; appends a new row by ``author``. Accepting a new-concept
    proposal (status proposed, no ``concept``) creates the concept (``rskg.proposals``; ``new_*`` override
    the id, prefLabel and parent it proposes); so does accepting a pending decision with any ``new_*``
    given (the label has no equivalent: a new concept under its placement, or ``new_parent``)."""
    if not author.strip():
        raise ValidationError("no author given", "Pass `--author YOUR_NAME`; nothing was changed.")
    d = _current_by_id(ctx, decision_id)
    as_new = d.status == D.PROPOSED or (d.status == D.PENDING and any(x is not None for x in
                                                                        (new_id, new_label, new_parent)))
    if action == "accept" and as_new and concept is None:
        from rskg.proposals import accept_proposal

        return accept_proposal(ctx, d, author, new_id, new_label, new_parent).decision
    target = concept or (d.concept_id if action != "remap" else None)
    if action in ("accept", "remap"):
        if not target:
            raise ValidationError(f"decision {decision_id} has no concept to {action}",
                                  "Name the concept: `--concept CONCEPT_ID`; nothing was changed.")
        if target not in ctx.system.active():
            raise NotFoundError(f"concept {target!r} is not an active concept of the label system",
                                "Check the id; nothing was changed.")
        new = MappingDecision(dataset=d.dataset, label=d.label, concept_id=target, status=D.ACCEPTED,
                              score=d.score if target == d.concept_id else None, justification=D.MANUAL,
                              predicate="skos:exactMatch", candidates=d.candidates, author=author)
    elif action == "reject":
        new = MappingDecision(dataset=d.dataset, label=d.label, concept_id=d.concept_id, status=D.REJECTED,
                              score=d.score, justification=D.MANUAL, predicate=d.predicate,
                              candidates=d.candidates, proposed_parent=d.proposed_parent, author=author)
    else:
        raise ValidationError(f"unknown review action {action!r}", "Use accept, reject or remap.")
    stored = apply(ctx, [new])
    return stored[0] if stored else new


def pending(ctx: MappingContext, dataset: str | None = None, include_all: bool = False) -> list[dict[str, Any]]:
    """Open decisions (pending + proposed; with include_all every current one) with their evidence."""
    statuses = None if include_all else [D.PENDING, D.PROPOSED]
    out = []
    with ctx.services.connection() as conn:
        for d in store.current(conn, dataset, statuses):
            cands = [{**c, "name": getattr(ctx.system.concepts.get(str(c["concept_id"])), "pref_label", ""),
                      "definition": getattr(ctx.system.concepts.get(str(c["concept_id"])), "definition", "")}
                     for c in d.candidates]
            why = (parent_reason(d.candidates, ctx.system, d.proposed_parent, d.status == D.PROPOSED)
                   if d.status == D.PROPOSED or (d.status == D.PENDING and d.proposed_parent) else None)
            out.append({"decision": d, "candidates": cands, "parent_reason": why,
                        "thumbnails": store.sample_thumbnails(conn, d.dataset, d.label)})
    return out


# ---- SSSOM ------------------------------------------------------------------------------------------
def export_sssom(ctx: MappingContext, path: Path, dataset: str | None = None) -> int:
    with ctx.services.connection() as conn:
        decisions = store.current(conn, dataset)
    return export_tsv(decisions, ctx.system, path)


def import_sssom(ctx: MappingContext, path: Path, author: str = "sssom-import") -> list[MappingDecision]:
    return apply(ctx, import_tsv(path, ctx.system, author))


# ---- concept-concept edges ----------------------------------------------------------------------------
def similar_edges(ctx: MappingContext, write: bool = True) -> list[dict[str, Any]]:
    pairs = ctx.model.concept_pairs(ctx.settings.sim_threshold)
    rows = [{"a": p.a, "b": p.b, "score": p.score, "text_sim": p.text_sim, "struct_sim": p.struct_sim}
            for p in pairs]
    if write:
        G.write_similar(ctx.services.driver, rows, sorted(ctx.model.ids))
    return rows


def adjacency_edges(ctx: MappingContext, write: bool = True) -> list[dict[str, Any]]:
    """Every ADJACENT_TO edge: the curated annotation files + every ingested multi-label dataset."""
    from rskg.adjacency import refresh_adjacency

    return refresh_adjacency(ctx.services, ctx.system, None, write).rows
