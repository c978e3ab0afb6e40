"""The real label system synced into the real Neo4j: counts agree, a second sync changes nothing."""

from __future__ import annotations

import pytest

from kg.label_sync import graph_counts, sync_label_system
from ontology.model import LabelSystem
from ontology.store import load_label_system
from rskg.services import Services
from rskg.settings import Settings
from rskg.sync import run_sync

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]


@pytest.fixture(scope="module")
def system(settings: Settings) -> LabelSystem:
    return load_label_system(settings.ontology_dir)


def _expected(system: LabelSystem) -> dict[str, int]:
    return {
        "concepts": len(system.concepts),
        "subclass": sum(len(c.parents) for c in system.concepts.values() if not c.deprecated),
        "datasets": len(system.datasets),
        "labels": len({(m.dataset, m.name) for m in system.mappings}),
        "maps_to": len(system.mappings),
    }


def test_counts_equal_after_sync_and_resync(services: Services, system: LabelSystem) -> None:
    first = run_sync(services)
    assert first.counts == _expected(system)
    second = run_sync(services, derived=False)
    assert second.report.changes == 0, second.report
    assert second.counts == _expected(system)


def test_graph_content_matches_ontology(services: Services, system: LabelSystem) -> None:
    run_sync(services, derived=False)
    drv = services.driver
    # every dataset label reaches exactly one concept, the one the ontology says
    rows = drv.execute_query(
        "MATCH (d:Dataset {in_ontology: true})-[:HAS_LABEL]->(l:SourceLabel)-[:MAPS_TO]->(c:Concept) "
        "RETURN l.dataset AS ds, l.name AS name, collect(c.id) AS concepts").records
    got = {(r["ds"], r["name"]): r["concepts"] for r in rows}
    assert got == {(m.dataset, m.name): [m.concept_id] for m in system.mappings}
    # hierarchy edges are the ontology's
    pairs = {(r["a"], r["b"]) for r in drv.execute_query(
        "MATCH (a:Concept)-[:SUBCLASS_OF]->(b:Concept) RETURN a.id AS a, b.id AS b").records}
    assert pairs == {(c.id, p) for c in system.concepts.values() if not c.deprecated for p in c.parents}
    # the UCMerced spelling "storagetanks" and the RSSCN7 folder spelling land on concepts
    rec = drv.execute_query(
        "MATCH (:SourceLabel {id: 'ucm:storagetanks'})-[:MAPS_TO]->(c:Concept) RETURN c.id AS id").records
    assert rec and rec[0]["id"] == system.mapping_for("ucm", "storagetanks").concept_id  # type: ignore[union-attr]
    # disjunctive labels ("dRiverLake") also answer the concepts they cover
    covers = {(r["l"], r["c"]) for r in drv.execute_query(
        "MATCH (:Dataset {in_ontology: true})-[:HAS_LABEL]->(l:SourceLabel)-[:COVERS]->(c:Concept) "
        "RETURN l.id AS l, c.id AS c").records}
    assert covers == {(f"{m.dataset}:{m.name}", c) for m in system.mappings for c in m.covers}
    assert ("rsscn7:dRiverLake", "river") in covers
    # Eq. 1 weight stored on hierarchy edges for Browser users
    zero = drv.execute_query("MATCH ()-[r:SUBCLASS_OF]->() WHERE r.weight <> 0.0 RETURN count(r) AS n").records
    assert zero[0]["n"] == 0


def test_sync_removes_what_the_ontology_no_longer_has(services: Services, system: LabelSystem) -> None:
    run_sync(services, derived=False)
    victim = next(c for c in system.concepts.values() if not c.deprecated and not system.children(c.id)
                  and not any(m.concept_id == c.id for m in system.mappings))
    smaller = LabelSystem(
        concepts={k: v for k, v in system.concepts.items() if k != victim.id},
        datasets=system.datasets, mappings=system.mappings, version="test",
    )
    try:
        rep = sync_label_system(services.driver, smaller)
        assert rep.concepts_deleted == 1
        assert rep.subclass_deleted == 0           # DETACH DELETE took the edge with the node
        n = services.driver.execute_query("MATCH (c:Concept {id: $id}) RETURN count(c) AS n", id=victim.id)
        assert n.records[0]["n"] == 0
        assert graph_counts(services.driver)["concepts"] == len(system.concepts) - 1
    finally:
        run_sync(services, derived=False)
    assert graph_counts(services.driver) == _expected(system)


@pytest.mark.model
def test_derived_edges_recomputed_with_equation_1_weights(services: Services, settings: Settings) -> None:
    out = run_sync(services)
    assert out.similar_edges and out.adjacent_edges
    drv = services.driver
    n_sim = drv.execute_query("MATCH (:Concept)-[r:SIMILAR_TO]->(:Concept) RETURN count(r) AS n").records[0]["n"]
    assert n_sim == out.similar_edges
    bad = drv.execute_query(
        "MATCH (:Concept)-[r:SIMILAR_TO]->(:Concept) "
        "WHERE r.score < $t OR abs(r.weight - $alpha / r.score) > 1e-9 RETURN count(r) AS n",
        t=settings.sim_threshold, alpha=settings.alpha).records[0]["n"]
    assert bad == 0
    adj = drv.execute_query(
        "MATCH (:Concept)-[r:ADJACENT_TO]->(:Concept) "
        "RETURN count(r) AS n, sum(CASE WHEN abs(r.weight - $beta / (r.cooccurrence + $tau)) > 1e-9 "
        "THEN 1 ELSE 0 END) AS bad", beta=settings.beta, tau=settings.tau).records[0]
    assert adj["n"] == out.adjacent_edges and adj["bad"] == 0


def test_edits_round_trip_through_turtle_and_neo4j(services: Services, system: LabelSystem,
                                                  settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """add / rename / synonym / merge on a copy of the ontology, synced into Neo4j, then the original back."""
    import shutil

    from ontology import edit

    d = tmp_path / "data"
    shutil.copytree(settings.ontology_dir, d)
    edit.add(d, "flooded_field", "flooded field", "cropland", author="test")
    edit.rename(d, "flooded_field", "flooded cropland", author="test")
    edit.add_synonym(d, "flooded_field", "inundated field", author="test")
    edit.add(d, "paddy_dup", "paddy duplicate", "cropland", author="test")
    edit.merge(d, "paddy_dup", "flooded_field", author="test")
    edited = load_label_system(d)
    try:
        sync_label_system(services.driver, edited)
        rec = services.driver.execute_query(
            "MATCH (c:Concept {id: 'flooded_field'})-[:SUBCLASS_OF]->(p:Concept) "
            "RETURN c.name AS name, c.alt_labels AS alt, p.id AS parent").records
        assert rec and rec[0]["name"] == "flooded cropland" and rec[0]["parent"] == "cropland"
        assert "inundated field" in rec[0]["alt"]
        old = services.driver.execute_query(
            "MATCH (c:Concept {id: 'paddy_dup'}) OPTIONAL MATCH (c)-[r:SUBCLASS_OF]->() "
            "RETURN c.deprecated AS dep, c.replaced_by AS by, count(r) AS parents").records
        assert old[0]["dep"] is True and old[0]["by"] == "flooded_field" and old[0]["parents"] == 0
        assert graph_counts(services.driver)["concepts"] == len(system.concepts) + 2
    finally:
        sync_label_system(services.driver, system)
    assert graph_counts(services.driver) == _expected(system)
    n = services.driver.execute_query("MATCH (c:Concept) WHERE c.id IN ['flooded_field', 'paddy_dup'] "
                                      "RETURN count(c) AS n").records[0]["n"]
    assert n == 0
