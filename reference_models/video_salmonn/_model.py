"""The video-SALMONN / FAVOR model, as separately callable stages.

    prepare ─► encode_speech ─► encode_audio ─► encode_visual ─► qformer ─► project
            ─► build_inputs_embeds ─► LLM prefill / decode (or generate)

Every stage takes a whole batch. ``generate`` chains them (and can time each one); ``forward``
is the training pass (LM loss plus the diversity loss).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedModel, WhisperConfig

from reference_models.video_salmonn._batch import PreparedBatch, Preprocessor
from reference_models.video_salmonn._beats import Beats
from reference_models.video_salmonn._config import BeatsConfig, LlmConfig, VideoSalmonnConfig
from reference_models.video_salmonn._generate import DecodeOptions, DecodeTimes, greedy_generate, hf_generate
from reference_models.video_salmonn._lora import inject_lora, lora_layers
from reference_models.video_salmonn._preprocess import AVSample
from reference_models.video_salmonn._speech import SpeechEncoder
from reference_models.video_salmonn._sync import AVQFormer, QFormerOutput
from reference_models.video_salmonn._tokenizer import InstructionTokenizer, TextTokenizer
from reference_models.video_salmonn._visual import VisualEncoder


@dataclass
class EmbedsBatch:
    """LLM inputs: (B, L, H) embeddings, (B, L) attention mask and, for training, (B, L) labels."""

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor | None = None


@dataclass
class TrainOutput:
    """Training losses: ``loss = lm_loss + factor * diversity_loss`` when the diversity loss is on."""

    loss: torch.Tensor
    lm_loss: torch.Tensor
    diversity_loss: torch.Tensor
    logits: torch.Tensor


def diversity_loss(queries: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity between different query outputs of the same window.

    Args:
        queries: (windows, Q, D).
    """
    unit = queries / (queries.norm(dim=-1, keepdim=True) + 1e-9)
    cos = unit @ unit.transpose(1, 2)
    q = queries.shape[1]
    off_diagonal = 1.0 - torch.eye(q, device=queries.device, dtype=cos.dtype)
    return (cos * off_diagonal).sum() / ((q * q - q) * queries.shape[0])


def llama_config(config: LlmConfig) -> LlamaConfig:
    """A transformers LlamaConfig with the sizes of ``config``."""
    return LlamaConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        num_key_value_heads=config.kv_heads,
        rms_norm_eps=config.rms_norm_eps,
        max_position_embeddings=config.max_position_embeddings,
        rope_theta=config.rope_theta,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.eos_token_id,
        initializer_range=config.initializer_range,
        tie_word_embeddings=False,
    )


