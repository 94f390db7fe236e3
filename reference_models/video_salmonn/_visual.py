"""Visual encoder: EVA ViT-g, InstructBLIP's ``ln_vision`` and its instruction-aware Q-Former.

Each frame becomes ``num_queries`` (32) vectors: the queries, with the instruction text appended
in self-attention, cross-attend to the frame's ViT tokens. Frames run in chunks so that a long
video does not hold every frame's ViT activations at once.
"""

from __future__ import annotations

import torch
from torch import nn

from reference_models.video_salmonn._config import QFormerConfig, VitConfig
from reference_models.video_salmonn._eva_vit import EvaViT
from reference_models.video_salmonn._qformer import QFormer


class VisualEncoder(nn.Module):
    """Frames to per-frame query outputs.

    Args:
        vit: ViT sizes.
        qformer: InstructBLIP Q-Former sizes.
        chunk_frames: Frames per ViT forward (bounds activation memory).
    """

    def __init__(self, vit: VitConfig, qformer: QFormerConfig, chunk_frames: int = 64) -> None:
        super().__init__()
        self.vit = EvaViT(vit)
        self.ln_vision = nn.LayerNorm(vit.width)
        self.qformer = QFormer(qformer)
        self.query_tokens = nn.Parameter(torch.zeros(1, qformer.num_queries, qformer.hidden_size))
        self.chunk_frames = chunk_frames

    @property
    def width(self) -> int:
        return self.qformer.config.hidden_size

    def forward(
        self,
        pixels: torch.Tensor,
        instruction_ids: torch.Tensor | None = None,
        instruction_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encode frames.

        Args:
            pixels: (N, 3, S, S) normalised frames (of any number of samples).
            instruction_ids: (N, L) the instruction of each frame's sample, or None.
            instruction_mask: (N, L) its padding mask.

        Returns:
            (N, num_queries, hidden) query outputs.
        """
        dtype = self.query_tokens.dtype
        outputs = []
        for start in range(0, pixels.shape[0], self.chunk_frames):
            stop = start + self.chunk_frames
            states = self.ln_vision(self.vit(pixels[start:stop].to(dtype)))
            queries = self.query_tokens.expand(states.shape[0], -1, -1)
            ids = None if instruction_ids is None else instruction_ids[start:stop]
            mask = None if instruction_mask is None else instruction_mask[start:stop]
            hidden = self.qformer(queries, states, input_ids=ids, text_keep=mask)
            outputs.append(hidden[:, : queries.shape[1]])
        return torch.cat(outputs, dim=0)
