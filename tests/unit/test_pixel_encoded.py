"""The encoded-file pixel path of PixelStore (image files kept as read, decoded on read) against the decoded-stack
path it replaces for scene folders: bit-identical reads, resume after a batch cut short, old stores still read."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rskg.catalog.zarr_store import ENCODED, PixelStore, PixelWrite, sample_key
from rskg.ingest.readers.scene_folder import decode_rgb


def _files(n: int, seed: int = 0) -> list[bytes]:
    """Generated image files of the kinds scene folders hold: JPEG (colour, grey, odd sizes), PNG (RGBA,
    palette), TIFF, BMP."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = (256, 256) if i % 3 else (int(rng.integers(17, 90)), int(rng.integers(17, 90)))
        smooth = np.cumsum(rng.integers(-3, 4, (h, w, 3)), axis=1) + rng.integers(0, 255, 3)
        img = Image.fromarray(np.clip(smooth, 0, 255).astype(np.uint8))
        kind = i % 7
        buf = io.BytesIO()
        if kind == 1:
            img.convert("L").save(buf, "JPEG", quality=80)
        elif kind == 2:
            img.convert("RGBA").save(buf, "PNG")
        elif kind == 3:
            img.convert("P").save(buf, "PNG")
        elif kind == 4:
            img.save(buf, "TIFF")
        elif kind == 5:
            img.save(buf, "BMP")
        else:
            img.save(buf, "JPEG", quality=int(rng.integers(50, 96)))
        out.append(buf.getvalue())
    return out


def _writes(blobs: list[bytes], encoded: bool, tag: str = "") -> list[PixelWrite]:
    return [PixelWrite(sample_key(f"c/{tag}{i}.img"), decode_rgb(b, str(i)), encoded=b if encoded else None)
            for i, b in enumerate(blobs)]


def test_encoded_reads_bit_identical_to_decoded_stacks(tmp_path: Path) -> None:
    blobs = _files(45)
    old, new = PixelStore(tmp_path / "old"), PixelStore(tmp_path / "new")
    so, sn = [], []
    for b in range(0, len(blobs), 16):           # batches of 16, as write_many gets them
        so += old.write_many("d", _writes(blobs, False)[b : b + 16])
        sn += new.write_many("d", _writes(blobs, True)[b : b + 16])
    assert sn[0] == f"pixels/d/{ENCODED}#0" and sn[-1] == f"pixels/d/{ENCODED}#44"
    assert all("_stacks" in s for s in so)
    for i, (a, b) in enumerate(zip(so, sn, strict=True)):
        want = decode_rgb(blobs[i], str(i))
        got_old, got_new = old.read_rgb(a), new.read_rgb(b)
        assert got_new.dtype == np.uint8 and got_new.shape == want.shape
        assert np.array_equal(got_old, want) and np.array_equal(got_new, want), i
        assert new.exists(b)
    assert new.storages("d") == set(sn) and not new.exists(f"pixels/d/{ENCODED}#45")
    # far fewer bytes on disk than the decoded stacks
    size = lambda p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file())  # noqa: E731
    assert size(tmp_path / "new") < size(tmp_path / "old")


