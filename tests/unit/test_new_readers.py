"""Readers of the new real data (full EuroSAT, second NWPU draw, GID-MTL) and per-dataset metadata / --gsd."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from rskg.errors import DataError
from rskg.ingest.discovery import open_root
from rskg.ingest.readers import reader_class
from rskg.ingest.readers.scene_folder import ImageFolderReader


def test_eurosat_full_reader_has_splits_and_10m(data_dir: Path) -> None:
    r = reader_class("eurosat_rgb_full")(open_root(str(data_dir / "eurosat_rgb_full")))
    refs = r.discover()
    assert len(refs) == 27000 and r.info.gsd_m == 10.0 and r.label_vocabulary == "eurosat"
    splits = Counter(str(x.meta["split"]) for x in refs)
    assert splits == {"train": 21600, "test": 5400}
    d = r.decode(refs[0], r.read(refs[0]), "x")
    assert d.rgb is not None and d.rgb.shape == (64, 64, 3) and d.gsd_m == 10.0


def test_nwpu_more_reader_uses_the_nwpu_vocabulary(data_dir: Path) -> None:
    r = reader_class("nwpu_resisc45_more")(open_root(str(data_dir / "nwpu_resisc45_more")))
    refs = r.discover()
    assert len(refs) == 1000 and r.label_vocabulary == "nwpu_resisc45" and r.info.gsd_m is None
    assert len({x.labels[0] for x in refs}) == 10


@pytest.mark.parametrize(("key", "n", "classes"), [("gid_mtl5", 1391, 5), ("gid_mtl15", 767, 15)])
def test_gid_readers_from_scenes_csv_keep_the_mask_path(data_dir: Path, key: str, n: int, classes: int) -> None:
    r = reader_class(key)(open_root(str(data_dir / "gid_mtl")))
    refs = r.discover()
    assert len(refs) == n and len({x.labels[0] for x in refs}) == classes
    assert all(Path(str(x.meta["mask"])).is_file() for x in refs[:20])
    d = r.decode(refs[0], r.read(refs[0]), "x")
    assert d.rgb is not None and d.rgb.shape[2] == 3 and d.gsd_m is None
    limited = reader_class(key)(open_root(str(data_dir / "gid_mtl")), limit=3).discover()
    assert len(limited) == 3 * classes


def _folder(tmp_path: Path, data_dir: Path) -> Path:
    for cls in ("beach", "forest"):
        (tmp_path / cls).mkdir(parents=True)
        for src in sorted((data_dir / "ucmerced" / "images" / cls).glob("*.jpg"))[:2]:
            shutil.copy(src, tmp_path / cls / src.name)
    return tmp_path


def test_dataset_yaml_and_gsd_option_set_the_ground_resolution(tmp_path: Path, data_dir: Path) -> None:
    root = _folder(tmp_path / "ds", data_dir)
    assert ImageFolderReader(open_root(str(root))).info.gsd_m is None
    (root / "dataset.yaml").write_text("name: my scenes\ngsd_m: 0.5\nsensor: aerial RGB\nlicense: CC-BY-4.0\n"
                                       "citation: Doe 2024\nbands: [R, G, B]\n")
    r = ImageFolderReader(open_root(str(root)))
    assert (r.info.gsd_m, r.info.name, r.info.sensor, r.info.license, r.info.source) == (
        0.5, "my scenes", "aerial RGB", "CC-BY-4.0", "dataset.yaml")
    ref = r.discover()[0]
    assert r.decode(ref, r.read(ref), "x").gsd_m == 0.5
    assert ImageFolderReader(open_root(str(root)), gsd_m=2.0).info.gsd_m == 2.0
    (root / "dataset.yaml").write_text("gsd_m: -1\n")
    with pytest.raises(DataError, match="positive"):
        ImageFolderReader(open_root(str(root)))
    (root / "dataset.yaml").write_text("resolution: 3\n")
    with pytest.raises(DataError, match="unknown keys"):
        ImageFolderReader(open_root(str(root)))
