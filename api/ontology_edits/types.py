"""GraphQL types of label-system edits (the Turtle files of record, ontology.edit)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from api.errors import Error


@strawberry.type(description="A concept as the ontology files hold it after an edit (Neo4j follows on sync).")
class LabelSystemConcept:
    id: str
    pref_label: str
    level: int
    parents: list[str]
    alt_labels: list[str]
    definition: str
    osm_tags: list[str]
    lccs_codes: list[str]
    deprecated: bool
    replaced_by: str | None

    @classmethod
    def of(cls, c: Any) -> LabelSystemConcept:
        return cls(id=c.id, pref_label=c.pref_label, level=c.level, parents=list(c.parents),
                   alt_labels=sorted(c.alt_labels), definition=c.definition, osm_tags=sorted(c.osm_tags),
                   lccs_codes=sorted(c.lccs_codes), deprecated=c.deprecated, replaced_by=c.replaced_by)


@strawberry.type
class OntologyEditSuccess:
    concept: LabelSystemConcept
    note: str = "Run the syncGraph mutation (or `rskg sync`) to bring the edit into Neo4j."


@strawberry.type
class SyncSuccess:
    version: str
    changes: int
    concepts: int
    subclass_of: int
    datasets: int
    source_labels: int
    maps_to: int
    seconds: float


OntologyEditResult = Annotated[OntologyEditSuccess | Error, strawberry.union("OntologyEditResult")]
SyncResult = Annotated[SyncSuccess | Error, strawberry.union("SyncResult")]
