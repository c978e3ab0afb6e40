"""Image -> network views, with ground-scale normalisation by GSD.

Choice (documented in DESIGN terms, measured in benchmarks/results/features.md):

* **GSD unknown** (or ``encoder_ref_gsd_m`` unset): the image is resized to
  ``encoder_input_px`` (224) square, the usual ImageNet-style treatment.
* **GSD known**: the image is resampled so that one pixel covers ``encoder_ref_gsd_m`` metres,
  i.e. by the zoom ``z = gsd / ref``. The zoom is clamped to ``[1/max_zoom, max_zoom]`` so a
  10 m Sentinel-2 patch is not blown up 10x into blur, nor a 0.3 m aerial tile shrunk to a few
  pixels. Sides are rounded to multiples of 32 (at least 64). Objects then appear at a comparable
  size in pixels at the network input whatever the source resolution (within the clamp).
  When a resampled side exceeds ``encoder_max_px`` the image is cut into ``encoder_input_px``
  crops on an even grid (multi-scale crops); the encoder averages the raw pooled stage features
  of the crops, which approximates global pooling over the whole image at the reference scale.

Resampling uses Pillow (bilinear with antialiasing when reducing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from rskg.errors import DataError

MIN_SIDE = 64
MULTIPLE = 32


@dataclass(frozen=True)
class ViewConfig:
    input_px: int = 224
    ref_gsd_m: float | None = 0.6
    max_zoom: float = 4.0
    max_px: int = 320

    def key(self) -> str:
        return f"px{self.input_px}-ref{self.ref_gsd_m}-z{self.max_zoom}-max{self.max_px}"


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Accept HxWx3 uint8 RGB (also HxW grey and HxWx4 RGBA, converted); reject anything else."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise DataError(
            f"image dtype {a.dtype} is not uint8",
            hint="Scale the pixels to 0..255 uint8 RGB first (multispectral: PCA-3 or an RGB band set).",
        )
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise DataError(f"image shape {a.shape} is not HxWx3", hint="Pass RGB arrays shaped (H, W, 3).")
    if min(a.shape[:2]) < 8:
        raise DataError(f"image {a.shape[:2]} is too small to encode", hint="Images need >= 8 px per side.")
    return np.ascontiguousarray(a[:, :, :3])


def load_rgb(path: str | Path) -> np.ndarray:
    """Read a JPEG/TIFF/PNG file into HxWx3 uint8 RGB with Pillow."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc


def _round_side(x: float) -> int:
    return max(MIN_SIDE, int(round(x / MULTIPLE)) * MULTIPLE)


def _resize(a: np.ndarray, h: int, w: int) -> np.ndarray:
    if a.shape[0] == h and a.shape[1] == w:
        return a
    return np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.BILINEAR))


def zoom_for(gsd_m: float | None, cfg: ViewConfig) -> float | None:
    """The clamped resampling factor for a GSD, or None when no ground-scale resampling applies."""
    if gsd_m is None or cfg.ref_gsd_m is None or not math.isfinite(gsd_m) or gsd_m <= 0:
        return None
    z = gsd_m / cfg.ref_gsd_m
    return float(min(max(z, 1.0 / cfg.max_zoom), cfg.max_zoom))


def _grid(side: int, crop: int) -> list[int]:
    n = math.ceil(side / crop)
    if n <= 1:
        return [0]
    return [round(i * (side - crop) / (n - 1)) for i in range(n)]


def make_views(image: np.ndarray, gsd_m: float | None, cfg: ViewConfig) -> list[np.ndarray]:
    """The uint8 views the network sees for one image (one view, or crops of a large one)."""
    a = as_rgb_uint8(image)
    z = zoom_for(gsd_m, cfg)
    if z is None:
        return [_resize(a, cfg.input_px, cfg.input_px)]
    h, w = _round_side(a.shape[0] * z), _round_side(a.shape[1] * z)
    r = _resize(a, h, w)
    if max(h, w) <= cfg.max_px:
        return [r]
    c = cfg.input_px
    ch, cw = min(c, h), min(c, w)
    return [r[y : y + ch, x : x + cw] for y in _grid(h, ch) for x in _grid(w, cw)]


def to_batch(views: list[np.ndarray]) -> np.ndarray:
    """Same-shaped uint8 HxWx3 views -> float32 NCHW, TF-lite normalisation (x - 127) / 128."""
    x = np.stack(views).astype(np.float32)
    x = (x - 127.0) / 128.0
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
