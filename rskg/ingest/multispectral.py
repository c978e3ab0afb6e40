"""Multispectral helpers: band-mapping files, reading single-band GeoTIFFs onto one grid, WGS 84
footprints, and the PCA-3 visual path."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import reproject
from shapely.geometry import Polygon

from rskg.errors import ConfigError, DataError

BANDS_DIR = Path(__file__).parent / "bands"


@dataclass(frozen=True)
class Band:
    name: str
    gsd_m: float
    wavelength_nm: float


@dataclass(frozen=True)
class BandMap:
    sensor: str
    reference: str
    target_gsd_m: float
    file_pattern: str
    bands: tuple[Band, ...]
    clip_percentiles: tuple[float, float]
    components: int

    @property
    def names(self) -> list[str]:
        return [b.name for b in self.bands]


def load_band_map(name_or_path: str | Path) -> BandMap:
    path = Path(name_or_path)
    if not path.exists():
        path = BANDS_DIR / f"{name_or_path}.yaml"
    try:
        raw: dict[str, Any] = yaml.safe_load(path.read_text())
        vis = raw.get("visual", {})
        clip = vis.get("clip_percentiles", [1, 99])
        return BandMap(
            sensor=raw["sensor"], reference=raw["reference"], target_gsd_m=float(raw["target_gsd_m"]),
            file_pattern=raw["file_pattern"],
            bands=tuple(Band(b["name"], float(b["gsd_m"]), float(b["wavelength_nm"])) for b in raw["bands"]),
            clip_percentiles=(float(clip[0]), float(clip[1])),
            components=int(vis.get("components", 3)),
        )
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the band-mapping file {path}: {exc}",
                          f"See {BANDS_DIR / 'sentinel2_bigearthnet.yaml'} for the expected keys.") from exc


@dataclass
class Grid:
    crs: Any
    transform: Any
    shape: tuple[int, int]
    bounds: tuple[float, float, float, float]


def read_single_band(blob: bytes, where: str) -> tuple[np.ndarray, Grid]:
    """Open a GeoTIFF from bytes; it must hold exactly one band."""
    try:
        with MemoryFile(blob) as mem, mem.open() as src:
            if src.count != 1:
                raise DataError(f"{where}: {src.count} bands in a file that must hold 1",
                                "Each band of a BigEarthNet patch is its own single-band GeoTIFF.")
            if src.crs is None:
                raise DataError(f"{where}: GeoTIFF without a CRS", "Use the original georeferenced file.")
            return src.read(1), Grid(src.crs, src.transform, (src.height, src.width), tuple(src.bounds))
    except rasterio.errors.RasterioError as exc:
        raise DataError(f"{where}: not a readable GeoTIFF ({exc})", "Replace the file with an intact copy.") from exc


def resample(arr: np.ndarray, grid: Grid, target: Grid) -> np.ndarray:
    """Warp a band onto the target grid (bilinear when upsampling, average when downsampling)."""
    if arr.shape == target.shape and grid.transform == target.transform:
        return arr
    method = Resampling.bilinear if arr.shape[0] < target.shape[0] else Resampling.average
    out = np.zeros(target.shape, dtype=arr.dtype)
    with warnings.catch_warnings():   # plain arrays with explicit transforms: nothing is missing
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        reproject(arr, out, src_transform=grid.transform, src_crs=grid.crs, dst_transform=target.transform,
                  dst_crs=target.crs, resampling=method)
    return out


def footprint_wgs84(grid: Grid, densify: int = 4) -> str:
    """The grid's bounds as a WGS 84 (lon/lat) polygon WKT, edges densified before reprojecting."""
    left, bottom, right, top = grid.bounds
    t = np.linspace(0.0, 1.0, densify + 1)[:-1]
    xs = np.concatenate([left + (right - left) * t, np.full_like(t, right),
                         right - (right - left) * t, np.full_like(t, left)])
    ys = np.concatenate([np.full_like(t, top), top - (top - bottom) * t,
                         np.full_like(t, bottom), bottom + (top - bottom) * t])
    tr = Transformer.from_crs(grid.crs.to_wkt(), "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(xs, ys)
    return Polygon(zip(lon, lat, strict=True)).wkt


# --- visual path: per-band standardisation + PCA-3 -------------------------------------------------
def fit_visual(stacks: list[np.ndarray], components: int, clip: tuple[float, float]) -> dict[str, list[Any]]:
    """Fit band statistics and a PCA basis on a list of (C, H, W) stacks (JSON-able result)."""
    pix = np.concatenate([s.reshape(s.shape[0], -1).T for s in stacks]).astype(np.float64)
    mean, std = pix.mean(0), pix.std(0) + 1e-6
    z = (pix - mean) / std
    _, _, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
    comps = vt[:components]
    comps *= np.sign(comps.sum(1, keepdims=True) + 1e-12)       # deterministic sign: brightness-positive
    proj = z @ comps.T
    lo, hi = np.percentile(proj, clip[0], axis=0), np.percentile(proj, clip[1], axis=0)
    return {"mean": mean.tolist(), "std": std.tolist(), "components": comps.tolist(),
            "lo": lo.tolist(), "hi": hi.tolist()}


def apply_visual(stack: np.ndarray, params: dict[str, list[Any]]) -> np.ndarray:
    """(C, H, W) bands -> uint8 (H, W, k) with the fitted statistics and basis."""
    c, h, w = stack.shape
    z = (stack.reshape(c, -1).T - np.asarray(params["mean"])) / np.asarray(params["std"])
    proj = z @ np.asarray(params["components"]).T
    lo, hi = np.asarray(params["lo"]), np.asarray(params["hi"])
    out = np.clip((proj - lo) / np.maximum(hi - lo, 1e-6), 0.0, 1.0) * 255.0
    return out.reshape(h, w, -1).round().astype(np.uint8)
