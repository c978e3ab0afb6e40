"""Composite dataset mutations: build, accept / reject an item (feedback), export (bearer token required)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import strawberry

from api.auth import TokenRequired
from api.composites.queries import composite_of
from api.composites.types import (
    CompositeResult,
    CompositeSuccess,
    ExportResult,
    ExportSuccess,
    FeedbackResult,
    FeedbackSuccess,
)
from api.context import Info
from api.errors import Error
from api.retrieval.types import RetrievalInput, RetrievalOptions
from rskg.errors import RskgError
from rskg.retrieval.model import RetrievalRequest


@strawberry.input(description="Filters and parameters shared by every per-label retrieval of a composite.")
class CompositeOptions(RetrievalOptions):
    pass


def template(o: CompositeOptions | None) -> RetrievalRequest:
    from api.retrieval.queries import to_request

    o = o or CompositeOptions()
    return to_request(RetrievalInput(labels=[], **{f.name: getattr(o, f.name) for f in dataclasses.fields(o)}))


_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


async def _feedback(info: Info, composite_id: str, sample_id: str, concept_id: str | None, decision: str,
                    author: str) -> FeedbackSuccess | Error:
    from rskg.composites.feedback import record

    try:
        d = await info.context.db.call(record, info.context.services, composite_id, sample_id, concept_id,
                                       decision, author)
    except RskgError as exc:
        return Error.of(exc)
    return FeedbackSuccess(sample_id=d.sample_id, concept_id=d.concept_id, decision=d.decision, author=d.author,
                           decided_at=d.decided_at)


def _mutation(description: str) -> Any:
    return strawberry.mutation(permission_classes=[TokenRequired], description=description)


@strawberry.type
class CompositeMutations:
    @_mutation("Build a composite dataset: one retrieval per label (in parallel), stored with its parameters.")
    async def build_composite(self, info: Info, name: str, labels: list[str], author: str,
                              options: CompositeOptions | None = None) -> CompositeResult:
        from rskg.composites.composite import build_composite

        ctx = info.context
        try:
            req = template(options)
            summary = await ctx.db.call(build_composite, ctx.services, ctx.settings, name, labels, req,
                                        created_by=author)
        except RskgError as exc:
            return Error.of(exc)
        return CompositeSuccess(composite=composite_of(summary))

    @_mutation("Accept an item of a composite dataset (conceptId needed when the sample is there twice).")
    async def accept_composite_item(self, info: Info, composite_id: strawberry.ID, sample_id: str, author: str,
                                    concept_id: str | None = None) -> FeedbackResult:
        return await _feedback(info, str(composite_id), sample_id, concept_id, "accept", author)

    @_mutation("Reject an item of a composite dataset: left out of every export, kept as feedback.")
    async def reject_composite_item(self, info: Info, composite_id: strawberry.ID, sample_id: str, author: str,
                                    concept_id: str | None = None) -> FeedbackResult:
        return await _feedback(info, str(composite_id), sample_id, concept_id, "reject", author)

    @_mutation("Export a composite dataset (imagefolder | stac | csv) into the server's export folder "
               "(<RSKG_HOME>/exports/<name>-<id>-<format>); rejected items are left out.")
    async def export_composite(self, info: Info, composite_id: strawberry.ID, format: str = "imagefolder",
                               include_pending: bool = True) -> ExportResult:
        from rskg.composites.composite import get_composite
        from rskg.composites.export import export

        ctx = info.context
        try:
            comp = await ctx.db.call(get_composite, ctx.services, str(composite_id))
            stem = f"{_SAFE.sub('_', comp.name)[:60]}-{comp.id[:8]}-{_SAFE.sub('_', format)}"
            out = ctx.settings.home / "exports" / stem
            rep = await ctx.db.call(export, ctx.services, comp.id, format, out, include_pending)
        except RskgError as exc:
            return Error.of(exc)
        return ExportSuccess(composite_id=rep.composite_id, format=rep.format, path=str(rep.out), items=rep.items,
                             rejected_left_out=rep.rejected_left_out, pending_left_out=rep.pending_left_out,
                             files=list(rep.files))
