"""SPARQL over the committed label system: library, CLI and the HTTP endpoint (Starlette TestClient)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rdflib import Graph
from starlette.testclient import TestClient
from typer.testing import CliRunner

from ontology import queries as Q
from ontology.sparql import run_query
from ontology.sparql_http import create_sparql_app, negotiate
from ontology.store import load_graph
from rskg.errors import ValidationError
from rskg.settings import Settings

ONTOLOGY_DIR = Path(__file__).resolve().parents[2] / "ontology" / "data"
RIVER_DATASETS = {"ucm", "eurosat", "nwpu_resisc45", "rsscn7"}
CONCEPT = "https://w3id.org/rskg/concept/"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return load_graph(ONTOLOGY_DIR)


@pytest.fixture(scope="module")
def client(settings: Settings) -> TestClient:
    return TestClient(create_sparql_app(settings.model_copy(update={"ontology_dir": ONTOLOGY_DIR})))


def test_library_hierarchy_synonym_and_datasets(graph: Graph) -> None:
    anc = {r["label"] for r in run_query(graph, Q.query(Q.ANCESTORS, id="storage_tank")).rows()}
    assert anc == {"storage facility", "industrial land", "artificial surfaces"}
    sub = {r["concept"].removeprefix(CONCEPT) for r in run_query(graph, Q.query(Q.SUBTREE, id="water_area")).rows()}
    assert {"river", "lake", "sea", "inland_water", "watercourse"} <= sub and "forest" not in sub
    hits = run_query(graph, Q.query(Q.BY_LABEL, label="storagetanks")).rows()
    assert [(h["concept"], h["prefLabel"]) for h in hits] == [(CONCEPT + "storage_tank", "storage tank")]
    rows = run_query(graph, Q.query(Q.DATASETS_WITH, label="river")).rows()
    found = {r["dataset"] for r in rows}
    assert found >= RIVER_DATASETS
    assert {"river_lake", "dRiverLake"} <= {r["label"] for r in rows if r["dataset"] == "rsscn7"}
    assert "sat6" not in found                       # SAT-6 has only 'water bodies'
    levels = {int(r["level"]): int(r["concepts"]) for r in run_query(graph, Q.LEVEL_COUNTS).rows()}
    assert levels[1] == 7 and sum(levels.values()) >= 171


def test_library_rejects_updates_and_bad_syntax(graph: Graph) -> None:
    for q in ("CLEAR ALL", "INSERT DATA { <a:b> <a:c> <a:d> }", "PREFIX x: <a:> DELETE WHERE { ?s ?p ?o }",
              "LOAD <http://example.org/x.ttl>"):
        with pytest.raises(ValidationError, match="read-only"):
            run_query(graph, q)
    with pytest.raises(ValidationError, match="SPARQL query failed"):
        run_query(graph, "SELEKT * WHERE { ?s ?p ?o }")
    # the word 'insert' inside a string literal is not an update
    assert run_query(graph, 'ASK { FILTER(CONTAINS("insert data", "insert")) }').result.askAnswer is True


def test_cli_formats(tmp_path: Path) -> None:
    from rskg.cli.main import app

    runner = CliRunner()
    q = Q.query(Q.DATASETS_WITH, label="river")
    res = runner.invoke(app, ["ontology", "sparql", q, "--format", "json", "--dir", str(ONTOLOGY_DIR)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert {b["dataset"]["value"] for b in doc["results"]["bindings"]} >= RIVER_DATASETS
    res = runner.invoke(app, ["ontology", "sparql", Q.query(Q.BY_LABEL, label="storagetanks"), "-f", "csv",
                              "--dir", str(ONTOLOGY_DIR)])
    assert res.exit_code == 0
    assert list(csv.DictReader(io.StringIO(res.output))) == [{"concept": CONCEPT + "storage_tank",
                                                              "prefLabel": "storage tank"}]
    construct = Q.PREFIXES + ("CONSTRUCT { ?c skos:broader ?p } "
                              "WHERE { concept:river skos:broader+ ?p . BIND(concept:river AS ?c) }")
    res = runner.invoke(app, ["ontology", "sparql", construct, "-f", "turtle", "--dir", str(ONTOLOGY_DIR)])
    assert res.exit_code == 0
    g = Graph().parse(data=res.output, format="turtle")
    assert {str(o).removeprefix(CONCEPT) for o in g.objects()} == {"watercourse", "inland_water", "water_area"}
    res = runner.invoke(app, ["ontology", "sparql", "SELECT ?s WHERE { ?s ?p ?o } LIMIT 2", "--dir", str(ONTOLOGY_DIR)])
    assert res.exit_code == 0 and len(res.output.strip().splitlines()) == 4    # table: header, rule, 2 rows


def test_http_get_post_and_negotiation(client: TestClient) -> None:
    q = Q.query(Q.DATASETS_WITH, label="river")
    r = client.get("/", params={"query": q})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+json")
    assert {b["dataset"]["value"] for b in r.json()["results"]["bindings"]} >= RIVER_DATASETS
    r = client.post("/", data={"query": q}, headers={"accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert {row["dataset"] for row in csv.DictReader(io.StringIO(r.text))} >= RIVER_DATASETS
    syn = Q.query(Q.BY_LABEL, label="storagetanks")
    r = client.post("/", content=syn.encode(), headers={"content-type": "application/sparql-query",
                                                        "accept": "application/sparql-results+json"})
    assert [b["concept"]["value"] for b in r.json()["results"]["bindings"]] == [CONCEPT + "storage_tank"]
    construct = Q.PREFIXES + ('CONSTRUCT { ?c skos:prefLabel ?l } '
                              'WHERE { ?c skos:altLabel "storagetanks"@en ; skos:prefLabel ?l }')
    r = client.get("/", params={"query": construct}, headers={"accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = Graph().parse(data=r.text, format="turtle")
    assert [str(o) for o in g.objects()] == ["storage tank"]
    r = client.get("/", params={"query": "ASK { ?s ?p ?o }"})
    assert r.json()["boolean"] is True
    assert client.get("/", params={"query": q}, headers={"accept": "image/png"}).status_code == 406


def test_http_rejects_updates_and_errors(client: TestClient) -> None:
    r = client.post("/", data={"update": "CLEAR ALL"})
    assert r.status_code == 400 and "read-only" in r.text
    r = client.post("/", content=b"CLEAR ALL", headers={"content-type": "application/sparql-update"})
    assert r.status_code == 400
    r = client.get("/", params={"query": "DROP GRAPH <urn:x>"})
    assert r.status_code == 400 and "DROP" in r.text
    r = client.get("/", params={"query": "SELECT WHERE"})
    assert r.status_code == 400 and "SPARQL query failed" in r.text
    assert client.get("/").status_code == 400


def test_negotiate() -> None:
    assert negotiate(None, False) == "application/sparql-results+json"
    assert negotiate("text/csv;q=0.5, application/sparql-results+xml", False) == "application/sparql-results+xml"
    assert negotiate("*/*", True) == "text/turtle"
    assert negotiate("text/csv", True) is None
