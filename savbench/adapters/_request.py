"""What an adapter receives: decoded media, the rendered prompt and generation settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from savbench.data import Sample
    from savbench.media import VideoClip


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings for one request (from the task spec, overridable by ``--gen-kwargs``).

    Args:
        max_new_tokens: Upper bound on generated tokens.
        temperature: Sampling temperature; 0 means greedy.
        top_p: Nucleus sampling mass (used only when sampling).
        num_beams: Beam width; 1 means no beam search.
        repetition_penalty: Penalty on repeated tokens (1 means none), as in Hugging Face generate.
        length_penalty: Beam-search length penalty, as in Hugging Face generate.
        stop: Strings at which generation is cut.
    """

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    num_beams: int = 1
    repetition_penalty: float = 1.0
    length_penalty: float = 1.0
    stop: tuple[str, ...] = ()

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0


@dataclass
class Request:
    """One decoded sample ready for a model.

    Args:
        sample: The sample this request was built from. Real models read only ``sample.id``;
            ``sample.references`` exists for baseline adapters such as ``oracle``.
        prompt: The fully rendered text prompt (question, choices and instruction).
        modalities: The streams this request carries after ablation (subset of speech, audio,
            video, image).
        audio: Mono float32 waveform at ``sample_rate`` Hz, or None.
        sample_rate: Sample rate of ``audio`` in Hz.
        video: Sampled frames with their timestamps, or None.
        image: RGB image as a uint8 array of shape (H, W, 3), or None.
        generation: Decoding settings.
        seed: Seed for any randomness in the adapter (sampling, chance baselines).
    """

    sample: Sample
    prompt: str
    modalities: frozenset[str]
    audio: np.ndarray | None = None
    sample_rate: int = 16000
    video: VideoClip | None = None
    image: np.ndarray | None = None
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    seed: int = 0

    @property
    def choices(self) -> tuple[str, ...]:
        return self.sample.choices

    @property
    def audio_seconds(self) -> float:
        return 0.0 if self.audio is None else len(self.audio) / self.sample_rate
