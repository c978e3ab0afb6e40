"""Land-cover composition on real data: a segmentation head trained on a small seeded part of GID-MTL,
real UCMerced samples ingested and composed, fractions stored and queryable in PostgreSQL and on the
Sample nodes in Neo4j; a composition bound returns only samples within it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embeddings.segmentation import Segmenter
from rskg.composition import store
from rskg.composition.backfill import FINE_CONCEPTS, backfill
from rskg.composition.train import SegReport, SegTrainConfig, train_segmentation
from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]
DS = "test_composition_ucm"


@pytest.fixture(scope="module")
def home(services: Services, settings: Settings, scratch_home: Callable[..., Settings]) -> Iterator[Settings]:
    from kg.label_sync import sync_label_system
    from ontology.store import load_label_system

    sync_label_system(services.driver, load_label_system(settings.ontology_dir))   # idempotent
    s = scratch_home("composition_home")                    # shares the cached backbone maps and ONNX models
    yield s
    with Services(s) as svc:
        drop_dataset(svc, DS, [f"{DS}_multilabel"])


@pytest.fixture(scope="module")
def trained(home: Settings) -> SegReport:
    return train_segmentation(home, SegTrainConfig(epochs=6, limit_per_scene=4))


def test_small_head_beats_chance_on_held_out_gid(trained: SegReport) -> None:
    # 4 images per scene class, 6 epochs: far from the full run, far above chance (about 0.1-0.2)
    assert trained.miou5 > 0.4 and trained.miou15 > 0.2, (trained.iou5, trained.iou15)
    assert set(trained.iou5) == {"built-up", "farmland", "forest", "meadow", "water"}
    assert trained.n_test["gid_mtl5"] == 20 and trained.path.exists()


@dataclass
class Composed:
    services: Services
    home: Settings
    seg: Segmenter
    counts: tuple[int, int, int]        # ingested, first backfill, second backfill


@pytest.fixture(scope="module")
def composed(home: Settings, trained: SegReport, data_dir: Path) -> Iterator[Composed]:
    """42 real UCMerced samples (2 per class) ingested under ``home``, composed by the small head, their labels
    mapped like the curated 'ucm' ones, and prototypes built (so retrieval has direct and supplementary hits)."""
    from kg.label_graph import store_weights
    from kg.prototypes import DELETE_STORE_PROTOTYPES
    from kg.retrieval_queries import ADOPT_MAPPINGS
    from ontology.store import load_label_system
    from rskg.ingest.features import CachedExtractor, default_extractor
    from rskg.ingest.pipeline import make_reader
    from rskg.retrieval.prototypes import build_prototypes, store_key

    seg = Segmenter(trained.path, onnx_dir=home.cache_dir / "onnx")
    svc = Services(home)
    opts = IngestOptions(url=str(data_dir / "ucmerced"), dataset="ucm", dataset_id=DS, limit=2, progress=False)
    extractor = CachedExtractor(default_extractor(home), home.cache_dir, "retrieval_test_features")
    rep = ingest(svc, opts, extractor)  # type: ignore[arg-type]
    first, second = backfill(svc, seg, DS), backfill(svc, seg, DS)
    system = load_label_system(home.ontology_dir)
    rows = [{"dataset": ls, "name": m.name, "concept": m.concept_id, "rel": "MAPS_TO", "source": f"ucm:{m.name}"}
            for ls in make_reader(opts).label_sets() for m in system.mappings if m.dataset == "ucm" + ls[len(DS):]]
    svc.driver.execute_query(ADOPT_MAPPINGS, rows=rows)
    store_weights(svc.driver, home.alpha, home.beta, home.tau)
    build_prototypes(svc, home)
    try:
        yield Composed(svc, home, seg, (rep.ingested, first, second))
    finally:
        svc.driver.execute_query(DELETE_STORE_PROTOTYPES, store=store_key(home))
        svc.close()


def test_ucm_samples_composed_stored_and_filtered(composed: Composed) -> None:
    svc, seg = composed.services, composed.seg
    assert composed.counts == (42, 42, 0)                      # the second backfill: idempotent per model version
    with svc.connection() as conn:
        fr, model = store.read(conn, f"{DS}:images/river/river00.jpg")
        assert model == seg.version
        assert sum(fr[c] for c in FINE_CONCEPTS) == pytest.approx(1.0, abs=1e-4)
        # every ancestor holds the sum of its fine parts
        assert fr["water_area"] == pytest.approx(fr["river"] + fr["lake"] + fr["pond"], abs=1e-4)
        # residential_land is a fine class (rural residential) and urban_fabric's parent: it holds both
        assert fr["residential_land"] >= fr["urban_fabric"]
        assert fr["artificial_surface"] == pytest.approx(
            fr["industrial_land"] + fr["residential_land"] + fr["transportation_land"], abs=1e-4)
        assert store.mask(conn, f"{DS}:images/river/river00.jpg")[:8] == b"\x89PNG\r\n\x1a\n"
        water = dict(conn.execute(
            "SELECT split_part(sample_id, '/', 2), avg(fraction) FROM sample_composition c JOIN samples s "
            "ON s.id = c.sample_id WHERE s.dataset_id = %s AND concept_id = 'water_area' GROUP BY 1",
            (DS,)).fetchall())
        built = dict(conn.execute(
            "SELECT split_part(sample_id, '/', 2), avg(fraction) FROM sample_composition c JOIN samples s "
            "ON s.id = c.sample_id WHERE s.dataset_id = %s AND concept_id = 'artificial_surface' GROUP BY 1",
            (DS,)).fetchall())
    # the real pixels speak: harbours hold more water than freeways; dense residential more built-up
    # than forest (a weak, order-only check that the head is applied to the right images)
    assert water["harbor"] > water["freeway"], water
    assert built["denseresidential"] > built["forest"], built
    rec = svc.driver.execute_query(
        "MATCH (s:Sample {id: $id}) RETURN s.composition_concepts AS c, s.composition_fractions AS f, "
        "s.composition_model AS m", id=f"{DS}:images/river/river00.jpg").records[0]
    got = dict(zip(rec["c"], rec["f"], strict=True))
    assert rec["m"] == seg.version and np.isclose(got["water_area"], fr["water_area"], atol=1e-5)


# --- composition filters (rskg.catalog.filters.CompositionBound) on the composed samples -----------------

def _fractions(svc: Services) -> dict[str, dict[str, float]]:
    with svc.connection() as conn:
        rows = conn.execute("SELECT c.sample_id, c.concept_id, c.fraction FROM sample_composition c JOIN samples s "
                            "ON s.id = c.sample_id WHERE s.dataset_id = %s", (DS,)).fetchall()
    out: dict[str, dict[str, float]] = {}
    for sid, cid, f in rows:
        out.setdefault(sid, {})[cid] = float(f)
    return out


def _within(fr: dict[str, dict[str, float]], bounds: list[tuple[str, float | None, float | None]]) -> set[str]:
    """The samples within every bound, computed in Python (float32, as stored); a missing concept is 0."""
    f32 = np.float32
    return {sid for sid, f in fr.items()
            if all((lo is None or f32(f.get(c, 0.0)) >= f32(lo)) and (hi is None or f32(f.get(c, 0.0)) <= f32(hi))
                   for c, lo, hi in bounds)}


@pytest.fixture(scope="module")
def bounds(composed: Composed) -> tuple[list[tuple[str, float | None, float | None]], set[str]]:
    """Bounds taken from the data (so the expected set is neither empty nor everything), ending exactly on a
    stored value (the bounds are inclusive): water_area >= the median sample's share, artificial_surface <= the
    75th percentile's."""
    fr = _fractions(composed.services)
    water = sorted(f["water_area"] for f in fr.values())
    built = sorted(f["artificial_surface"] for f in fr.values())
    b: list[tuple[str, float | None, float | None]] = [("water_area", water[len(water) // 2], None),
                                                        ("artificial_surface", None, built[3 * len(built) // 4])]
    expected = _within(fr, b)
    assert 0 < len(expected) < len(fr) == 42, (len(expected), b)
    return b, expected


def test_composition_filter_matches_the_stored_fractions(composed: Composed, bounds: tuple) -> None:
    from psycopg import sql

    from rskg.catalog.filters import CompositionBound, SampleFilter, where

    svc = composed.services
    b, expected = bounds
    fr = _fractions(svc)

    def ids(*bs: CompositionBound) -> set[str]:
        w = where(SampleFilter(datasets=[DS], composition=list(bs)))
        with svc.connection() as conn:
            return {r[0] for r in conn.execute(sql.SQL("SELECT s.id FROM samples s WHERE {}").format(w.clause),
                                               w.params).fetchall()}

    assert ids(*(CompositionBound(*x) for x in b)) == expected
    lo = b[0][1]
    assert ids(CompositionBound("water_area", lo, None)) == _within(fr, [b[0]])
    assert ids(CompositionBound("river", 0.05, 0.5)) == _within(fr, [("river", 0.05, 0.5)])
    assert ids(CompositionBound("water_area", 0.0, 1.0)) == set(fr)          # every composed sample
    # a concept no sample has a row for is 0 everywhere: max passes the composed samples, min > 0 none
    assert ids(CompositionBound("beach", None, 0.1)) == set(fr) and not ids(CompositionBound("beach", 0.01, None))
    # a sample without any composition never passes, not even a max bound
    sid = f"{DS}:images/forest/forest00.jpg"
    with svc.connection() as conn:
        conn.execute("DELETE FROM sample_composition WHERE sample_id = %s", (sid,))
        conn.execute("DELETE FROM sample_masks WHERE sample_id = %s", (sid,))
    try:
        assert sid not in ids(CompositionBound("artificial_surface", None, 1.0))
        assert ids(CompositionBound("artificial_surface", None, 1.0)) == set(fr) - {sid}
    finally:
        assert backfill(svc, composed.seg, DS) == 1                          # backfill fills the gap again
    assert ids(CompositionBound("artificial_surface", None, 1.0)) == set(fr)


def test_retrieval_respects_composition_bounds(composed: Composed, bounds: tuple) -> None:
    import dataclasses

    from rskg.catalog.filters import CompositionBound
    from rskg.errors import ValidationError
    from rskg.retrieval.model import RetrievalRequest
    from rskg.retrieval.pipeline import retrieve

    svc = composed.services
    b, expected = bounds
    labels = ["river", "beach", "harbor", "forest", "dense residential"]
    plain = retrieve(svc, svc.settings, RetrievalRequest(labels=labels, datasets=[DS], similarity_threshold=0.0))
    # the labels as typed by a user: "water" (an altLabel of water_area), "artificial surface" (its prefLabel)
    req = RetrievalRequest(labels=labels, datasets=[DS], similarity_threshold=0.0,
                           composition=[CompositionBound("water", b[0][1]),
                                        CompositionBound("artificial surface", None, b[1][2])])
    res = retrieve(svc, svc.settings, req)
    assert res.candidates == len(expected)
    assert [x.concept for x in res.request.composition or []] == ["water_area", "artificial_surface"]
    assert any("'water' -> water_area (by altLabel)" in n for n in res.notes), res.notes
    direct = {h.sample_id for h in res.direct}
    supp = {h.sample_id for h in res.supplementary}
    assert direct <= expected and supp <= expected and supp
    # the filter bites: the direct matches are exactly the unfiltered ones within the bounds
    assert direct == {h.sample_id for h in plain.direct} & expected
    assert {h.sample_id for h in plain.direct} - expected and {h.sample_id for h in plain.supplementary} - expected
    # the Cypher direct-match backend gets the same filter (as candidate ids)
    cy = retrieve(svc, svc.settings, dataclasses.replace(req, direct_backend="cypher"))
    assert {h.sample_id for h in cy.direct} == direct
    with pytest.raises(ValidationError, match="min 0.5 is larger than max 0.2") as e:
        retrieve(svc, svc.settings, RetrievalRequest(labels=["river"], composition=[CompositionBound("water", 0.5,
                                                                                                     0.2)]))
    assert e.value.hint and "water_area>=0.3" in e.value.hint
    with pytest.raises(ValidationError, match="do not measure it") as e:
        retrieve(svc, svc.settings, RetrievalRequest(labels=["river"], composition=[CompositionBound("beach", 0.1)]))
    assert "water_area" in (e.value.hint or "")
    with pytest.raises(ValidationError, match="matches no concept"):
        retrieve(svc, svc.settings, RetrievalRequest(labels=["river"],
                                                     composition=[CompositionBound("xylophone", 0.1)]))


def test_composite_build_keeps_the_bounds(composed: Composed, bounds: tuple) -> None:
    from rskg.catalog.filters import CompositionBound
    from rskg.composites.composite import build_composite
    from rskg.retrieval.model import RetrievalRequest

    svc = composed.services
    b, expected = bounds
    tmpl = RetrievalRequest(labels=[], datasets=[DS], similarity_threshold=0.0,
                            composition=[CompositionBound("water", b[0][1]), CompositionBound("artificial_surface",
                                                                                              None, b[1][2])])
    comp = build_composite(svc, svc.settings, "test_composition_composite", ["river", "harbor"], tmpl,
                           created_by="test_composition")
    try:
        assert comp.params["request"]["composition"] == [{"concept": "water", "min": b[0][1], "max": None},
                                                         {"concept": "artificial_surface", "min": None,
                                                          "max": b[1][2]}]
        assert any("-> water_area" in n for n in comp.params["notes"])
        with svc.connection() as conn:
            items = {r[0] for r in conn.execute("SELECT sample_id FROM composite_items WHERE composite_id = %s",
                                                (comp.id,)).fetchall()}
        assert items and items <= expected
    finally:
        with svc.connection() as conn:
            conn.execute("DELETE FROM composite_datasets WHERE id = %s", (comp.id,))


def test_cli_retrieve_with_composition(composed: Composed, bounds: tuple, home: Settings) -> None:
    import json

    from typer.testing import CliRunner

    from rskg.cli.main import app
    from rskg.errors import ValidationError

    b, expected = bounds
    env = {"RSKG_HOME": str(home.home)}
    args = ["retrieve", "river", "harbor", "--datasets", DS, "--threshold", "0",
            "--composition", f"water>={b[0][1]!r}", "--composition", f"artificial surface<={b[1][2]!r}"]
    out = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert out.exit_code == 0, out.output
    res = json.loads(out.stdout)
    assert res["candidates"] == len(expected)
    assert {h["sample_id"] for h in res["direct"] + res["supplementary"]} <= expected
    text = CliRunner().invoke(app, args, env=env)
    assert f"filter: {len(expected)} candidate samples" in text.stdout
    assert "composition 'artificial surface' -> artificial_surface (by prefLabel) <=" in text.stdout
    bad = CliRunner().invoke(app, [*args[:-4], "--composition", "water>=1.5"], env=env)
    assert isinstance(bad.exception, ValidationError) and "not a share within 0..1" in bad.exception.message


def test_graphql_sample_search_and_retrieve_with_composition(composed: Composed, bounds: tuple,
                                                            home: Settings) -> None:
    from starlette.testclient import TestClient

    from api.app import create_app

    b, expected = bounds
    comp = [{"concept": "water", "min": b[0][1]}, {"concept": "artificial_surface", "max": b[1][2]}]
    search = """query($c: [CompositionBoundInput!], $ds: [String!]) {
      samples(filter: {datasets: $ds, composition: $c}, first: 100)
      { totalCount edges { node { id composition(minFraction: 0.0) { conceptId fraction modelVersion } } } } }"""
    retrieve_q = """query($c: [CompositionBoundInput!], $ds: [String!]) { retrieve(request: {labels: ["river",
      "harbor"], datasets: $ds, similarityThreshold: 0.0, composition: $c}) { candidates notes direct { sampleId }
      supplementary { sampleId } } }"""
    fr = _fractions(composed.services)
    with TestClient(create_app(home, composed.services)) as client:
        def gql(q: str, c: object) -> dict:
            r = client.post("/graphql", json={"query": q, "variables": {"c": c, "ds": [DS]}})
            assert r.status_code == 200, r.text
            return dict(r.json())

        got = gql(search, comp)["data"]["samples"]
        assert got["totalCount"] == len(expected) and {e["node"]["id"] for e in got["edges"]} == expected
        node = got["edges"][0]["node"]
        assert {c["conceptId"]: c["fraction"] for c in node["composition"]} == pytest.approx(fr[node["id"]])
        assert {c["modelVersion"] for c in node["composition"]} == {composed.seg.version}
        res = gql(retrieve_q, comp)["data"]["retrieve"]
        assert res["candidates"] == len(expected)
        assert {h["sampleId"] for h in res["direct"] + res["supplementary"]} <= expected
        # combined with a label filter of the sample search (AND)
        both = gql(search.replace("composition: $c}", 'composition: $c, labels: ["river"]}'), comp)["data"]
        assert {e["node"]["id"] for e in both["samples"]["edges"]} == {s for s in expected if "/river/" in s}
        err = gql(search, [{"concept": "water", "min": 0.6, "max": 0.1}])["errors"][0]
        assert "min 0.6 is larger than max 0.1" in err["message"] and "water_area>=0.3" in err["extensions"]["hint"]
        err = gql(retrieve_q, [{"concept": "beach", "min": 0.1}])["errors"][0]
        assert "do not measure it" in err["message"] and "water_area" in err["extensions"]["hint"]


def test_describe_reports_the_composition(composed: Composed, home: Settings, data_dir: Path) -> None:
    import base64

    from starlette.testclient import TestClient

    from api.app import create_app
    from ontology.store import load_label_system
    from rskg.search.describe import describe

    svc = composed.services
    sid = f"{DS}:images/harbor/harbor00.jpg"
    fr = _fractions(svc)[sid]
    d = describe(svc, home, sample_id=sid, top=5)
    assert d.composition_source == "stored" and d.composition_model == composed.seg.version
    top = sorted(((c, f) for c, f in fr.items() if f > 0), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(c, f) for c, _, f in d.composition] == [(c, pytest.approx(f, abs=1e-4)) for c, f in top]
    system = load_label_system(home.ontology_dir)
    assert all(n == system.concepts[c].pref_label for c, n, _ in d.composition)
    # an uploaded image: the installed head segments it now (the same pixels as the stored sample)
    raw = (data_dir / "ucmerced" / "images" / "harbor" / "harbor00.jpg").read_bytes()
    up = describe(svc, home, image=raw, top=5)
    assert up.composition_source == "segmented" and up.composition
    assert dict((c, f) for c, _, f in up.composition) == pytest.approx(dict(top), abs=0.02)
    with TestClient(create_app(home, svc)) as client:
        q = """query($img: String) { describe(imageBase64: $img, top: 3) { compositionSource compositionModel
                 composition { conceptId name fraction } } }"""
        out = client.post("/graphql", json={"query": q, "variables": {"img": base64.b64encode(raw).decode()}}).json()
    assert "errors" not in out, out
    g = out["data"]["describe"]
    assert g["compositionSource"] == "segmented" and len(g["composition"]) == 3
    assert g["composition"][0]["conceptId"] == up.composition[0][0]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="install the Debian package `chromium`")
def test_compose_page_sends_composition_bounds(composed: Composed, bounds: tuple, home: Settings,
                                               tmp_path: Path, chromium: Any) -> None:
    """The web app's compose page in headless Chromium: two composition bounds picked from the measured concepts
    reach the retrieve request (the shown samples are exactly retrieve()'s with the same bounds)."""
    import math
    import os
    import shutil

    from rskg.catalog.filters import CompositionBound
    from rskg.retrieval.model import RetrievalRequest
    from rskg.retrieval.pipeline import retrieve
    from tests.integration.api.conftest import serve_in_thread

    svc = composed.services
    b, _ = bounds
    lo_text = f"{math.floor(b[0][1] * 10000) / 100:.2f}"          # percent, as typed; the page divides by 100
    hi_text = f"{math.ceil(b[1][2] * 10000) / 100:.2f}"
    lo, hi = float(lo_text) / 100, float(hi_text) / 100
    ref = retrieve(svc, svc.settings, RetrievalRequest(
        labels=["river", "harbor"], datasets=[DS], k_per_prototype=20, limit_supplementary=60, similarity_threshold=0.0,
        composition=[CompositionBound("water_area", lo), CompositionBound("artificial_surface", None, hi)]))
    within = _within(_fractions(svc), [("water_area", lo, None), ("artificial_surface", None, hi)])
    assert {h.sample_id for h in ref.direct + ref.supplementary} <= within and ref.direct and ref.supplementary
    with serve_in_thread(home, svc) as base:
        context = chromium.new_context(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/compose")
        page.wait_for_selector("#comp-concept option[value='water_area']", state="attached")
        page.wait_for_selector(f"#datasets option[value='{DS}']", state="attached")
        for label in ("river", "harbor"):
            page.fill("#free-label", label)
            page.press("#free-label", "Enter")
        page.select_option("#datasets", [DS])
        page.fill("#threshold", "0")
        for concept, field, value in (("water_area", "#comp-min", lo_text),
                                      ("artificial_surface", "#comp-max", hi_text)):
            page.select_option("#comp-concept", concept)
            page.fill(field, value)
            page.click("#comp-add")
        chips = page.locator("#composition-bounds .chip")
        assert chips.count() == 2 and "≥" in chips.nth(0).inner_text() and "≤" in chips.nth(1).inner_text()
        page.click("#preview")
        page.wait_for_selector("#status.ok >> text=direct")
        shown = {k: {c.get_attribute("data-sample") for c in page.locator(f"#{k} .card").all()}
                 for k in ("direct", "supplementary")}
        assert shown["direct"] == {h.sample_id for h in ref.direct}
        assert shown["supplementary"] == {h.sample_id for h in ref.supplementary}
        assert "composition 'water_area' -> water_area" in page.inner_text("#results")
        shot = tmp_path / "compose_composition.png"
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("RSKG_SCREENSHOT_DIR"):
            shutil.copy(shot, os.environ["RSKG_SCREENSHOT_DIR"])
        context.close()
    assert not errors, errors


def test_hir_from_stored_compositions_orders_the_shortlist_by_wmd(composed: Composed) -> None:
    """Paper 002 stage 2 on the stored pixel fractions of a real ingest: with lambda 1000 (the paper's order)
    the shortlist is ordered by the WMD computed here from the catalog's compositions, the reference being the
    mean composition of the query concept's direct samples."""
    from rskg.retrieval.hir import QUERY_WEIGHT, wmd
    from rskg.retrieval.hir_composition import CompositionDistributions
    from rskg.retrieval.labels import subclass_closure
    from rskg.retrieval.model import RetrievalRequest, RetrievalResult
    from rskg.retrieval.pipeline import retrieve

    svc, home = composed.services, composed.home

    def run(source: str) -> RetrievalResult:
        return retrieve(svc, home, RetrievalRequest(labels=["river"], datasets=[DS], similarity_threshold=0.0,
                                                    rerank_hir=True, hir_shortlist=15, hir_lambda=1000.0,
                                                    hir_source=source))

    res = run("composition")
    assert any("composition (fine, 15 concepts)" in n for n in res.notes), res.notes
    direct = [h.sample_id for h in res.direct if h.concept_id == "river"]
    ranked = [h for h in res.supplementary if h.hir_distance is not None]
    assert len(direct) == 2 and len(ranked) >= 5
    comp = CompositionDistributions(svc, "fine")
    x = np.mean(list(comp.samples(direct).values()), axis=0)
    vecs = comp.samples([h.sample_id for h in ranked])
    w = comp.weights(subclass_closure(svc, ["river"])["river"], None, QUERY_WEIGHT)
    expect = wmd(x, np.stack([vecs[h.sample_id] for h in ranked]), w)
    assert [h.hir_distance for h in ranked] == pytest.approx(expect.tolist(), abs=1e-5)
    assert list(expect) == sorted(expect)                                    # the shortlist in WMD order
    patch = run("patch")
    assert not any("composition" in n for n in patch.notes)
    # "both" (the default, settings.hir_source): patch distribution and composition concatenated
    both = run("both")
    assert any("3x3 patches + composition (fine, 15 concepts)" in n for n in both.notes), both.notes
    assert {h.sample_id for h in both.supplementary} == {h.sample_id for h in res.supplementary}
    comp_only = {h.sample_id: h.hir_distance for h in ranked}
    for h in both.supplementary:                        # the patch part adds to the composition's WMD
        if h.sample_id in comp_only:
            assert h.hir_distance is not None and h.hir_distance >= comp_only[h.sample_id] - 1e-6
    assert any("+ composition" in n for n in retrieve(svc, home, RetrievalRequest(
        labels=["river"], datasets=[DS], similarity_threshold=0.0, rerank_hir=True)).notes)


def test_hir_composition_of_an_uploaded_example_image(home: Settings, composed: Composed,
                                                      trained: SegReport, data_dir: Path) -> None:
    """An uploaded query image is composed by the installed head (``trained`` saved it to the home's model
    path): the indexed copy of the same pixels comes first with WMD 0 to it."""
    from rskg.composition.train import seg_model_path
    from rskg.retrieval.model import RetrievalRequest
    from rskg.retrieval.pipeline import retrieve

    assert trained.path == seg_model_path(home)
    raw = (data_dir / "ucmerced" / "images" / "harbor" / "harbor00.jpg").read_bytes()
    res = retrieve(composed.services, home, RetrievalRequest(
        labels=[], example_image=raw, example_gsd_m=0.3, datasets=[DS], similarity_threshold=0.0, rerank_hir=True,
        hir_shortlist=10, hir_source="composition"))
    assert any("composition (fine" in n for n in res.notes), res.notes
    ranked = [h for h in res.supplementary if h.hir_distance is not None]
    assert len(ranked) >= 5 and ranked[0].sample_id == f"{DS}:images/harbor/harbor00.jpg", ranked[:3]
    assert ranked[0].hir_distance == pytest.approx(0.0, abs=1e-4)      # stored shares are rounded to 1e-6


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="install the Debian package `chromium`")
def test_sample_page_shows_mask_and_composition(composed: Composed, home: Settings, tmp_path: Path,
                                                chromium: Any) -> None:
    """/sample/<id> in headless Chromium: the mask thumbnail (whose pixel shares ARE the stored fine fractions),
    one composition row per stored concept share >= 0.5 %, fine concepts in their mask colour, labels, concepts."""
    import io
    import os
    import shutil

    import httpx
    import numpy as np
    from PIL import Image

    from embeddings.seg_legend import COLOUR_OF_CONCEPT, FINE_CLASSES
    from tests.integration.api.conftest import serve_in_thread

    svc = composed.services
    fr = _fractions(svc)
    sid = max((s for s in fr if "/river/" in s), key=lambda s: fr[s].get("water_area", 0.0))
    with svc.connection() as conn:
        labels = {(str(a), str(b)) for a, b in conn.execute(
            "SELECT label_set, label FROM sample_labels WHERE sample_id = %s", (sid,)).fetchall()}
    with serve_in_thread(home, svc) as base:
        from urllib.parse import quote

        png = httpx.get(f"{base}/masks/{quote(sid, safe='')}.png", timeout=30)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        mask = np.asarray(Image.open(io.BytesIO(png.content)))
        shares = np.bincount(mask.ravel(), minlength=len(FINE_CLASSES)) / mask.size
        for j, (_, cid) in enumerate(FINE_CLASSES):   # the mask a user sees is the one the fractions came from
            assert shares[j] == pytest.approx(fr[sid].get(cid, 0.0), abs=1e-6), cid
        assert httpx.get(f"{base}/masks/{quote('no:such', safe='')}.png", timeout=30).status_code == 404
        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/sample/{quote(sid, safe='')}")
        page.wait_for_selector("#status.ok")
        page.wait_for_function("document.getElementById('sample-mask').naturalWidth > 0")
        rows = page.locator("#composition tbody tr").all()
        shown = {r.get_attribute("data-concept"): float(r.get_attribute("data-fraction") or 0) for r in rows}
        assert shown == pytest.approx({c: f for c, f in fr[sid].items() if f >= 0.005})
        for r in rows:
            cid = r.get_attribute("data-concept")
            fill = r.locator("rect").get_attribute("fill")
            assert fill == COLOUR_OF_CONCEPT.get(cid, "none"), cid
        assert {tuple(t.split(": ", 1)) for t in page.locator("#labels li").all_inner_texts()} == labels
        assert "river" in page.inner_text("#concepts")
        assert "label=river" in (page.get_attribute("#compose-link", "href") or "")
        assert page.evaluate("document.getElementById('sample-image').naturalWidth") > 0
        shot = tmp_path / "sample_page.png"
        page.screenshot(path=str(shot), full_page=True)
        if os.environ.get("RSKG_SCREENSHOT_DIR"):
            shutil.copy(shot, os.environ["RSKG_SCREENSHOT_DIR"])
        context.close()
    assert not errors, errors


def test_uploaded_image_without_a_segmentation_head_falls_back_to_patches(home: Settings, composed: Composed,
                                                                            trained: SegReport,
                                                                            data_dir: Path) -> None:
    """With no segmentation head installed the uploaded query image has no composition: it is re-ranked by its
    3x3 patch distributions (WMD to the stored samples' patches; its own indexed copy first, WMD 0) instead of
    being left in stage-1 order, and the note says so."""
    from rskg.retrieval.model import RetrievalRequest
    from rskg.retrieval.pipeline import retrieve

    raw = (data_dir / "ucmerced" / "images" / "harbor" / "harbor00.jpg").read_bytes()
    req = RetrievalRequest(labels=[], example_image=raw, example_gsd_m=0.3, datasets=[DS], similarity_threshold=0.0,
                           rerank_hir=True, hir_shortlist=10, hir_source="composition", hir_lambda=1000.0)
    away = trained.path.with_suffix(".away")
    trained.path.rename(away)
    try:
        res = retrieve(composed.services, home, req)
    finally:
        away.rename(trained.path)
    note = next(n for n in res.notes if n.startswith("HIR class distributions"))
    assert "no composition of the query" in note and "3x3 patches" in note, note
    ranked = [h for h in res.supplementary if h.hir_distance is not None]
    assert len(ranked) >= 5 and ranked[0].sample_id == f"{DS}:images/harbor/harbor00.jpg", ranked[:3]
    assert ranked[0].hir_distance == pytest.approx(0.0, abs=1e-3)
    assert [h.hir_distance for h in ranked] == sorted(h.hir_distance for h in ranked)     # lambda 1000: WMD order
