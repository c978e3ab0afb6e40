"""Mapping review queue query."""

from __future__ import annotations

import strawberry

from api.context import Info
from api.mapping_review import service
from api.mapping_review.types import MappingCandidate, MappingDecision, MappingReviewItem


@strawberry.type
class MappingQueries:
    @strawberry.field(description="Open mapping decisions (pending review or new concept proposed) with their "
                                  "evidence; includeAll lists every current decision.")
    async def mapping_review(self, info: Info, dataset: str | None = None,
                             include_all: bool = False) -> list[MappingReviewItem]:
        info.context.db.counter.postgres += 1
        items = await info.context.db.call(service.pending, info.context.services, dataset, include_all)
        return [MappingReviewItem(decision=MappingDecision.of(it["decision"]),
                                  candidates=[MappingCandidate.of(c) for c in it["candidates"]],
                                  sample_ids=[t[0] for t in it["thumbnails"]],
                                  parent_reason=it.get("parent_reason")) for it in items]
