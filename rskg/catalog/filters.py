"""The one sample-filter builder: a parameterised WHERE clause over ``samples s`` composed with ``psycopg.sql``
(never string joins), used by retrieval (step 1), the GraphQL sample search and the CLI. Values are validated
by :mod:`rskg.validation` before they get here.

Spatial filters keep samples whose footprint *intersects* the area (``spatial="intersects"``) or lies
completely *within* it (``"within"``); samples without a footprint never pass a spatial filter. Time bounds are
inclusive on ``acquired_at``; samples without a date never pass them.

Composition bounds (:class:`CompositionBound`, issue 18) hold on ``sample_composition``, the share of a
concept's pixels by the segmentation head: ``min`` keeps samples whose fraction is at least ``min``, ``max`` those
whose fraction is at most ``max`` (inclusive, compared as the stored ``real``). A sample with a composition but no
row for the concept has fraction 0 there (passes a max bound, fails a min bound above 0). A sample without any
composition (not yet composed, or no head installed) never passes a composition filter, not even ``max`` alone:
"under 10 % built-up" is a statement about measured pixels, not about unknown ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql


@dataclass(frozen=True)
class Where:
    clause: sql.Composable
    params: list[object]
    active: bool                      # False: no filter at all (every sample passes)


@dataclass(frozen=True)
class CompositionBound:
    concept: str                      # concept id (resolved by rskg.composition.bounds)
    min: float | None = None          # share of the sample's pixels, 0..1, inclusive
    max: float | None = None


@dataclass
class SampleFilter:
    datasets: Sequence[str] | None = None
    sensors: Sequence[str] | None = None
    labels: Sequence[str] | None = None                         # source labels, any label set
    label_pairs: Sequence[tuple[str, str]] | None = None        # (label_set, label); [] matches nothing
    bbox: Sequence[float] | None = None
    polygon_wkt: str | None = None
    spatial: str = "intersects"
    time_from: datetime | None = None
    time_to: datetime | None = None
    gsd_min: float | None = None
    gsd_max: float | None = None
    composition: Sequence[CompositionBound] | None = None       # every bound must hold (AND)


HAS_COMPOSITION = "EXISTS (SELECT 1 FROM sample_composition c WHERE c.sample_id = s.id)"
COMPOSITION_MIN = ("EXISTS (SELECT 1 FROM sample_composition c WHERE c.sample_id = s.id AND c.concept_id = %s "
                   "AND c.fraction >= %s::real)")
COMPOSITION_MAX = ("NOT EXISTS (SELECT 1 FROM sample_composition c WHERE c.sample_id = s.id AND c.concept_id = %s "
                   "AND c.fraction > %s::real)")


def where(f: SampleFilter) -> Where:
    parts: list[sql.Composable] = []
    params: list[object] = []

    def add(fragment: str, *values: object) -> None:
        parts.append(sql.SQL(fragment))             # fragments are constants of this function; values are %s
        params.extend(values)

    fn = "ST_Within" if f.spatial == "within" else "ST_Intersects"
    if f.datasets is not None:
        add("s.dataset_id = ANY(%s)", list(f.datasets))
    if f.sensors is not None:
        add("s.sensor = ANY(%s)", list(f.sensors))
    if f.labels is not None:
        add("EXISTS (SELECT 1 FROM sample_labels sl WHERE sl.sample_id = s.id AND sl.label = ANY(%s))", list(f.labels))
    if f.label_pairs is not None:
        if f.label_pairs:
            add("EXISTS (SELECT 1 FROM sample_labels sl JOIN unnest(%s::text[], %s::text[]) AS q(label_set, label) "
                "ON sl.label_set = q.label_set AND sl.label = q.label WHERE sl.sample_id = s.id)",
                [p[0] for p in f.label_pairs], [p[1] for p in f.label_pairs])
        else:
            add("false")
    if f.bbox is not None:
        add(f"{fn}(s.footprint, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", *(float(v) for v in f.bbox))
    if f.polygon_wkt is not None:
        add(f"{fn}(s.footprint, ST_GeomFromText(%s, 4326))", f.polygon_wkt)
    if f.time_from is not None:
        add("s.acquired_at >= %s", f.time_from)
    if f.time_to is not None:
        add("s.acquired_at <= %s", f.time_to)
    if f.gsd_min is not None:
        add("s.gsd_m >= %s", float(f.gsd_min))
    if f.gsd_max is not None:
        add("s.gsd_m <= %s", float(f.gsd_max))
    if f.composition:
        if not any(b.min is not None and b.min > 0 for b in f.composition):
            add(HAS_COMPOSITION)                    # a min bound > 0 implies a composition row
        for b in f.composition:
            if b.min is not None and b.min > 0:
                add(COMPOSITION_MIN, b.concept, float(b.min))
            if b.max is not None:
                add(COMPOSITION_MAX, b.concept, float(b.max))
    if not parts:
        return Where(sql.SQL("TRUE"), [], False)
    return Where(sql.SQL(" AND ").join(parts), params, True)
