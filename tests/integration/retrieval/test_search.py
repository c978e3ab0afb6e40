"""Free-text search and describe on the shared retrieval corpus (real UCMerced/EuroSAT/NWPU/RSSCN7 subsets
ingested with the real encoder, real Neo4j + PostgreSQL + FAISS), through Python and GraphQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from rskg.errors import ValidationError

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]

SEARCH = """query($t: String!, $d: [String!]) { search(text: $t, limit: 5, datasets: $d) {
  query explanation notes phrases { phrase bestName concepts { conceptId score viewKind } }
  concepts { conceptId level weight source }
  hits { sampleId score conceptScore evidence { root conceptId labelled similarity path } sample { id } } } }"""


def _ucm(corpus: Any) -> list[str]:
    return [corpus.datasets["ucm"]]


def _n_samples(corpus: Any) -> int:
    with corpus.services.connection() as conn:
        return int(conn.execute("SELECT count(*) FROM samples WHERE dataset_id = ANY(%s)",
                                (sorted(corpus.datasets.values()),)).fetchone()[0])


def test_river_returns_river_images_with_evidence(corpus: Any) -> None:
    from rskg.search.service import search

    r = search(corpus.services, corpus.settings, "river", limit=5, datasets=_ucm(corpus))
    assert [c.concept_id for c in r.concepts][:1] == ["river"]
    assert r.phrases[0].hits[0].view_kind == "lexical"
    assert r.hits, r.explanation
    assert all("/river/" in h.sample_id for h in r.hits[:3]), [h.sample_id for h in r.hits]
    top = r.hits[0]
    assert top.evidence and top.evidence[0].root == "river" and top.evidence[0].labelled
    assert r.hits == sorted(r.hits, key=lambda h: -h.score)


def test_harbor_with_boats(corpus: Any) -> None:
    from rskg.search.service import search

    r = search(corpus.services, corpus.settings, "a harbor with many boats", limit=5, datasets=_ucm(corpus))
    ids = {c.concept_id for c in r.concepts}
    assert {"harbor", "ship"} <= ids, ids
    assert [p.phrase for p in r.phrases][:2] == ["harbor", "boats"]
    assert all("/harbor/" in h.sample_id for h in r.hits[:3]), [h.sample_id for h in r.hits]
    roots = {e.root for e in r.hits[0].evidence}
    assert {"harbor", "ship"} <= roots


def test_unknown_thing_is_an_empty_answer_with_a_reason(corpus: Any) -> None:
    from rskg.search.service import search

    r = search(corpus.services, corpus.settings, "a quantum flux capacitor")
    assert r.hits == [] and r.concepts == []
    assert "No concept of the label system matches" in r.explanation and "quantum flux capacitor" in r.explanation


@pytest.mark.parametrize("bad", ["", "   ", "river " * 2000])
def test_empty_or_huge_text_is_a_validation_error(corpus: Any, bad: str) -> None:
    from rskg.search.service import search

    with pytest.raises(ValidationError):
        search(corpus.services, corpus.settings, bad)


def test_injection_strings_are_harmless(corpus: Any) -> None:
    from rskg.search.service import search

    before = _n_samples(corpus)
    for evil in ["'; DROP TABLE samples; --", "MATCH (n) DETACH DELETE n // river", "river') OR 1=1 --"]:
        r = search(corpus.services, corpus.settings, evil, datasets=_ucm(corpus))
        assert isinstance(r.hits, list)
    assert _n_samples(corpus) == before
    n = corpus.services.driver.execute_query("MATCH (c:Concept {id: 'river'}) RETURN count(c) AS n").records[0]["n"]
    assert n == 1


def test_describe_a_river_image(corpus: Any) -> None:
    from rskg.search.describe import describe

    sid = next(i for i in _river_ids(corpus))
    d = describe(corpus.services, corpus.settings, sample_id=sid, top=10)
    ids = [c.concept_id for c in d.concepts]
    assert "river" in ids[:5] or "inland_water" in ids[:3], ids
    river = next(c for c in d.concepts if c.concept_id in ("river", "inland_water"))
    assert river.path[0] == river.name and len(river.path) >= 2
    assert d.text and "level" in d.text
    # this home has no segmentation head: describe says so (tests/integration/test_composition.py has one)
    assert d.composition == [] and any("no segmentation head" in n for n in d.notes), d.notes
    with pytest.raises(ValidationError):
        describe(corpus.services, corpus.settings)


def _river_ids(corpus: Any) -> list[str]:
    with corpus.services.connection() as conn:
        rows = conn.execute("SELECT id FROM samples WHERE dataset_id = %s AND source_path LIKE %s ORDER BY id",
                            (corpus.datasets["ucm"], "%/river/%")).fetchall()
    assert rows
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def api(corpus: Any) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(corpus.settings, corpus.services)) as c:
        yield c


def test_graphql_search_and_errors(api: TestClient, corpus: Any) -> None:
    ok = api.post("/graphql", json={"query": SEARCH, "variables": {"t": "river", "d": _ucm(corpus)}}).json()
    assert "errors" not in ok, ok
    got = ok["data"]["search"]
    assert got["concepts"][0]["conceptId"] == "river" and got["hits"]
    assert got["hits"][0]["sample"]["id"] == got["hits"][0]["sampleId"]
    for bad in ["", "x" * 10_000]:
        out = api.post("/graphql", json={"query": SEARCH, "variables": {"t": bad, "d": None}}).json()
        assert out["data"] is None
        err = out["errors"][0]
        assert err["extensions"]["code"] == "ValidationError" and err["extensions"]["hint"]
    unknown = api.post("/graphql", json={"query": SEARCH, "variables": {"t": "quantum flux capacitor", "d": None}})
    body = unknown.json()["data"]["search"]
    assert body["hits"] == [] and body["explanation"]


def test_graphql_describe(api: TestClient, corpus: Any) -> None:
    q = "query($s: String) { describe(sampleId: $s, top: 5) { source text concepts { conceptId level path } } }"
    out = api.post("/graphql", json={"query": q, "variables": {"s": _river_ids(corpus)[0]}}).json()
    assert "errors" not in out, out
    assert len(out["data"]["describe"]["concepts"]) == 5
    bad = api.post("/graphql", json={"query": "{ describe(imageBase64: \"@@not base64@@\") { text } }"}).json()
    assert bad["errors"][0]["extensions"]["code"] == "ValidationError"


def test_search_train_enables_the_fused_route(corpus: Any, services: Any) -> None:
    """`rskg search-train` (caption-learned maps on UCM-Captions, real data) for the corpus's encoder: the running
    search picks the models up without a restart and ranks by concepts + visual scores. Runs last in this file
    (the trained models are removed again)."""
    import shutil

    from rskg.search.resources import train
    from rskg.search.service import search

    main_raw = services.settings.cache_dir / "eval_raw"      # the 2,100 UCMerced backbone features, computed once
    main_raw.mkdir(parents=True, exist_ok=True)
    link = corpus.settings.cache_dir / "eval_raw"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(main_raw, target_is_directory=True)
    text = "many boats in a harbor"
    before = search(corpus.services, corpus.settings, text, limit=5, datasets=_ucm(corpus))
    assert any("no caption-learned models" in n for n in before.notes)
    assert all(h.visual_score is None for h in before.hits)
    folder, models = train(corpus.services, corpus.settings)
    try:
        assert 0.0 <= models.calibration.lam <= 0.9
        after = search(corpus.services, corpus.settings, text, limit=5, datasets=_ucm(corpus))
        assert not any("no caption-learned models" in n for n in after.notes), after.notes
        assert after.hits and all(h.visual_score is not None for h in after.hits)
        assert all("/harbor/" in h.sample_id for h in after.hits[:3]), [h.sample_id for h in after.hits]
        visual = search(corpus.services, corpus.settings, text, limit=5, route="visual", datasets=_ucm(corpus))
        assert visual.hits and visual.hits[0].visual_score is not None
    finally:
        shutil.rmtree(folder)
