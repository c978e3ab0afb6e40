"""The non-GraphQL routes: GraphiQL, health, the Browser guide, SPARQL, pages and static files."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]


def test_health_and_graphiql(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "neo4j": "ok", "postgres": "ok"}
    r = client.get("/graphql", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()


def test_browser_guide_is_served_cross_origin(client: Any) -> None:
    r = client.get("/guide/rskg.html", headers={"Origin": "http://127.0.0.1:7474"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert r.text.count('class="pre-scrollable code runnable"') >= 6
    assert "MATCH path = (d:Concept)-[:SUBCLASS_OF*0..]-&gt;(root:Concept {id: $concept})" in r.text
    # Neo4j Browser's fetch sends custom headers, so Chromium sends a CORS preflight first
    pre = client.options("/guide/rskg.html", headers={"Origin": "http://127.0.0.1:7474",
                                                      "Access-Control-Request-Method": "GET",
                                                      "Access-Control-Request-Headers": "x-ajax-browser-auth"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"
    assert pre.headers["access-control-allow-headers"] == "x-ajax-browser-auth"


def test_sparql_endpoint_is_mounted_and_read_only(client: Any, label_system: Any) -> None:
    q = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
         "SELECT ?c WHERE { ?c skos:prefLabel \"river\"@en }")
    r = client.get("/sparql/", params={"query": q}, headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.text
    rows = r.json()["results"]["bindings"]
    assert len(rows) == 1 and rows[0]["c"]["value"].endswith("river")
    r = client.post("/sparql/", data={"update": "DELETE WHERE { ?s ?p ?o }"})
    assert r.status_code == 400
    r = client.get("/sparql/", params={"query": "DELETE WHERE { ?s ?p ?o }"})
    assert r.status_code == 400


def test_pages_and_static_files(client: Any) -> None:
    for path in ("/", "/review/mappings", "/review/composite/00000000-0000-0000-0000-000000000000"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
    assert "function gql" in client.get("/static/rskg.js").text
