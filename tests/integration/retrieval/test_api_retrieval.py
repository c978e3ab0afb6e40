"""The GraphQL ``retrieve`` query on the shared retrieval corpus: the API answers exactly what the pipeline
answers (same hits, same order, same evidence), through HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]

RETRIEVE = """query($r: RetrievalInput!) { retrieve(request: $r) {
  matches { query conceptId how concept { id name } }
  unmatched
  related { conceptId distance source path relations }
  direct { sampleId dataset conceptId kind score labels sample { id thumbnailUrl } }
  supplementary { sampleId dataset conceptId kind score
                  evidence { conceptId prototypeId similarity graphDistance path } sample { id } }
  candidates timingsMs { step ms } notes versions { name version } } }"""


@pytest.fixture(scope="module")
def api(corpus: Any) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(corpus.settings, corpus.services)) as c:
        yield c


def _q(api: TestClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200
    return dict(r.json())


def test_retrieve_matches_the_pipeline(api: TestClient, corpus: Any) -> None:
    from rskg.retrieval.model import RetrievalRequest
    from rskg.retrieval.pipeline import retrieve

    datasets = sorted(corpus.datasets.values())
    req = RetrievalRequest(labels=["river", "beach"], datasets=datasets, limit_supplementary=50)
    expected = retrieve(corpus.services, corpus.settings, req)
    out = _q(api, RETRIEVE, {"r": {"labels": ["river", "beach"], "datasets": datasets, "limitSupplementary": 50}})
    assert "errors" not in out, out
    got = out["data"]["retrieve"]
    assert [m["conceptId"] for m in got["matches"]] == [m.concept_id for m in expected.matches] == ["river", "beach"]
    assert got["matches"][0]["concept"]["id"] == "river"
    assert [(h["sampleId"], h["conceptId"]) for h in got["direct"]] == [(h.sample_id, h.concept_id)
                                                                        for h in expected.direct]
    assert got["direct"], "the corpus has river and beach images"
    assert all(h["kind"] == "direct" and h["sample"]["id"] == h["sampleId"] for h in got["direct"])
    assert [(h["sampleId"], round(h["score"], 5)) for h in got["supplementary"]] == [
        (h.sample_id, round(h.score, 5)) for h in expected.supplementary]
    for h in got["supplementary"]:
        ev = h["evidence"]
        assert ev is not None and ev["path"][0] == h["conceptId"] and ev["path"][-1] == ev["conceptId"]
        assert h["sample"]["id"] == h["sampleId"]
    assert {t["step"] for t in got["timingsMs"]} >= {"filter", "labels", "expand", "direct", "total"}
    assert got["unmatched"] == []
    thumb = api.get(got["direct"][0]["sample"]["thumbnailUrl"])
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"


def test_retrieve_errors_are_shown_with_hints(api: TestClient) -> None:
    out = _q(api, RETRIEVE, {"r": {"labels": []}})
    err = out["errors"][0]
    assert "needs labels or an example" in err["message"] and err["extensions"]["hint"]
    out = _q(api, RETRIEVE, {"r": {"labels": ["river"], "alpha": -1}})
    assert "must not be negative" in out["errors"][0]["message"]


def test_retrieve_with_injection_strings_is_harmless(api: TestClient, corpus: Any) -> None:
    datasets = sorted(corpus.datasets.values())
    for s in ["river' }) MATCH (n) DETACH DELETE n //", "x'; DROP TABLE samples; --", "*:*"]:
        out = _q(api, RETRIEVE, {"r": {"labels": [s], "datasets": datasets + [s], "sensors": [s]}})
        assert "errors" not in out, out
        assert out["data"]["retrieve"]["unmatched"] == [s] and out["data"]["retrieve"]["direct"] == []
    out = _q(api, RETRIEVE, {"r": {"labels": ["river"], "datasets": datasets}})
    assert out["data"]["retrieve"]["direct"]


EXAMPLE = """query($r: RetrievalInput!) { retrieve(request: $r) {
  supplementary { sampleId conceptId evidence { prototypeId similarity } } notes } }"""


def test_retrieve_by_uploaded_example_image(api: TestClient, corpus: Any) -> None:
    """An uploaded image (base64 in the variables) is encoded like an ingested one: uploading the pixels of a
    catalog sample finds that very sample first (cosine ~1), then exactly what a query by its sample id finds."""
    import base64

    rel = "images/river/river00.jpg"
    ex = f"{corpus.datasets['ucm']}:{rel}"
    raw = (corpus.settings.data_dir / "ucmerced" / rel).read_bytes()
    common = {"labels": [], "similarityThreshold": 0.3, "kPerPrototype": 10}
    by_image = _q(api, EXAMPLE, {"r": {**common, "exampleImageBase64": base64.b64encode(raw).decode(),
                                       "exampleGsdM": 0.3}})
    assert "errors" not in by_image, by_image
    hits = by_image["data"]["retrieve"]["supplementary"]
    assert hits[0]["sampleId"] == ex and hits[0]["evidence"]["similarity"] > 0.999
    assert all(h["conceptId"] == "example" and h["evidence"]["prototypeId"] == "example:image" for h in hits)
    by_id = _q(api, EXAMPLE, {"r": {**common, "exampleSampleId": ex}})["data"]["retrieve"]["supplementary"]
    by_id = by_id[:len(hits) - 1]          # the image's k neighbours include itself, the sample id's do not
    assert by_id and [h["sampleId"] for h in hits[1:]] == [h["sampleId"] for h in by_id]
    for a, b in zip(hits[1:], by_id, strict=True):
        assert abs(a["evidence"]["similarity"] - b["evidence"]["similarity"]) < 1e-4


def test_retrieve_rejects_bad_example_images(api: TestClient) -> None:
    import base64

    cases = [({"exampleImageBase64": "not base64!"}, "not valid base64"),
             ({"exampleImageBase64": base64.b64encode(b"plain text, no image").decode()}, "not a readable image"),
             ({"exampleImageBase64": "", "labels": ["river"]}, "is empty"),
             ({"exampleImageBase64": base64.b64encode(b"x").decode(), "exampleSampleId": "ucm:x"}, "not both"),
             ({"labels": ["river"], "exampleGsdM": -1.0}, "example_gsd_m")]
    for extra, message in cases:
        out = _q(api, EXAMPLE, {"r": {"labels": [], **extra}})
        assert out.get("data") is None or out["data"].get("retrieve") is None
        assert message in out["errors"][0]["message"], out
        assert out["errors"][0]["extensions"]["hint"]


def test_retrieve_hir_options(api: TestClient, corpus: Any) -> None:
    q = """query($r: RetrievalInput!) { retrieve(request: $r) { notes supplementary { sampleId hirDistance } } }"""
    base = {"labels": ["river"], "similarityThreshold": 0.4, "rerankHir": True, "hirShortlist": 10}
    out = _q(api, q, {"r": {**base, "hirGrid": 1, "hirLambda": 1000.0}})["data"]["retrieve"]
    assert any("whole images, fused with the retrieval score (lambda 1000)" in n for n in out["notes"]), out["notes"]
    d = [h["hirDistance"] for h in out["supplementary"] if h["hirDistance"] is not None]
    assert len(d) >= 2 and d == sorted(d)
    err = _q(api, q, {"r": {**base, "hirGrid": 20}})["errors"][0]
    assert "hir_grid" in err["message"] and err["extensions"]["hint"]
    patch = _q(api, q, {"r": {**base, "hirSource": "patch"}})["data"]["retrieve"]
    assert not any("composition" in n for n in patch["notes"]), patch["notes"]
    err = _q(api, q, {"r": {**base, "hirSource": "pixels"}})["errors"][0]
    assert "hir_source" in err["message"] and err["extensions"]["hint"]
