"""Edits on a temporary copy of the committed label system: each operation round-trips through
Turtle; invalid edits are rejected and leave the files byte-identical."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import PROV, RDF
from typer.testing import CliRunner

from ontology import edit
from ontology.store import load_graphs, load_label_system, serialize
from rskg.errors import NotFoundError, ValidationError

ONTOLOGY_DIR = Path(__file__).resolve().parents[2] / "ontology" / "data"


@pytest.fixture()
def onto(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(ONTOLOGY_DIR, d)
    return d


def _snapshot(d: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(d.glob("*.ttl"))}


def _round_trips(d: Path) -> None:
    """Files are in canonical form: parsing and re-serialising gives the same bytes."""
    for name, g in load_graphs(d).items():
        assert serialize(g) == (d / name).read_text(encoding="utf-8"), name


def _log_ops(d: Path) -> list[str]:
    g = load_graphs(d)["changelog.ttl"]
    return sorted(str(g.value(a, edit.ns.RSKG.operation)) for a in g.subjects(RDF.type, PROV.Activity))


def test_add_synonym_align_rename(onto: Path) -> None:
    c = edit.add(onto, "floating_solar_farm", "floating solar farm", "solar_power_plant", author="tester",
                 definition="Photovoltaic panels floating on a water body.", alt_labels=["floatovoltaics"])
    assert c.level == 5 and c.parents == ["solar_power_plant"]
    edit.add_synonym(onto, "storage_tank", "oil drum", author="tester")
    edit.align(onto, "floating_solar_farm", "power=plant", author="tester", exact=False)
    edit.align(onto, "desert", "ESA-CCI:200", author="tester", exact=False)
    edit.rename(onto, "storage_tank", "storage tank farm", author="tester")
    _round_trips(onto)
    ls = load_label_system(onto)
    new = ls.concepts["floating_solar_farm"]
    assert new.pref_label == "floating solar farm" and new.alt_labels == ["floatovoltaics"]
    assert new.osm_tags == ["power=plant"] and new.definition.startswith("Photovoltaic")
    tank = ls.concepts["storage_tank"]
    assert tank.pref_label == "storage tank farm"
    assert {"oil drum", "storage tank", "storagetanks"} <= set(tank.alt_labels)   # old prefLabel kept as alt
    assert "ESA-CCI:200" in ls.concepts["desert"].lccs_codes
    assert ls.mapping_for("ucm", "storagetanks").concept_id == "storage_tank"
    assert _log_ops(onto) == ["add", "align", "align", "rename", "synonym"]
    assert "tester" in (onto / "changelog.ttl").read_text()
    assert ls.version != load_label_system(ONTOLOGY_DIR).version


def test_move_and_merge(onto: Path) -> None:
    edit.move(onto, "lakeshore", "coast", author="tester")
    edit.merge(onto, "sand", "beaches_dunes_sands", author="tester")
    _round_trips(onto)
    ls = load_label_system(onto)
    assert ls.concepts["lakeshore"].parents == ["coast"] and ls.concepts["lakeshore"].level == 3
    sand = ls.concepts["sand"]
    assert sand.deprecated and sand.replaced_by == "beaches_dunes_sands"       # kept, never deleted
    assert "sand" not in ls.active()
    assert ls.mapping_for("ucm_multilabel", "sand").concept_id == "beaches_dunes_sands"
    assert "sand" in ls.concepts["beaches_dunes_sands"].alt_labels
    assert "natural=sand" in ls.concepts["beaches_dunes_sands"].osm_tags
    so2sat = ls.mapping_for("so2sat_lcz42", "Bare soil or sand")
    assert "beaches_dunes_sands" in so2sat.covers and "sand" not in so2sat.covers
    with pytest.raises(ValidationError, match="deprecated"):
        edit.add_synonym(onto, "sand", "dune sand", author="tester")


@pytest.mark.parametrize("bad", [
    pytest.param(lambda d: edit.move(d, "forest", "mixed_forest", author="t"), id="cycle"),
    pytest.param(lambda d: edit.move(d, "forest", "forest", author="t"), id="self-parent"),
    pytest.param(lambda d: edit.merge(d, "forest", "mixed_forest", author="t"), id="merge-into-descendant"),
])
def test_cycles_are_rejected_without_change(onto: Path, bad) -> None:
    before = _snapshot(onto)
    with pytest.raises(ValidationError):
        bad(onto)
    assert _snapshot(onto) == before


@pytest.mark.parametrize("bad,exc", [
    pytest.param(lambda d: edit.add(d, "x_farm", "x farm", "no_such_parent", author="t"), NotFoundError, id="parent"),
    pytest.param(lambda d: edit.rename(d, "no_such_concept", "y", author="t"), NotFoundError, id="rename"),
    pytest.param(lambda d: edit.merge(d, "forest", "no_such", author="t"), NotFoundError, id="merge"),
    pytest.param(lambda d: edit.align(d, "forest", "CLC:999", author="t"), NotFoundError, id="code"),
])
def test_unknown_ids_are_rejected_without_change(onto: Path, bad, exc) -> None:
    before = _snapshot(onto)
    with pytest.raises(exc):
        bad(onto)
    assert _snapshot(onto) == before
    assert not (onto / ".edit.lock").exists()          # the lock lives in the temp dir, not the work tree


@pytest.mark.parametrize("bad", [
    pytest.param(lambda d: edit.add(d, "lake_2", "Lake", "water_body", author="t"), id="add-sibling-duplicate"),
    pytest.param(lambda d: edit.rename(d, "pond", "lake", author="t"), id="rename-to-sibling"),
    pytest.param(lambda d: edit.add_synonym(d, "forest", "storagetanks", author="t"), id="synonym-of-other"),
    pytest.param(lambda d: edit.add(d, "forest", "forest 2", "tree_cover", author="t"), id="existing-id"),
])
def test_duplicate_labels_are_rejected_without_change(onto: Path, bad) -> None:
    before = _snapshot(onto)
    with pytest.raises(ValidationError):
        bad(onto)
    assert _snapshot(onto) == before


def test_cli_edit_commands(onto: Path) -> None:
    from rskg.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["ontology", "add", "floating_solar", "--label", "floating solar", "--parent",
                              "solar_power_plant", "--author", "cli-test", "--dir", str(onto)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["ontology", "synonym", "floating_solar", "floatovoltaics", "--author", "cli-test",
                              "--dir", str(onto)])
    assert res.exit_code == 0, res.output
    before = _snapshot(onto)
    res = runner.invoke(app, ["ontology", "move", "floating_solar", "--parent", "no_such", "--dir", str(onto)])
    assert res.exit_code != 0 and isinstance(res.exception, NotFoundError)
    assert _snapshot(onto) == before
    assert load_label_system(onto).concepts["floating_solar"].alt_labels == ["floatovoltaics"]
