"""ONNX export of :class:`~embeddings.backbone.MultiScaleBackbone` and ONNX Runtime inference.

The exported graph has dynamic batch, height and width. It is cached as
``settings.cache_dir / "onnx" / f"{backbone_version}.onnx"``, written to a temporary file and
moved into place with ``os.replace`` so concurrent processes never load a half-written model.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from embeddings.backbone import MultiScaleBackbone
from rskg.atomic import atomic_path
from rskg.errors import RskgError

INPUT = "pixels"
OUTPUT = "pooled"
OPSET = 17


class OnnxExportError(RskgError):
    default_hint = "Delete the cached .onnx under RSKG_HOME/cache/onnx and retry, or use backend='torch'."


def export_backbone(backbone: MultiScaleBackbone, path: Path) -> Path:
    """Export the backbone to ``path`` atomically (legacy TorchScript exporter: no onnxscript needed)."""
    backbone.eval()
    dummy = torch.zeros(1, 3, 224, 224)
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                backbone,
                (dummy,),
                str(tmp),
                dynamo=False,
                input_names=[INPUT],
                output_names=[OUTPUT],
                dynamic_axes={INPUT: {0: "n", 2: "h", 3: "w"}, OUTPUT: {0: "n"}},
                opset_version=OPSET,
            )
    except Exception as exc:  # torch raises many types here (the temp file is already removed)
        raise OnnxExportError(f"ONNX export of the image backbone failed: {exc}") from exc
    finally:
        backbone.eval()  # export may restore the training flag of a wrapper; keep inference mode
    return path


class OnnxBackbone:
    """ONNX Runtime session over an exported backbone; ``__call__`` maps NCHW float32 -> pooled."""

    def __init__(self, path: Path, threads: int = 2, spinning: bool = True) -> None:
        """``spinning`` False: the intra-op threads sleep between ops instead of spinning (ONNX Runtime's
        ``session.intra_op.allow_spinning``); for the ingest, whose decode and writer threads need those cores
        (UCMerced: ~20 % less CPU for the same features, benchmarks/results/scale.md)."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        if not spinning:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run([OUTPUT], {INPUT: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)
