"""The Zarr v3 pixel and feature store (DESIGN.md section 1).

Layout under ``settings.zarr_path`` (a local folder or any fsspec URL)::

    pixels/<dataset>/_stacks/<H>x<W>x3/rgb   uint8 (N, H, W, 3)  RGB samples of one shape, appended per batch
    pixels/<dataset>/_stacks/<H>x<W>x3/keys  str (N,)            sample key of each row; "" = unfinished row
    pixels/<dataset>/_encoded/data        uint8 (bytes,)   image files as read (e.g. JPEG), end to end
    pixels/<dataset>/_encoded/ends        int64 (N,)       end offset of row N's file in ``data``
    pixels/<dataset>/_encoded/keys        str (N,)         sample key of each row; "" = unfinished row
    pixels/<dataset>/<sample key>/rgb     uint8 (H, W, 3)  RGB, or PCA-3 for multispectral (and every sample
                                          written before the stacks existed)
    pixels/<dataset>/<sample key>/bands   uint16 (C, H, W) original bands on one grid (multispectral),
                                          attrs: band_names, gsd_m
    pixels/<dataset>                      group attrs: reader state (e.g. the PCA basis)
    features/<dataset>/<encoder>/vectors  float32 (N, dim)  image features, append-only
    features/<dataset>/<encoder>/ids      str (N,)          sample id of each row
    features/<dataset>/<encoder>/vector_ids int64 (N,)      FAISS key of each row; -1 = unfinished row

A sample's storage path (``samples.storage``) is ``pixels/<dataset>/_encoded#<row>`` for a sample kept as its
image file, ``pixels/<dataset>/_stacks/<shape>#<row>`` for a stacked sample and ``pixels/<dataset>/<sample key>``
for one with arrays of its own; :meth:`PixelStore.read_rgb` reads all three (older stores hold only the last two).

Why encoded files: a reader whose RGB is exactly :func:`rskg.imaging.decode_rgb` of one file (every scene-folder
reader) hands the file's bytes along (``PixelWrite.encoded``) and the store keeps those bytes, appended to one
byte array per dataset, instead of the decoded pixels: lossless (``read_rgb`` decodes them with the same function,
bit-identical), ~8x fewer bytes for JPEG datasets (UCMerced: 50 MB instead of 413 MB) and no codec work at write
time. On this 2-core VM every new MB of page cache cost ~7 ms of CPU (the host backs fresh guest memory on first
touch), so writing decoded stacks was the ingest's largest cost after the encoder (benchmarks/results/scale.md).
A read decodes one file (~1 ms for a 256 x 256 JPEG) where a stack read decompresses a 16-sample chunk.

Why stacks (every other RGB sample): creating a Zarr array per sample cost ~4-14 ms of Python per image (metadata,
parent groups, one event-loop round trip per file), the slowest ingest stage; appending a batch to a stack
is one resize and one write (~0.5 ms per image), chunked 16 samples deep, LZ4-compressed (Blosc: the
pixels come from JPEGs, so a stronger codec saves little and costs CPU per image). Rewriting a sample
appends a new row; the catalog points at the new one and :meth:`PixelStore.storages` counts the last row
of each key only.

``<sample key>`` is the sample's path relative to the dataset root made Zarr-safe (odd characters -> ``_``,
for reading only) plus ``-`` and 16 hex digits of the SHA-256 of the exact relative path, so two different
paths never share an array or a key (``dup.jpg``/``dup.png``, ``a b.jpg``/``a_b.jpg`` differ). Own arrays
are chunked (at most 256 x 256 pixels per chunk); writing one twice overwrites it. Feature rows are
appended vectors -> ids -> vector_ids, so a row whose vector_id is still -1 was cut short by a crash
and is ignored (and compacted away).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr
import zarr.api.asynchronous as zasync
from zarr.codecs import BloscCodec, ZstdCodec
from zarr.core.array_spec import ArrayConfigParams
from zarr.core.sync import sync

from rskg.imaging import decode_rgb

_COMPRESSORS = (ZstdCodec(level=1),)
_PIXEL_COMPRESSORS = (BloscCodec(cname="lz4", clevel=1, shuffle="noshuffle"),)
STACKS = "_stacks"      # sample keys never start with "_" (sample_key), so no sample is called that
ENCODED = "_encoded"
ENCODED_CHUNK = 1 << 18  # bytes per chunk of the encoded-file array: one read touches one or two chunks
STACK_CHUNK = 16        # samples per chunk of a stack: one read of a thumbnail decodes at most 16
_PIXEL_CONFIG: ArrayConfigParams = {"write_empty_chunks": True}    # skips Zarr's all-equal scan of every chunk
_UNSAFE = re.compile(r"[^A-Za-z0-9._/=+-]")


def open_root(location: str | Path) -> zarr.Group:
    loc = str(location)
    store: zarr.storage.StoreLike
    if "://" in loc:
        store = zarr.storage.FsspecStore.from_url(loc)
    else:
        Path(loc).mkdir(parents=True, exist_ok=True)
        store = zarr.storage.LocalStore(loc)
    return zarr.open_group(store, mode="a", zarr_format=3)


def safe_name(text: str) -> str:
    """A Zarr-safe rewrite of ``text`` (odd characters replaced): lossy, so never a key on its own."""
    return _UNSAFE.sub("_", text).strip("/").replace("..", "_")


def sample_key(rel_path: str) -> str:
    """Collision-free key of a sample: the readable (lossy) path plus a hash of the exact relative path."""
    digest = hashlib.sha256(rel_path.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    parts = [p.lstrip("_") or "x" for p in safe_name(rel_path).split("/") if p]
    return "/".join([*parts[:-1], f"{parts[-1] if parts else 'x'}-{digest}"])


def _chunks(shape: tuple[int, ...], spatial_axes: tuple[int, int]) -> tuple[int, ...]:
    return tuple(min(n, 256) if i in spatial_axes else n for i, n in enumerate(shape))


@dataclass
class PixelWrite:
    """One sample's pixels for :meth:`PixelStore.write_many`."""

    key: str
    rgb: np.ndarray
    bands: np.ndarray | None = None
    band_names: list[str] | None = None
    gsd_m: float | None = None
    encoded: bytes | None = None     # the image file whose rskg.imaging.decode_rgb is exactly ``rgb``


