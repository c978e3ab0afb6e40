"""Parameters of the labelling pipeline (paper 001 section 2; defaults scaled down for CPU)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rskg.errors import ValidationError

GNN_KINDS = ("gcn", "gat")


@dataclass(frozen=True)
class LabellingConfig:
    clusters: int = 8                   # C: fuzzy c-means clusters = U-Net / GNN targets (paper: 2, 8, 18)
    fcm_m: float = 2.0                  # fuzzifier
    fcm_pixel_step: int = 56            # paper: every 56th pixel is used to fit the centroids
    fcm_max_pixels: int = 60_000
    unet_widths: tuple[int, ...] = (16, 32, 64)   # paper: 64..1024 over 5 levels; too big for a CPU
    unet_features: int = 32             # activation maps fed to the graph (paper: 64)
    unet_crop: int = 64                 # training crop side (chips are processed whole at inference)
    unet_epochs: int = 25
    unet_patience: int = 5              # early stopping on the epoch loss (paper: 15)
    unet_batch: int = 16
    unet_crops_per_chip: int = 1
    unet_chips_per_epoch: int = 256     # a random subset per epoch: training cost independent of dataset size
    unet_lr: float = 2e-3
    noise_std: float = 0.05             # augmentation: random rot90/flip + Gaussian noise
    slic_segments_256: int = 500        # N for a 256 x 256 chip; scaled by area for other sizes
    slic_compactness: float = 10.0
    min_segment_px: int = 16            # a chip must hold (k + 1) segments of at least this many pixels
    k: int = 8                          # edges to the K geographically nearest segments
    gnn: str = "gcn"                    # "gcn" (60-d embedding) or "gat" (GATv2, 8 heads x 8 = 64-d)
    gnn_hidden: int = 60
    gat_heads: int = 8
    gat_head_dim: int = 8
    gnn_epochs: int = 60
    gnn_lr: float = 5e-3
    gnn_batch_chips: int = 64
    match_max_segments: int = 64        # segments per chip kept for Hungarian matching (k-means summary)
    umap_neighbors: int = 15
    seed: int = 0
    threads: int = 1                    # torch threads; 2 spin-wait badly on a busy 2-core machine
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.clusters < 2:
            raise ValidationError(f"clusters must be at least 2, got {self.clusters}",
                                  "Use --clusters 2 or more (the paper tests 2, 8 and 18).")
        if self.gnn not in GNN_KINDS:
            raise ValidationError(f"unknown graph network {self.gnn!r}", "Use gnn='gcn' or gnn='gat'.")
        if self.k < 1:
            raise ValidationError(f"k must be at least 1, got {self.k}", "Use k=8 as in the paper.")

    @property
    def embedding_dim(self) -> int:
        return self.gnn_hidden if self.gnn == "gcn" else self.gat_heads * self.gat_head_dim

    def n_segments(self, height: int, width: int) -> int:
        """SLIC target for a chip: N = 500 for 256 x 256, scaled by area."""
        return max(self.k + 1, round(self.slic_segments_256 * height * width / (256 * 256)))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unet_widths"] = list(self.unet_widths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabellingConfig:
        d = dict(d)
        d["unet_widths"] = tuple(d.get("unet_widths", cls.unet_widths))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})
