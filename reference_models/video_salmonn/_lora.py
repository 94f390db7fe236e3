"""LoRA on the LLM's linear layers: ``y = W x + b + (alpha / r) * B A dropout(x)``.

``LoraLinear`` is an ``nn.Linear`` that keeps the base layer's parameters (so the base keys stay
``...q_proj.weight``) and adds ``lora_A`` / ``lora_B``. It can be merged into the base weight for
inference and unmerged again.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from reference_models.video_salmonn._config import LoraConfig


class LoraLinear(nn.Linear):
    """A linear layer with a low-rank update.

    Args:
        base: The layer to wrap; its weight and bias are shared, not copied.
        r: Rank.
        alpha: Scale numerator (scaling = alpha / r).
        dropout: Dropout on the LoRA input in training.
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float) -> None:
        nn.Module.__init__(self)
        self.in_features = base.in_features
        self.out_features = base.out_features
        self.weight = base.weight
        self.bias = base.bias
        device, dtype = base.weight.device, base.weight.dtype
        self.lora_A = nn.Linear(base.in_features, r, bias=False, device=device, dtype=dtype)
        self.lora_B = nn.Linear(r, base.out_features, bias=False, device=device, dtype=dtype)
        if device.type != "meta":
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r
        self.lora_dropout = dropout
        self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        if self.merged:
            return out
        h = F.dropout(x, p=self.lora_dropout, training=self.training)
        return out + self.lora_B(self.lora_A(h)) * self.scaling

    def _delta(self) -> torch.Tensor:
        delta = self.lora_B.weight.float() @ self.lora_A.weight.float()
        return (delta * self.scaling).to(self.weight.dtype)

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the update into the base weight (faster inference; not for training)."""
        if not self.merged:
            self.weight.add_(self._delta())
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Undo :meth:`merge` (exact up to rounding in the weight dtype)."""
        if self.merged:
            self.weight.sub_(self._delta())
            self.merged = False


def inject_lora(model: nn.Module, config: LoraConfig) -> list[str]:
    """Replace every ``nn.Linear`` whose attribute name is in ``config.targets`` by a LoraLinear.

    Args:
        model: The LLM.
        config: Rank, alpha, dropout and target names.

    Returns:
        The qualified names of the wrapped layers.
    """
    wrapped = []
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if child_name in config.targets and type(child) is nn.Linear:
                setattr(parent, child_name, LoraLinear(child, config.r, config.alpha, config.dropout))
                wrapped.append(f"{parent_name}.{child_name}" if parent_name else child_name)
    if not wrapped:
        raise ValueError(f"no linear layer named any of {config.targets} was found for LoRA")
    return wrapped


def lora_layers(model: nn.Module) -> list[LoraLinear]:
    return [m for m in model.modules() if isinstance(m, LoraLinear)]
