"""The saved Browser queries (kg/guide/queries.cypher) run on the real synced graph and return rows."""

from __future__ import annotations

import pytest

from kg.guide import saved_queries
from rskg.services import Services
from rskg.sync import run_sync

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]


def test_every_saved_query_runs_and_answers(services: Services) -> None:
    run_sync(services)
    queries = saved_queries()
    assert len(queries) == 5
    for q in queries:
        records = services.driver.execute_query(q.cypher, q.params).records
        assert records, f"saved query '{q.title}' returned nothing"
    # the hierarchy query under inland water reaches river; the dataset query finds the river datasets
    by_title = {q.title: q for q in queries}
    q2 = next(q for t, q in by_title.items() if t.startswith("Which datasets"))
    datasets = {r["dataset"] for r in services.driver.execute_query(q2.cypher, q2.params).records}
    assert {"ucm", "eurosat", "nwpu_resisc45", "aid"} <= datasets
    q4 = next(q for t, q in by_title.items() if t.startswith("Weighted shortest path"))
    rec = services.driver.execute_query(q4.cypher, q4.params).records[0]
    assert rec["weight"] >= 0 and rec["path"].start_node["id"] == "river" and rec["path"].end_node["id"] == "beach"
