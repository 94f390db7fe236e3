"""A BERT-style Q-Former: learned queries that read encoder states through cross-attention.

One class serves both Q-Formers of the model:

- InstructBLIP's (12 layers, cross-attention every other layer, instruction text appended to
  the queries in self-attention, separate feed-forward blocks for queries and text);
- the audio-visual one (2 layers, cross-attention in every layer, queries only, and in every
  layer a self-attention over the encoder states with a block mask over time steps).

Post-LayerNorm blocks as in BERT. Masks are additive, built as the official code builds them, so
that fully masked rows (padded windows) behave identically (uniform attention).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reference_models.video_salmonn._config import QFormerConfig


def additive_mask(keep: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """1/0 keep-mask to the additive form ``(1 - keep) * finfo(dtype).min``."""
    return (1.0 - keep.to(dtype)) * torch.finfo(dtype).min


def frame_block_mask(length: int, block: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The encoder-state mask of the causal Q-Former, shape (1, 1, length, length).

    Tokens are grouped in time steps of ``block``. The official code builds it as
    ``kron(triu(ones(n, n)), ones(block, block))``: a token of step ``i`` sees the tokens of
    steps ``j >= i``. This reproduces that mask exactly (the windows around it are what keeps
    the model causal across windows).
    """
    steps = length // block
    keep = torch.triu(torch.ones(steps, steps, device=device))
    keep = torch.kron(keep, torch.ones(block, block, device=device))
    return additive_mask(keep, dtype)[None, None]


