"""BEATs audio encoder (Chen et al., 2022) with its Kaldi fbank front end.

Log-mel fbank (128 bins, 25 ms / 10 ms, input scaled by 2**15), normalised with the
checkpoint's mean/std, cut into 16x16 patches (time-major, 8 frequency patches per 160 ms, so
~50 tokens per second like Whisper), a convolutional position embedding, then post-LayerNorm
("deep norm") transformer layers with a bucketed relative position bias gated per query.

Batches are exact with respect to one sample at a time: fbank and patches are computed per
sample, and only the transformer runs on the padded batch with padded keys masked.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchaudio.compliance.kaldi as kaldi
from torch import nn

from reference_models.video_salmonn._config import BeatsConfig


def beats_fbank(waveform: torch.Tensor, config: BeatsConfig) -> torch.Tensor:
    """Normalised fbank of one mono waveform in [-1, 1], shape (frames, num_mel_bins), float32."""
    wav = waveform.to(torch.float32).reshape(1, -1) * 2**15
    fbank = kaldi.fbank(
        wav, num_mel_bins=config.num_mel_bins, sample_frequency=16000, frame_length=25, frame_shift=10
    )
    return (fbank - config.fbank_mean) / (2 * config.fbank_std)


class PositionConv(nn.Module):
    """Grouped 1-D convolution with weight normalisation over the kernel axis (``dim=2``), GELU,
    and the trailing frame dropped for an even kernel (``SamePad``)."""

    def __init__(self, width: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.groups = groups
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel))
        self.weight_v = nn.Parameter(torch.empty(width, width // groups, kernel))
        self.bias = nn.Parameter(torch.zeros(width))
        nn.init.normal_(self.weight_v, std=math.sqrt(4.0 / (kernel * width)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, C)."""
        v = self.weight_v
        weight = self.weight_g * v / v.norm(dim=(0, 1), keepdim=True)
        out = F.conv1d(x.transpose(1, 2), weight, self.bias, padding=self.kernel // 2, groups=self.groups)
        if self.kernel % 2 == 0:
            out = out[:, :, :-1]
        return F.gelu(out).transpose(1, 2)


def relative_buckets(length: int, num_buckets: int, max_distance: int, device: torch.device) -> torch.Tensor:
    """T5-style bidirectional buckets of (key - query) positions, shape (length, length)."""
    pos = torch.arange(length, device=device)
    rel = pos[None, :] - pos[:, None]
    half = num_buckets // 2
    buckets = (rel > 0).long() * half
    rel = rel.abs()
    exact = half // 2
    large = (
        exact
        + (
            torch.log(rel.float().clamp(min=1) / exact) / math.log(max_distance / exact) * (half - exact)
        ).long()
    )
    large = large.clamp(max=half - 1)
    return buckets + torch.where(rel < exact, rel, large)


class BeatsAttention(nn.Module):
    """Self-attention with the gated relative position bias (``gru_rel_pos``)."""

    def __init__(self, config: BeatsConfig) -> None:
        super().__init__()
        width, heads = config.encoder_embed_dim, config.encoder_attention_heads
        self.heads = heads
        self.head_dim = width // heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)
        self.gated = config.gru_rel_pos
        if self.gated:
            self.gate = nn.Linear(self.head_dim, 8)
            self.gate_scale = nn.Parameter(torch.ones(1, heads, 1, 1))
        self.dropout = config.attention_dropout

    def forward(
        self, x: torch.Tensor, position_bias: torch.Tensor | None, key_mask: torch.Tensor
    ) -> torch.Tensor:
        """x (B, T, C); position_bias (heads, T, T) or None; key_mask (B, 1, 1, T) additive."""
        b, t, c = x.shape
        q = self.q_proj(x).view(b, t, self.heads, -1).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, -1).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, -1).transpose(1, 2)
        bias = key_mask
        if position_bias is not None:
            rel = position_bias[None]
            if self.gated:
                gates = torch.sigmoid(self.gate(q).view(b, self.heads, t, 2, 4).sum(-1))
                gate_a, gate_b = gates.chunk(2, dim=-1)
                rel = (gate_a * (gate_b * self.gate_scale - 1.0) + 2.0) * rel
            bias = bias + rel.to(q.dtype)
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), dropout_p=p)
        return self.out_proj(out.transpose(1, 2).reshape(b, t, c))


