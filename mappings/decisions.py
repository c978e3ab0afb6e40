"""One mapping decision = one row of ``mapping_decisions`` (append-only; the newest is current)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# statuses (CHECK constraint of 0001_init.sql)
AUTO, PENDING, ACCEPTED, REJECTED, PROPOSED, CURATED = "auto", "pending", "accepted", "rejected", "proposed", "curated"
STATUSES = (AUTO, PENDING, ACCEPTED, REJECTED, PROPOSED, CURATED)
ACTIVE = (AUTO, ACCEPTED, CURATED)          # statuses retrieval may follow
HUMAN = (ACCEPTED, REJECTED, CURATED)        # never overwritten by an automatic run

LEXICAL = "semapv:LexicalMatching"
SEMANTIC = "semapv:SemanticSimilarityThresholdMatching"
MANUAL = "semapv:ManualMappingCuration"
JUSTIFICATIONS = (LEXICAL, SEMANTIC, MANUAL)
PREDICATES = ("skos:exactMatch", "skos:closeMatch", "skos:broadMatch", "skos:narrowMatch", "skos:relatedMatch")


@dataclass
class MappingDecision:
    dataset: str
    label: str
    concept_id: str | None                 # None only for a proposal without a parent
    status: str
    score: float | None = None
    justification: str = SEMANTIC
    predicate: str = "skos:exactMatch"
    candidates: list[dict[str, Any]] = field(default_factory=list)
    proposed_parent: str | None = None
    author: str = "rskg"
    id: int | None = None
    decided_at: datetime | None = None

    @property
    def source_label_id(self) -> str:
        return f"{self.dataset}:{self.label}"

    @property
    def graph_target(self) -> str | None:
        """Concept the MAPS_TO edge points at: the concept, or for a proposal its parent."""
        if self.status == REJECTED:
            return None
        return self.concept_id if self.status != PROPOSED else self.proposed_parent

    def same_outcome(self, other: MappingDecision) -> bool:
        """True when storing ``other`` after ``self`` would change nothing a user can see. The placement a
        pending decision carries (advice for a label without equivalent; not in SSSOM) is not an outcome."""
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        def parent(d: MappingDecision) -> str | None:
            return None if d.status == PENDING else d.proposed_parent
        return (self.concept_id, self.status, r(self.score), self.justification, self.predicate,
                parent(self)) == (other.concept_id, other.status, r(other.score),
                                  other.justification, other.predicate, parent(other))
