"""Ingestion building blocks on real files (no servers): discovery, readers, Zarr stores, bands."""

from __future__ import annotations

import hashlib
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer
from shapely import wkt

from rskg.catalog.zarr_store import FeatureStore, PixelStore, PixelWrite, sample_key
from rskg.errors import DataError
from rskg.ingest.discovery import label_folders, list_files, open_root
from rskg.ingest.engine import Processor
from rskg.ingest.multispectral import apply_visual, fit_visual, load_band_map, read_single_band
from rskg.ingest.readers import READERS, reader_class
from rskg.ingest.readers.bigearthnet import BigEarthNetS2Reader, acquisition_time
from rskg.ingest.readers.scene_folder import decode_rgb
from rskg.ingest.readers.ucmerced import UCMercedReader
from rskg.ingest.records import Decoded, Rejected, Skipped, vector_id


@pytest.fixture(scope="module")
def data(settings) -> Path:  # type: ignore[no-untyped-def]
    return settings.data_dir


def test_bfs_finds_class_folders_and_dfs_lists_files(data: Path) -> None:
    root = open_root(str(data / "rsscn7"))
    folders = label_folders(root, start="images", max_depth=1)
    assert folders == [f"images/{c}" for c in ("aGrass", "bField", "cIndustry", "dRiverLake", "eForest",
                                                  "fResident", "gParking")]
    files = list_files(root, folders, (".jpg",))
    assert [len(v) for v in files.values()] == [30] * 7
    assert files["images/aGrass"][0].endswith("aGrass/a021.jpg")


def test_open_root_errors_tell_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a folder") as exc:
        open_root(str(tmp_path / "nope"))
    assert "root folder" in exc.value.hint


@pytest.mark.parametrize(("name", "folder", "n_classes"), [
    ("ucm", "ucmerced", 21), ("eurosat", "eurosat_rgb", 10), ("nwpu_resisc45", "nwpu_resisc45", 10),
    ("rsscn7", "rsscn7", 7)])
def test_scene_readers_spell_their_classes(data: Path, name: str, folder: str, n_classes: int) -> None:
    reader = reader_class(name)(open_root(str(data / folder)), limit=2)
    refs = reader.discover()
    labels = sorted({r.labels[0] for r in refs})
    assert len(labels) == n_classes and len(refs) == 2 * n_classes
    assert set(labels) <= set(reader.classes)


def test_wrong_reader_for_folder_is_explained(data: Path) -> None:
    with pytest.raises(DataError, match="not a class of EuroSAT") as exc:
        reader_class("eurosat")(open_root(str(data / "rsscn7"))).discover()
    assert "--dataset" in exc.value.hint
    with pytest.raises(Exception, match="no reader"):
        reader_class("nope")


def test_ucm_multilabels_attached_as_second_label_set(data: Path) -> None:
    reader = UCMercedReader(open_root(str(data / "ucmerced")), dataset_id="x", limit=1)
    refs = reader.discover()
    first = refs[0]
    assert first.rel_path == "images/agricultural/agricultural00.jpg"
    assert first.labels == ["agricultural"]
    assert first.extra_labels == {"x_multilabel": ["field", "trees"]}
    assert all(r.extra_labels["x_multilabel"] for r in refs)
    assert set(reader.label_sets()) == {"x", "x_multilabel"} and len(reader.label_sets()["x_multilabel"]) == 17


def test_bad_annotation_rows_are_rejected(tmp_path: Path, data: Path) -> None:
    shutil.copytree(data / "ucmerced" / "images" / "beach", tmp_path / "images" / "beach")
    (tmp_path / "multilabels.csv").write_text(
        "image,labels\nimages/beach/beach00.jpg,sand|sea\nimages/beach/beach01.jpg,sand|unicorns\n"
        "images/beach/beach02.jpg\nimages/beach/nothere.jpg,sand\nimages/beach/beach03.jpg,\n")
    reader = UCMercedReader(open_root(str(tmp_path)))
    refs = {r.rel_path: r for r in reader.discover()}
    assert refs["images/beach/beach00.jpg"].extra_labels == {"ucm_multilabel": ["sand", "sea"]}
    reasons = {r.ref.rel_path: r.reason for r in reader.rejected}
    assert set(reasons) == {"multilabels.csv#L3", "multilabels.csv#L4", "multilabels.csv#L5", "multilabels.csv#L6"}
    assert "unicorns" in reasons["multilabels.csv#L3"] and "missing image" in reasons["multilabels.csv#L5"]


