"""Schema extensions: the per-request query counts in ``extensions.queries`` of every response."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension


class QueryCounts(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        ctx = self.execution_context.context
        db = getattr(ctx, "db", None)
        return {"queries": db.counter.as_dict()} if db is not None else {}
