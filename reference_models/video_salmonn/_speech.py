"""Speech encoder: Whisper's log-mel front end and encoder (transformers' implementation).

The official code pads (or cuts) every waveform to Whisper's 30 s window, so the encoder always
returns 1500 frames (50 per second); audio past 30 s is not seen. The feature extractor is
built here with large-v2's settings instead of being fetched from the hub.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from transformers import WhisperConfig, WhisperFeatureExtractor
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from reference_models.video_salmonn._config import SpeechEncoderConfig

WHISPER_SAMPLE_RATE = 16000
WHISPER_WINDOW_SAMPLES = 30 * WHISPER_SAMPLE_RATE


def whisper_config(config: SpeechEncoderConfig) -> WhisperConfig:
    """A transformers WhisperConfig with the encoder sizes of ``config``."""
    return WhisperConfig(
        d_model=config.d_model,
        encoder_layers=config.layers,
        encoder_attention_heads=config.heads,
        encoder_ffn_dim=config.ffn_dim,
        decoder_layers=1,
        decoder_attention_heads=config.heads,
        decoder_ffn_dim=config.ffn_dim,
        num_mel_bins=config.num_mel_bins,
        max_source_positions=config.max_source_positions,
    )


def whisper_log_mel(extractor: WhisperFeatureExtractor, waveforms: list[np.ndarray]) -> torch.Tensor:
    """Log-mel features (B, mel, 3000) of waveforms padded or cut to 30 s, each normalised on its
    own (so a sample's features do not depend on its batch).

    Args:
        extractor: Whisper's feature extractor.
        waveforms: Mono float waveforms at 16 kHz.
    """
    out = extractor(
        [np.asarray(w, dtype=np.float32) for w in waveforms],
        sampling_rate=WHISPER_SAMPLE_RATE,
        return_tensors="pt",
        padding="max_length",
        truncation=True,
        max_length=WHISPER_WINDOW_SAMPLES,
    )
    return out["input_features"]


class SpeechEncoder(nn.Module):
    """Whisper encoder plus its feature extractor.

    Args:
        config: Encoder sizes.
        hf_config: A WhisperConfig read from a checkpoint folder (overrides ``config``).
    """

    def __init__(self, config: SpeechEncoderConfig, hf_config: WhisperConfig | None = None) -> None:
        super().__init__()
        cfg = hf_config if hf_config is not None else whisper_config(config)
        self.encoder = WhisperEncoder(cfg)
        self.features = WhisperFeatureExtractor(
            feature_size=cfg.num_mel_bins,
            sampling_rate=WHISPER_SAMPLE_RATE,
            hop_length=160,
            chunk_length=30,
            n_fft=400,
        )

    @property
    def width(self) -> int:
        return int(self.encoder.config.d_model)

    def log_mel(self, waveforms: list[np.ndarray]) -> torch.Tensor:
        """Log-mel features (B, mel, 3000); see :func:`whisper_log_mel`."""
        return whisper_log_mel(self.features, waveforms)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, mel, 3000) -> (B, 1500, d_model)."""
        return self.encoder(mel.to(self.encoder.conv1.weight.dtype)).last_hidden_state
