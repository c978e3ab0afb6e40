"""End to end: ingest a small real UCMerced subset, then `rskg eval supplementary` on it (real servers).

The subset (5 images per class, 105 in all) goes to a temporary RSKG home (Zarr, FAISS) and to the dataset id
``test_eval_ucm``, removed from PostgreSQL and Neo4j afterwards. The feature cache is shared with the real
home, so image features computed once are reused.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rskg.ingest.admin import drop_dataset
from rskg.ingest.pipeline import IngestOptions, ingest
from rskg.services import Services
from rskg.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]
DATASET = "test_eval_ucm"
UNSEEN = "test_eval_rsscn7"
LABELS = ("buildings", "trees", "water", "cars")


@pytest.fixture(scope="module")
def home(services: Services, settings: Settings, data_dir: Path,
         scratch_home: Callable[..., Settings]) -> Iterator[Path]:
    from embeddings.image import ImageEncoder

    s = scratch_home("eval_home")
    home = s.home
    if settings.home.joinpath("models").is_dir():
        (home / "models").symlink_to(settings.home / "models")      # the same head as the product
    svc = Services(s)
    try:
        enc = ImageEncoder(s, backend="onnx")
        opts = IngestOptions(url=str(data_dir / "ucmerced"), dataset="ucm", dataset_id=DATASET, limit=5,
                             progress=False)
        assert ingest(svc, opts, enc).total_in_catalog == 105
        opts = IngestOptions(url=str(data_dir / "rsscn7"), dataset="rsscn7", dataset_id=UNSEEN, limit=3,
                             progress=False)
        assert ingest(svc, opts, enc).total_in_catalog == 21
        yield home
    finally:
        drop_dataset(svc, DATASET, [f"{DATASET}_multilabel"])
        drop_dataset(svc, UNSEEN)
        svc.close()


def _expected(data_dir: Path) -> tuple[list[str], dict[str, set[str]]]:
    from embeddings.splits import ucm_split

    test = set(ucm_split(seed=0).test)
    subset = [f"images/{c}/{c}{i:02d}.jpg" for c in sorted(os.listdir(data_dir / "ucmerced" / "images"))
              for i in range(5)]
    with (data_dir / "ucmerced" / "multilabels.csv").open() as fh:
        truth = {r["image"]: set(r["labels"].split("|")) for r in csv.DictReader(fh)}
    return [p for p in subset if p in test], truth


def _cli(home: Path, *args: str) -> str:
    env = {**os.environ, "RSKG_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "rskg.cli.main", "eval", "supplementary", "--no-protocol-head", *args],
                          env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_eval_supplementary_cli_on_ingested_subset(home: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    md = _cli(home, "--dataset", DATASET, "--truth", str(data_dir / "ucmerced" / "multilabels.csv"),
              "--labels", ",".join(LABELS), "--out", str(out))
    evaluated, truth = _expected(data_dir)
    n_eval = len(evaluated)
    assert 0 < n_eval < 105
    # only the test part of the fixed split is evaluated; the 105 - n_eval train images are excluded
    assert f"105 samples; {105 - n_eval} excluded" in md
    # each label matched by the label system, and the way it matched is reported
    assert "| buildings | `building` (building) |" in md
    assert "| trees | `trees` (trees) |" in md
    assert "| water | `water_area` (water area) |" in md

    summary = json.loads((out / "eval_supplementary.json").read_text())
    assert summary["dataset"] == DATASET
    assert (out / "eval_supplementary.md").exists() and (out / "eval_supplementary_pr.png").stat().st_size > 1000
    for variant in summary["variants"].values():
        for part in ("weighted", "macro"):
            for k in ("precision", "recall", "accuracy", "P@R>=0.65"):
                assert 0.0 <= variant[part][k] <= 1.0, (part, k, variant[part][k])

    # per-label rows: eval count, direct count (scene 'buildings' maps to concept building) and positives
    n_buildings_scene = sum(1 for p in evaluated if p.startswith("images/buildings/"))
    pos = {lab: sum(1 for p in evaluated if lab in truth[p]) for lab in LABELS}
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:]]
            for line in md.splitlines() if line.startswith("| ") and line.split("|")[1].strip() in LABELS
            and line.split("|")[2].strip().isdigit()}
    assert rows["buildings"][0] == str(n_eval)
    assert rows["buildings"][1] == str(n_buildings_scene)
    assert rows["trees"][1] == "0"                      # no scene class maps to concept 'trees'
    for lab in LABELS:
        assert rows[lab][2].startswith(f"{pos[lab]} ("), (lab, rows[lab])


def test_eval_supplementary_on_a_dataset_never_trained_on(home: Path, tmp_path: Path) -> None:
    """RSSCN7 was never used for training: every sample is evaluated; its truth names are matched by the
    label system (here plain-English names, not RSSCN7's spellings)."""
    names = {"aGrass": "grassland", "bField": "cropland", "cIndustry": "industrial land", "dRiverLake": "river|lake",
             "eForest": "forest", "fResident": "residential", "gParking": "parking lot"}
    truth = tmp_path / "rsscn7_truth.csv"
    with truth.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "labels"])
        for cls, labels in names.items():
            for i in range(3):
                w.writerow([f"images/{cls}/{sorted(os.listdir(_rsscn7(cls)))[i]}", labels])
    md = _cli(home, "--dataset", UNSEEN, "--truth", str(truth), "--labels", "forest,parking lot,river",
              "--no-write")
    assert "21 samples; 0 excluded" in md
    assert "| forest | `forest` (forest) |" in md
    assert "| parking lot | `parking_lot` (parking lot) |" in md
    forest = next(line for line in md.splitlines() if line.startswith("| forest | 21 |"))
    cells = [c.strip() for c in forest.split("|")[1:-1]]
    assert cells[2] == "3" and cells[3] == "3 (0)"      # the 3 eForest samples are direct and the only positives


def _rsscn7(cls: str) -> Path:
    from rskg.settings import load_settings as _ls

    return _ls().data_dir / "rsscn7" / "images" / cls
