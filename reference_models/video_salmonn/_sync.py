"""Audio-visual synchronisation and the multi-resolution causal Q-Former (``sequence_align_v2``).

Time is cut into 0.5 s steps: one video frame (its 32 InstructBLIP query vectors) and 25 Whisper
frames (with BEATs features concatenated on the channel axis). The shorter stream is padded
with zero steps, the audio step is padded from 25 to 32 tokens, and the two are concatenated on
the channel axis, so each step is 32 tokens of width visual + audio.

The step sequence is padded to a multiple of ``groupsize`` and cut into windows. One Q-Former
(shared across resolutions) reads each window with its own learned queries: ``num_queries``
per ``groupsize`` steps (high resolution) and, when ``low_groupsize`` is set, ``low_num_queries``
per ``low_groupsize`` steps. Both resolutions give the same token count; their outputs are
concatenated on the channel axis. Windows never see each other, which is what makes the model
causal across windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from reference_models.video_salmonn._config import VideoSalmonnConfig
from reference_models.video_salmonn._qformer import QFormer


@dataclass
class QFormerOutput:
    """Q-Former results for a batch.

    Args:
        tokens: Per sample, (n_i, width x resolutions) Q-Former outputs in time order.
        high: (windows, num_queries, width) high-resolution outputs of all samples (the
            diversity loss is computed on these).
        windows: Per sample, the number of high-resolution windows.
    """

    tokens: list[torch.Tensor]
    high: torch.Tensor
    windows: list[int]


class AVQFormer(nn.Module):
    """Projections into the Q-Former width, synchronisation, windowing and the Q-Former.

    Args:
        config: The model configuration.
        speech_width: Whisper's d_model.
        beats_width: BEATs' encoder width, or None without BEATs.
    """

    def __init__(self, config: VideoSalmonnConfig, speech_width: int, beats_width: int | None) -> None:
        super().__init__()
        self.config = config
        qf = config.resolved_av_qformer
        visual = config.visual_qformer.hidden_size
        width = config.joint_width
        self.speech_proj = nn.Linear(speech_width, visual)
        self.audio_proj = nn.Linear(beats_width, visual) if beats_width is not None else None
        self.norm = nn.LayerNorm(width)
        self.position = nn.Embedding(config.sync.position_table, width)
        self.qformer = QFormer(qf)
        self.query_tokens = nn.Parameter(torch.zeros(1, config.sync.num_queries, qf.hidden_size))
        if config.sync.low_groupsize is not None:
            self.low_query_tokens: nn.Parameter | None = nn.Parameter(
                torch.zeros(1, config.sync.low_num_queries, qf.hidden_size)
            )
        else:
            self.low_query_tokens = None

    @property
    def output_width(self) -> int:
        resolutions = 2 if self.low_query_tokens is not None else 1
        return self.qformer.config.hidden_size * resolutions

    def audio_features(self, speech: torch.Tensor, beats: torch.Tensor | None) -> torch.Tensor:
        """Project Whisper (B, S, Ds) and BEATs (B, Tb, Db) features and concatenate them.

        BEATs features are zero-padded (or cut) to Whisper's length before their projection,
        as the official code pads them.
        """
        audio = self.speech_proj(speech)
        if self.audio_proj is None:
            return audio
        if beats is None:
            raise ValueError("this model needs BEATs features")
        length = speech.shape[1]
        beats = beats[:, :length]
        if beats.shape[1] < length:
            beats = F.pad(beats, (0, 0, 0, length - beats.shape[1]))
        return torch.cat([audio, self.audio_proj(beats.to(audio.dtype))], dim=-1)

    def synchronise(
        self,
        visual: torch.Tensor | None,
        audio: torch.Tensor | None,
        video_on: bool = True,
        audio_on: bool = True,
    ) -> torch.Tensor:
        """Build one sample's step sequence.

        Args:
            visual: (Tv, video_tokens_per_step, visual width) per-frame query outputs, or None.
            audio: (S, audio width) audio features, S a multiple of 25, or None.
            video_on: False multiplies the visual half by zero (the official ``audiomasks``).
            audio_on: False multiplies the audio half by zero.

        Returns:
            (T * tokens_per_step, joint width).
        """
        sync = self.config.sync
        vt, at = sync.video_tokens_per_step, sync.audio_frames_per_step
        if visual is None and audio is None:
            raise ValueError("a sample needs audio or visual input")
        ref = visual if visual is not None else audio
        assert ref is not None
        if audio is not None:
            if audio.shape[0] % at:
                raise ValueError(f"audio features must come in steps of {at} frames, got {audio.shape[0]}")
            audio = audio.view(-1, at, audio.shape[-1])
        else:
            audio = ref.new_zeros(visual.shape[0], at, self.config.audio_width)  # type: ignore[union-attr]
            audio_on = False
        if visual is None:
            visual = ref.new_zeros(audio.shape[0], vt, self.config.visual_qformer.hidden_size)
            video_on = False
        steps = max(visual.shape[0], audio.shape[0])
        visual = F.pad(visual, (0, 0, 0, 0, 0, steps - visual.shape[0]))
        audio = F.pad(audio, (0, 0, 0, 0, 0, steps - audio.shape[0]))
        per_step = max(vt, at)
        visual = F.pad(visual, (0, 0, 0, per_step - vt))
        audio = F.pad(audio, (0, 0, 0, per_step - at))
        if not video_on:
            visual = visual * 0
        if not audio_on:
            audio = audio * 0
        joint = torch.cat([visual, audio.to(visual.dtype)], dim=-1)
        return joint.reshape(steps * per_step, -1)

    def _windows(
        self, sequences: list[torch.Tensor], steps_per_window: int
    ) -> tuple[torch.Tensor, list[int]]:
        size = steps_per_window * self.config.tokens_per_step
        rows = [seq.view(-1, size, seq.shape[-1]) for seq in sequences]
        return torch.cat(rows, dim=0), [r.shape[0] for r in rows]

    def _run(self, states: torch.Tensor, keep: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(states.shape[1], device=states.device)
        hidden = self.norm(states) + self.position(positions)[None]
        out = self.qformer(queries.expand(states.shape[0], -1, -1), hidden, encoder_keep=keep)
        return out[:, : queries.shape[1]]

    def forward(self, sequences: list[torch.Tensor]) -> QFormerOutput:
        """Run the windows of every sample.

        Args:
            sequences: Per sample, the output of :meth:`synchronise`.
        """
        sync = self.config.sync
        per_step = self.config.tokens_per_step
        padded, keeps = [], []
        for seq in sequences:
            steps = seq.shape[0] // per_step
            total = -(-steps // sync.groupsize) * sync.groupsize
            extra = (total - steps) * per_step
            padded.append(F.pad(seq, (0, 0, 0, extra)))
            keep = seq.new_ones(total * per_step)
            if extra:
                keep[-extra:] = 0
            keeps.append(keep)
        high_states, counts = self._windows(padded, sync.groupsize)
        high_keep = torch.cat(keeps).view(high_states.shape[0], -1)
        high = self._run(high_states, high_keep, self.query_tokens)
        high_split = list(torch.split(high, counts))
        tokens = [h.reshape(-1, h.shape[-1]) for h in high_split]
        if self.low_query_tokens is not None and sync.low_groupsize is not None:
            low_states, low_counts = self._windows(padded, sync.low_groupsize)
            low_keep = torch.cat(keeps).view(low_states.shape[0], -1)
            low = self._run(low_states, low_keep, self.low_query_tokens)
            low_tokens = [lw.reshape(-1, lw.shape[-1]) for lw in torch.split(low, low_counts)]
            tokens = [torch.cat([lw, hi], dim=-1) for lw, hi in zip(low_tokens, tokens, strict=True)]
        return QFormerOutput(tokens=tokens, high=high, windows=counts)
