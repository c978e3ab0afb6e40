"""Mapping review mutations: accept / reject / remap (bearer token required)."""

from __future__ import annotations

import strawberry

from api.auth import TokenRequired
from api.context import Info
from api.errors import Error
from api.mapping_review import service
from api.mapping_review.types import MappingDecision, MappingReviewResult, MappingReviewSuccess
from rskg.errors import RskgError


async def _review(info: Info, decision_id: int, action: str, author: str, concept: str | None,
                  new_id: str | None = None, new_label: str | None = None, new_parent: str | None = None
                  ) -> MappingReviewSuccess | Error:
    try:
        d = await info.context.db.call(service.review, info.context.services, decision_id, action, author, concept,
                                       new_id, new_label, new_parent)
    except RskgError as exc:
        return Error.of(exc)
    return MappingReviewSuccess(decision=MappingDecision.of(d))


@strawberry.type
class MappingMutations:
    @strawberry.mutation(permission_classes=[TokenRequired],
                         description="Accept a mapping decision (optionally to another concept). Accepting a "
                                     "new-concept proposal creates the concept (newId / newLabel / newParent override "
                                     "what it proposes); so does accepting a pending decision with any of them given "
                                     "(the label has no equivalent: a new concept under its placement or newParent).")
    async def accept_mapping(self, info: Info, decision_id: int, author: str, concept: str | None = None,
                             new_id: str | None = None, new_label: str | None = None,
                             new_parent: str | None = None) -> MappingReviewResult:
        return await _review(info, decision_id, "accept", author, concept, new_id, new_label, new_parent)

    @strawberry.mutation(permission_classes=[TokenRequired],
                         description="Reject a mapping decision: its MAPS_TO edge is removed.")
    async def reject_mapping(self, info: Info, decision_id: int, author: str) -> MappingReviewResult:
        return await _review(info, decision_id, "reject", author, None)

    @strawberry.mutation(permission_classes=[TokenRequired], description="Map the source label to another concept.")
    async def remap_mapping(self, info: Info, decision_id: int, concept: str, author: str) -> MappingReviewResult:
        return await _review(info, decision_id, "remap", author, concept)