class VideoSalmonn(nn.Module):
    """video-SALMONN (and FAVOR, its single-resolution, Whisper-only predecessor).

    Build it with :func:`build_model` (which also loads checkpoints); the constructor makes
    randomly initialised modules.

    Args:
        config: The configuration.
        tokenizer: The LLM tokenizer.
        instruction_tokenizer: The tokenizer of InstructBLIP's instruction text.
        llm: A ready LLM (e.g. from ``from_pretrained``); random from ``config.llm`` when None.
        whisper_config: Whisper sizes read from a checkpoint folder.
        beats_config: BEATs sizes read from the checkpoint's ``cfg``.
    """

    def __init__(
        self,
        config: VideoSalmonnConfig,
        tokenizer: TextTokenizer,
        instruction_tokenizer: InstructionTokenizer,
        llm: PreTrainedModel | None = None,
        whisper_config: WhisperConfig | None = None,
        beats_config: BeatsConfig | None = None,
    ) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.tokenizer = tokenizer
        self.instruction_tokenizer = instruction_tokenizer
        self.speech = SpeechEncoder(config.speech, whisper_config)
        self.preprocessor = Preprocessor(config, self.speech.features, instruction_tokenizer)
        beats_cfg = beats_config if beats_config is not None else config.beats
        self.audio = Beats(beats_cfg) if config.beats is not None and beats_cfg is not None else None
        self.visual = VisualEncoder(config.vit, config.visual_qformer)
        beats_width = self.audio.config.encoder_embed_dim if self.audio is not None else None
        self.sync = AVQFormer(config, self.speech.width, beats_width)
        if llm is None:
            llm = LlamaForCausalLM(llama_config(config.llm))
        self.llm = llm
        self.proj = nn.Linear(self.sync.output_width, int(llm.config.hidden_size))
        inject_lora(self.llm, config.lora)
        self._init_new_modules()

    # -- set-up -----------------------------------------------------------------------------

    @torch.no_grad()
    def _init_new_modules(self) -> None:
        """BERT-style init for the Q-Formers and projections (normal(0, init_std), zero bias)."""
        if next(self.parameters()).device.type == "meta":
            return
        std = self.config.init_std
        for module in (self.visual.qformer, self.sync, self.proj):
            for sub in module.modules():
                if isinstance(sub, nn.Linear | nn.Embedding):
                    sub.weight.normal_(0.0, std)
                    if isinstance(sub, nn.Linear) and sub.bias is not None:
                        sub.bias.zero_()
                elif isinstance(sub, nn.LayerNorm):
                    sub.weight.fill_(1.0)
                    sub.bias.zero_()
        for tokens in (self.visual.query_tokens, self.sync.query_tokens, self.sync.low_query_tokens):
            if tokens is not None:
                tokens.normal_(0.0, std)

    @property
    def device(self) -> torch.device:
        return self.proj.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.proj.weight.dtype

    def trainable_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """What the official recipe trains: the audio-visual Q-Former side, projections and LoRA.
        Encoders, InstructBLIP's Q-Former and the LLM base weights stay frozen."""
        for name, param in self.named_parameters():
            if name.startswith(("sync.", "proj.")) or ".lora_A." in name or ".lora_B." in name:
                yield name, param

    def freeze_for_training(self) -> None:
        """Set ``requires_grad`` as the official recipe trains (see :meth:`trainable_parameters`)."""
        trainable = {name for name, _ in self.trainable_parameters()}
        for name, param in self.named_parameters():
            param.requires_grad_(name in trainable)

    def merge_lora(self) -> None:
        """Fold LoRA into the LLM weights (inference only)."""
        for layer in lora_layers(self.llm):
            layer.merge()

    # -- stage 0: CPU preprocessing ----------------------------------------------------------

    def prepare(self, samples: list[AVSample]) -> PreparedBatch:
        """Turn raw samples into tensors (CPU work; :attr:`preprocessor` does the same in a
        worker process).

        Raises:
            ValueError: A sample has neither audio nor visual input, or malformed media; the
                message names the sample's position in the batch.
        """
        return self.preprocessor(samples)

    # -- stages 1-3: encoders ----------------------------------------------------------------

    def encode_speech(self, batch: PreparedBatch) -> torch.Tensor | None:
        """Whisper encoder: (A, 1500, d_model) for the samples with audio, or None."""
        if batch.mel is None:
            return None
        return self.speech(batch.mel.to(self.device))

    def encode_audio(self, batch: PreparedBatch) -> torch.Tensor | None:
        """BEATs: (A, T, width) for the samples with audio (zero past each length), or None."""
        if self.audio is None or not batch.waveforms:
            return None
        features, _ = self.audio([w.to(self.device) for w in batch.waveforms])
        return features

    def encode_visual(self, batch: PreparedBatch) -> torch.Tensor | None:
        """EVA ViT-g + InstructBLIP Q-Former: (N, 32, 768) for all frames, or None."""
        if batch.pixels is None:
            return None
        owner = torch.tensor(
            [i for i, (_, count) in enumerate(batch.frame_spans) for _ in range(count)], dtype=torch.long
        )
        ids = batch.instruction_ids.index_select(0, owner).to(self.device)
        mask = batch.instruction_mask.index_select(0, owner).to(self.device)
        return self.visual(batch.pixels.to(self.device), ids, mask)

    # -- stage 4: synchronisation and Q-Former windows ---------------------------------------

    def qformer(
        self,
        batch: PreparedBatch,
        speech: torch.Tensor | None,
        audio: torch.Tensor | None,
        visual: torch.Tensor | None,
    ) -> QFormerOutput:
        """Synchronise each sample's streams and run the causal Q-Former windows."""
        audio_feats = self.sync.audio_features(speech, audio) if speech is not None else None
        media = self.config.media
        step = self.config.sync.audio_frames_per_step
        sequences = []
        for i in range(len(batch)):
            row = batch.audio_rows[i]
            sample_audio = audio_feats[row] if audio_feats is not None and row is not None else None
            start, count = batch.frame_spans[i]
            sample_visual = visual[start : start + count] if visual is not None and count else None
            if sample_visual is not None and batch.is_image[i]:
                steps = (
                    sample_audio.shape[0] // step
                    if sample_audio is not None
                    else media.image_steps_without_audio
                )
                sample_visual = sample_visual.expand(steps, -1, -1)
            sequences.append(self.sync.synchronise(sample_visual, sample_audio))
        return self.sync(sequences)

    # -- stage 5: projection -----------------------------------------------------------------

    def project(self, output: QFormerOutput) -> list[torch.Tensor]:
        """Q-Former outputs to LLM embeddings, per sample (n_i, hidden)."""
        return [self.proj(t) for t in output.tokens]

    # -- stage 6: LLM inputs -----------------------------------------------------------------

    def _embed(self, ids: list[int]) -> torch.Tensor:
        table = self.llm.get_input_embeddings()
        return table(torch.tensor(ids, dtype=torch.long, device=self.device))

    def build_inputs_embeds(
        self, av_tokens: list[torch.Tensor], prompts: list[str], answers: list[str | None] | None = None
    ) -> EmbedsBatch:
        """``<s> USER: <Img>`` + audio-visual tokens + ``</Img> {prompt}\\nASSISTANT:`` per sample.

        Without answers the batch is left-padded (for generation); with answers each sample
        continues with the answer and ``</s>``, the batch is right-padded and ``labels`` hold
        the answer tokens (-100 elsewhere).
        """
        tok = self.tokenizer
        prompt_cfg = self.config.prompt
        before = [tok.bos_token_id, *tok.encode(prompt_cfg.before)]
        rows, labels = [], []
        for i, (tokens, prompt) in enumerate(zip(av_tokens, prompts, strict=True)):
            after = tok.encode(prompt_cfg.after.replace("{prompt}", prompt))
            target: list[int] = []
            if answers is not None:
                if answers[i] is None:
                    raise ValueError(f"sample {i}: training needs an answer")
                target = [*tok.encode(answers[i] or ""), tok.eos_token_id]
            pieces = [self._embed(before), tokens.to(self.dtype), self._embed(after)]
            if target:
                pieces.append(self._embed(target))
            rows.append(torch.cat(pieces))
            labels.append([-100] * (rows[-1].shape[0] - len(target)) + target)
        width = max(r.shape[0] for r in rows)
        hidden = rows[0].shape[-1]
        embeds = rows[0].new_zeros(len(rows), width, hidden)
        mask = torch.zeros(len(rows), width, dtype=torch.long, device=self.device)
        label_t = torch.full((len(rows), width), -100, dtype=torch.long, device=self.device)
        for i, row in enumerate(rows):
            n = row.shape[0]
            if answers is None:
                embeds[i, width - n :] = row
                mask[i, width - n :] = 1
            else:
                embeds[i, :n] = row
                mask[i, :n] = 1
                label_t[i, :n] = torch.tensor(labels[i], dtype=torch.long, device=self.device)
        return EmbedsBatch(embeds, mask, label_t if answers is not None else None)

    # -- whole passes ------------------------------------------------------------------------

    @contextmanager
    def _timed(self, times: dict[str, float] | None, stage: str) -> Iterator[None]:
        if times is None:
            yield
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        times[stage] = times.get(stage, 0.0) + time.perf_counter() - start

    def encode(
        self, batch: PreparedBatch, times: dict[str, float] | None = None
    ) -> tuple[EmbedsBatch, QFormerOutput]:
        """All stages up to the LLM inputs (no answers: left-padded for generation)."""
        with torch.no_grad():
            with self._timed(times, "speech_encoder_s"):
                speech = self.encode_speech(batch)
            with self._timed(times, "audio_encoder_s"):
                audio = self.encode_audio(batch)
            with self._timed(times, "visual_encoder_s"):
                visual = self.encode_visual(batch)
            with self._timed(times, "qformer_s"):
                output = self.qformer(batch, speech, audio, visual)
            with self._timed(times, "projection_s"):
                tokens = self.project(output)
                embeds = self.build_inputs_embeds(tokens, batch.prompts)
        return embeds, output

    def generate(
        self,
        samples: list[AVSample] | PreparedBatch,
        options: DecodeOptions | None = None,
        times: dict[str, float] | None = None,
        use_hf: bool = True,
    ) -> list[str]:
        """Answer a batch.

        Args:
            samples: Raw samples or an already prepared batch.
            options: Decoding settings (the preset's official ones when None).
            times: When given, receives seconds per stage (``prepare_s``, encoders,
                ``qformer_s``, ``projection_s``, ``llm_prefill_s``/``llm_decode_s`` for the greedy
                loop, ``llm_generate_s`` for transformers' generate).
            use_hf: transformers' ``generate`` (True) or the explicit greedy loop (False).

        Returns:
            One answer per sample, special tokens removed, cut at the preset's ``cut_at``.
        """
        if options is None:
            g = self.config.generation
            options = DecodeOptions(
                max_new_tokens=g.max_new_tokens,
                num_beams=g.num_beams,
                repetition_penalty=g.repetition_penalty,
                length_penalty=g.length_penalty,
            )
        if isinstance(samples, PreparedBatch):
            batch = samples
        else:
            with self._timed(times, "prepare_s"):
                batch = self.prepare(samples)
        embeds, _ = self.encode(batch, times)
        tok = self.tokenizer
        if use_hf:
            with self._timed(times, "llm_generate_s"):
                tokens = hf_generate(
                    self.llm,
                    embeds.inputs_embeds,
                    embeds.attention_mask,
                    options,
                    tok.eos_token_id,
                    tok.pad_token_id,
                )
        else:
            decode_times = DecodeTimes()
            tokens = greedy_generate(
                self.llm,
                embeds.inputs_embeds,
                embeds.attention_mask,
                options,
                tok.eos_token_id,
                tok.pad_token_id,
                decode_times,
            )
            if times is not None:
                times["llm_prefill_s"] = times.get("llm_prefill_s", 0.0) + decode_times.prefill_s
                times["llm_decode_s"] = times.get("llm_decode_s", 0.0) + decode_times.decode_s
        return [self.decode_tokens(row) for row in tokens.tolist()]

    def decode_tokens(self, ids: list[int]) -> str:
        """Token ids to the answer text: stop at end-of-sequence, drop special tokens, cut."""
        eos = self.tokenizer.eos_token_id
        if eos in ids:
            ids = ids[: ids.index(eos)]
        text = self.tokenizer.decode(ids).strip()
        for marker in self.config.prompt.cut_at:
            text = text.split(marker)[0]
        return text.strip()

    def forward(self, samples: list[AVSample]) -> TrainOutput:
        """Training pass: LM loss on the answers plus the diversity loss of the high-resolution
        Q-Former queries (added with ``diversity_loss_factor`` when ``config.diversity_loss``)."""
        batch = self.prepare(samples)
        with torch.no_grad():
            speech = self.encode_speech(batch)
            audio = self.encode_audio(batch)
            visual = self.encode_visual(batch)
        output = self.qformer(batch, speech, audio, visual)
        embeds = self.build_inputs_embeds(self.project(output), batch.prompts, batch.answers)
        out = self.llm(
            inputs_embeds=embeds.inputs_embeds, attention_mask=embeds.attention_mask, labels=embeds.labels
        )
        div = diversity_loss(output.high)
        loss = out.loss
        if self.config.diversity_loss:
            loss = loss + self.config.diversity_loss_factor * div
        return TrainOutput(loss=loss, lm_loss=out.loss, diversity_loss=div, logits=out.logits)
