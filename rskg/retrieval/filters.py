"""Step 1 of retrieval: the spatial / temporal / sensor / GSD / dataset filter, as one parameterised WHERE
clause over ``samples s`` (PostGIS), used both to list candidate ids and inside the direct-match query.

The bbox and polygon filters keep samples whose footprint *intersects* the area (``spatial="intersects"``,
the default) or lies completely *within* it (``spatial="within"``); samples without a footprint never pass
a spatial filter. Time bounds are inclusive on ``acquired_at``; samples without a date never pass them.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from rskg import validation
from rskg.errors import ValidationError
from rskg.retrieval.model import RetrievalRequest


@dataclass(frozen=True)
class Where:
    clause: sql.Composable
    params: list[object]
    active: bool                      # False: no filter at all (every sample is a candidate)


def validate(req: RetrievalRequest) -> None:
    validation.bbox(req.bbox)
    validation.polygon(req.polygon_wkt, "polygon_wkt")
    validation.time_range(req.time_from, req.time_to)
    validation.number_range(req.gsd_min, req.gsd_max, ("gsd_min", "gsd_max"))
    spatial = getattr(req, "spatial", "intersects")
    if spatial not in ("intersects", "within"):
        raise ValidationError(f"spatial predicate {spatial!r} unknown", "Use 'intersects' or 'within'.")


def where(req: RetrievalRequest, *, include_datasets: bool = True) -> Where:
    parts: list[sql.Composable] = []
    params: list[object] = []
    fn = sql.SQL("ST_Within" if getattr(req, "spatial", "intersects") == "within" else "ST_Intersects")
    if req.bbox is not None:
        parts.append(sql.SQL("{}(s.footprint, ST_MakeEnvelope(%s, %s, %s, %s, 4326))").format(fn))
        params.extend(float(v) for v in req.bbox)
    if req.polygon_wkt is not None:
        parts.append(sql.SQL("{}(s.footprint, ST_GeomFromText(%s, 4326))").format(fn))
        params.append(req.polygon_wkt)
    if req.time_from is not None:
        parts.append(sql.SQL("s.acquired_at >= %s"))
        params.append(req.time_from)
    if req.time_to is not None:
        parts.append(sql.SQL("s.acquired_at <= %s"))
        params.append(req.time_to)
    if req.sensors:
        parts.append(sql.SQL("s.sensor = ANY(%s)"))
        params.append(list(req.sensors))
    if req.gsd_min is not None:
        parts.append(sql.SQL("s.gsd_m >= %s"))
        params.append(float(req.gsd_min))
    if req.gsd_max is not None:
        parts.append(sql.SQL("s.gsd_m <= %s"))
        params.append(float(req.gsd_max))
    if include_datasets and req.datasets:
        parts.append(sql.SQL("s.dataset_id = ANY(%s)"))
        params.append(list(req.datasets))
    if not parts:
        return Where(sql.SQL("TRUE"), [], False)
    return Where(sql.SQL(" AND ").join(parts), params, True)


def candidate_ids(conn: object, req: RetrievalRequest) -> list[str] | None:
    """Sample ids passing the filter; None when the request has no filter (everything passes)."""
    w = where(req)
    if not w.active:
        return None
    q = sql.SQL("SELECT s.id FROM samples s WHERE {}").format(w.clause)
    return [r[0] for r in conn.execute(q, w.params).fetchall()]  # type: ignore[attr-defined]