class PixelStore:
    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        self.root = open_root(location)
        # arrays this store appends to, kept open between batches (an open reads the metadata again); only the
        # writer (one ingest per dataset: rskg.catalog.samples.try_lock) appends, and its resizes keep them current
        self._appending: dict[str, tuple[zarr.Array, ...]] = {}

    def path(self, dataset: str, key: str) -> str:
        return f"pixels/{dataset}/{key}"

    def write(self, dataset: str, key: str, rgb: np.ndarray, bands: np.ndarray | None = None,
              band_names: list[str] | None = None, gsd_m: float | None = None) -> str:
        """Write one sample in arrays of its own (overwriting a previous copy); returns its storage path."""
        return self.write_one(dataset, PixelWrite(key, rgb, bands, band_names, gsd_m))

    def write_many(self, dataset: str, items: list[PixelWrite]) -> list[str]:
        """Write a batch of samples (a rewrite supersedes the earlier copy); their storage paths, in order.

        RGB-only samples are appended to the dataset's stack of their shape (one array write per batch);
        samples with original bands get arrays of their own (:meth:`write_one`)."""
        out: list[str | None] = [None] * len(items)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        singles, encoded = [], []
        for i, it in enumerate(items):
            if it.bands is None and it.encoded is not None:
                encoded.append(i)
            elif it.bands is None and it.rgb.ndim == 3:
                by_shape.setdefault(tuple(int(n) for n in it.rgb.shape), []).append(i)
            else:
                singles.append(i)
        for shape, idx in by_shape.items():
            for i, storage in zip(idx, self._append_stack(dataset, shape, [items[i] for i in idx]), strict=True):
                out[i] = storage
        if encoded:
            for i, storage in zip(encoded, self._append_encoded(dataset, [items[i] for i in encoded]), strict=True):
                out[i] = storage
        for i in singles:
            out[i] = self.write_one(dataset, items[i])
        return [s for s in out if s is not None]

    def _encoded(self, dataset: str) -> tuple[str, zarr.Array, zarr.Array, zarr.Array]:
        name = f"pixels/{dataset}/{ENCODED}"
        if name not in self._appending:
            self._appending[name] = self._open_encoded(name)
        data, ends, keys = self._appending[name]
        return name, data, ends, keys

    def _open_encoded(self, name: str) -> tuple[zarr.Array, zarr.Array, zarr.Array]:
        if f"{name}/keys" in self.root:
            return (self._array(f"{name}/data").with_config(_PIXEL_CONFIG), self._array(f"{name}/ends"),
                    self._array(f"{name}/keys"))
        data = self.root.create_array(f"{name}/data", shape=(0,), dtype="uint8", chunks=(ENCODED_CHUNK,),
                                      compressors=None, config=_PIXEL_CONFIG, overwrite=True)
        ends = self.root.create_array(f"{name}/ends", shape=(0,), dtype="int64", chunks=(4096,), fill_value=-1,
                                      compressors=None, overwrite=True)
        keys = self.root.create_array(f"{name}/keys", shape=(0,), dtype=str, chunks=(4096,), fill_value="",
                                      overwrite=True)
        return data, ends, keys

    def _append_encoded(self, dataset: str, items: list[PixelWrite]) -> list[str]:
        """Append the items' files to the dataset's encoded array: bytes, then end offsets, then keys (a row
        counts once its key is set). Bytes and offsets past the last key (a batch cut short) are overwritten."""
        name, data, ends, keys = self._encoded(dataset)
        n0, n = keys.shape[0], len(items)
        start = int(np.asarray(ends[n0 - 1 : n0])[0]) if n0 else 0
        sizes = np.array([len(it.encoded or b"") for it in items], dtype=np.int64)
        stop = start + int(sizes.sum())
        data.resize((stop,))
        data[start:stop] = np.frombuffer(b"".join(it.encoded or b"" for it in items), dtype=np.uint8)
        ends.resize((n0 + n,))
        ends[n0:] = start + np.cumsum(sizes)
        keys.resize((n0 + n,))
        keys[n0:] = np.array([it.key for it in items], dtype=object)
        return [f"{name}#{n0 + j}" for j in range(n)]

    def _read_encoded(self, name: str, row: int) -> np.ndarray:
        ends = self._array(f"{name}/ends")
        if row >= ends.shape[0]:
            raise IndexError(f"{name}#{row}: no such row")
        bounds = np.asarray(ends[max(row - 1, 0): row + 1])
        start, stop = (0, int(bounds[0])) if row == 0 else (int(bounds[0]), int(bounds[1]))
        blob = np.asarray(self._array(f"{name}/data")[start:stop]).tobytes()
        return decode_rgb(blob, f"{name}#{row}")

    def _stack(self, dataset: str, shape: tuple[int, ...]) -> tuple[str, zarr.Array, zarr.Array]:
        name = f"pixels/{dataset}/{STACKS}/{'x'.join(map(str, shape))}"
        if f"{name}/keys" in self.root:    # the config is not stored with the array: set it again on every open
            return name, self._array(f"{name}/rgb").with_config(_PIXEL_CONFIG), self._array(f"{name}/keys")
        rgb = self.root.create_array(f"{name}/rgb", shape=(0, *shape), dtype="uint8",
                                     chunks=(STACK_CHUNK, *_chunks(shape, (0, 1))), compressors=_PIXEL_COMPRESSORS,
                                     config=_PIXEL_CONFIG, overwrite=True)
        keys = self.root.create_array(f"{name}/keys", shape=(0,), dtype=str, chunks=(4096,), fill_value="",
                                      overwrite=True)
        return name, rgb, keys

    def _append_stack(self, dataset: str, shape: tuple[int, ...], items: list[PixelWrite]) -> list[str]:
        name, rgb, keys = self._stack(dataset, shape)
        n0, n = keys.shape[0], len(items)
        rgb.resize((n0 + n, *shape))
        rgb[n0:] = np.stack([np.asarray(it.rgb, dtype=np.uint8) for it in items])
        keys.resize((n0 + n,))                     # last: a row counts once its key is set
        keys[n0:] = np.array([it.key for it in items], dtype=object)
        return [f"{name}#{n0 + j}" for j in range(n)]

    def write_one(self, dataset: str, it: PixelWrite) -> str:
        """One sample in arrays of its own, ``<sample key>/rgb`` (+ ``/bands``), overwriting a previous copy."""
        store = self.root.store
        base = self.path(dataset, it.key)

        async def both() -> None:
            rgb = np.ascontiguousarray(it.rgb, dtype=np.uint8)
            await zasync.create_array(store, name=f"{base}/rgb", data=rgb, chunks=_chunks(rgb.shape, (0, 1)),
                                      compressors=_PIXEL_COMPRESSORS, overwrite=True, config=_PIXEL_CONFIG)
            if it.bands is not None:
                bands = np.ascontiguousarray(it.bands)
                await zasync.create_array(store, name=f"{base}/bands", data=bands,
                                          chunks=_chunks(bands.shape, (1, 2)), compressors=_COMPRESSORS,
                                          overwrite=True, config=_PIXEL_CONFIG,
                                          attributes={"band_names": list(it.band_names or []), "gsd_m": it.gsd_m})

        sync(both())
        return base

    def _array(self, name: str) -> zarr.Array:
        node = self.root[name]
        assert isinstance(node, zarr.Array), f"{name} is not a Zarr array"
        return node

    def read_rgb(self, storage: str) -> np.ndarray:
        if "#" in storage:
            name, row = storage.rsplit("#", 1)
            if name.endswith(f"/{ENCODED}"):
                return self._read_encoded(name, int(row))
            return np.asarray(self._array(f"{name}/rgb")[int(row)])
        return np.asarray(self._array(f"{storage}/rgb")[...])

    def read_bands(self, storage: str) -> tuple[np.ndarray, list[str]]:
        arr = self._array(f"{storage}/bands")
        names = arr.attrs.get("band_names", [])
        return np.asarray(arr[...]), [str(n) for n in names] if isinstance(names, list) else []

    def exists(self, storage: str) -> bool:
        if "#" in storage:
            name, row = storage.rsplit("#", 1)
            return f"{name}/keys" in self.root and int(row) < self._array(f"{name}/keys").shape[0]
        return f"{storage}/rgb" in self.root

    def storages(self, dataset: str) -> set[str]:
        """Storage paths of every sample written for ``dataset`` (walks the group tree)."""
        name = f"pixels/{dataset}"
        if name not in self.root:
            return set()
        group = self.root[name]
        assert isinstance(group, zarr.Group)
        out = set()
        for path, node in group.members(max_depth=None):
            if not isinstance(node, zarr.Array):
                continue
            if (path.startswith(f"{STACKS}/") and path.endswith("/keys")) or path == f"{ENCODED}/keys":
                stack = f"{name}/{path[: -len('/keys')]}"
                last = {str(k): j for j, k in enumerate(np.asarray(node[...])) if k}   # a rewrite supersedes
                out |= {f"{stack}#{j}" for j in last.values()}
            elif path.endswith("/rgb") and not path.startswith((f"{STACKS}/", f"{ENCODED}/")):
                out.add(f"{name}/{path[: -len('/rgb')]}")
        return out

    def dataset_attrs(self, dataset: str) -> dict[str, Any]:
        name = f"pixels/{dataset}"
        return dict(self.root[name].attrs) if name in self.root else {}

    def set_dataset_attrs(self, dataset: str, attrs: dict[str, Any]) -> None:
        group = self.root.require_group(f"pixels/{dataset}")
        group.attrs.update(attrs)

    def delete_dataset(self, dataset: str) -> None:
        for name in [n for n in self._appending if n.startswith(f"pixels/{dataset}/")]:
            del self._appending[name]
        for top in ("pixels", "features"):
            name = f"{top}/{dataset}"
            if name in self.root:
                del self.root[name]


