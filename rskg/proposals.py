"""A "new concept proposed" mapping decision turned into a concept of the label system (paper 000 Fig. 4:
the category system grows as datasets arrive).

Accepting a proposal (``rskg map accept ID`` on a decision with status ``proposed``, the GraphQL
``acceptMapping`` mutation, the /review/mappings page) does, in this order:

1. one validated edit of the ontology of record (``ontology.edit.add``): the concept under the proposed
   parent, prefLabel = the source label's readable form, the dataset spelling as altLabel, a definition
   seeded from the source label (and the legend's own definition where a legend class of the same name
   exists), skos:closeMatch to the OSM tags whose preset names the label and to the LCCS / CORINE / ESA /
   WorldCover / CGLS classes of that name; logged in changelog.ttl, files untouched on any error;
2. the label system re-synced to Neo4j (``kg.label_sync``), so the Concept node and its SUBCLASS_OF exist;
3. the decision ``accepted`` with the new concept (PostgreSQL row + MAPS_TO edge), so retrieval by the
   new concept finds the label's samples;
4. SIMILAR_TO edges between the new concept and the others (the rest of the graph is left as it is);
5. this process's retrieval caches dropped (a running API re-reads them within ``LEXICON_TTL_S``).

A pending decision (review queue) carries a placement too (``proposed_parent``, with its reason): accepting it
with ``--label`` / ``--new-id`` / ``--parent`` creates the new concept the same way, for a label that turns
out to have no equivalent.

Rejecting a proposal is an ordinary rejection (``rskg.label_mapping.review``): a human decision, never re-decided
by an automatic run, exported to SSSOM as a negative mapping (``predicate_modifier: Not``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from embeddings.text import TextEncoder
from kg import mappings_graph as G
from kg.label_sync import sync_label_system
from mappings import decisions as D
from mappings.decisions import MappingDecision
from ontology import edit
from ontology import namespaces as ns
from ontology.model import Concept
from ontology.normalize import display_label, label_key, slug
from ontology.sources import read_legends
from ontology.store import load_label_system
from rskg.errors import ValidationError
from rskg.label_mapping import MappingContext, apply


@dataclass
class NewConcept:
    concept: Concept
    decision: MappingDecision
    similar_edges: int


def legend_matches(vocab_dir: Path, label: str) -> list[tuple[str, str]]:
    """(code "CLC:324", legend definition) of every legend class whose name is the label (label_key)."""
    key = label_key(label)
    out = []
    for legend, classes in read_legends(vocab_dir).items():
        for code, c in sorted(classes.items()):
            if label_key(c.name) == key:
                out.append((f"{legend}:{code}", c.definition))
    return out


def accept_proposal(ctx: MappingContext, d: MappingDecision, author: str, concept_id: str | None = None,
                    pref_label: str | None = None, parent: str | None = None) -> NewConcept:
    """Create the proposed concept and map the label to it (see the module doc)."""
    if d.status not in (D.PROPOSED, D.PENDING):
        raise ValidationError(f"decision {d.id} is {d.status}, not a new-concept proposal nor pending review",
                              "Accept it as it is, or remap it with --concept; nothing was changed.")
    s = ctx.settings
    label = pref_label or display_label(d.label)
    cid = concept_id or slug(label)
    where = parent if parent is not None else d.proposed_parent
    if where is not None and where not in ctx.system.active():
        raise ValidationError(f"proposed parent {where!r} is not an active concept",
                              "Name another parent with --parent; nothing was changed.")
    parent_name = ctx.system.concepts[where].pref_label if where else "the label category system"
    legends = legend_matches(s.data_dir / "vocab", d.label)
    tags = ctx.osm.lookup(display_label(d.label))[:3]
    seed = f"{label[:1].upper()}{label[1:]}: a kind of {parent_name}, as labelled '{d.label}' in dataset {d.dataset}."
    extra = next((text for _, text in legends if text), "")
    definition = f"{seed} {extra}".strip()
    alt = [d.label] if d.label != label else []
    edit.add(s.ontology_dir, cid, label, where, author=author, definition=definition, alt_labels=alt,
             close_matches=tags + [code for code, _ in legends],
             source=str(ns.source_label_iri(d.dataset, d.label)))
    system = load_label_system(s.ontology_dir)
    sync_label_system(ctx.services.driver, system)
    ctx.system, ctx._model = system, None
    new = MappingDecision(dataset=d.dataset, label=d.label, concept_id=cid, status=D.ACCEPTED, score=None,
                          justification=D.MANUAL, predicate="skos:exactMatch", candidates=d.candidates,
                          author=author)
    stored = apply(ctx, [new])
    n_similar = _similar_for(ctx, cid)
    ctx.services.invalidate_caches()
    return NewConcept(system.concepts[cid], stored[0] if stored else new, n_similar)


def _similar_for(ctx: MappingContext, concept_id: str) -> int:
    """SIMILAR_TO between ``concept_id`` and every other concept (score >= sim_threshold); others untouched."""
    own = ctx.encoder is None
    if own:
        ctx.encoder = TextEncoder(ctx.settings)
    try:
        rows = [{"a": p.a, "b": p.b, "score": p.score, "text_sim": p.text_sim, "struct_sim": p.struct_sim}
                for p in ctx.model.pairs_of(concept_id, ctx.settings.sim_threshold)]
    finally:
        if own and ctx.encoder is not None:
            ctx.encoder.close()
            ctx.encoder, ctx._model = None, None
    G.write_similar(ctx.services.driver, rows, [concept_id])
    return len(rows)
