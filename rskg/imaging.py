"""One guarded image decoder for every image the product opens from bytes (uploads and ingested files):
the size is read from the header and refused above a pixel budget *before* the pixels are decoded, so a small
file announcing a huge image (a decompression bomb) costs nothing; PIL's own bomb check is set to the same
budget and its error is reported as a clear message."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from rskg.errors import DataError

MAX_PIXELS = 40_000_000            # 40 megapixels (e.g. 6300 x 6300); UCMerced/NWPU images are 256 x 256
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageTooLarge(DataError):
    """An image above the pixel budget, refused before decoding."""


def probe(blob: bytes, where: str, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(width, height) from the header only (cheap): DataError for unreadable bytes or above the budget."""
    return _open(blob, where, max_pixels, decode=False)  # type: ignore[return-value]


def decode_rgb(blob: bytes, where: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """uint8 (H, W, 3) pixels of an image file's bytes; DataError (ImageTooLarge above ``max_pixels``) saying
    what is wrong, never the decoder's internal text."""
    return _open(blob, where, max_pixels, decode=True)  # type: ignore[return-value]


def _open(blob: bytes, where: str, max_pixels: int, decode: bool) -> np.ndarray | tuple[int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(blob)) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise _too_large(where, w, h, max_pixels)
                if not decode:
                    return w, h
                img.load()                     # forces the full decode: truncated files fail here
                return np.asarray(img.convert("RGB"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"{where}: the image is above the {max_pixels / 1e6:g} megapixel budget "
                            "(refused before decoding)", "Send a smaller image (downscale or crop it).") from exc
    except UnidentifiedImageError as exc:
        raise DataError(f"{where}: not a readable image (unknown format)",
                        "Send PNG, JPEG, TIFF or BMP bytes.") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{where}: not a readable image ({exc})", "Send an intact PNG, JPEG, TIFF or BMP.") from exc


def _too_large(where: str, w: int, h: int, max_pixels: int) -> ImageTooLarge:
    return ImageTooLarge(f"{where}: the image is {w} x {h} = {w * h / 1e6:.1f} megapixels, above the "
                         f"{max_pixels / 1e6:g} megapixel budget (refused before decoding)",
                         "Send a smaller image (downscale or crop it).")
