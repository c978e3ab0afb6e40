"""Land-cover segmentation on the product backbone (paper 002's pixel fractions; issue 18).

A frozen EfficientNet-lite0 gives feature maps at strides 8, 16 and 32 (:class:`DenseBackbone`);
a small FPN-style decoder (:class:`SegDecoder`) turns them into per-pixel logits over the 15 fine
GID-15 classes, each mapped to one concept of the label system. The 5 coarse GID-5 classes are unions
of fine ones (:data:`COARSE_GROUPS`), so GID-5 masks train the same decoder through the label
hierarchy: a built-up pixel asks that the *sum* of the built-up fine classes be likely, and says
nothing about which one (a partial label, never a negative for the sub-classes).

Training runs on cached backbone maps (the backbone never changes), inference on the whole network,
in torch or ONNX Runtime (:class:`Segmenter`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from embeddings.backbone import load_efficientnet_lite0, weights_sha256
from embeddings.seg_legend import COARSE_GROUPS as COARSE_GROUPS  # re-exported (torch-free home)
from embeddings.seg_legend import FINE_CLASSES as FINE_CLASSES
from embeddings.seg_legend import FINE_COLOURS as FINE_COLOURS
from rskg.atomic import atomic_path

N_FINE = len(FINE_CLASSES)
IGNORE = 255                               # 'undefined' pixels after remapping
TAP_BLOCKS = (4, 10, 15)                   # last block at strides 8, 16, 32 of EfficientNet-lite0
TAP_DIMS = (40, 112, 320)
OUT_STRIDE = 8                             # the decoder's logits are at 1/8 of the input side (then bilinear)


def coarse_matrix() -> np.ndarray:
    """(5, 15) 0/1 matrix: row g sums the fine probabilities of coarse class g."""
    m = np.zeros((len(COARSE_GROUPS), N_FINE), np.float32)
    for g, (_, _, fine) in enumerate(COARSE_GROUPS):
        m[g, list(fine)] = 1.0
    return m


class DenseBackbone(nn.Module):
    """EfficientNet-lite0 up to its last block; returns the maps after :data:`TAP_BLOCKS`."""

    def __init__(self, model: nn.Module | None = None) -> None:
        super().__init__()
        self.model: Any = model if model is not None else load_efficientnet_lite0()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        m = self.model
        x = m._swish(m._bn0(m._conv_stem(x)))
        taps: list[torch.Tensor] = []
        for idx, block in enumerate(m._blocks):
            x = block(x)
            if idx in TAP_BLOCKS:
                taps.append(x)
            if idx == TAP_BLOCKS[-1]:
                break
        return tuple(taps)


class SegDecoder(nn.Module):
    """FPN-lite: 1x1 laterals, top-down sum, one 3x3 conv, 1x1 classifier at stride 8.

    (A stride-4 version with two 3x3 convs of width 96 cost ~50x the training time on 2 cores.)"""

    def __init__(self, width: int = 64, n_classes: int = N_FINE) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(d, width, 1) for d in TAP_DIMS)
        self.fuse = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        )
        self.classify = nn.Conv2d(width, n_classes, 1)

    def forward(self, taps: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self.lateral[-1](taps[-1])
        for lat, t in zip(reversed(self.lateral[:-1]), reversed(taps[:-1]), strict=True):
            x = F.interpolate(x, size=t.shape[-2:], mode="bilinear", align_corners=False) + lat(t)
        out: torch.Tensor = self.classify(self.fuse(x))
        return out


class SegNet(nn.Module):
    """Backbone + decoder: NCHW normalised pixels -> fine-class probabilities at the input size."""

    def __init__(self, decoder: SegDecoder, backbone: DenseBackbone | None = None) -> None:
        super().__init__()
        self.backbone = backbone if backbone is not None else DenseBackbone()
        self.decoder = decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.decoder(self.backbone(x))
        logits = F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.softmax(logits, dim=1)


def partial_label_loss(logits: torch.Tensor, fine: torch.Tensor, coarse: torch.Tensor,
                       groups: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over fine classes where a pixel has a fine label, and over the coarse union
    (log of the summed fine probabilities) where it has only a coarse one; IGNORE pixels add nothing.

    logits (N, 15, h, w); fine, coarse (N, h, w) int64 with IGNORE; groups (5, 15) float 0/1.
    """
    logp = F.log_softmax(logits, dim=1)
    total = logits.new_zeros(())
    count = 0
    has_fine = fine != IGNORE
    if has_fine.any():
        total = total + F.nll_loss(logp, fine.clamp_max(N_FINE - 1) * has_fine, reduction="none")[has_fine].sum()
        count += int(has_fine.sum())
    has_coarse = (coarse != IGNORE) & ~has_fine          # a fine label already implies its coarse one
    if has_coarse.any():
        # log sum_{c in group} p_c = logsumexp over the group's log-probabilities
        masked = logp.unsqueeze(1) + torch.log(groups.clamp_min(1e-30))[None, :, :, None, None]
        group_logp = torch.logsumexp(masked, dim=2)                      # (N, 5, h, w)
        total = total + F.nll_loss(group_logp, coarse.clamp_max(len(COARSE_GROUPS) - 1) * has_coarse,
                                   reduction="none")[has_coarse].sum()
        count += int(has_coarse.sum())
    return total / max(count, 1)