class BeatsLayer(nn.Module):
    def __init__(self, config: BeatsConfig) -> None:
        super().__init__()
        if config.layer_norm_first:
            raise ValueError("BEATs with layer_norm_first=True is not supported (no released model uses it)")
        if config.activation_fn != "gelu":
            raise ValueError(f"BEATs activation {config.activation_fn!r} is not supported (only gelu)")
        width = config.encoder_embed_dim
        self.attn = BeatsAttention(config)
        self.attn_norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, config.encoder_ffn_embed_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_embed_dim, width)
        self.ffn_norm = nn.LayerNorm(width)
        self.alpha = math.pow(2 * config.encoder_layers, 0.25) if config.deep_norm else 1.0
        self.dropout = config.dropout

    def forward(
        self, x: torch.Tensor, position_bias: torch.Tensor | None, key_mask: torch.Tensor
    ) -> torch.Tensor:
        p = self.dropout if self.training else 0.0
        x = self.attn_norm(
            x * self.alpha + F.dropout(self.attn(x, position_bias, key_mask), p, self.training)
        )
        h = F.gelu(self.fc1(x).float()).to(x.dtype)
        return self.ffn_norm(x * self.alpha + F.dropout(self.fc2(h), p, self.training))


class Beats(nn.Module):
    """BEATs feature extractor (the classification head of the fine-tuned checkpoint is not
    built: the model uses features only).

    Args:
        config: Sizes, normally the ``cfg`` dict of the checkpoint.
    """

    def __init__(self, config: BeatsConfig) -> None:
        super().__init__()
        self.config = config
        width = config.encoder_embed_dim
        patch = config.input_patch_size
        self.patch_embed = nn.Conv2d(
            1, config.embed_dim, kernel_size=patch, stride=patch, bias=config.conv_bias
        )
        self.patch_norm = nn.LayerNorm(config.embed_dim)
        self.input_proj = nn.Linear(config.embed_dim, width) if config.embed_dim != width else None
        self.pos_conv = PositionConv(width, config.conv_pos, config.conv_pos_groups)
        self.encoder_norm = nn.LayerNorm(width)
        self.relative_bias = (
            nn.Embedding(config.num_buckets, config.encoder_attention_heads)
            if config.relative_position_embedding
            else None
        )
        self.layers = nn.ModuleList(BeatsLayer(config) for _ in range(config.encoder_layers))

    def patches(self, waveform: torch.Tensor) -> torch.Tensor:
        """Patch tokens of one waveform, (tokens, embed_dim) before the transformer."""
        fbank = beats_fbank(waveform, self.config).to(self.patch_embed.weight.dtype)
        feats = self.patch_embed(fbank[None, None])  # (1, C, T/16, F/16)
        feats = feats.flatten(2).transpose(1, 2)[0]
        return self.patch_norm(feats)

    def forward(self, waveforms: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of mono waveforms of any lengths.

        Args:
            waveforms: 1-D float tensors in [-1, 1] at 16 kHz.

        Returns:
            Features (B, T_max, encoder_embed_dim), zero beyond each sample's length, and the
            token counts (B,).
        """
        tokens = [self.patches(w) for w in waveforms]
        lengths = torch.tensor([t.shape[0] for t in tokens], device=tokens[0].device)
        x = nn.utils.rnn.pad_sequence(tokens, batch_first=True)
        if self.input_proj is not None:
            x = self.input_proj(x)
        keep = torch.arange(x.shape[1], device=x.device)[None] < lengths[:, None]
        # Padded tokens are zero before the position convolution, as the convolution's own
        # zero padding would be for a sample alone.
        x = x * keep[..., None].to(x.dtype)
        x = self.encoder_norm(x + self.pos_conv(x))
        x = F.dropout(x, self.config.dropout, self.training)
        key_mask = torch.zeros(keep.shape, dtype=x.dtype, device=x.device)
        key_mask = key_mask.masked_fill(~keep, torch.finfo(x.dtype).min)[:, None, None, :]
        position_bias = None
        if self.relative_bias is not None:
            buckets = relative_buckets(
                x.shape[1], self.config.num_buckets, self.config.max_distance, x.device
            )
            position_bias = self.relative_bias(buckets).permute(2, 0, 1)
        for layer in self.layers:
            x = layer(x, position_bias, key_mask)
        return x * keep[..., None].to(x.dtype), lengths
