"""Step 1 of retrieval: the spatial / temporal / sensor / GSD / dataset filter, as one parameterised WHERE
clause over ``samples s`` (PostGIS), used both to list candidate ids and inside the direct-match query.

The bbox and polygon filters keep samples whose footprint *intersects* the area (``spatial="intersects"``,
the default) or lies completely *within* it (``spatial="within"``); samples without a footprint never pass
a spatial filter. Time bounds are inclusive on ``acquired_at``; samples without a date never pass them.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql
from shapely import wkt as shapely_wkt
from shapely.errors import ShapelyError

from rskg.errors import ValidationError
from rskg.retrieval.model import RetrievalRequest


@dataclass(frozen=True)
class Where:
    clause: sql.Composable
    params: list[object]
    active: bool                      # False: no filter at all (every sample is a candidate)


def validate(req: RetrievalRequest) -> None:
    if req.bbox is not None:
        if len(req.bbox) != 4:
            raise ValidationError(f"bbox {req.bbox!r} needs 4 numbers", "Give min_lon,min_lat,max_lon,max_lat.")
        x0, y0, x1, y1 = (float(v) for v in req.bbox)
        if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise ValidationError(f"bbox {req.bbox!r} is not a valid WGS 84 box",
                                  "Give min_lon,min_lat,max_lon,max_lat in degrees with min < max.")
    if req.polygon_wkt is not None:
        try:
            geom = shapely_wkt.loads(req.polygon_wkt)
        except (ShapelyError, ValueError) as exc:
            raise ValidationError(f"polygon is not valid WKT: {exc}",
                                  "Give a WGS 84 POLYGON((lon lat, ...)) in WKT.") from exc
        if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
            raise ValidationError(f"polygon must be a valid (Multi)Polygon, got {geom.geom_type}",
                                  "Close the ring and avoid self-intersections.")
    if req.time_from and req.time_to and req.time_from > req.time_to:
        raise ValidationError("time_from is after time_to", "Swap the dates.")
    if req.gsd_min is not None and req.gsd_max is not None and req.gsd_min > req.gsd_max:
        raise ValidationError("gsd_min is larger than gsd_max", "Swap the GSD bounds.")
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
