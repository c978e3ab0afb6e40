"""What the labelling page shows: chip points, segment maps of chosen chips, segment overlays."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image
from skimage.segmentation import find_boundaries

from rskg.errors import ValidationError
from rskg.labelling import projection
from rskg.labelling.artifacts import Prepared

MAX_SEGMENT_CHIPS = 24
OVERLAY_PX = 256


def chip_points(prep: Prepared) -> list[dict[str, Any]]:
    return [{"id": s, "x": round(float(x), 5), "y": round(float(y), 5), "n_segments": len(e), "labels": lab}
            for s, (x, y), e, lab in zip(prep.sample_ids, prep.xy, prep.embeddings, prep.labels, strict=True)]


def segment_points(prep: Prepared, sample_ids: list[str], neighbours: int = 15) -> list[dict[str, Any]]:
    """UMAP of the segment embeddings of the chosen chips (the paper's lower-level mode)."""
    ids = list(dict.fromkeys(sample_ids))
    if not ids:
        raise ValidationError("the selection is empty: choose chips for the segment map",
                              "Brush chips in the chip map first.")
    if len(ids) > MAX_SEGMENT_CHIPS:
        raise ValidationError(f"{len(ids)} chips chosen for the segment map; at most {MAX_SEGMENT_CHIPS}",
                              "Brush a smaller region.")
    idx = [prep.index(s) for s in ids]
    vecs = np.concatenate([prep.embeddings[i] for i in idx])
    xy = projection.vectors_2d(vecs, neighbours)
    out, k = [], 0
    for s, i in zip(ids, idx, strict=True):
        for seg in range(len(prep.embeddings[i])):
            out.append({"id": s, "segment": seg, "x": round(float(xy[k, 0]), 5), "y": round(float(xy[k, 1]), 5)})
            k += 1
    return out


def overlay_png(prep: Prepared, rgb: np.ndarray, sample_id: str, selected: list[int]) -> bytes:
    """The chip with unselected segments veiled in blue and the selected ones outlined in yellow."""
    seg = prep.seg_maps[prep.index(sample_id)]
    if seg.shape != rgb.shape[:2]:
        raise ValidationError(f"chip {sample_id} changed size since it was prepared",
                              f"Prepare {prep.dataset} again.")
    img = rgb[..., :3].astype(np.float32)
    if selected:
        sel = np.isin(seg, selected)
        veil = np.array([40, 80, 200], np.float32)
        img = np.where(sel[..., None], img, 0.35 * img + 0.65 * veil)
        img[find_boundaries(np.where(sel, seg, -1), mode="inner") & sel] = (255, 220, 0)
    else:
        img[find_boundaries(seg, mode="inner")] = 0.6 * img[find_boundaries(seg, mode="inner")] + 100
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    scale = max(1, OVERLAY_PX // max(pil.size))
    if scale > 1:
        pil = pil.resize((pil.size[0] * scale, pil.size[1] * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()