def test_truncated_jpeg_is_rejected_intact_one_decodes(data: Path) -> None:
    blob = (data / "ucmerced/images/beach/beach00.jpg").read_bytes()
    assert decode_rgb(blob, "x").shape == (256, 256, 3)
    with pytest.raises(DataError, match="not a readable image"):
        decode_rgb(blob[: len(blob) // 2], "x")


def test_processor_skips_same_checksum_and_quarantines_bad(tmp_path: Path, data: Path) -> None:
    src = data / "ucmerced/images/beach"
    (tmp_path / "images/beach").mkdir(parents=True)
    shutil.copy(src / "beach00.jpg", tmp_path / "images/beach/beach00.jpg")
    (tmp_path / "images/beach/beach01.jpg").write_bytes((src / "beach01.jpg").read_bytes()[:3000])
    reader = UCMercedReader(open_root(str(tmp_path)))
    refs = reader.discover()
    out = [Processor(reader, {})(r)[0] for r in refs]
    assert isinstance(out[0], Decoded) and isinstance(out[1], Rejected)
    again = Processor(reader, {"images/beach/beach00.jpg": out[0].sha256})(refs[0])[0]
    assert isinstance(again, Skipped)


def test_acquisition_time_from_patch_names() -> None:
    assert acquisition_time("S2A_MSIL2A_20170617T113321_36_85") == datetime(2017, 6, 17, 11, 33, 21, tzinfo=UTC)
    assert acquisition_time("S2A_MSIL2A_20180510T94033_19_86") == datetime(2018, 5, 10, 9, 40, 33, tzinfo=UTC)
    assert acquisition_time("no_time_here") is None


def test_bigearthnet_decode_real_patch(data: Path) -> None:
    reader = BigEarthNetS2Reader(open_root(str(data / "sentinel2_ms")), limit=2)
    refs = reader.discover()
    assert len(refs) == 2 and len(refs[0].paths) == 12
    assert refs[0].labels == ["Non-irrigated arable land", "Pastures"]
    blobs = reader.read(refs[0])
    d = reader.decode(refs[0], blobs, "0" * 64)
    assert d.bands is not None and d.bands.shape == (12, 120, 120) and d.bands.dtype == np.uint16
    assert d.band_names[0] == "B01" and d.band_names[-1] == "B12"
    # footprint = the UTM corners of labels.csv (643200, 5798040) - (644400, 5796840), EPSG:32629
    tr = Transformer.from_crs("EPSG:32629", "EPSG:4326", always_xy=True)
    lon0, lat0 = tr.transform(643200, 5798040)
    lon1, lat1 = tr.transform(644400, 5796840)
    minx, miny, maxx, maxy = wkt.loads(d.footprint_wkt).bounds
    assert abs(minx - lon0) < 1e-3 and abs(maxy - lat0) < 1e-3 and abs(maxx - lon1) < 1e-3 and abs(miny - lat1) < 1e-3
    state = reader.visual([d], {})
    assert state is not None and "pca" in state
    assert d.rgb is not None and d.rgb.shape == (120, 120, 3) and d.rgb.std() > 10


def test_single_band_check_rejects_multiband(tmp_path: Path, data: Path) -> None:
    src = next((data / "sentinel2_ms/bigearthnet_s2").glob("*/*_B02.tif"))
    with rasterio.open(src) as s:
        prof, arr = s.profile, s.read(1)
    prof.update(count=3)
    buf = io.BytesIO()
    with rasterio.MemoryFile() as mem:
        with mem.open(**prof) as dst:
            dst.write(np.stack([arr] * 3))
        buf.write(mem.read())
    with pytest.raises(DataError, match="3 bands"):
        read_single_band(buf.getvalue(), "x")
    assert read_single_band(src.read_bytes(), "x")[0].shape == (120, 120)


def test_pca_visual_is_deterministic_and_uses_range() -> None:
    rng = np.random.default_rng(0)
    stacks = [rng.integers(0, 5000, (12, 16, 16)).astype(np.uint16) for _ in range(3)]
    p1, p2 = fit_visual(stacks, 3, (1, 99)), fit_visual(stacks, 3, (1, 99))
    assert p1 == p2
    rgb = apply_visual(stacks[0], p1)
    assert rgb.dtype == np.uint8 and rgb.shape == (16, 16, 3) and rgb.max() > 200 and rgb.min() < 50


def test_band_map_file() -> None:
    bm = load_band_map("sentinel2_bigearthnet")
    assert bm.names == ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]
    assert bm.reference == "B02" and bm.target_gsd_m == 10


def test_sample_keys_never_collide() -> None:
    names = ["dup.jpg", "dup.png", "dup", "a b.jpg", "a_b.jpg", "a?b.jpg", "森林 space.jpg", "河流 space.jpg",
             "x/__y.jpg", "x/y.jpg", "..jpg", "_.jpg"]
    keys = [sample_key(f"images/c/{n}") for n in names]
    assert len(set(keys)) == len(names), keys
    assert all(".." not in k and not any(p.startswith("_") for p in k.split("/")) for k in keys)


def test_pixel_and_feature_stores(tmp_path: Path) -> None:
    px = PixelStore(tmp_path / "z")
    img = np.asarray(Image.new("RGB", (300, 40), (10, 20, 30)))
    s = px.write("d", sample_key("images/a b/x.jpg"), img)
    assert s == f"pixels/d/images/a_b/x.jpg-{hashlib.sha256(b'images/a b/x.jpg').hexdigest()[:16]}"
    assert px.storages("d") == {s}
    assert np.array_equal(px.read_rgb(s), img)
    fs = FeatureStore(px.root, "d", "enc-v1", 4)
    fs.append(["d:a", "d:b"], [1, 2], np.eye(2, 4))
    fs.vectors.resize((3, 4))            # a crash after the vectors but before the ids of row 3
    ids, vids, vecs, dead = fs.load()
    assert ids == ["d:a", "d:b"] and list(vids) == [1, 2] and dead == 1
    fs.append(["d:a"], [1], np.ones((1, 4)))   # last copy wins
    ids, _, vecs, _ = FeatureStore(px.root, "d", "enc-v1", 4).load()
    assert sorted(ids) == ["d:a", "d:b"] and vecs[ids.index("d:a")].sum() == 4


def test_pixel_stacks_batch_write_read_and_supersede(tmp_path: Path) -> None:
    """write_many appends RGB samples to one stack per shape; a rewrite supersedes; bands keep own arrays."""
    px = PixelStore(tmp_path / "z")
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (20, 30, 3), dtype=np.uint8) for _ in range(40)] + \
        [rng.integers(0, 255, (8, 9, 3), dtype=np.uint8)]
    items = [PixelWrite(sample_key(f"c/{i}.jpg"), im) for i, im in enumerate(imgs)]
    bands = rng.integers(0, 9999, (4, 8, 9), dtype=np.uint16)
    items.append(PixelWrite(sample_key("c/ms.tif"), imgs[-1], bands, ["B1", "B2", "B3", "B4"], 10.0))
    storages = px.write_many("d", items[:17]) + px.write_many("d", items[17:])
    assert storages[0] == "pixels/d/_stacks/20x30x3#0" and storages[39] == "pixels/d/_stacks/20x30x3#39"
    assert storages[40] == "pixels/d/_stacks/8x9x3#0" and "#" not in storages[41]
    for s, im in zip(storages, imgs + [imgs[-1]], strict=True):
        assert px.exists(s) and np.array_equal(px.read_rgb(s), im)
    assert np.array_equal(px.read_bands(storages[41])[0], bands)
    assert px.storages("d") == set(storages)
    again = px.write_many("d", [PixelWrite(items[3].key, imgs[5])])     # sample 3 rewritten with new pixels
    assert again == ["pixels/d/_stacks/20x30x3#40"] and np.array_equal(px.read_rgb(again[0]), imgs[5])
    assert px.storages("d") == (set(storages) - {storages[3]}) | set(again)
    assert not px.exists("pixels/d/_stacks/20x30x3#41")


