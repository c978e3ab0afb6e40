"""Step 1 of retrieval: the spatial / temporal / sensor / GSD / dataset filter, as one parameterised WHERE
clause over ``samples s`` (PostGIS), used both to list candidate ids and inside the direct-match query.

The bbox and polygon filters keep samples whose footprint *intersects* the area (``spatial="intersects"``,
the default) or lies completely *within* it (``spatial="within"``); samples without a footprint never pass
a spatial filter. Time bounds are inclusive on ``acquired_at``; samples without a date never pass them.
Composition bounds (``req.composition``, resolved to concept ids by the pipeline,
:mod:`rskg.retrieval.composition_bounds`) keep only composed samples within every bound; as part of this one
filter they restrict the direct matches (same WHERE clause) and the supplementary kNN (candidate positions).
"""

from __future__ import annotations

from psycopg import sql

from rskg import validation
from rskg.catalog import filters as catalog_filters
from rskg.catalog.filters import Where
from rskg.errors import ValidationError
from rskg.retrieval.model import RetrievalRequest


def validate(req: RetrievalRequest) -> None:
    validation.bbox(req.bbox)
    validation.polygon(req.polygon_wkt, "polygon_wkt")
    validation.time_range(req.time_from, req.time_to)
    validation.number_range(req.gsd_min, req.gsd_max, ("gsd_min", "gsd_max"))
    if req.composition is not None:
        validation.composition_bounds([(b.concept, b.min, b.max) for b in req.composition])
    spatial = getattr(req, "spatial", "intersects")
    if spatial not in ("intersects", "within"):
        raise ValidationError(f"spatial predicate {spatial!r} unknown", "Use 'intersects' or 'within'.")


def where(req: RetrievalRequest, *, include_datasets: bool = True) -> Where:
    return catalog_filters.where(catalog_filters.SampleFilter(
        datasets=req.datasets if include_datasets and req.datasets else None, sensors=req.sensors or None,
        bbox=req.bbox, polygon_wkt=req.polygon_wkt, spatial=getattr(req, "spatial", "intersects"),
        time_from=req.time_from, time_to=req.time_to, gsd_min=req.gsd_min, gsd_max=req.gsd_max,
        composition=req.composition or None))


def candidate_ids(conn: object, req: RetrievalRequest) -> list[str] | None:
    """Sample ids passing the filter; None when the request has no filter (everything passes)."""
    w = where(req)
    if not w.active:
        return None
    q = sql.SQL("SELECT s.id FROM samples s WHERE {}").format(w.clause)
    return [r[0] for r in conn.execute(q, w.params).fetchall()]  # type: ignore[attr-defined]