def test_encoded_resume_after_a_batch_cut_short(tmp_path: Path) -> None:
    """A crash after a batch's bytes and end offsets but before its keys: the rows do not count, and the next
    batch overwrites them (no gap, no stale bytes)."""
    blobs = _files(30, seed=1)
    px = PixelStore(tmp_path / "z")
    first = px.write_many("d", _writes(blobs[:10], True, "a"))
    name = f"pixels/d/{ENCODED}"
    data, ends = px._array(f"{name}/data"), px._array(f"{name}/ends")
    n_bytes = int(ends[9])
    data.resize((n_bytes + 5000,))                       # the cut batch: bytes and offsets written, keys not
    data[n_bytes:] = np.full(5000, 7, np.uint8)
    ends.resize((13,))
    ends[10:] = n_bytes + np.array([1000, 3000, 5000])
    assert px.storages("d") == set(first) and not px.exists(f"{name}#10")
    rerun = PixelStore(tmp_path / "z")                   # the next run (a new process after the crash)
    again = rerun.write_many("d", _writes(blobs[10:], True, "b"))
    assert again[0] == f"{name}#10" and again[-1] == f"{name}#29"
    for i, s in enumerate(first + again):
        assert np.array_equal(px.read_rgb(s), decode_rgb(blobs[i], str(i))), i
    assert px.storages("d") == set(first) | set(again)
    sup = rerun.write_many("d", [PixelWrite(_writes(blobs[:1], True, "a")[0].key, decode_rgb(blobs[5], "5"),
                                         encoded=blobs[5])])            # a rewrite supersedes
    assert sup == [f"{name}#30"] and px.storages("d") == (set(first) - {first[0]}) | set(again) | set(sup)
    with pytest.raises(IndexError):
        px.read_rgb(f"{name}#31")


def test_store_written_with_decoded_stacks_still_reads_and_grows(tmp_path: Path) -> None:
    """A dataset written before the encoded path (decoded stacks, arrays of its own) keeps reading; new samples
    go to the encoded array beside it; a reopened stack keeps appending."""
    blobs = _files(20, seed=2)
    px = PixelStore(tmp_path / "z")
    own = px.write("d", sample_key("c/own.img"), decode_rgb(blobs[0], "0"))
    stacked = px.write_many("d", _writes(blobs[:8], False))
    reopened = PixelStore(tmp_path / "z")
    more_stacked = reopened.write_many("d", _writes(blobs[8:12], False, "s"))
    enc = reopened.write_many("d", _writes(blobs[12:], True, "e"))
    assert all(f"/{ENCODED}#" in s for s in enc) and all("_stacks" in s for s in stacked + more_stacked)
    for i, s in enumerate(stacked + more_stacked + enc):
        assert np.array_equal(reopened.read_rgb(s), decode_rgb(blobs[i], str(i))), i
    assert np.array_equal(reopened.read_rgb(own), decode_rgb(blobs[0], "0"))
    assert reopened.storages("d") == {own, *stacked, *more_stacked, *enc}


def test_scene_folder_reader_hands_the_file_along(tmp_path: Path) -> None:
    from rskg.ingest.discovery import open_root
    from rskg.ingest.engine import Processor
    from rskg.ingest.readers.scene_folder import ImageFolderReader
    from rskg.ingest.records import Decoded

    blob = _files(1)[0]
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "a.jpg").write_bytes(blob)
    reader = ImageFolderReader(open_root(str(tmp_path)), dataset_id="t")
    (ref,) = reader.discover()
    out, _ = Processor(reader, {})(ref)
    assert isinstance(out, Decoded) and out.encoded == blob and out.rgb is not None
    assert np.array_equal(out.rgb, decode_rgb(blob, "a"))


def test_encoded_arrays_kept_open_between_batches_start_over_after_a_drop(tmp_path: Path) -> None:
    blobs = _files(12, seed=3)
    px = PixelStore(tmp_path / "z")
    a = px.write_many("d", _writes(blobs[:6], True))
    b = px.write_many("d", _writes(blobs[6:], True, "b"))       # the kept-open arrays: rows 6..11
    assert b[0] == f"pixels/d/{ENCODED}#6"
    fresh = PixelStore(tmp_path / "z")                           # what another process reads
    for i, s in enumerate(a + b):
        assert np.array_equal(fresh.read_rgb(s), decode_rgb(blobs[i], str(i))), i
    px.delete_dataset("d")
    again = px.write_many("d", _writes(blobs[3:5], True, "c"))
    assert again == [f"pixels/d/{ENCODED}#0", f"pixels/d/{ENCODED}#1"]
    assert np.array_equal(PixelStore(tmp_path / "z").read_rgb(again[1]), decode_rgb(blobs[4], "4"))
    assert fresh.storages("d") == set(again)
