"""New-concept proposals from a real ingest, accepted and rejected (rskg.proposals, rskg.label_mapping.review).

The ontology of record is a temporary copy of ontology/data (the edit writes Turtle); Neo4j is synced from
that copy during the test and from the committed ontology again at the end. Afterwards the ontology file,
Neo4j and retrieval must agree: the accepted label's samples are found by the new concept (and by its
parent through SUBCLASS_OF); the rejected label has no MAPS_TO, is not proposed again by a second ingest,
and is exported to SSSOM as a negative mapping.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rdflib import PROV, RDF

from kg import mappings_graph as G
from kg.label_sync import sync_label_system
from mappings import decision_table as store
from mappings import decisions as D
from ontology import namespaces as ns
from ontology.store import load_graphs, load_label_system
from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.label_mapping import MappingContext, export_sssom, map_vocabulary, pending, review
from rskg.retrieval.model import RetrievalRequest
from rskg.retrieval.pipeline import retrieve
from rskg.services import Services
from rskg.settings import Settings, load_settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model]

DS = f"test_proposal_{os.getpid()}"
ONTOLOGY_DIR = Path(__file__).resolve().parents[2] / "ontology" / "data"
FOLDERS = {"volcano crater": "nwpu_resisc45/images/desert", "termite mounds": "ucmerced/images/chaparral"}
PER_CLASS = 2

CONCEPT_PARENTS = """
MATCH (c:Concept {id: $id}) OPTIONAL MATCH (c)-[:SUBCLASS_OF]->(p:Concept)
RETURN c.name AS name, c.alt_labels AS alt, collect(p.id) AS parents
"""


@pytest.fixture(scope="module")
def env(services: Services, data_dir: Path, tmp_path_factory: pytest.TempPathFactory,
        scratch_home: Callable[..., Settings]) -> Iterator[tuple[Settings, Services, Path, Path]]:
    base = scratch_home("proposal_home")
    onto = base.home / "ontology"
    shutil.copytree(ONTOLOGY_DIR, onto)
    s = load_settings(home=base.home, data_dir=base.data_dir, ontology_dir=onto)
    svc = Services(s)
    sync_label_system(svc.driver, load_label_system(onto))
    root = tmp_path_factory.mktemp("proposal_data") / "scenes"
    for dst, src in FOLDERS.items():
        (root / dst).mkdir(parents=True)
        for f in sorted((data_dir / src).iterdir())[:PER_CLASS]:
            (root / dst / f.name).symlink_to(f)
    try:
        yield s, svc, root, onto
    finally:
        with svc.connection() as conn:
            store.delete_dataset(conn, DS)
        G.delete_dataset_labels(svc.driver, DS)
        drop_dataset(svc, DS)
        sync_label_system(svc.driver, load_label_system(ONTOLOGY_DIR))     # the committed label system again
        svc.close()


def _forget(svc: Services, ctx: MappingContext, label_set: str) -> None:
    """Close the mapping context's encoder; remove the label set's decisions and its SourceLabel nodes."""
    if ctx.encoder is not None:
        ctx.encoder.close()
    with svc.connection() as conn:
        store.delete_dataset(conn, label_set)
    G.delete_dataset_labels(svc.driver, label_set)

def test_accept_creates_concept_reject_records_negative_mapping(env, tmp_path: Path) -> None:
    s, svc, root, onto = env
    opts = IngestOptions(url=str(root), dataset="imagefolder", dataset_id=DS, progress=False, workers=2,
                         onboard=True)
    rep = ingest(svc, opts, None)
    assert rep.onboarding is not None
    by_label = {d.label: d for d in rep.onboarding.mapped}
    volcano, termites = by_label["volcano crater"], by_label["termite mounds"]
    assert volcano.status == termites.status == D.PROPOSED, (volcano, termites)
    assert volcano.proposed_parent == "landform"
    assert "volcano_crater" not in load_label_system(onto).concepts

    ctx = MappingContext.open(svc, with_encoder=False)
    assert volcano.id is not None and termites.id is not None
    why = {it["decision"].label: it["parent_reason"] for it in pending(ctx, DS)}
    assert why["volcano crater"].startswith("under 'landform' (landform): it collects")   # placement, with why
    assert "a kind of landform" in why["volcano crater"]
    accepted = review(ctx, volcano.id, "accept", "tester")
    assert (accepted.status, accepted.concept_id) == (D.ACCEPTED, "volcano_crater")

    # 1. the ontology of record: the concept under the proposed parent, logged in the changelog
    system = load_label_system(onto)
    c = system.concepts["volcano_crater"]
    assert c.parents == ["landform"] and c.pref_label == "volcano crater" and not c.deprecated
    assert "volcano crater" in c.definition and DS in c.definition
    graphs = load_graphs(onto)
    log = graphs["changelog.ttl"]
    ops = [str(log.value(a, ns.RSKG.parameters)) for a in log.subjects(RDF.type, PROV.Activity)
           if str(log.value(a, ns.RSKG.operation)) == "add"]
    assert any('"volcano_crater"' in p for p in ops)
    # 2. Neo4j: the Concept node with its SUBCLASS_OF, the label's MAPS_TO to it (accepted)
    rec = svc.driver.execute_query(CONCEPT_PARENTS, id="volcano_crater").records
    assert rec and rec[0]["parents"] == ["landform"] and rec[0]["name"] == "volcano crater"
    edges = {r["name"]: (r["concept_id"], r["status"]) for r in G.read_maps_to(svc.driver, DS)}
    assert edges["volcano crater"] == ("volcano_crater", D.ACCEPTED)
    # 3. retrieval: by the new concept (id and prefLabel) and by its parent
    want = {f"{DS}:volcano crater/{f.name}" for f in sorted(Path(root / "volcano crater").iterdir())}
    for q in ("volcano_crater", "Volcano crater"):
        res = retrieve(svc, s, RetrievalRequest(labels=[q], datasets=[DS]))
        assert [m.concept_id for m in res.matches] == ["volcano_crater"]
        assert {h.sample_id for h in res.direct} == want
    res = retrieve(svc, s, RetrievalRequest(labels=["landform"], datasets=[DS]))
    assert {h.sample_id for h in res.direct} == want

    # reject: MAPS_TO gone, never proposed again, a negative mapping in SSSOM
    rejected = review(ctx, termites.id, "reject", "tester")
    assert rejected.status == D.REJECTED
    edges = {r["name"]: (r["concept_id"], r["status"]) for r in G.read_maps_to(svc.driver, DS)}
    assert edges["termite mounds"] == (None, None)
    rep2 = ingest(svc, opts, None)
    assert rep2.onboarding is not None and rep2.onboarding.mapped == [] and rep2.onboarding.already == 2
    with svc.connection() as conn:
        cur = store.current_map(conn, DS)
    assert cur["termite mounds"].status == D.REJECTED and cur["volcano crater"].concept_id == "volcano_crater"
    out = tmp_path / "m.sssom.tsv"
    assert export_sssom(ctx, out, DS) == 2
    rows = [ln.split("\t") for ln in out.read_text().splitlines() if ln.startswith("rskgsrc:")]
    neg = [r for r in rows if "termite%20mounds" in r[0]]
    assert neg and neg[0][3] == "Not" and neg[0][4] == "rskg:mining_area"
    assert "termite_mounds" not in load_label_system(onto).concepts


def test_pending_label_without_equivalent_placed_as_new_concept(env) -> None:
    """Placement for a label with no equivalent: a pending decision carries the best parent and why; accepting
    it with a prefLabel creates the concept there (ontology file, Neo4j, retrieval-side MAPS_TO agree)."""
    s, svc, root, onto = env
    ds = f"{DS}_pending"
    ctx = MappingContext.open(svc)
    try:
        decisions, _ = map_vocabulary(ctx, ds, ["oil palm plantation"])
        d = decisions[0]
        assert d.status == D.PENDING and d.concept_id == "coffee_plantation", d     # the nearest, not an equivalent
        assert d.proposed_parent == "permanent_crops"
        why = {it["decision"].label: it["parent_reason"] for it in pending(ctx, ds)}
        assert why["oil palm plantation"].startswith("under 'permanent crops' (permanent_crops)")
        assert why["oil palm plantation"].endswith("if the label has no equivalent")
        assert d.id is not None
        new = review(ctx, d.id, "accept", "tester", new_label="oil palm plantation")
        assert (new.status, new.concept_id) == (D.ACCEPTED, "oil_palm_plantation")
        c = load_label_system(onto).concepts["oil_palm_plantation"]
        assert c.parents == ["permanent_crops"] and c.pref_label == "oil palm plantation"
        rec = svc.driver.execute_query(CONCEPT_PARENTS, id="oil_palm_plantation").records
        assert rec and rec[0]["parents"] == ["permanent_crops"]
        edges = {r["name"]: (r["concept_id"], r["status"]) for r in G.read_maps_to(svc.driver, ds)}
        assert edges["oil palm plantation"] == ("oil_palm_plantation", D.ACCEPTED)
        # an accepted (pending) decision without new_* stays an ordinary accept
        with pytest.raises(Exception, match="superseded"):
            review(ctx, d.id, "accept", "tester")
    finally:
        _forget(svc, ctx, ds)


def test_graphql_accept_places_a_new_concept(env) -> None:
    """The review through GraphQL can do what `rskg map accept ID --label/--parent` does: a pending label without
    an equivalent becomes a new concept (under newParent here), in the ontology file, Neo4j and the decision."""
    from starlette.testclient import TestClient

    from api.app import create_app

    s, svc, root, onto = env
    ds = f"{DS}_gql"
    ctx = MappingContext.open(svc, with_encoder=True)
    mutation = """mutation($id: Int!, $label: String, $parent: String) {
      acceptMapping(decisionId: $id, author: "ana", newLabel: $label, newParent: $parent) {
        __typename ... on MappingReviewSuccess { decision { status conceptId author } }
        ... on Error { message hint } } }"""
    try:
        decisions, _ = map_vocabulary(ctx, ds, ["rubber plantation"])
        d = decisions[0]
        assert d.status == D.PENDING and d.id is not None, d
        with TestClient(create_app(s, svc)) as client:
            def call(label: str | None, parent: str | None) -> dict[str, object]:
                r = client.post("/graphql", headers={"Authorization": f"Bearer {s.api_token}"},
                                json={"query": mutation, "variables": {"id": d.id, "label": label, "parent": parent}})
                assert r.status_code == 200, r.text
                return dict(r.json()["data"]["acceptMapping"])

            bad = call("rubber plantation", "no_such_parent")
            assert bad["__typename"] == "Error" and "no_such_parent" in str(bad["message"]), bad
            out = call("rubber plantation", "agricultural_land")
        assert out["__typename"] == "MappingReviewSuccess", out
        assert out["decision"] == {"status": "accepted", "conceptId": "rubber_plantation", "author": "ana"}
        c = load_label_system(onto).concepts["rubber_plantation"]
        assert c.parents == ["agricultural_land"] and c.pref_label == "rubber plantation"
        rec = svc.driver.execute_query(CONCEPT_PARENTS, id="rubber_plantation").records
        assert rec and rec[0]["parents"] == ["agricultural_land"]
    finally:
        _forget(svc, ctx, ds)
