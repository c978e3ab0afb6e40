"""The label category system built from the real vocabularies (data/vocab) and the committed Turtle."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from ontology.model import LabelSystem
from ontology.normalize import label_key
from ontology.sources import image_folder_names, sentinel2_label_names, ucm_multilabel_names
from ontology.store import load_graph, load_label_system
from ontology.validate import check_label_system, owlready_check
from rskg.settings import Settings

ONTOLOGY_DIR = Path(__file__).resolve().parents[2] / "ontology" / "data"


@pytest.fixture(scope="module")
def ls() -> LabelSystem:
    return load_label_system(ONTOLOGY_DIR)


@pytest.fixture(scope="module")
def vocab_datasets(data_dir: Path) -> list[dict]:
    doc = yaml.safe_load((data_dir / "vocab" / "datasets.yaml").read_text(encoding="utf-8"))
    return [d for d in doc["datasets"] if d.get("verified")]


def test_every_class_of_every_verified_dataset_maps_to_one_active_concept(ls: LabelSystem, vocab_datasets) -> None:
    assert len(vocab_datasets) == 27
    assert sum(len(d["classes"]) for d in vocab_datasets) == 803
    active = ls.active()
    per_label = Counter((m.dataset, m.name) for m in ls.mappings)
    for d in vocab_datasets:
        assert d["id"] in ls.datasets
        assert ls.datasets[d["id"]].classes == d["classes"]          # original spelling and order
        for name in d["classes"]:
            assert per_label[(d["id"], name)] == 1, (d["id"], name)
            assert ls.mapping_for(d["id"], name).concept_id in active


def test_shipped_image_folders_and_multilabels_are_source_labels(ls: LabelSystem, data_dir: Path) -> None:
    folders = image_folder_names(data_dir)
    assert folders["rsscn7"] == ["aGrass", "bField", "cIndustry", "dRiverLake", "eForest", "fResident", "gParking"]
    for ds, names in folders.items():
        for f in names:
            assert ls.mapping_for(ds, f) is not None, (ds, f)
    assert ls.mapping_for("rsscn7", "dRiverLake").concept_id == ls.mapping_for("rsscn7", "river_lake").concept_id
    assert ls.mapping_for("rsscn7", "aGrass").concept_id == "grassland"
    assert ls.mapping_for("rsscn7", "gParking").concept_id == "parking_lot"
    assert len(ucm_multilabel_names(data_dir)) == 17
    for name in ucm_multilabel_names(data_dir):
        assert ls.mapping_for("ucm_multilabel", name) is not None
    for name in sentinel2_label_names(data_dir):
        assert ls.mapping_for("bigearthnet_43", name) is not None


def test_size_and_levels(ls: LabelSystem) -> None:
    active = ls.active()
    assert len(active) >= 171
    levels = Counter(c.level for c in active.values())
    assert levels[1] == 7 and levels[2] >= 20 and levels[3] >= 100 and levels[4] >= 50
    for c in active.values():
        for p in c.parents:
            assert c.level == ls.concepts[p].level + 1


def test_synonyms_are_consolidated_not_duplicated(ls: LabelSystem) -> None:
    tank = ls.mapping_for("ucm", "storagetanks").concept_id
    assert tank == "storage_tank"
    for ds, name in [("nwpu_resisc45", "storage_tank"), ("aid", "StorageTanks"), ("clrs", "storage-tank"),
                     ("rsd46_whu", "Oiltank"), ("ucm_multilabel", "tanks")]:
        assert ls.mapping_for(ds, name).concept_id == tank
    assert {"storagetanks", "storage_tank", "StorageTanks"} <= set(ls.concepts[tank].alt_labels)
    assert ls.mapping_for("ucm", "river").concept_id == ls.mapping_for("eurosat", "River").concept_id == "river"
    assert ls.mapping_for("rsscn7", "river_lake").concept_id == "inland_water"
    assert set(ls.mapping_for("rsscn7", "river_lake").covers) == {"river", "lake"}
    assert ls.mapping_for("mlrsnet_categories", "swimmimg_pool").concept_id == "swimming_pool"   # source typo
    keys = Counter(label_key(c.pref_label) for c in ls.active().values())
    assert [k for k, n in keys.items() if n > 1] == []


def test_checks_pass_and_alignments_present(ls: LabelSystem) -> None:
    assert check_label_system(ls) == []
    tank = ls.concepts["storage_tank"]
    assert "man_made=storage_tank" in tank.osm_tags
    assert "CLC:512" in ls.concepts["water_body"].lccs_codes
    assert {"ESA-CCI:210", "WorldCover:80", "CLC:5"} <= set(ls.concepts["water_area"].lccs_codes)
    with_osm = sum(1 for c in ls.active().values() if c.osm_tags)
    with_codes = sum(1 for c in ls.active().values() if c.lccs_codes)
    assert with_osm >= 100 and with_codes >= 60
    assert all(c.definition for c in ls.active().values())
    assert all(c.provenance for c in ls.active().values())


def test_turtle_loads_in_owlready2() -> None:
    g = load_graph(ONTOLOGY_DIR)
    assert owlready_check(g) >= 293


def test_build_reproduces_the_committed_files_byte_for_byte(settings: Settings, tmp_path: Path) -> None:
    from ontology.generate import generate

    report = generate(settings.data_dir, tmp_path)
    for f in sorted(ONTOLOGY_DIR.glob("*.ttl")):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f"{f.name} is stale: run `rskg ontology build`"
    assert report["version"] == load_label_system(ONTOLOGY_DIR).version