def test_vector_id_is_stable_63_bit() -> None:
    v = vector_id("ucm:images/beach/beach00.jpg")
    assert v == vector_id("ucm:images/beach/beach00.jpg") and 0 <= v < 2**63
    assert v != vector_id("ucm:images/beach/beach01.jpg")
    assert set(READERS) >= {"ucm", "eurosat", "nwpu_resisc45", "rsscn7", "bigearthnet_43", "imagefolder"}


def test_discovery_and_decode_inside_a_zip(tmp_path: Path, data: Path) -> None:
    import zipfile

    archive = tmp_path / "rsscn7.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for cls, stem in (("aGrass", "a021"), ("aGrass", "a038"), ("gParking", "g021")):
            zf.write(data / f"rsscn7/images/{cls}/{stem}.jpg", f"images/{cls}/{stem}.jpg")
    reader = reader_class("rsscn7")(open_root(f"zip://::{archive}"))
    refs = reader.discover()
    assert [(r.rel_path, r.labels) for r in refs] == [
        ("images/aGrass/a021.jpg", ["aGrass"]), ("images/aGrass/a038.jpg", ["aGrass"]),
        ("images/gParking/g021.jpg", ["gParking"])]
    out = Processor(reader, {})(refs[2])[0]
    assert isinstance(out, Decoded) and out.rgb is not None and out.rgb.shape == (256, 256, 3)


def test_ingest_decoder_refuses_image_bombs() -> None:
    from rskg.imaging import ImageTooLarge
    from tests.security.bombs import png_bomb

    with pytest.raises(ImageTooLarge, match="megapixel budget"):
        decode_rgb(png_bomb(12_000), "images/c/bomb.png")
