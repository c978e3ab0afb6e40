"""Composite datasets on the session corpus: parallel build, feedback, exports (ImageFolder, STAC, CSV)."""

from __future__ import annotations

import csv
import json

import pystac
import pytest
import torch

from rskg.composites.composite import build_composite, get_composite
from rskg.composites.export import export
from rskg.composites.feedback import latest, record
from rskg.composites.torchgeo_compat import RskgExportDataset
from rskg.errors import DataError, NotFoundError, ValidationError
from rskg.retrieval.model import RetrievalRequest
from tests.integration.retrieval.conftest import PREFIX

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def composite(corpus):
    tmpl = RetrievalRequest(labels=[], datasets=sorted(corpus.datasets.values()), similarity_threshold=0.5,
                            limit_supplementary=30)
    return build_composite(corpus.services, corpus.settings, PREFIX + "rivers_beaches",
                           ["river", "beach", "no_such_label_xyz"], template=tmpl)


def test_build_stores_items_params_and_versions(corpus, composite):
    assert composite.unmatched == ["no_such_label_xyz"]
    assert composite.counts["river"]["direct"] == 12          # 3 each: UCM, EuroSAT, NWPU, RSSCN7
    assert composite.counts["beach"]["direct"] == 6           # UCM + NWPU
    assert sum(c["supplementary"] for c in composite.counts.values()) > 0
    assert composite.ontology_version and "prototypes=" in composite.index_version
    assert composite.params["eq1"]["alpha"] == corpus.settings.alpha
    again = get_composite(corpus.services, composite.id)
    assert again.counts == composite.counts and again.labels == ["river", "beach", "no_such_label_xyz"]


def _supplementary(corpus, cid):
    with corpus.services.connection() as conn:
        return conn.execute("SELECT sample_id, concept_id FROM composite_items WHERE composite_id = %s AND "
                            "kind = 'supplementary' ORDER BY score DESC, sample_id", (cid,)).fetchall()


def test_feedback_latest_wins_and_shows_in_exports(corpus, composite, tmp_path):
    svc = corpus.services
    supp = _supplementary(corpus, composite.id)
    assert len(supp) >= 2
    (a_id, a_c), (r_id, r_c) = supp[0], supp[1]
    record(svc, composite.id, r_id, r_c, "accept")
    record(svc, composite.id, r_id, r_c, "reject")      # latest wins
    record(svc, composite.id, a_id, a_c, "accept")
    dec = latest(svc, composite.id)
    assert dec[(r_id, r_c)].decision == "reject" and dec[(a_id, a_c)].decision == "accept"
    with pytest.raises(NotFoundError):
        record(svc, composite.id, "nope:nothing", "river", "accept")
    with pytest.raises(ValidationError):
        record(svc, composite.id, a_id, a_c, "maybe")

    rep = export(svc, composite.id, "csv", tmp_path / "csv")
    rows = list(csv.DictReader((tmp_path / "csv" / "items.csv").open()))
    assert rep.rejected_left_out == 1 and len(rows) == rep.items
    keys = {(r["sample_id"], r["concept_id"]): r for r in rows}
    assert (r_id, r_c) not in keys and keys[(a_id, a_c)]["decision"] == "accept"
    ev = json.loads(keys[(a_id, a_c)]["evidence"])
    assert {"concept_id", "prototype_id", "similarity", "graph_distance", "path"} <= set(ev)
    attribution = (tmp_path / "csv" / "ATTRIBUTION.md").read_text()
    assert "UC Merced" in attribution and "license" in attribution

    strict = export(svc, composite.id, "csv", tmp_path / "strict", include_pending=False)
    assert strict.pending_left_out > 0 and strict.items < rep.items


def test_stac_export_opens_with_pystac(corpus, composite, tmp_path):
    rep = export(corpus.services, composite.id, "stac", tmp_path)
    coll = pystac.ItemCollection.from_file(str(tmp_path / "collection.json"))
    items = list(coll)
    assert len(items) == rep.items > 0
    for it in items:
        assert "label" in " ".join(it.stac_extensions)
        assert it.properties["label:tasks"] == ["classification"]
        assert it.properties["concept_id"] in it.properties["label:classes"][0]["classes"]
        assert it.properties["rskg:source_dataset"] in corpus.datasets.values()
        assert it.properties["license"]
        assert (tmp_path / it.assets["image"].href).is_file()
    kinds = {it.properties["rskg:kind"] for it in items}
    assert kinds == {"direct", "supplementary"}
    decisions = {it.properties["rskg:decision"] for it in items}
    assert "reject" not in decisions


def test_stac_geometry_from_real_footprints(corpus, tmp_path):
    tmpl = RetrievalRequest(labels=[], datasets=[corpus.datasets["bigearthnet_43"]], similarity_threshold=0.99)
    comp = build_composite(corpus.services, corpus.settings, PREFIX + "pastures", ["Pastures"], template=tmpl)
    export(corpus.services, comp.id, "stac", tmp_path)
    items = list(pystac.ItemCollection.from_file(str(tmp_path / "collection.json")))
    pastures = [it for it in items if "Pastures" in it.properties["rskg:source_labels"]]
    assert len(pastures) == 4 and all(it.properties["rskg:kind"] == "direct" for it in pastures)
    for it in items:
        assert it.geometry["type"] == "Polygon" and it.bbox is not None
        assert it.properties["rskg:datetime_source"] == "acquired" and it.datetime.year in (2017, 2018)


def test_imagefolder_export_opens_with_torchgeo_compatible_dataset(corpus, composite, tmp_path):
    rep = export(corpus.services, composite.id, "imagefolder", tmp_path)
    ds = RskgExportDataset(tmp_path)
    assert len(ds) == rep.items
    assert ds.classes == ["beach", "river"]
    sample = ds[0]
    assert sample["image"].dtype == torch.float32 and sample["image"].shape[0] == 3
    assert sample["label"].dtype == torch.long and ds.classes[int(sample["label"])] == ds.meta(0)["concept_id"]
    assert {p.name for p in tmp_path.iterdir() if p.is_dir()} == {"beach", "river"}
    loader = torch.utils.data.DataLoader(RskgExportDataset(tmp_path, transforms=lambda s: {
        "image": torch.nn.functional.interpolate(s["image"][None], size=(32, 32))[0], "label": s["label"]}),
        batch_size=4)
    batch = next(iter(loader))
    assert batch["image"].shape == (4, 3, 32, 32)
    with pytest.raises(DataError):
        RskgExportDataset(tmp_path / "nope")
