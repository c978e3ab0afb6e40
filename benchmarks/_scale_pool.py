"""The real-feature pool of ``benchmarks.scale`` (its search curve is benchmarks/_scale_retrieval.py).

Pool: every real image of the datasets below (read and decoded by the product's readers, at its own GSD),
then real transforms of its pixels: pass 0 = the image itself, passes 1-7 = the other 7 flips/rotations of the
square's symmetry group, passes 8+ = 75 % crops at 5 positions (corners, centre) under each of those 8. Each
entry is encoded by the product encoder (``default_extractor``, ONNX) at the source's GSD and kept with its
provenance (source sample id + transform). Entry ``i`` is (pass ``i // S``, source ``i % S``) over the ``S``
sources in a fixed round-robin order of the datasets, so any prefix is a well-mixed pool and a rerun appends
where the last one stopped. Never noise around a copy.

Stored under ``RSKG_HOME/cache/scale_pool/<encoder hash>/``: ``vectors_NNNNN.npy`` (float16, L2-normalised
rows), ``provenance_NNNNN.jsonl`` (one ``{"source", "transform"}`` per row), ``manifest.json`` (written last,
atomically: rows and chunk files that count).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._scale_ingest import load1
from rskg.atomic import atomic_path
from rskg.ingest.engine import Processor
from rskg.ingest.features import default_extractor
from rskg.ingest.pipeline import IngestOptions, make_reader
from rskg.ingest.records import Decoded, SampleRef
from rskg.settings import Settings

DATASETS = (("ucm", "ucmerced"), ("eurosat_full", "eurosat_rgb_full"), ("nwpu_resisc45", "nwpu_resisc45"),
            ("rsscn7", "rsscn7"))
STEP = 512                                   # entries encoded per chunk file
CROPS = ("", "crop_tl", "crop_tr", "crop_bl", "crop_br", "crop_c")
DIHEDRAL = ("id", "fliplr", "rot90", "rot180", "rot270", "fliplr_rot90", "fliplr_rot180", "fliplr_rot270")


def transform_name(p: int) -> str:
    d, c = DIHEDRAL[p % 8], CROPS[(p // 8) % len(CROPS)]
    return d if not c else f"{d}+{c}"


def apply(img: np.ndarray, p: int) -> np.ndarray:
    d, c = DIHEDRAL[p % 8], CROPS[(p // 8) % len(CROPS)]
    a = np.fliplr(img) if d.startswith("fliplr") else img
    a = np.rot90(a, {"90": 1, "180": 2, "270": 3}.get(d.rsplit("rot", 1)[-1], 0)) if "rot" in d else a
    if c:
        h, w = a.shape[:2]
        ch, cw = min(h, max(8, int(h * 0.75))), min(w, max(8, int(w * 0.75)))
        y = {"t": 0, "b": h - ch}.get(c[-2], (h - ch) // 2) if c != "crop_c" else (h - ch) // 2
        x = {"l": 0, "r": w - cw}.get(c[-1], (w - cw) // 2) if c != "crop_c" else (w - cw) // 2
        a = a[y : y + ch, x : x + cw]
    return np.ascontiguousarray(a)


class Sources:
    def __init__(self, settings: Settings) -> None:
        per: list[list[tuple[Any, SampleRef]]] = []
        for reader_name, folder in DATASETS:
            root = settings.data_dir / folder
            if not root.exists():
                continue
            r = make_reader(IngestOptions(url=str(root), dataset=reader_name))
            per.append([(r, ref) for ref in r.discover()])
        self.items: list[tuple[Any, SampleRef]] = []
        for i in range(max(len(p) for p in per)):
            self.items += [p[i] for p in per if i < len(p)]
        self.procs = {id(r): Processor(r, {}) for r, _ in self.items}

    def decode(self, j: int) -> Decoded | None:
        r, ref = self.items[j]
        out, _ = self.procs[id(r)](ref)
        return out if isinstance(out, Decoded) and out.rgb is not None else None

    def sample_id(self, j: int) -> str:
        r, ref = self.items[j]
        return f"{r.dataset_id}:{ref.rel_path}"


def pool_dir(settings: Settings, version: str) -> Path:
    return settings.cache_dir / "scale_pool" / hashlib.sha1(version.encode()).hexdigest()[:12]


def _manifest(d: Path) -> dict[str, Any]:
    f = d / "manifest.json"
    return json.loads(f.read_text()) if f.exists() else {"rows": 0, "chunks": []}


def build_pool(settings: Settings, target: int) -> dict[str, Any]:
    """Append entries until the pool holds ``target`` (or every transform of every source)."""
    from concurrent.futures import ThreadPoolExecutor

    ex = default_extractor(settings, "onnx")
    d = pool_dir(settings, ex.version)
    d.mkdir(parents=True, exist_ok=True)
    man = _manifest(d)
    man.update({"encoder": ex.version, "dim": ex.dim})
    src = Sources(settings)
    n_src = len(src.items)
    target = min(target, n_src * 8 * len(CROPS))
    t0, load0, start = time.perf_counter(), load1(), man["rows"]
    with ThreadPoolExecutor(4) as pool:
        while man["rows"] < target:
            idx = list(range(man["rows"], min(target, man["rows"] + STEP)))
            decoded = list(pool.map(lambda i: src.decode(i % n_src), idx))
            keep = [(i, dec) for i, dec in zip(idx, decoded, strict=True) if dec is not None]
            imgs = [apply(dec.rgb, i // n_src) for i, dec in keep]  # type: ignore[arg-type]
            vecs = ex.encode(imgs, [dec.gsd_m for _, dec in keep])
            k = len(man["chunks"])
            np.save(d / f"vectors_{k:05d}.npy", vecs.astype(np.float16))
            with open(d / f"provenance_{k:05d}.jsonl", "w") as fh:
                for i, dec in keep:
                    fh.write(json.dumps({"source": src.sample_id(i % n_src), "transform": transform_name(i // n_src),
                                         "gsd_m": dec.gsd_m, "entry": i}) + "\n")
            man["chunks"].append({"file": f"vectors_{k:05d}.npy", "rows": len(keep), "first_entry": idx[0],
                                  "end_entry": idx[-1] + 1})
            man["rows"] = idx[-1] + 1
            man["vectors"] = sum(c["rows"] for c in man["chunks"])
            with atomic_path(d / "manifest.json") as tmp:
                tmp.write_text(json.dumps(man, indent=1))
            print(f"   pool: {man['vectors']} vectors ({(man['rows'] - start) / (time.perf_counter() - t0):.1f}"
                  f"/s, load {load1()})", flush=True)
    dt = time.perf_counter() - t0
    rate = (man["rows"] - start) / dt if dt > 0 and man["rows"] > start else None
    return {"vectors": man.get("vectors", 0), "sources": n_src, "datasets": [f for _, f in DATASETS],
            "dir": str(d), "this_run": {"added": man["rows"] - start, "seconds": round(dt, 1),
                                        "vectors_per_s": round(rate, 1) if rate else None,
                                        "load1_start": load0, "load1_end": load1()},
            "summary": (f"{man.get('vectors', 0)} real-feature vectors from {n_src} real images of "
                        f"{len(DATASETS)} datasets (pass 0 = the images; then flips/rotations, then 75 % crops), "
                        f"encoded by `{ex.version}`; this run added {man['rows'] - start} in {dt:.0f} s "
                        f"({rate or 0:.1f}/s at 1-min load {load0} -> {load1()}). At that rate 1,000,000 vectors "
                        f"cost {1e6 / rate / 3600 if rate else float('nan'):.1f} h of this machine.")}


def load_pool(settings: Settings, dtype: Any = np.float32) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The pool's vectors (L2-normalised rows, ``dtype``) and provenance, in entry order. Filled into one array
    chunk by chunk (at 1M x 1712 a float32 copy is 6.9 GB: no second copy is made)."""
    ex_version = default_extractor(settings, "onnx").version
    d = pool_dir(settings, ex_version)
    man = _manifest(d)
    n, dim = sum(int(c["rows"]) for c in man["chunks"]), int(man.get("dim", 1))
    x = np.zeros((n, dim), dtype)
    prov: list[dict[str, Any]] = []
    at = 0
    for c in man["chunks"]:
        v = np.load(d / c["file"]).astype(np.float32)
        x[at : at + len(v)] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        at += len(v)
        lines = (d / c["file"].replace("vectors_", "provenance_").replace(".npy", ".jsonl")).read_text()
        prov += [json.loads(line) for line in lines.splitlines()]
    return x, prov
