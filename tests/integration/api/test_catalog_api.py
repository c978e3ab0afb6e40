"""Datasets and samples through GraphQL: filters, cursor pagination, concepts of samples, thumbnails."""

from __future__ import annotations

from typing import Any

import pytest

from rskg.services import Services

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]

PAGE = """query($f: SampleFilter, $first: Int!, $after: String) {
  samples(filter: $f, first: $first, after: $after) {
    totalCount
    edges { cursor node { id dataset labels thumbnailUrl } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }"""


def _ids(services: Services, sql: str, *params: Any) -> list[str]:
    with services.connection() as conn:
        return [r[0] for r in conn.execute(sql, params).fetchall()]


def test_cursor_pagination_walks_every_sample_once(gql: Any, api_dataset: str, services: Services) -> None:
    expected = _ids(services, "SELECT id FROM samples WHERE dataset_id = %s ORDER BY id", api_dataset)
    assert len(expected) == 63
    seen, after, pages = [], None, 0
    while True:
        out = gql(PAGE, {"f": {"datasets": [api_dataset]}, "first": 10, "after": after})
        assert "errors" not in out, out
        conn = out["data"]["samples"]
        assert conn["totalCount"] == 63
        seen += [e["node"]["id"] for e in conn["edges"]]
        pages += 1
        assert conn["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        assert after == conn["edges"][-1]["cursor"]
    assert seen == expected and pages == 7


def test_filter_by_concept_includes_subclasses(gql: Any, api_dataset: str, services: Services,
                                               label_system: Any) -> None:
    # "water_area" (or whatever is the root above river) covers river, beach? -> compare with SQL on the mapping
    parent = label_system.concepts["river"].parents[0]
    under = {parent}
    changed = True
    while changed:
        new = {c.id for c in label_system.active().values() if set(c.parents) & under} - under
        changed = bool(new)
        under |= new
    labels = sorted({m.name for m in label_system.mappings if m.dataset == "ucm" and m.concept_id in under})
    assert "river" in labels
    expected = _ids(services, "SELECT id FROM samples WHERE dataset_id = %s AND labels && %s ORDER BY id",
                    api_dataset, labels)
    out = gql(PAGE, {"f": {"datasets": [api_dataset], "concepts": [parent]}, "first": 100})
    got = [e["node"]["id"] for e in out["data"]["samples"]["edges"]]
    assert got == expected and len(got) == 3 * len(labels)


def test_filter_by_source_label_and_empty_bbox(gql: Any, api_dataset: str) -> None:
    out = gql(PAGE, {"f": {"datasets": [api_dataset], "labels": ["airplane"]}, "first": 50})
    nodes = [e["node"] for e in out["data"]["samples"]["edges"]]
    assert len(nodes) == 3 and all(n["labels"] == ["airplane"] for n in nodes)
    # UCMerced has no footprints: a bbox filter keeps nothing of it
    out = gql(PAGE, {"f": {"datasets": [api_dataset], "bbox": [-180, -90, 180, 90]}, "first": 5})
    assert out["data"]["samples"]["totalCount"] == 0
    out = gql(PAGE, {"f": {"bbox": [10, 0, 5, 1]}, "first": 5})
    assert "is not a valid WGS 84 box" in out["errors"][0]["message"]


def test_sample_concepts_and_label_sets(gql: Any, api_dataset: str) -> None:
    sid = f"{api_dataset}:images/river/river00.jpg"
    out = gql("query($id: ID!) { sample(id: $id) { id labels labelSets { labelSet label } concepts { id } "
              "width height } }", {"id": sid})
    s = out["data"]["sample"]
    assert s is not None, out
    assert s["labels"] == ["river"] and {"id": "river"} in s["concepts"]
    assert {"labelSet": api_dataset, "label": "river"} in s["labelSets"]
    assert any(ls["labelSet"] == f"{api_dataset}_multilabel" for ls in s["labelSets"])
    assert s["width"] == 256 and s["height"] == 256


def test_thumbnail_is_a_jpeg_of_the_sample(client: Any, gql: Any, api_dataset: str) -> None:
    import io

    from PIL import Image

    out = gql(PAGE, {"f": {"datasets": [api_dataset]}, "first": 1})
    url = out["data"]["samples"]["edges"][0]["node"]["thumbnailUrl"]
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = Image.open(io.BytesIO(r.content))
    assert img.format == "JPEG" and max(img.size) == 192
    assert client.get("/thumbnails/nope%3Anothing.jpg").status_code == 404


def test_datasets_with_labels(gql: Any, api_dataset: str) -> None:
    out = gql('{ dataset(id: "ucm") { id name labels { name mappings { conceptId status concept { id } } } } }')
    d = out["data"]["dataset"]
    assert d["id"] == "ucm" and len(d["labels"]) == 21
    river = next(lab for lab in d["labels"] if lab["name"] == "river")
    assert river["mappings"][0]["concept"]["id"] == "river"
    out = gql("{ datasets { id nSamples } }")
    assert any(x["id"] == api_dataset and x["nSamples"] >= 0 for x in out["data"]["datasets"])
