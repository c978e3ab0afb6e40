"""The fine-tuned multi-label head: fused backbone feature -> embedding -> label logits.

Architecture: ``Linear(in, hidden) - BatchNorm - ReLU - Dropout - Linear(hidden, emb_dim)``
gives the projected embedding (L2-normalised, the retrieval feature once trained), and
``Linear(emb_dim, n_labels)`` on the normalised embedding (scaled by a learned temperature)
gives the multi-label logits trained with BCE.

Saved as one ``torch.save`` file holding the state dict and a small JSON-able config (labels,
dims, the backbone version it was trained on) under ``settings.home / "models"``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rskg.atomic import atomic_path


@dataclass
class HeadConfig:
    in_dim: int
    labels: list[str]
    hidden: int = 512
    emb_dim: int = 256
    dropout: float = 0.2
    backbone_version: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


class ProjectionHead(nn.Module):
    def __init__(self, cfg: HeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.project = nn.Sequential(
            nn.Linear(cfg.in_dim, cfg.hidden),
            nn.BatchNorm1d(cfg.hidden),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, cfg.emb_dim),
        )
        self.classifier = nn.Linear(cfg.emb_dim, len(cfg.labels))
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(10.0))))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.project(x), dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.embed(x)
        return z, self.classifier(z * self.log_scale.exp())

    @torch.no_grad()
    def embed_numpy(self, x: np.ndarray, batch: int = 4096) -> np.ndarray:
        self.eval()
        out = [self.embed(torch.from_numpy(x[i : i + batch])).numpy() for i in range(0, len(x), batch)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.cfg.emb_dim), np.float32)

    @torch.no_grad()
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        self.eval()
        return torch.sigmoid(self(torch.from_numpy(x))[1]).numpy()


def save_head(head: ProjectionHead, path: Path) -> Path:
    """Atomic save (temp file + os.replace)."""
    with atomic_path(path) as tmp:
        torch.save({"config": asdict(head.cfg), "state": head.state_dict()}, tmp)
    return path


def load_head(path: Path) -> ProjectionHead:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    head = ProjectionHead(HeadConfig(**blob["config"]))
    head.load_state_dict(blob["state"])
    return head.eval()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
