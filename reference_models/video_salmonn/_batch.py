"""CPU-side batch assembly: raw samples to the tensors the encoders take.

:class:`Preprocessor` holds only what preprocessing needs (settings, Whisper's feature extractor,
the instruction tokenizer), so it can be pickled into data-loader workers; batches prepared
there, one sample or several at a time, are joined with :func:`merge_batches`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import WhisperFeatureExtractor

from reference_models.video_salmonn._config import VideoSalmonnConfig
from reference_models.video_salmonn._preprocess import AVSample, image_to_pixels, prepare_audio, video_pixels
from reference_models.video_salmonn._speech import whisper_log_mel
from reference_models.video_salmonn._tokenizer import InstructionTokenizer


@dataclass
class PreparedBatch:
    """CPU-side inputs of a batch.

    Args:
        prompts: Per sample, the question.
        answers: Per sample, the training target or None.
        mel: (A, mel, 3000) Whisper features of the A samples that have audio, or None.
        waveforms: The A waveforms (for BEATs).
        audio_rows: Per sample, its row in ``mel`` or None.
        pixels: (N, 3, S, S) frames of all samples, or None.
        frame_spans: Per sample, (first row in ``pixels``, frame count), count 0 without visual.
        is_image: Per sample, whether the visual input is a still image.
        instruction_ids: (B, L) BERT ids of the prompts.
        instruction_mask: (B, L) their padding mask.
    """

    prompts: list[str]
    answers: list[str | None]
    mel: torch.Tensor | None
    waveforms: list[torch.Tensor]
    audio_rows: list[int | None]
    pixels: torch.Tensor | None
    frame_spans: list[tuple[int, int]]
    is_image: list[bool]
    instruction_ids: torch.Tensor
    instruction_mask: torch.Tensor

    def __len__(self) -> int:
        return len(self.prompts)


def merge_batches(batches: list[PreparedBatch]) -> PreparedBatch:
    """Join prepared batches into one, as if their samples had been prepared together.

    Args:
        batches: Batches from :class:`Preprocessor` (e.g. one per worker item).
    """
    if not batches:
        raise ValueError("nothing to merge")
    prompts, answers, waves, rows, spans, images = [], [], [], [], [], []
    mels, pixels = [], []
    audio_offset = frame_offset = 0
    for batch in batches:
        prompts += batch.prompts
        answers += batch.answers
        waves += batch.waveforms
        rows += [None if r is None else r + audio_offset for r in batch.audio_rows]
        spans += [(start + frame_offset, count) for start, count in batch.frame_spans]
        images += batch.is_image
        if batch.mel is not None:
            mels.append(batch.mel)
            audio_offset += batch.mel.shape[0]
        if batch.pixels is not None:
            pixels.append(batch.pixels)
            frame_offset += batch.pixels.shape[0]
    width = max(b.instruction_ids.shape[1] for b in batches)
    # BERT's pad id is 0 and padded positions are masked, as padding="longest" would give.
    ids = torch.cat([F.pad(b.instruction_ids, (0, width - b.instruction_ids.shape[1])) for b in batches])
    mask = torch.cat([F.pad(b.instruction_mask, (0, width - b.instruction_mask.shape[1])) for b in batches])
    return PreparedBatch(
        prompts=prompts,
        answers=answers,
        mel=torch.cat(mels) if mels else None,
        waveforms=waves,
        audio_rows=rows,
        pixels=torch.cat(pixels) if pixels else None,
        frame_spans=spans,
        is_image=images,
        instruction_ids=ids,
        instruction_mask=mask,
    )


class Preprocessor:
    """Raw samples to a :class:`PreparedBatch` (picklable; no model weights).

    Args:
        config: Model configuration (media settings, image size, instruction length).
        features: Whisper's feature extractor.
        instruction_tokenizer: Tokenizer of InstructBLIP's instruction text.
    """

    def __init__(
        self,
        config: VideoSalmonnConfig,
        features: WhisperFeatureExtractor,
        instruction_tokenizer: InstructionTokenizer,
    ) -> None:
        self.config = config
        self.features = features
        self.instruction_tokenizer = instruction_tokenizer

    def __call__(self, samples: list[AVSample]) -> PreparedBatch:
        """Prepare a batch.

        Raises:
            ValueError: A sample has neither audio nor visual input, or malformed media; the
                message names the sample's position in the batch.
        """
        media = self.config.media
        size = self.config.vit.image_size
        waves, rows, pixels, spans, is_image = [], [], [], [], []
        first = 0
        for i, sample in enumerate(samples):
            if sample.audio is None and not sample.has_visual:
                raise ValueError(f"sample {i}: needs audio, video or an image; it has none")
            try:
                if sample.audio is not None:
                    rows.append(len(waves))
                    waves.append(prepare_audio(sample.audio, media))
                else:
                    rows.append(None)
                if sample.frames is not None:
                    frames = video_pixels(sample, size, media)
                elif sample.image is not None:
                    frames = image_to_pixels(sample.image, size, media)
                else:
                    frames = None
            except ValueError as exc:
                raise ValueError(f"sample {i}: {exc}") from None
            is_image.append(sample.frames is None and sample.image is not None)
            count = 0 if frames is None else frames.shape[0]
            if frames is not None:
                pixels.append(frames)
            spans.append((first, count))
            first += count
        prompts = [s.prompt for s in samples]
        instructions = self.instruction_tokenizer(prompts, self.config.instruction_max_length)
        return PreparedBatch(
            prompts=prompts,
            answers=[s.answer for s in samples],
            mel=whisper_log_mel(self.features, waves) if waves else None,
            waveforms=[torch.from_numpy(w) for w in waves],
            audio_rows=rows,
            pixels=torch.cat(pixels) if pixels else None,
            frame_spans=spans,
            is_image=is_image,
            instruction_ids=instructions.input_ids,
            instruction_mask=instructions.attention_mask,
        )