class FeatureStore:
    """Append-only feature rows of one dataset for one encoder version."""

    def __init__(self, root: zarr.Group, dataset: str, encoder_version: str, dim: int) -> None:
        self.name = f"features/{dataset}/{safe_name(encoder_version)}"
        self.dim = dim
        self.root = root
        group = root.require_group(self.name)
        group.attrs.update({"encoder_version": encoder_version, "dim": dim})
        self.vectors = self._array(group, "vectors", (0, dim), "float32", (256, dim), 0.0)
        self.ids = self._array(group, "ids", (0,), str, (4096,), "")
        self.vector_ids = self._array(group, "vector_ids", (0,), "int64", (4096,), -1)

    @staticmethod
    def _array(group: zarr.Group, name: str, shape: tuple[int, ...], dtype: Any,
               chunks: tuple[int, ...], fill: object) -> zarr.Array:
        if name in group:
            node = group[name]
            assert isinstance(node, zarr.Array)
            return node
        return group.create_array(name, shape=shape, dtype=dtype, chunks=chunks, fill_value=fill,
                                  compressors=None if dtype is str else _COMPRESSORS)

    def append(self, ids: list[str], vector_ids: list[int], vectors: np.ndarray) -> None:
        if not ids:
            return
        n0, n = self.vector_ids.shape[0], len(ids)
        self.vectors.resize((n0 + n, self.dim))
        self.vectors[n0:] = vectors.astype(np.float32)
        self.ids.resize((n0 + n,))
        self.ids[n0:] = np.array(ids, dtype=object)
        self.vector_ids.resize((n0 + n,))          # last: a row counts once its vector_id is set
        self.vector_ids[n0:] = np.asarray(vector_ids, dtype=np.int64)

    def load(self) -> tuple[list[str], np.ndarray, np.ndarray, int]:
        """Valid rows (ids, vector_ids, vectors), last copy wins; plus the number of dead rows."""
        n = min(self.vectors.shape[0], self.ids.shape[0], self.vector_ids.shape[0])
        vids = np.asarray(self.vector_ids[:n]) if n else np.zeros(0, np.int64)
        ids = np.asarray(self.ids[:n]) if n else np.zeros(0, object)
        good = np.flatnonzero((vids >= 0) & (ids != ""))
        last: dict[str, int] = {}
        for i in good:
            last[str(ids[i])] = int(i)
        rows = np.array(sorted(last.values()), dtype=np.int64)
        vecs = np.asarray(self.vectors[:n])[rows] if len(rows) else np.zeros((0, self.dim), np.float32)
        dead = max(self.vectors.shape[0], self.vector_ids.shape[0]) - len(rows)
        return [str(ids[i]) for i in rows], vids[rows], vecs, dead

    def rewrite(self, ids: list[str], vector_ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace every row (compaction); used by reconcile."""
        for arr in (self.vector_ids, self.ids, self.vectors):
            arr.resize((0, *arr.shape[1:]))
        self.append(ids, [int(v) for v in vector_ids], vectors)
