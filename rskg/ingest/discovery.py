"""Discovery over any fsspec URL (paper 000 section 3.1).

A breadth-first walk of the directory tree finds the label hierarchy (the folders that hold
samples); a parallel depth-first listing of each label folder then finds the samples. Local folders,
``zip://...::file.zip``, ``http(s)://``, ``s3://`` all work through fsspec when reachable.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import fsspec
from fsspec import AbstractFileSystem

from rskg.errors import DataError


@dataclass(frozen=True)
class Root:
    fs: AbstractFileSystem
    path: str                           # root path inside fs, no trailing '/'

    def rel(self, path: str) -> str:
        return posixpath.relpath(path, self.path) if self.path else path.lstrip("/")

    def join(self, *parts: str) -> str:
        return posixpath.join(self.path, *parts)


def open_root(url: str) -> Root:
    """Resolve ``url`` to a filesystem and a root folder; fail with a fix when it is not a folder."""
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise DataError(f"cannot open {url!r}: {exc}",
                        "Use a local folder or an fsspec URL (zip://::f.zip, https://, s3://) whose "
                        "filesystem package is installed (e.g. `pip install s3fs`).") from exc
    path = path.rstrip("/")
    try:
        is_dir = fs.isdir(path)
    except Exception as exc:  # network filesystems raise their own errors
        raise DataError(f"cannot reach {url!r}: {exc}", "Check the URL and the network/credentials.") from exc
    if not is_dir:
        raise DataError(f"{url!r} is not a folder",
                        "Point `rskg ingest` at the dataset's root folder (the one with its README).")
    return Root(fs, path)


def _kind(fs: AbstractFileSystem, entry: dict[str, object]) -> str:
    """"file" / "directory" / other; a symbolic link (local fsspec lists it as "other") counts as what it
    points at, so a dataset assembled from links to another one is found like a copied one."""
    kind = str(entry.get("type"))
    if kind == "other" and entry.get("islink"):
        name = str(entry["name"])
        return "directory" if fs.isdir(name) else "file" if fs.isfile(name) else kind
    return kind


def label_folders(root: Root, start: str = "", max_depth: int = 3) -> list[str]:
    """Breadth-first walk from ``start``: the folders that directly hold files, as relative paths.

    For an ImageFolder-style dataset these are the class folders; the order is breadth-first,
    then by name, so it is deterministic.
    """
    found: list[str] = []
    queue: deque[tuple[str, int]] = deque([(root.join(start) if start else root.path, 0)])
    while queue:
        path, depth = queue.popleft()
        entries = sorted(root.fs.ls(path, detail=True), key=lambda e: e["name"])
        kinds = [_kind(root.fs, e) for e in entries]
        dirs = [e["name"].rstrip("/") for e, k in zip(entries, kinds, strict=True) if k == "directory"]
        has_files = "file" in kinds
        if has_files and depth > 0:
            found.append(root.rel(path))
        if depth < max_depth:
            queue.extend((d, depth + 1) for d in dirs)
    return found


def list_files(root: Root, folders: Iterable[str], suffixes: tuple[str, ...],
               workers: int = 8) -> dict[str, list[str]]:
    """Depth-first listing of each folder in parallel: folder -> sorted absolute file paths."""
    folders = list(folders)
    suffixes = tuple(s.lower() for s in suffixes)

    def one(folder: str) -> list[str]:
        files = root.fs.find(root.join(folder), withdirs=False)
        return sorted(f for f in files if f.lower().endswith(suffixes))

    with ThreadPoolExecutor(max(1, min(workers, len(folders)))) as pool:
        return dict(zip(folders, pool.map(one, folders), strict=True))
