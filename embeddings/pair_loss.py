"""Label-similarity-weighted pair loss (paper 000, section 3.4.2, "Image visual feature matching").

The paper states the idea without an equation: *"The labels of multi-label samples are represented
as one-hot vectors, and a weight matrix is constructed based on the similarity of the vectors. Image
pairs with more shared labels are assigned higher weights. Through multiple iterations, the model
minimizes the distance between similar label samples in the feature space."* It is combined with BCE.

Our reading, for a batch of L2-normalised embeddings ``z`` and multi-hot labels ``y``:

* weight matrix ``W_ij = y_i' A y_j / sqrt((y_i' A y_i)(y_j' A y_j))`` in [0, 1], where ``A`` is the
  label-similarity matrix (identity -> plain cosine of the multi-hot vectors, i.e. more shared
  labels -> higher weight; a concept-similarity matrix from the label graph also rewards pairs whose
  labels are *related*). Rows without any label get weight 0 to everything.
* ``d_ij = ||z_i - z_j||^2`` (in [0, 4] for unit vectors).
* ``loss = mean_{i != j} [ W_ij * d_ij + (1 - W_ij) * max(0, margin - d_ij) ]``.

The first term is the paper's "minimise the distance between similar-label samples, weighted by
label similarity". The second (a contrastive hinge on dissimilar pairs) is our addition: without it
the weighted attraction alone is minimised by collapsing every embedding to one point.
"""

from __future__ import annotations

import torch


def label_weights(y: torch.Tensor, label_similarity: torch.Tensor | None = None) -> torch.Tensor:
    """(B, B) pair weights W from (B, L) multi-hot labels and an optional (L, L) similarity."""
    y = y.float()
    ay = y if label_similarity is None else y @ label_similarity.float()
    inner = ay @ y.T
    self_sim = torch.diagonal(inner).clamp_min(0)
    norm = torch.sqrt(self_sim[:, None] * self_sim[None, :])
    return torch.where(norm > 0, inner / norm.clamp_min(1e-12), torch.zeros_like(inner)).clamp(0, 1)


def pair_loss(
    z: torch.Tensor, y: torch.Tensor, label_similarity: torch.Tensor | None = None, margin: float = 1.0
) -> torch.Tensor:
    """Weighted pair loss over all ordered pairs i != j of the batch (z rows L2-normalised)."""
    b = z.shape[0]
    if b < 2:
        return z.sum() * 0.0
    w = label_weights(y, label_similarity)
    d = (2.0 - 2.0 * (z @ z.T)).clamp_min(0)
    per_pair = w * d + (1.0 - w) * torch.relu(margin - d)
    off = ~torch.eye(b, dtype=torch.bool, device=z.device)
    return per_pair[off].mean()
