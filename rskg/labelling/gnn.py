"""Graph networks on segment graphs (paper 2.6), plain torch: a 3-layer GCN (60-d embedding) and a
3-layer GATv2 (Brody et al.; 8 heads x 8 = 64-d embedding). Layer 3 maps to the C fuzzy clusters for
the loss (categorical cross-entropy against each segment's averaged memberships); the embedding is the
output of layer 2, which sees neighbours two hops away."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rskg.labelling.config import LabellingConfig
from rskg.labelling.segments import ChipGraph


def batch(graphs: Sequence[ChipGraph]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Disjoint union: features (N, F), symmetric edge index with self loops (2, E), targets (N, C)."""
    offs = np.cumsum([0] + [g.n for g in graphs])
    e = np.concatenate([g.edges + o for g, o in zip(graphs, offs[:-1], strict=True)], 1)
    n = int(offs[-1])
    loops = np.arange(n)
    e = np.concatenate([e, e[::-1], np.stack([loops, loops])], 1)
    e = np.unique(e, axis=1)
    x = torch.from_numpy(np.concatenate([g.features for g in graphs]))
    y = torch.from_numpy(np.concatenate([g.targets for g in graphs]))
    return x, torch.from_numpy(e), y


class GCNLayer(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.lin = nn.Linear(cin, cout)

    def forward(self, x: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        src, dst = edges
        deg = torch.zeros(x.shape[0]).index_add_(0, dst, torch.ones(dst.shape[0]))
        norm = (deg[src] * deg[dst]).rsqrt()
        h = self.lin(x)
        return torch.zeros_like(h).index_add_(0, dst, h[src] * norm[:, None])


class GATv2Layer(nn.Module):
    def __init__(self, cin: int, head_dim: int, heads: int, concat: bool = True) -> None:
        super().__init__()
        self.heads, self.head_dim, self.concat = heads, head_dim, concat
        self.wl = nn.Linear(cin, heads * head_dim)
        self.wr = nn.Linear(cin, heads * head_dim)
        self.att = nn.Parameter(torch.randn(heads, head_dim) / head_dim ** 0.5)

    def forward(self, x: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        src, dst = edges
        n, h, d = x.shape[0], self.heads, self.head_dim
        xl, xr = self.wl(x).view(n, h, d), self.wr(x).view(n, h, d)
        score = (F.leaky_relu(xl[src] + xr[dst], 0.2) * self.att).sum(-1)          # (E, heads)
        score = score - score.max()
        w = score.exp()
        denom = torch.zeros(n, h).index_add_(0, dst, w)
        alpha = w / denom[dst].clamp_min(1e-12)
        out = torch.zeros(n, h, d).index_add_(0, dst, alpha[..., None] * xl[src])
        return out.reshape(n, h * d) if self.concat else out.mean(1)


class SegmentGNN(nn.Module):
    def __init__(self, kind: str, in_dim: int, clusters: int, cfg: LabellingConfig) -> None:
        super().__init__()
        self.kind = kind
        if kind == "gcn":
            self.layers = nn.ModuleList([GCNLayer(in_dim, cfg.gnn_hidden), GCNLayer(cfg.gnn_hidden, cfg.gnn_hidden),
                                         GCNLayer(cfg.gnn_hidden, clusters)])
        else:
            hd, heads = cfg.gat_head_dim, cfg.gat_heads
            self.layers = nn.ModuleList([GATv2Layer(in_dim, hd, heads), GATv2Layer(hd * heads, hd, heads),
                                         GATv2Layer(hd * heads, clusters, 1, concat=False)])

    def forward(self, x: torch.Tensor, edges: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Returns ([layer-1 output, layer-2 output = embedding], cluster logits)."""
        h1 = F.elu(self.layers[0](x, edges))
        h2 = F.elu(self.layers[1](h1, edges))
        return [h1, h2], self.layers[2](h2, edges)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(target * F.log_softmax(logits, -1)).sum(-1).mean()


def train(graphs: Sequence[ChipGraph], cfg: LabellingConfig, kind: str | None = None
          ) -> tuple[SegmentGNN, dict[str, float]]:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    kind = kind or cfg.gnn
    net = SegmentGNN(kind, graphs[0].features.shape[1], graphs[0].targets.shape[1], cfg)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.gnn_lr)
    t0, losses = time.perf_counter(), []
    batches = [batch([graphs[i] for i in idx]) for idx in
               np.array_split(rng.permutation(len(graphs)), max(1, len(graphs) // cfg.gnn_batch_chips))]
    for _ in range(cfg.gnn_epochs):
        net.train()
        tot = 0.0
        for j in rng.permutation(len(batches)):
            x, e, y = batches[j]
            _, logits = net(x, e)
            loss = soft_cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * len(x)
        losses.append(tot / sum(len(b[0]) for b in batches))
    net.eval()
    return net, {"gnn_epochs": len(losses), "gnn_loss": losses[-1], "gnn_first_loss": losses[0],
                 "gnn_seconds": time.perf_counter() - t0}


@torch.inference_mode()
def embed(net: SegmentGNN, graphs: Sequence[ChipGraph], layer: int = 2, chunk: int = 256) -> list[np.ndarray]:
    """Per chip, (n_segments, dim) node embeddings of GNN ``layer`` (1 or 2; 0 = the U-Net node features)."""
    out: list[np.ndarray] = []
    for s in range(0, len(graphs), chunk):
        part = graphs[s:s + chunk]
        if layer == 0:
            out += [g.features for g in part]
            continue
        x, e, _ = batch(part)
        hs, _ = net(x, e)
        h = hs[layer - 1].numpy()
        offs = np.cumsum([0] + [g.n for g in part])
        out += [h[a:b] for a, b in zip(offs[:-1], offs[1:], strict=True)]
    return out
