"""One validation of the values every entry point (GraphQL, CLI, retrieval) takes from a client: bounding boxes,
polygons, time ranges and counts/limits. Each raises ValidationError naming the argument and saying how to fix
it. A bounding box needs min < max on both axes (a zero-area box matches nothing) within WGS 84."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from shapely import wkt as shapely_wkt
from shapely.errors import ShapelyError

from rskg.errors import ValidationError

BBOX_HINT = "Give four numbers: min longitude, min latitude, max longitude, max latitude (WGS 84, min < max)."


def bbox(values: Sequence[float] | None, name: str = "bbox") -> tuple[float, float, float, float] | None:
    if values is None:
        return None
    if len(values) != 4:
        raise ValidationError(f"{name} has {len(values)} numbers, not 4", BBOX_HINT)
    x0, y0, x1, y1 = (float(v) for v in values)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValidationError(f"{name} {list(values)!r} holds a non-finite number", BBOX_HINT)
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValidationError(f"{name} {list(values)!r} is not a valid WGS 84 box", BBOX_HINT)
    return x0, y0, x1, y1


def polygon(text: str | None, name: str = "polygon") -> str | None:
    """A valid (Multi)Polygon in WKT with WGS 84 coordinates (lon in [-180, 180], lat in [-90, 90])."""
    if text is None:
        return None
    try:
        geom = shapely_wkt.loads(text)
    except (ShapelyError, ValueError) as exc:
        raise ValidationError(f"{name} is not valid WKT", "Give a WGS 84 POLYGON((lon lat, ...)) in WKT.") from exc
    if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
        raise ValidationError(f"{name} must be a valid (Multi)Polygon, got {geom.geom_type}",
                              "Close the ring and avoid self-intersections.")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise ValidationError(f"{name} has coordinates outside WGS 84 (bounds {geom.bounds})",
                              "Give longitudes in [-180, 180] and latitudes in [-90, 90].")
    return text


def time_range(time_from: datetime | None, time_to: datetime | None,
               names: tuple[str, str] = ("time_from", "time_to")) -> None:
    if time_from is not None and time_to is not None and time_from > time_to:
        raise ValidationError(f"{names[0]} is after {names[1]}", "Swap the dates.")


def date(text: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or date-time (``2020-05-01``, ``2020-05-01T10:00:00Z``)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{name} {text!r} is not an ISO 8601 date", "Use e.g. 2020-05-01.") from exc


def count(value: int | None, name: str, lo: int = 0, hi: int = 100_000) -> int | None:
    """An integer count or limit within [lo, hi] (None stays None)."""
    if value is None:
        return None
    if not lo <= value <= hi:
        raise ValidationError(f"{name} {value} is outside {lo}..{hi}", f"Give a number from {lo} to {hi}.")
    return value


def number_range(lo: float | None, hi: float | None, names: tuple[str, str]) -> None:
    for v, n in ((lo, names[0]), (hi, names[1])):
        if v is not None and (not math.isfinite(v) or v < 0):
            raise ValidationError(f"{n} must be a finite number >= 0", "Leave it unset for no bound.")
    if lo is not None and hi is not None and lo > hi:
        raise ValidationError(f"{names[0]} is larger than {names[1]}", "Swap the bounds.")


COMPOSITION_HINT = ("Give a concept and a share of its pixels from 0 to 1, e.g. water_area>=0.3, "
                    "artificial_surface<=0.1 or water_area=0.2..0.6 (min <= max).")
MAX_COMPOSITION_BOUNDS = 20


def composition_bound(concept: str, lo: float | None, hi: float | None,
                      name: str = "composition") -> tuple[str, float | None, float | None]:
    """(concept text, min, max) of one composition bound: a concept, at least one bound, 0 <= min <= max <= 1."""
    text = (concept or "").strip()
    if not text or len(text) > 200:
        raise ValidationError(f"{name} needs a concept (id or label, at most 200 characters)", COMPOSITION_HINT)
    if lo is None and hi is None:
        raise ValidationError(f"{name} for {text!r} has neither min nor max", COMPOSITION_HINT)
    for v, n in ((lo, "min"), (hi, "max")):
        if v is not None and not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise ValidationError(f"{name} {n} {v!r} for {text!r} is not a share within 0..1", COMPOSITION_HINT)
    if lo is not None and hi is not None and lo > hi:
        raise ValidationError(f"{name} for {text!r}: min {lo} is larger than max {hi}", COMPOSITION_HINT)
    return text, lo, hi


def composition_bounds(bounds: Sequence[tuple[str, float | None, float | None]] | None,
                       name: str = "composition") -> list[tuple[str, float | None, float | None]] | None:
    if bounds is None:
        return None
    if len(bounds) > MAX_COMPOSITION_BOUNDS:
        raise ValidationError(f"{name} has {len(bounds)} bounds", f"Give at most {MAX_COMPOSITION_BOUNDS}.")
    return [composition_bound(c, lo, hi, name) for c, lo, hi in bounds]


def composition_expr(text: str, name: str = "--composition") -> tuple[str, float | None, float | None]:
    """Parse ``CONCEPT>=X``, ``CONCEPT<=X`` or ``CONCEPT=LO..HI`` (shares 0..1, or percentages ``30%``)."""
    def share(v: str) -> float:
        v = v.strip()
        try:
            return float(v[:-1]) / 100.0 if v.endswith("%") else float(v)
        except ValueError as exc:
            raise ValidationError(f"{name} {text!r}: {v!r} is not a number", COMPOSITION_HINT) from exc

    for op in (">=", "<="):
        if op in text:
            concept, value = text.split(op, 1)
            v = share(value)
            return composition_bound(concept, v if op == ">=" else None, v if op == "<=" else None, name)
    if "=" in text and ".." in text.split("=", 1)[1]:
        concept, rng = text.split("=", 1)
        lo, hi = rng.split("..", 1)
        return composition_bound(concept, share(lo), share(hi), name)
    raise ValidationError(f"{name} {text!r} is not CONCEPT>=X, CONCEPT<=X or CONCEPT=LO..HI", COMPOSITION_HINT)
