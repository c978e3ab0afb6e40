"""Label mapping pieces that need no server and no model: OSM structure, vocab files, SSSOM, co-occurrence."""

from __future__ import annotations

import csv
from itertools import combinations
from pathlib import Path

import pytest

from mappings import decisions as D
from mappings.cooccurrence import Cooccurrence, ucm_samples
from mappings.decisions import MappingDecision
from mappings.osm import load_osm_vocab, norm
from mappings.sssom_io import export_tsv, import_tsv
from mappings.vocab_file import read_vocabulary
from ontology.model import Concept, LabelSystem, SourceLabelMapping
from rskg.errors import NotFoundError, RskgError, ValidationError


def test_norm_handles_dataset_spellings() -> None:
    assert norm("dRiverLake") == "river lake"
    assert norm("river_lake") == "river lake"
    assert norm("HerbaceousVegetation") == "herbaceous vegetation"
    assert norm("harbor&port") == "harbor port"


@pytest.fixture(scope="module")
def osm(settings):  # type: ignore[no-untyped-def]
    return load_osm_vocab(settings)


def test_struct_sim_on_the_real_osm_network(osm) -> None:  # type: ignore[no-untyped-def]
    s = osm.struct_sim
    assert s(["landuse=forest"], ["landuse=forest"]) == pytest.approx(1.0)
    assert s([], ["landuse=forest"]) == 0.0
    # forest and wood are tied in the OSN and co-mentioned; forest and runway share nothing
    assert s(["landuse=forest"], ["natural=wood"]) > 0.5
    assert s(["landuse=forest"], ["aeroway=runway"]) == 0.0
    assert 0 < s(["waterway=river"], ["natural=water", "water=lake"]) < 1
    # symmetric, by definition (cosine of closed neighbourhoods)
    assert s(["waterway=river"], ["water=lake"]) == pytest.approx(s(["water=lake"], ["waterway=river"]))
    na, nb = osm.closed_neighbourhood(["waterway=river"]), osm.closed_neighbourhood(["water=lake"])
    assert s(["waterway=river"], ["water=lake"]) == pytest.approx(len(na & nb) / (len(na) * len(nb)) ** 0.5)


def test_osm_lookup_and_description(osm) -> None:  # type: ignore[no-untyped-def]
    assert "aeroway=runway" in osm.lookup("runway")
    assert "leisure=golf_course" in osm.lookup("golf course")
    assert "River" in osm.describe("waterway=river")


@pytest.mark.parametrize("content,suffix,err", [
    ("- forest\n- ''\n", ".yaml", "empty"),
    ("forest\nforest\n", ".txt", "twice"),
    ("label\nriver\n\n", ".csv", "empty"),
    ("forest", ".json", "unknown vocabulary format"),
])
def test_vocab_file_errors(tmp_path: Path, content: str, suffix: str, err: str) -> None:
    p = tmp_path / f"v{suffix}"
    p.write_text(content)
    with pytest.raises(ValidationError, match=err):
        read_vocabulary(p)


def test_vocab_file_reads_formats(tmp_path: Path, data_dir: Path) -> None:
    assert read_vocabulary(data_dir / "vocab" / "datasets.yaml", "rsscn7")[:2] == ["farm_land", "forest"]
    (tmp_path / "a.csv").write_text("label,x\nriver,1\nlake,2\n")
    assert read_vocabulary(tmp_path / "a.csv") == ["river", "lake"]
    with pytest.raises(NotFoundError):
        read_vocabulary(tmp_path / "missing.yaml")
    with pytest.raises(NotFoundError, match="no dataset"):
        read_vocabulary(data_dir / "vocab" / "datasets.yaml", "no_such_dataset")


def _system() -> LabelSystem:
    cs = {"river": Concept("river", "river", 2, ["water"]), "water": Concept("water", "water", 1),
          "lake": Concept("lake", "lake", 2, ["water"])}
    return LabelSystem(cs, {}, [SourceLabelMapping("x", "River", "river")])


