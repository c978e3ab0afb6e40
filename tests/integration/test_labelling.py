"""The labelling tool (paper 001) end to end on real EuroSAT chips: ingest 40 chips, prepare (few
epochs), then brush / label / save in headless Chromium against a real uvicorn server, and find the
new Dataset, SourceLabels, memberships and mapping decisions in PostgreSQL and Neo4j.

Needs the Debian package ``chromium`` (/usr/bin/chromium) and ``playwright`` (dev extra) for the
browser tests; never downloads a browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from kg import mappings_graph as G
from kg import samples as cy
from kg.labelling import DATASET_LABELS, LIST_CONCEPTS
from mappings import decision_table as mstore
from rskg.errors import ValidationError
from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.labelling import artifacts
from rskg.labelling.chips import from_arrays, load_ids
from rskg.labelling.config import LabellingConfig
from rskg.labelling.prepare import prepare, prepare_chips
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]

SRC = "test_labelling_eurosat"
USER_DATASETS: list[str] = []


def drop_user_dataset(services: Services, ds: str) -> None:
    with services.connection() as conn:
        mstore.delete_dataset(conn, ds)
        conn.execute("DELETE FROM sample_labels WHERE label_set = %s", (ds,))
        conn.execute("DELETE FROM datasets WHERE id = %s", (ds,))
    G.delete_dataset_labels(services.driver, ds)
    services.driver.execute_query(cy.DELETE_LABEL_SET, dataset=ds)
    services.driver.execute_query(cy.DELETE_DATASET_NODE, dataset=ds)


@pytest.fixture(scope="session")
def prepared_src(services: Services, settings: Settings, data_dir: Path) -> Iterator[artifacts.Prepared]:
    """40 real EuroSAT RGB chips (4 per class), ingested and prepared once for the whole run."""
    drop_dataset(services, SRC)
    ingest(services, IngestOptions(url=str(data_dir / "eurosat_rgb"), dataset="eurosat", dataset_id=SRC, limit=4,
                                   progress=False), None)
    p = prepare(services, SRC, None, LabellingConfig(unet_epochs=4, gnn_epochs=25))
    yield p
    for ds in USER_DATASETS:
        drop_user_dataset(services, ds)
    drop_dataset(services, SRC)
    shutil.rmtree(artifacts.labelling_dir(settings, SRC), ignore_errors=True)


def test_prepare_writes_a_usable_map(prepared_src: artifacts.Prepared, settings: Settings) -> None:
    p = artifacts.load(settings, SRC, with_model=True)
    assert len(p.sample_ids) == 40 and p.sample_ids == prepared_src.sample_ids
    assert p.xy.shape == (40, 2) and p.xy.min() >= 0 and p.xy.max() <= 1 + 1e-6
    assert np.allclose(p.similarity, p.similarity.T) and np.allclose(np.diag(p.similarity), 1)
    counts = [len(e) for e in p.embeddings]
    assert 15 <= np.median(counts) <= 45                      # N = 500 scaled to 64 x 64 px -> ~31
    assert all(m.shape == (64, 64) and m.max() + 1 == c for m, c in zip(p.seg_maps, counts, strict=True))
    assert p.embeddings[0].shape[1] == 60                     # GCN layer-2 embedding
    # chips of one EuroSAT class are, on average, more alike than chips of different classes
    lab = np.array([x[0] for x in p.labels])
    same = lab[:, None] == lab[None, :]
    off = ~np.eye(40, dtype=bool)
    assert p.similarity[same & off].mean() > p.similarity[~same].mean()
    t = p.meta["timings"]
    assert t["unet_epochs"] >= 1 and t["gnn_loss"] < t["gnn_first_loss"]


def test_model_refuses_other_band_counts_and_tiny_chips(prepared_src: artifacts.Prepared, settings: Settings,
                                                         services: Services) -> None:
    model = artifacts.load(settings, SRC, with_model=True).model
    assert model is not None
    chip = load_ids(services, [prepared_src.sample_ids[0]])[0]
    g = model.graph(chip)
    assert g.n == len(prepared_src.embeddings[0])
    assert np.allclose(model.embed([g])[0], prepared_src.embeddings[0], atol=1e-4)   # reproducible
    ms = from_arrays("ms", chip.rgb, np.full((12, 64, 64), 1000, np.uint16))
    with pytest.raises(ValidationError, match="12 bands, but the U-Net was trained on 3"):
        model.graph(ms)
    tiny = from_arrays("tiny", chip.rgb[:8, :8])
    with pytest.raises(ValidationError, match="too small"):
        model.graph(tiny)
    with pytest.raises(ValidationError, match="too small"):
        prepare_chips("x", [chip, tiny], LabellingConfig(unet_epochs=1, gnn_epochs=1))


# ---- the web page ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def live(services: Services, prepared_src: artifacts.Prepared) -> Iterator[str]:
    from tests.integration.api.conftest import serve_in_thread

    with serve_in_thread(services.settings, services) as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


@pytest.fixture()
def page(browser: Any, live: str, settings: Settings) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1200, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{live}/labelling?dataset={SRC}")
    pg.wait_for_selector("body[data-ready='1']")
    pg.fill("[data-testid=token]", settings.api_token)
    yield pg
    ctx.close()
    assert not errors, errors


def brush_around(pg: Any, n_min: int = 3) -> list[str]:
    """Drag a rectangle on the canvas around a dense spot; returns the keys of the points inside."""
    pts = pg.evaluate("labelling.state.points.map(p => [labelling.toScreen(p), p.segment === undefined ? p.id "
                      ": p.id + '#' + p.segment])")
    xy = np.array([p[0] for p in pts])
    box = pg.locator("[data-testid=map]").bounding_box()
    for half in (30, 50, 80, 120, 200, 500):
        d = np.abs(xy[:, None, :] - xy[None, :, :]).max(-1)
        centre = xy[int((d <= half).sum(1).argmax())]
        lo, hi = centre - half, centre + half
        inside = [k for (p, k) in pts if lo[0] <= p[0] <= hi[0] and lo[1] <= p[1] <= hi[1]]
        if len(inside) >= n_min:
            break
    pg.mouse.move(box["x"] + lo[0], box["y"] + lo[1])
    pg.mouse.down()
    pg.mouse.move(box["x"] + (lo[0] + hi[0]) / 2, box["y"] + (lo[1] + hi[1]) / 2, steps=3)
    pg.mouse.move(box["x"] + hi[0], box["y"] + hi[1], steps=3)
    pg.mouse.up()
    return inside


def test_brush_label_save_chips_in_the_browser(page: Any, services: Services) -> None:
    ds = "test_labelling_user_web"
    USER_DATASETS.append(ds)
    drop_user_dataset(services, ds)
    # pan and zoom change the view but not the data
    before = page.evaluate("labelling.toScreen(labelling.state.points[0])")
    page.mouse.move(500, 300)
    page.mouse.wheel(0, -240)
    assert page.evaluate("labelling.state.view.s") > 1
    page.click("[data-testid=reset]")
    assert page.evaluate("labelling.toScreen(labelling.state.points[0])") == before
    inside = brush_around(page)
    assert page.text_content("[data-testid=count]") == f"{len(inside)} selected"
    assert page.locator("[data-testid=thumbs] img").count() == len(inside)
    page.wait_for_function("[...document.querySelectorAll('#thumbs img')].every(i => i.complete && i.naturalWidth > 0)")
    page.fill("[data-testid=label]", "flooded field")
    page.fill("[data-testid=target]", ds)
    page.click("[data-testid=save]")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')", timeout=240_000)
    assert "mapping:" in page.text_content("[data-testid=status]")

    with services.connection() as conn:
        assert conn.execute("SELECT multi_label FROM datasets WHERE id = %s", (ds,)).fetchone() == (True,)
        members = {r[0] for r in conn.execute("SELECT sample_id FROM sample_labels WHERE label_set = %s AND "
                                              "label = 'flooded field'", (ds,)).fetchall()}
        rows = conn.execute("SELECT level, source_dataset FROM labelling_labels WHERE dataset_id = %s",
                            (ds,)).fetchall()
        decision = mstore.current_map(conn, ds)["flooded field"]
    assert members == set(inside) and rows == [("chip", SRC)] * len(inside)
    assert decision.status in ("auto", "pending", "proposed") and decision.candidates
    recs = services.driver.execute_query(DATASET_LABELS, dataset=ds).records
    assert [r["label"] for r in recs] == ["flooded field"] and recs[0]["samples"] == len(inside)
    maps = [m for m in recs[0]["maps_to"] if m["concept"]]
    target = decision.concept_id if decision.status != "proposed" else decision.proposed_parent
    assert [(m["concept"], m["status"]) for m in maps] == ([(target, decision.status)] if target else [])
    # the samples keep their own dataset and gain the new label
    n = services.driver.execute_query(
        "MATCH (s:Sample {dataset: $src})-[:LABELED]->(:SourceLabel {id: $lid}) RETURN count(s) AS n",
        src=SRC, lid=f"{ds}:flooded field").records[0]["n"]
    assert n == len(inside)


def test_segment_mode_label_with_a_concept(page: Any, services: Services) -> None:
    ds = "test_labelling_user_segments"
    USER_DATASETS.append(ds)
    drop_user_dataset(services, ds)
    concept = services.driver.execute_query(LIST_CONCEPTS, q="water", limit=1).records[0]
    brush_around(page, 2)
    chips = page.evaluate("[...labelling.state.selected]")[:6]
    page.evaluate("ids => { labelling.state.selected = new Set(ids); labelling.draw(); }", chips)
    page.click("[data-testid=segmode]")
    page.wait_for_function("document.getElementById('mode').textContent.startsWith('segment map')", timeout=180_000)
    n_points = page.evaluate("labelling.state.points.length")
    assert n_points > 9 * len(chips)
    inside = brush_around(page, 5)
    assert all("#" in k for k in inside)
    page.wait_for_function("[...document.querySelectorAll('#thumbs img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("[data-testid=thumbs] img").count() == len(chips)
    page.fill("[data-testid=label]", concept["name"])
    page.wait_for_function(f"labelling.state.conceptIds[{concept['name']!r}] !== undefined")
    page.fill("[data-testid=target]", ds)
    page.click("[data-testid=save]")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')", timeout=240_000)
    with services.connection() as conn:
        rows = conn.execute("SELECT sample_id, level, segments, concept_id FROM labelling_labels WHERE dataset_id = %s",
                            (ds,)).fetchall()
        decision = mstore.current_map(conn, ds)[concept["name"]]
    want: dict[str, list[int]] = {}
    for k in inside:
        sid, seg = k.rsplit("#", 1)
        want.setdefault(sid, []).append(int(seg))
    assert {r[0]: sorted(r[2]) for r in rows} == {s: sorted(v) for s, v in want.items()}
    assert {r[1] for r in rows} == {"segment"} and {r[3] for r in rows} == {concept["id"]}
    assert (decision.status, decision.concept_id) == ("accepted", concept["id"])


def test_api_errors_are_clear(live: str, settings: Settings, prepared_src: artifacts.Prepared) -> None:
    url = f"{live}/labelling/api/{SRC}/labels"
    body = {"dataset": "test_labelling_user_err", "label": "flooded field", "chips": []}
    r = httpx.post(url, json=body, timeout=60)
    assert r.status_code == 401 and "Bearer" in r.json()["error"]
    auth = {"Authorization": f"Bearer {settings.api_token}"}
    r = httpx.post(url, json=body, headers=auth, timeout=60)
    assert r.status_code == 400 and "selection is empty" in r.json()["error"] and r.json()["hint"]
    r = httpx.post(url, json={**body, "chips": ["nope:1"]}, headers=auth, timeout=60)
    assert r.status_code == 404 and "not among the prepared chips" in r.json()["error"]
    r = httpx.post(f"{live}/labelling/api/{SRC}/segments", json={"chips": []}, timeout=60)
    assert r.status_code == 400 and "selection is empty" in r.json()["error"]
    r = httpx.get(f"{live}/labelling/api/not_prepared_ds/chips", timeout=60)
    assert r.status_code == 404 and "rskg label prepare" in r.json()["hint"]


def test_cli_export(page: Any, services: Services, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rskg.cli.main import app

    ds = "test_labelling_user_web"
    with services.connection() as conn:
        n = conn.execute("SELECT count(*) FROM labelling_labels WHERE dataset_id = %s", (ds,)).fetchone()[0]
    if not n:
        pytest.skip("runs after test_brush_label_save_chips_in_the_browser")
    out = tmp_path / "labels.csv"
    res = CliRunner().invoke(app, ["label", "export", ds, "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("dataset,source_dataset,sample_id") and len(lines) == n + 1
    assert all(",flooded field,chip," in line for line in lines[1:])
