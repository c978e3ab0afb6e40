"""Atomic file writes: write a temp file beside the target, then ``os.replace`` it onto the target, so a reader
(another request, worker or process) sees the old file or the new one, never half of one; a failed write
leaves the old file and no temp file behind. Base layer: any package may import it (DESIGN.md section 4)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path: str | Path, *, suffix: str = ".tmp", fsync: bool = False,
                mode: int | None = None) -> Iterator[Path]:
    """A fresh temp path in the target's folder for the block to write; moved onto ``path`` when the block
    ends without an error, removed otherwise. ``fsync`` flushes it to disk first; ``mode`` sets its
    permissions (mkstemp creates 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str, *, mode: int | None = None) -> Path:
    with atomic_path(path, mode=mode) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def savez(path: str | Path, *, fsync: bool = False, **arrays: np.ndarray) -> Path:
    """``np.savez`` of ``arrays`` to ``path`` (the temp name ends in .npz, so numpy adds no suffix)."""
    with atomic_path(path, suffix=".npz", fsync=fsync) as tmp:
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
    return Path(path)