def test_sssom_round_trip(tmp_path: Path) -> None:
    ds = [MappingDecision("test_map_ds", "River Lake", "lake", D.AUTO, 0.91, D.SEMANTIC),
          MappingDecision("test_map_ds", "river", "river", D.AUTO, 1.0, D.LEXICAL),
          MappingDecision("test_map_ds", "wadi/x", "river", D.ACCEPTED, 0.55, D.MANUAL, author="ann"),
          MappingDecision("test_map_ds", "fjord", None, D.PROPOSED, 0.3, D.SEMANTIC, "skos:broadMatch",
                          proposed_parent="water"),
          MappingDecision("test_map_ds", "remapped", "lake", D.ACCEPTED, None, D.MANUAL, author="bo"),
          MappingDecision("test_map_ds", "no", "lake", D.REJECTED, 0.4, D.MANUAL),
          MappingDecision("test_map_ds", "fjord2", None, D.REJECTED, 0.3, D.MANUAL, "skos:broadMatch",
                          proposed_parent="water")]
    f = tmp_path / "m.sssom.tsv"
    assert export_tsv(ds, _system(), f) == 7          # rejections as negative mappings
    text = f.read_text()
    assert "predicate_modifier" in text and text.count("\tNot\t") == 2
    back = {d.label: d for d in import_tsv(f, _system())}
    assert set(back) == {"River Lake", "river", "wadi/x", "fjord", "remapped", "no", "fjord2"}
    assert back["remapped"].score is None
    for d in ds:
        assert back[d.label].same_outcome(d), (d, back[d.label])
    assert back["no"].status == back["fjord2"].status == D.REJECTED and back["fjord2"].proposed_parent == "water"
    assert back["wadi/x"].author == "ann"
    f2 = tmp_path / "m2.sssom.tsv"
    export_tsv(list(back.values()), _system(), f2)
    assert f2.read_text() == f.read_text()


@pytest.mark.parametrize("body", [
    "garbage\tfoo\nx\n",
    "subject_id\tpredicate_id\tobject_id\tmapping_justification\nrskgsrc:d/a\tskos:exactMatch\trskg:nope\t"
    "semapv:LexicalMatching\n",
    "subject_id\tpredicate_id\tobject_id\tmapping_justification\nrskgsrc:d/a\tskos:sameAs\trskg:river\t"
    "semapv:LexicalMatching\n",
    "subject_id\tpredicate_id\tobject_id\tmapping_justification\nbad\tskos:exactMatch\trskg:river\t"
    "semapv:LexicalMatching\n",
])
def test_malformed_sssom_is_refused(tmp_path: Path, body: str) -> None:
    f = tmp_path / "bad.sssom.tsv"
    f.write_text(body)
    with pytest.raises(RskgError):
        import_tsv(f, _system())


def test_cooccurrence_counts_match_the_csv(data_dir: Path) -> None:
    cs = {n: Concept(n, n, 1) for n in ("tree", "grass", "build", "agri", "anc")}
    cs["agri"].parents = ["anc"]
    ml = "ucm_multilabel"
    maps = [SourceLabelMapping(ml, "trees", "tree"), SourceLabelMapping(ml, "grass", "grass"),
            SourceLabelMapping(ml, "buildings", "build"), SourceLabelMapping("ucm", "agricultural", "agri"),
            SourceLabelMapping(ml, "field", "anc")]
    system = LabelSystem(cs, {}, maps)
    co = Cooccurrence()
    co.add(system, ucm_samples(data_dir), "ucmerced")
    expected: dict[tuple[str, str], int] = {}
    lookup = {"trees": "tree", "grass": "grass", "buildings": "build", "field": "anc"}
    with (data_dir / "ucmerced" / "multilabels.csv").open() as f:
        for row in csv.DictReader(f):
            found = {lookup[x] for x in row["labels"].split("|") if x in lookup}
            if row["image"].split("/")[-2] == "agricultural":
                found.add("agri")
            for a, b in combinations(sorted(found), 2):
                if {a, b} != {"agri", "anc"}:            # ancestor pairs are SUBCLASS_OF, not adjacency
                    expected[(a, b)] = expected.get((a, b), 0) + 1
    assert dict(co.counts) == expected
    assert co.counts[("build", "tree")] > 100
    assert all(r["cooccurrence"] >= 5 for r in co.rows(5))
