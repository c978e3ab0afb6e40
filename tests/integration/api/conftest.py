"""Fixtures of the API tests: the real label system synced into Neo4j, a small real UCMerced subset in
the catalog (dataset id ``test_api_ucm``, its labels mapped by reviewer decisions), the app through
Starlette's TestClient and a real uvicorn server on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from rskg.services import Services
from rskg.settings import Settings

DATASET = "test_api_ucm"
PER_CLASS = 3


@pytest.fixture(scope="session")
def label_system(services: Services) -> Any:
    from kg.label_graph import store_weights
    from kg.label_sync import sync_label_system
    from ontology.store import load_label_system

    s = services.settings
    system = load_label_system(s.ontology_dir)
    sync_label_system(services.driver, system)
    store_weights(services.driver, s.alpha, s.beta, s.tau)
    return system


@pytest.fixture(scope="session")
def api_dataset(services: Services, label_system: Any, data_dir: Any) -> Iterator[str]:
    """UCMerced, PER_CLASS images per class, ingested as DATASET; scene labels mapped like the curated
    'ucm' labels through accepted review decisions (the real mapping code path)."""
    from mappings import decision_table as store
    from mappings.decisions import ACCEPTED, MANUAL, MappingDecision
    from rskg.ingest.admin import drop_dataset
    from rskg.ingest.pipeline import IngestOptions, ingest
    from rskg.label_mapping import MappingContext, apply

    drop_dataset(services, DATASET, [f"{DATASET}_multilabel"])
    with services.connection() as conn:
        store.delete_dataset(conn, DATASET)
    ingest(services, IngestOptions(url=str(data_dir / "ucmerced"), dataset="ucm", dataset_id=DATASET,
                                   limit=PER_CLASS, progress=False), extractor=None)
    ctx = MappingContext.open(services, label_system, with_encoder=False)
    decisions = [MappingDecision(dataset=DATASET, label=m.name, concept_id=m.concept_id, status=ACCEPTED,
                                 score=m.confidence, justification=MANUAL, predicate=m.predicate, author="test_api")
                 for m in label_system.mappings if m.dataset == "ucm"]
    assert len(decisions) == 21, decisions
    apply(ctx, decisions)
    yield DATASET
    drop_dataset(services, DATASET, [f"{DATASET}_multilabel"])
    with services.connection() as conn:
        store.delete_dataset(conn, DATASET)


@pytest.fixture(scope="session")
def client(services: Services, label_system: Any) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(services.settings, services)) as c:
        yield c


@dataclass
class Gql:
    client: Any
    token: str

    def __call__(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None,
                 auth: bool = False) -> dict[str, Any]:
        headers = {}
        if auth or token is not None:
            headers["Authorization"] = f"Bearer {token if token is not None else self.token}"
        r = self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture(scope="session")
def gql(client: TestClient, settings: Settings) -> Gql:
    return Gql(client, settings.api_token)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(settings: Settings, services: Services) -> Iterator[str]:
    """A real uvicorn serving the app on a free loopback port (in a thread of this process)."""
    from api.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, services), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        pytest.fail("the API server did not start within 30 s")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(services: Services, label_system: Any) -> Iterator[str]:
    with serve_in_thread(services.settings, services) as base:
        yield base


REVIEW_LABELS = ["river", "parking lot for cars", "solar panel field", "wind turbine array", "xylophone"]


@pytest.fixture(scope="session")
def map_vocab(services: Services, label_system: Any) -> Iterator[Any]:
    """Factory: map REVIEW_LABELS as a new vocabulary ``dataset`` with the real Algorithm 1 (text encoder),
    giving real auto / pending / proposed decisions with their candidate evidence. Removed at the end."""
    from kg import samples as cy
    from mappings import decision_table as store
    from rskg.label_mapping import MappingContext, map_vocabulary

    ctx = MappingContext.open(services, label_system)
    made: list[str] = []

    def forget(dataset: str) -> None:
        with services.connection() as conn:
            store.delete_dataset(conn, dataset)
        services.driver.execute_query(cy.DELETE_LABEL_SET, dataset=dataset)
        services.driver.execute_query(cy.DELETE_DATASET_NODE, dataset=dataset)

    def make(dataset: str) -> dict[str, Any]:
        forget(dataset)
        made.append(dataset)
        decisions, _ = map_vocabulary(ctx, dataset, REVIEW_LABELS, author="test_api")
        return {d.label: d for d in decisions}

    yield make
    for ds in made:
        forget(ds)
    if ctx.encoder is not None:
        ctx.encoder.close()


def current_decision(services: Services, dataset: str, label: str) -> tuple[Any, ...]:
    with services.connection() as conn:
        row = conn.execute("SELECT id, status, concept_id, author FROM mapping_decisions WHERE dataset_id = %s "
                           "AND source_label = %s AND NOT superseded", (dataset, label)).fetchone()
    assert row is not None
    return tuple(row)


def maps_to(services: Services, dataset: str, label: str) -> list[str]:
    recs = services.driver.execute_query(
        "MATCH (:SourceLabel {id: $id})-[:MAPS_TO]->(c:Concept) RETURN c.id AS id ORDER BY id",
        id=f"{dataset}:{label}").records
    return [r["id"] for r in recs]