class QFormerAttention(nn.Module):
    """Multi-head attention, output projection, dropout, residual and LayerNorm.

    Args:
        query_width: Width of the attending states (and of the output).
        kv_width: Width of the attended states.
        inner_width: Projection width (heads x head size).
        heads: Number of heads.
        eps: LayerNorm epsilon.
        dropout: Dropout on attention probabilities and on the output.
    """

    def __init__(
        self, query_width: int, kv_width: int, inner_width: int, heads: int, eps: float, dropout: float
    ) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(query_width, inner_width)
        self.key = nn.Linear(kv_width, inner_width)
        self.value = nn.Linear(kv_width, inner_width)
        self.out = nn.Linear(inner_width, query_width)
        self.norm = nn.LayerNorm(query_width, eps=eps)
        self.dropout = dropout

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.heads, -1).transpose(1, 2)

    def forward(
        self, hidden: torch.Tensor, context: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Attend from ``hidden`` to ``context`` (itself when None) with an additive ``mask``
        broadcastable to (B, heads, Lq, Lk)."""
        source = hidden if context is None else context
        q = self._split(self.query(hidden))
        k = self._split(self.key(source))
        v = self._split(self.value(source))
        if mask is not None:
            mask = mask.to(q.dtype)
        p = self.dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        attended = attended.transpose(1, 2).reshape(hidden.shape[0], hidden.shape[1], -1)
        out = F.dropout(self.out(attended), p=p, training=self.training)
        return self.norm(out + hidden)


class QFormerFeedForward(nn.Module):
    """BERT feed-forward block: dense, GELU, dense, dropout, residual, LayerNorm."""

    def __init__(self, width: int, inner: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.fc_in = nn.Linear(width, inner)
        self.fc_out = nn.Linear(inner, width)
        self.norm = nn.LayerNorm(width, eps=eps)
        self.dropout = dropout

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        out = self.fc_out(F.gelu(self.fc_in(hidden)))
        out = F.dropout(out, p=self.dropout, training=self.training)
        return self.norm(out + hidden)


class QFormerLayer(nn.Module):
    """One layer: [frame self-attention on encoder states], self-attention over queries (and
    text), [cross-attention of the queries], and feed-forward blocks."""

    def __init__(self, config: QFormerConfig, index: int) -> None:
        super().__init__()
        h, eps, p = config.hidden_size, config.layer_norm_eps, config.dropout
        self.self_attn = QFormerAttention(h, h, h, config.heads, eps, p)
        self.cross_attn = (
            QFormerAttention(h, config.encoder_width, h, config.heads, eps, p)
            if index % config.cross_attention_freq == 0
            else None
        )
        if config.causal_frames:
            w = config.encoder_width
            inner = config.heads * (w // config.heads)
            self.frame_attn: QFormerAttention | None = QFormerAttention(w, w, inner, config.heads, eps, p)
        else:
            self.frame_attn = None
        self.query_ffn = QFormerFeedForward(h, config.intermediate_size, eps, p)
        self.text_ffn = (
            QFormerFeedForward(h, config.intermediate_size, eps, p) if config.vocab_size > 0 else None
        )

    def forward(
        self,
        hidden: torch.Tensor,
        self_mask: torch.Tensor | None,
        num_queries: int,
        encoder_states: torch.Tensor,
        encoder_mask: torch.Tensor | None,
        frame_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        if self.frame_attn is not None and frame_mask is not None:
            # Each layer transforms the original encoder states (not the previous layer's).
            encoder_states = self.frame_attn(encoder_states, mask=frame_mask)
        hidden = self.self_attn(hidden, mask=self_mask)
        queries = hidden[:, :num_queries]
        if self.cross_attn is not None:
            queries = self.cross_attn(queries, context=encoder_states, mask=encoder_mask)
        queries = self.query_ffn(queries)
        if hidden.shape[1] == num_queries:
            return queries
        if self.text_ffn is None:
            raise ValueError("this Q-Former has no text path but received text tokens")
        return torch.cat([queries, self.text_ffn(hidden[:, num_queries:])], dim=1)


class QFormerEmbeddings(nn.Module):
    """LayerNorm over [queries; text], text getting word and absolute position embeddings."""

    def __init__(self, config: QFormerConfig) -> None:
        super().__init__()
        if config.vocab_size > 0:
            self.word: nn.Embedding | None = nn.Embedding(
                config.vocab_size, config.hidden_size, padding_idx=0
            )
            self.position: nn.Embedding | None = nn.Embedding(
                config.max_position_embeddings, config.hidden_size
            )
        else:
            self.word = None
            self.position = None
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = config.dropout

    def forward(self, queries: torch.Tensor, input_ids: torch.Tensor | None) -> torch.Tensor:
        if input_ids is not None:
            if self.word is None or self.position is None:
                raise ValueError("this Q-Former has no word embeddings but received instruction ids")
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            text = self.word(input_ids) + self.position(positions)[None]
            queries = torch.cat([queries, text.to(queries.dtype)], dim=1)
        return F.dropout(self.norm(queries), p=self.dropout, training=self.training)


class QFormer(nn.Module):
    """The Q-Former. Query tokens are owned by the caller (the official checkpoints store them
    outside the Q-Former), so several query sets can share one Q-Former.

    Args:
        config: Sizes and switches.
    """

    def __init__(self, config: QFormerConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = QFormerEmbeddings(config)
        self.layers = nn.ModuleList(QFormerLayer(config, i) for i in range(config.layers))

    def forward(
        self,
        queries: torch.Tensor,
        encoder_states: torch.Tensor,
        encoder_keep: torch.Tensor | None = None,
        input_ids: torch.Tensor | None = None,
        text_keep: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run the queries (and optional text) over ``encoder_states``.

        Args:
            queries: (B, Q, hidden).
            encoder_states: (B, S, encoder_width).
            encoder_keep: (B, S) 1 for real states, 0 for padding (None: all real).
            input_ids: (B, L) instruction ids, or None.
            text_keep: (B, L) 1 for real text tokens.

        Returns:
            (B, Q (+L), hidden): the last hidden states; the first Q rows are the queries.
        """
        num_queries = queries.shape[1]
        dtype = queries.dtype
        hidden = self.embeddings(queries, input_ids)
        self_mask = None
        if input_ids is not None and text_keep is not None:
            keep = torch.cat([torch.ones_like(text_keep[:, :1]).expand(-1, num_queries), text_keep], dim=1)
            # BERT's extended self-attention mask uses -10000 rather than the dtype minimum.
            self_mask = ((1.0 - keep.to(dtype)) * -10000.0)[:, None, None, :]
        encoder_mask = None
        if encoder_keep is not None:
            encoder_mask = additive_mask(encoder_keep, dtype)[:, None, None, :]
        frame_mask = None
        block = self.config.frame_block
        if self.config.causal_frames and encoder_states.shape[1] % block == 0:
            frame_mask = frame_block_mask(encoder_states.shape[1], block, encoder_states.device, dtype)
        for layer in self.layers:
            hidden = layer(hidden, self_mask, num_queries, encoder_states, encoder_mask, frame_mask)
        return hidden