@dataclass(frozen=True)
class SegModelInfo:
    version: str                  # names the decoder weights + backbone: stored with every composition
    width: int
    train_side: int               # the side the decoder was trained at (GID crops: 224)


def model_version(decoder: SegDecoder) -> str:
    import hashlib

    h = hashlib.sha256(weights_sha256().encode())
    for t in decoder.state_dict().values():
        h.update(t.detach().cpu().numpy().tobytes())
    return "seg-lite0-" + h.hexdigest()[:12]


def save_decoder(decoder: SegDecoder, path: Path, train_side: int, extra: dict[str, Any] | None = None) -> SegModelInfo:
    info = SegModelInfo(model_version(decoder), decoder.classify.in_channels, train_side)
    with atomic_path(path) as tmp:
        torch.save({"state": decoder.state_dict(), "info": info.__dict__, "extra": extra or {}}, tmp)
    return info


def load_decoder(path: Path) -> tuple[SegDecoder, SegModelInfo, dict[str, Any]]:
    blob = torch.load(path, map_location="cpu", weights_only=False)
    info = SegModelInfo(**blob["info"])
    dec = SegDecoder(width=info.width)
    dec.load_state_dict(blob["state"])
    return dec.eval(), info, blob.get("extra", {})


def export_onnx(net: SegNet, path: Path, side: int = 224) -> Path:
    net.eval()
    with atomic_path(path) as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, side, side),), str(tmp), dynamo=False,
                          input_names=["pixels"], output_names=["probs"],
                          dynamic_axes={"pixels": {0: "n"}, "probs": {0: "n"}}, opset_version=17)
    return path


def to_input(images: Sequence[np.ndarray], side: int) -> np.ndarray:
    """RGB uint8 HxWx3 images -> NCHW float32 at side x side, TF-lite normalised ((x - 127) / 128)."""
    from PIL import Image

    out = np.empty((len(images), 3, side, side), np.float32)
    for i, img in enumerate(images):
        if img.shape[:2] != (side, side):
            img = np.asarray(Image.fromarray(img).resize((side, side), Image.Resampling.BILINEAR))
        out[i] = (img.astype(np.float32).transpose(2, 0, 1) - 127.0) / 128.0
    return out


class Segmenter:
    """Fine-class probability maps for RGB images, by the trained decoder (ONNX Runtime or torch)."""

    def __init__(self, decoder_path: Path, onnx_dir: Path | None = None, threads: int = 2) -> None:
        decoder, self.info, _ = load_decoder(decoder_path)
        self.version = self.info.version
        self.side = self.info.train_side
        self._net = SegNet(decoder).eval()
        self._session: Any = None
        if onnx_dir is not None:
            import onnxruntime as ort

            path = onnx_dir / f"{self.version}.onnx"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                export_onnx(self._net, path, self.side)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = max(1, threads)
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._threads = threads

    def probabilities(self, images: Sequence[np.ndarray], batch: int = 16, side: int | None = None) -> np.ndarray:
        """(N, 15, side, side) float32 fine-class probabilities. ``side``: the images are resampled to it
        (default: the training side); another side than the ONNX model's runs in torch (the decoder is
        fully convolutional), e.g. to bring an image's GSD nearer to the training data's."""
        side = side or self.side
        outs = []
        for i in range(0, len(images), batch):
            x = to_input(images[i : i + batch], side)
            if self._session is not None and side == self.side:
                outs.append(self._session.run(["probs"], {"pixels": x})[0])
            else:
                torch.set_num_threads(self._threads)
                with torch.no_grad():
                    outs.append(self._net(torch.from_numpy(x)).numpy())
        return np.concatenate(outs) if outs else np.zeros((0, N_FINE, side, side), np.float32)

    def masks(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(N, side, side) uint8 fine-class argmax."""
        out: np.ndarray = self.probabilities(images).argmax(1).astype(np.uint8)
        return out


def mask_png(mask: np.ndarray) -> bytes:
    """A fine-class argmax mask as a palette PNG in the GID-15 legend colours."""
    import io

    from PIL import Image

    im = Image.fromarray(mask.astype(np.uint8), mode="P")
    im.putpalette([v for rgb in FINE_COLOURS for v in rgb])
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def fractions(mask: np.ndarray) -> np.ndarray:
    """Share of each fine class in a (side, side) argmax mask: (15,) float, sums to 1."""
    counts = np.bincount(mask.ravel(), minlength=N_FINE)[:N_FINE].astype(np.float64)
    out: np.ndarray = (counts / max(float(counts.sum()), 1.0)).astype(np.float32)
    return out
