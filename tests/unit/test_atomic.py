"""rskg.atomic: the one temp-file + os.replace writer every cache, index and ontology file goes through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from rskg import atomic


def test_write_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    p = tmp_path / "sub" / "f.json"
    atomic.write_text(p, "one")
    atomic.write_text(p, "two")
    assert p.read_text() == "two" and os.listdir(p.parent) == ["f.json"]
    atomic.write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError), atomic.atomic_path(p) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


def test_mode_and_npz(tmp_path: Path) -> None:
    p = atomic.write_text(tmp_path / "core.ttl", "x", mode=0o644)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    z = atomic.savez(tmp_path / "a.npz", fsync=True, v=np.arange(3), s=np.asarray(["a", "b"]))
    assert z == tmp_path / "a.npz" and sorted(os.listdir(tmp_path)) == ["a.npz", "core.ttl"]
    with np.load(z) as f:
        assert f["v"].tolist() == [0, 1, 2] and f["s"].tolist() == ["a", "b"]
