"""Label-system edit mutations (add, rename, move, merge, synonym, alignment) and the graph sync.

Edits change the Turtle files in ``settings.ontology_dir`` through ontology.edit (validated, logged
with the author in changelog.ttl, all-or-nothing); ``syncGraph`` then rebuilds Neo4j from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from api.auth import TokenRequired
from api.context import Info
from api.errors import Error
from api.ontology_edits.types import (
    LabelSystemConcept,
    OntologyEditResult,
    OntologyEditSuccess,
    SyncResult,
    SyncSuccess,
)
from rskg.errors import RskgError


async def _edit(info: Info, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> OntologyEditSuccess | Error:
    try:
        concept = await info.context.db.call(fn, info.context.settings.ontology_dir, *args, **kwargs)
    except RskgError as exc:
        return Error.of(exc)
    return OntologyEditSuccess(concept=LabelSystemConcept.of(concept))


def _mutation(description: str) -> Any:
    return strawberry.mutation(permission_classes=[TokenRequired], description=description)


@strawberry.type
class OntologyMutations:
    @_mutation("Add a concept under a parent (no parent: a new top-level concept).")
    async def add_concept(self, info: Info, id: str, pref_label: str, author: str, parent: str | None = None,
                          definition: str = "", alt_labels: list[str] | None = None) -> OntologyEditResult:
        from ontology.edit import add

        return await _edit(info, add, id, pref_label, parent, author=author, definition=definition,
                           alt_labels=alt_labels)

    @_mutation("Change a concept's preferred label (the old one is kept as a synonym by default).")
    async def rename_concept(self, info: Info, id: str, new_label: str, author: str,
                             keep_old_as_alt: bool = True) -> OntologyEditResult:
        from ontology.edit import rename

        return await _edit(info, rename, id, new_label, author=author, keep_old_as_alt=keep_old_as_alt)

    @_mutation("Move a concept under another parent (null: top level).")
    async def move_concept(self, info: Info, id: str, author: str, new_parent: str | None = None
                           ) -> OntologyEditResult:
        from ontology.edit import move

        return await _edit(info, move, id, new_parent, author=author)

    @_mutation("Merge a concept into another: the old one is deprecated and replaced by the target.")
    async def merge_concepts(self, info: Info, id: str, into: str, author: str) -> OntologyEditResult:
        from ontology.edit import merge

        return await _edit(info, merge, id, into, author=author)

    @_mutation("Add a synonym (skos:altLabel) to a concept.")
    async def add_synonym(self, info: Info, id: str, label: str, author: str) -> OntologyEditResult:
        from ontology.edit import add_synonym

        return await _edit(info, add_synonym, id, label, author=author)

    @_mutation("Align a concept to an OSM tag (key=value) or a legend code (CLC:512, LCCS:..., ESA-CCI:...).")
    async def align_concept(self, info: Info, id: str, target: str, author: str,
                            exact: bool = True) -> OntologyEditResult:
        from ontology.edit import align

        return await _edit(info, align, id, target, author=author, exact=exact)

    @_mutation("Rebuild the Neo4j label graph from the ontology files and catalog counts (idempotent).")
    async def sync_graph(self, info: Info) -> SyncResult:
        from rskg.sync import run_sync

        try:
            out = await info.context.db.call(run_sync, info.context.services)
        except RskgError as exc:
            return Error.of(exc)
        c = out.counts
        return SyncSuccess(version=out.version, changes=out.report.changes, concepts=c["concepts"],
                           subclass_of=c["subclass"], datasets=c["datasets"], source_labels=c["labels"],
                           maps_to=c["maps_to"], seconds=round(out.seconds, 3))
