"""rskg.validation: the one check of bounding boxes, polygons, dates and counts (GraphQL, CLI, retrieval)."""

from __future__ import annotations

import pytest

from rskg import validation
from rskg.errors import ValidationError


@pytest.mark.parametrize("box", [[10, 10, 10, 10], [10, 0, 5, 1], [0, 0, 1], [-181, 0, 1, 1], [0, 0, 1, 91],
                                 [0, 0, float("nan"), 1], [0, 0, float("inf"), 1]])
def test_bad_boxes(box: list[float]) -> None:
    with pytest.raises(ValidationError, match="bbox"):
        validation.bbox(box)


def test_good_values() -> None:
    assert validation.bbox([-180, -90, 180, 90]) == (-180.0, -90.0, 180.0, 90.0)
    assert validation.polygon("POLYGON((0 0, 1 0, 1 1, 0 0))") is not None
    assert validation.count(0, "limit", 0, 10) == 0
    assert validation.date("2020-05-01", "--from") is not None


def test_bad_polygons_dates_counts() -> None:
    with pytest.raises(ValidationError, match="outside WGS 84"):
        validation.polygon("POLYGON((500 0, 501 0, 501 1, 500 0))")
    with pytest.raises(ValidationError, match="not valid WKT"):
        validation.polygon("POLYGON((")
    with pytest.raises(ValidationError, match="--from '2020-13-45' is not an ISO 8601 date"):
        validation.date("2020-13-45", "--from")
    with pytest.raises(ValidationError, match="hir_shortlist -5 is outside 1..10000"):
        validation.count(-5, "hir_shortlist", 1, 10_000)


@pytest.mark.parametrize(("text", "want"), [
    ("water_area>=0.3", ("water_area", 0.3, None)),
    ("artificial surface <= 10%", ("artificial surface", None, 0.1)),
    ("grassland=0.2..0.6", ("grassland", 0.2, 0.6)),
    ("water=0..1", ("water", 0.0, 1.0)),
])
def test_composition_expressions(text: str, want: tuple[str, float | None, float | None]) -> None:
    concept, lo, hi = validation.composition_expr(text)
    assert concept == want[0] and lo == pytest.approx(want[1]) and hi == pytest.approx(want[2])


@pytest.mark.parametrize(("text", "message"), [
    ("water>=1.5", "not a share within 0..1"), ("water<=-0.1", "not a share within 0..1"),
    ("water=0.6..0.2", "min 0.6 is larger than max 0.2"), ("water>0.3", "is not CONCEPT>=X"),
    (">=0.3", "needs a concept"), ("water>=lots", "'lots' is not a number"), ("water>=nan", "within 0..1"),
])
def test_bad_composition_expressions(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as e:
        validation.composition_expr(text)
    assert e.value.hint and "water_area>=0.3" in e.value.hint


def test_composition_bounds_need_a_bound_and_a_limit() -> None:
    with pytest.raises(ValidationError, match="neither min nor max"):
        validation.composition_bounds([("water", None, None)])
    with pytest.raises(ValidationError, match="21 bounds"):
        validation.composition_bounds([("water", 0.1, None)] * 21)
    assert validation.composition_bounds(None) is None
