"""The web app's GraphQL fields on the real label system and a real UCMerced subset: typeahead over every
spelling, repository statistics checked against PostgreSQL, footprints, the web config; the export-zip route's
token check; the app pages are served."""

from __future__ import annotations

from typing import Any

import pytest

from rskg.services import Services

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]

SUGGEST = """query($t: String!) { suggestConcepts(text: $t, limit: 5) {
  spelling how concept { id name } spellings { text how dataset } } }"""
STATS = """{ repositoryStats { samples datasets { id samples georeferenced sensors license citation gsdM }
  perConceptDataset { conceptId dataset samples } growth { day datasets mappedLabels samples } } }"""


def test_suggest_finds_every_source_spelling(gql: Any, label_system: Any) -> None:
    out = gql(SUGGEST, {"t": "storage tank"})["data"]["suggestConcepts"]
    assert out[0]["concept"]["id"] == "storage_tank" and out[0]["how"] == "prefLabel"
    spellings = {(s["text"], s["dataset"]) for s in out[0]["spellings"]}
    assert ("storagetanks", "ucm") in spellings and ("StorageTanks", "aid") in spellings
    # the dataset's own spelling finds the concept too, and a camel-cased source label is found by its words
    assert gql(SUGGEST, {"t": "storagetanks"})["data"]["suggestConcepts"][0]["concept"]["id"] == "storage_tank"
    lake = gql(SUGGEST, {"t": "d river lake"})["data"]["suggestConcepts"]
    assert any(sp["text"] == "dRiverLake" for s in lake for sp in s["spellings"]), lake
    err = gql(SUGGEST, {"t": " _ "})["errors"][0]
    assert "no letters" in err["message"]


def test_repository_stats_match_postgres(gql: Any, api_dataset: str, services: Services) -> None:
    s = gql(STATS)["data"]["repositoryStats"]
    with services.connection() as conn:
        per_ds = dict(conn.execute("SELECT dataset_id, count(*) FROM samples GROUP BY 1").fetchall())
        total = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
        tanks = conn.execute("SELECT count(DISTINCT sample_id) FROM sample_labels WHERE label_set = %s AND "
                             "label = 'storagetanks'", (api_dataset,)).fetchone()[0]
    assert s["samples"] == total
    assert {d["id"]: d["samples"] for d in s["datasets"]} == {k: v for k, v in per_ds.items()} | {
        d["id"]: 0 for d in s["datasets"] if d["id"] not in per_ds}
    ucm = next(d for d in s["datasets"] if d["id"] == api_dataset)
    assert ucm["georeferenced"] == 0 and ucm["sensors"] and ucm["license"]
    counts = {(r["conceptId"], r["dataset"]): r["samples"] for r in s["perConceptDataset"]}
    assert tanks == 3 and counts[("storage_tank", api_dataset)] == tanks
    assert s["growth"] and s["growth"][-1]["samples"] == total


def test_concept_sample_counts_and_footprints(gql: Any, api_dataset: str, services: Services) -> None:
    out = gql("""{ conceptSampleCounts(id: "storage_tank") { dataset samples } footprints(limit: 50)
                   webConfig { tileUrl neo4jBrowserUrl } }""")["data"]
    assert {"dataset": api_dataset, "samples": 3} in out["conceptSampleCounts"]
    with services.connection() as conn:
        geo = conn.execute("SELECT count(*) FROM samples WHERE footprint IS NOT NULL").fetchone()[0]
    fc = out["footprints"]
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == min(geo, 50)
    assert all(f["geometry"]["type"] == "Polygon" for f in fc["features"])
    assert out["webConfig"]["tileUrl"] == "" and "/browser/" in out["webConfig"]["neo4jBrowserUrl"]


def test_app_pages_and_export_route_needs_the_token(client: Any, settings: Any) -> None:
    for path in ("/", "/explore", "/explore/river", "/compose", "/stats", "/review/composite/x"):
        r = client.get(path)
        assert r.status_code == 200 and 'src="/static/app/app.js"' in r.text, path
    assert client.get("/static/app/app.js").status_code == 200
    assert client.get("/static/app/countries-110m.json").json()["type"] == "Topology"
    r = client.post("/export/composite/00000000-0000-0000-0000-000000000000?format=csv")
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"
    r = client.post("/export/composite/00000000-0000-0000-0000-000000000000?format=csv",
                    headers={"Authorization": f"Bearer {settings.api_token}"})
    assert r.status_code == 400 and r.json()["hint"]
