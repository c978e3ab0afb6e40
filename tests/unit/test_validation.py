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
