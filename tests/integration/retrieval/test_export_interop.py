"""Exports other tools accept unchanged, on the shared retrieval corpus (real UCMerced / EuroSAT / NWPU /
RSSCN7 JPEGs and the real Sentinel-2 patches): every STAC item validates against the STAC 1.1 item schema
(pystac's own copy, no network) with a label extension pystac reads, SPDX licence ids or ``other`` + a licence
link, a null ``datetime`` with an interval where the acquisition time is unknown, the source JPEGs' own bytes
and type kept (no ``name.jpg.png``); torchvision's ImageFolder loads both the ImageFolder and the STAC export.

The label extension's own JSON schema is not shipped by any installed package and there is no network here,
so its fields are checked through pystac's LabelExtension instead of that schema."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pystac
import pytest
from pystac.extensions.label import LabelExtension
from pystac.stac_object import STACObjectType
from pystac.validation.stac_validator import JsonSchemaSTACValidator

from rskg.composites.composite import build_composite
from rskg.composites.export import KEPT_TYPES, UNKNOWN_START, export, spdx_license
from rskg.composites.feedback import record
from rskg.composites.items import items
from rskg.retrieval.model import RetrievalRequest
from tests.integration.retrieval.conftest import PREFIX

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]


def test_spdx_license_of_recorded_licence_texts() -> None:
    assert spdx_license("MIT (contains modified Copernicus Sentinel data)") == "MIT"
    assert spdx_license("CDLA-Permissive-1.0 (contains modified Copernicus Sentinel-2 data)") == "CDLA-Permissive-1.0"
    assert spdx_license("research use; cite Cheng et al. 2017") is None
    assert spdx_license("public domain imagery (USGS); cite Yang & Newsam 2010") is None
    assert spdx_license("") is None


@pytest.fixture(scope="module")
def composite(corpus: Any) -> Any:
    tmpl = RetrievalRequest(labels=[], datasets=sorted(corpus.datasets.values()), limit_supplementary=12,
                            max_distance=3.0)
    comp = build_composite(corpus.services, corpus.settings, PREFIX + "interop", ["river", "beach", "Pastures"],
                           template=tmpl)
    first = items(corpus.services, comp.id)[0]
    record(corpus.services, comp.id, first.sample_id, first.concept_id, "reject", author="tester")
    return comp


def test_stac_export_validates_and_keeps_source_files(corpus: Any, composite: Any, tmp_path: Path) -> None:
    rep = export(corpus.services, composite.id, "stac", tmp_path)
    raw = pystac.ItemCollection.from_file(str(tmp_path / "collection.json")).to_dict()["features"]
    assert len(raw) == rep.items > 0
    validator = JsonSchemaSTACValidator()
    every = {(i.sample_id, i.concept_id): i for i in items(corpus.services, composite.id)}
    seen_types, unknown_time, licences = set(), 0, set()
    for d in raw:
        validator.validate_core(d, STACObjectType.ITEM, "1.1.0", href=d["id"])   # raises when invalid
        it = pystac.Item.from_dict(d)
        lab = LabelExtension.ext(it)
        assert lab.label_tasks == ["classification"] and lab.label_properties == ["concept_id"]
        assert it.properties["concept_id"] in lab.label_classes[0].classes
        lic = it.properties["license"]
        licences.add(lic)
        if lic == "other":
            assert [ln.rel for ln in it.links].count("license") == 1
        else:
            assert spdx_license(lic) == lic
        src = every[(it.properties["rskg:sample_id"], it.properties["concept_id"])]
        if src.acquired_at is None:
            unknown_time += 1
            assert it.datetime is None and d["properties"]["datetime"] is None
            assert it.common_metadata.start_datetime == UNKNOWN_START
            assert it.common_metadata.end_datetime is not None
            assert it.properties["rskg:datetime_source"].startswith("unknown")
        else:
            assert it.datetime is not None and it.properties["rskg:datetime_source"] == "acquired"
        href = it.assets["image"].href
        assert not href.endswith((".jpg.png", ".tif.png")), href
        assert it.assets["image"].media_type == KEPT_TYPES[Path(href).suffix]
        seen_types.add(Path(href).suffix)
        source = Path(corpus.settings.data_dir)
        if Path(src.source_path).suffix.lower() == ".jpg":     # JPEG sources keep their bytes
            assert href.endswith(".jpg")
            origin = next(p for p in source.glob(f"*/{src.source_path}") if p.is_file())
            assert hashlib.sha256((tmp_path / href).read_bytes()).digest() == \
                hashlib.sha256(origin.read_bytes()).digest()
    assert {".jpg", ".png"} <= seen_types       # JPEG sources kept; Sentinel-2 band folders rendered to PNG
    assert unknown_time > 0 and {"other", "MIT", "CDLA-Permissive-1.0"} & licences


def test_imagefolder_and_stac_exports_load_with_torchvision(corpus: Any, composite: Any, tmp_path: Path) -> None:
    tv = pytest.importorskip("torchvision.datasets", reason="pip install -e '.[dev]' (torchvision)")
    for fmt in ("imagefolder", "stac"):
        rep = export(corpus.services, composite.id, fmt, tmp_path / fmt)
        ds = tv.ImageFolder(str(tmp_path / fmt))
        assert len(ds) == rep.items and set(ds.classes) <= {"river", "beach", "pasture"}
        for i in range(0, len(ds), max(1, len(ds) // 5)):
            img, label = ds[i]
            assert img.mode == "RGB" and min(img.size) > 0 and 0 <= label < len(ds.classes)
