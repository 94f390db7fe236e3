"""Model configuration: one dataclass tree, three presets, YAML overrides.

The ``video-salmonn-13b`` values are the released model's (``config/test.yaml`` on the
``videosalmonn`` branch of bytedance/SALMONN, plus the sizes of the checkpoints it loads);
``favor-13b`` follows the arguments of BriansIDP/AudioVisualLLM ``inference.py``. Each field
names where it comes from when that is not obvious.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class SpeechEncoderConfig:
    """Whisper encoder (large-v2 in the released model).

    Args:
        d_model: Hidden size.
        layers: Encoder layers.
        heads: Attention heads.
        ffn_dim: Feed-forward size.
        num_mel_bins: Log-mel bins of the feature extractor (80 for large-v2).
        max_source_positions: Encoder frames for 30 s of audio (the input is always padded to 30 s).
    """

    d_model: int = 1280
    layers: int = 32
    heads: int = 20
    ffn_dim: int = 5120
    num_mel_bins: int = 80
    max_source_positions: int = 1500


@dataclass(frozen=True)
class BeatsConfig:
    """BEATs audio encoder (``BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt``).

    Field names follow the ``cfg`` dict stored in the official checkpoint, so that dict loads
    into this class as it is.
    """

    input_patch_size: int = 16
    embed_dim: int = 512
    conv_bias: bool = False
    encoder_layers: int = 12
    encoder_embed_dim: int = 768
    encoder_ffn_embed_dim: int = 3072
    encoder_attention_heads: int = 12
    activation_fn: str = "gelu"
    layer_norm_first: bool = False
    deep_norm: bool = True
    conv_pos: int = 128
    conv_pos_groups: int = 16
    relative_position_embedding: bool = True
    num_buckets: int = 320
    max_distance: int = 800
    gru_rel_pos: bool = True
    finetuned_model: bool = True
    predictor_class: int = 527
    dropout: float = 0.0
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    num_mel_bins: int = 128
    fbank_mean: float = 15.41663
    fbank_std: float = 6.55582


@dataclass(frozen=True)
class VitConfig:
    """EVA-CLIP ViT-g/14 as LAVIS builds it (``create_eva_vit_g``: depth 39 of the 40 stored blocks)."""

    image_size: int = 224
    patch_size: int = 14
    width: int = 1408
    depth: int = 39
    heads: int = 16
    mlp_dim: int = 6144  # int(1408 * 4.3637)
    layer_norm_eps: float = 1e-6


@dataclass(frozen=True)
class QFormerConfig:
    """A BERT-style Q-Former (InstructBLIP's, or the audio-visual one).

    Args:
        hidden_size: Width of queries and text.
        layers: Transformer layers.
        heads: Attention heads.
        intermediate_size: Feed-forward size.
        cross_attention_freq: A layer ``i`` cross-attends when ``i % freq == 0``.
        encoder_width: Width of the states the queries attend to.
        num_queries: Learned query tokens.
        vocab_size: Word embeddings for instruction text (0: queries only, no text path).
        max_position_embeddings: Text positions.
        layer_norm_eps: LayerNorm epsilon (BERT's 1e-12).
        causal_frames: Add, in every layer, a self-attention over the encoder states with a
            block mask over time steps (``causal_attention: "true"`` in the released config).
        frame_block: Tokens per time step in that mask (32 in the official code).
        dropout: Hidden and attention dropout (BERT's 0.1, active only in training).
    """

    hidden_size: int = 768
    layers: int = 12
    heads: int = 12
    intermediate_size: int = 3072
    cross_attention_freq: int = 2
    encoder_width: int = 1408
    num_queries: int = 32
    vocab_size: int = 30523  # bert-base-uncased (30522) + the [DEC] token InstructBLIP adds
    max_position_embeddings: int = 512
    layer_norm_eps: float = 1e-12
    causal_frames: bool = False
    frame_block: int = 32
    dropout: float = 0.1


@dataclass(frozen=True)
class SyncConfig:
    """Audio-visual synchronisation and the multi-resolution causal Q-Former.

    Args:
        use_beats: Concatenate BEATs features to Whisper's (video-SALMONN) or not (FAVOR).
        groupsize: Time steps (0.5 s each) per high-resolution window (``groupsize: 10``).
        low_groupsize: Time steps per low-resolution window (``low_groupsize: 1``), or None for
            a single resolution (FAVOR).
        num_queries: Queries per high-resolution window (``num_video_query: 30``).
        video_tokens_per_step: InstructBLIP queries per frame (``video_size = 32``).
        audio_frames_per_step: Whisper frames per 0.5 s step (``audio_size = 25``).
        position_table: Rows of the window position embedding (``nn.Embedding(4096, ...)``).
        qformer_layers: Layers of the audio-visual Q-Former (2).
        causal_frames: ``causal_attention``.
    """

    use_beats: bool = True
    groupsize: int = 10
    low_groupsize: int | None = 1
    num_queries: int = 30
    video_tokens_per_step: int = 32
    audio_frames_per_step: int = 25
    position_table: int = 4096
    qformer_layers: int = 2
    causal_frames: bool = True

    @property
    def low_num_queries(self) -> int:
        """Queries per low-resolution window: ``int(num_video_query * low_groupsize / groupsize)``."""
        if self.low_groupsize is None:
            return 0
        return int(self.num_queries * self.low_groupsize / self.groupsize)


@dataclass(frozen=True)
class LlmConfig:
    """Llama/Vicuna sizes used for random init (a real checkpoint's config.json wins)."""

    vocab_size: int = 32000
    hidden_size: int = 5120
    intermediate_size: int = 13824
    layers: int = 40
    heads: int = 40
    kv_heads: int = 40
    rms_norm_eps: float = 1e-5
    max_position_embeddings: int = 4096
    rope_theta: float = 10000.0
    bos_token_id: int = 1
    eos_token_id: int = 2
    initializer_range: float = 0.02


@dataclass(frozen=True)
class LoraConfig:
    """LoRA on the LLM attention projections (``yu_lora_r/alpha/dropout``, ``lora_target_modules``)."""

    r: int = 32
    alpha: float = 32.0
    dropout: float = 0.1
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    @property
    def scaling(self) -> float:
        return self.alpha / self.r


@dataclass(frozen=True)
class PromptConfig:
    """The prompt around the audio-visual tokens (``PROMPT_START`` and ``build_one_instance``).

    Args:
        before: Text between BOS and the audio-visual tokens.
        after: Text after them; ``{prompt}`` is replaced by the user's question.
        cut_at: Output is cut at the first of these strings (FAVOR cuts at ``"\\n#"``).
    """

    before: str = "USER: <Img>"
    after: str = "</Img> {prompt}\nASSISTANT:"
    cut_at: tuple[str, ...] = ()


@dataclass(frozen=True)
class GenerationDefaults:
    """Decoding settings of the official inference (a request's own settings take precedence
    for max_new_tokens, beams and sampling; see the adapter)."""

    num_beams: int = 5
    repetition_penalty: float = 1.5
    length_penalty: float = 1.0
    max_new_tokens: int = 512
    top_p: float = 0.9


@dataclass(frozen=True)
class MediaConfig:
    """How raw media become model inputs (``SupervisedAudioVisualDataset4Test`` and ImageBind's
    ``load_and_transform_video_data_blip``).

    Args:
        sample_rate: Audio rate.
        max_audio_seconds: Audio is cut here (Whisper's 30 s window; longer audio is truncated).
        min_audio_seconds: Shorter audio is zero-padded to this (3 s in video-SALMONN, 0 in FAVOR).
        clip_seconds: Video is split into clips of this length (the last one back-padded).
        frames_per_clip: Frames taken per clip: its first and last (``UniformTemporalSubsample(2)``).
        max_clips: At most this many clips (60, i.e. the first 60 s).
        image_steps_without_audio: An image without audio is repeated for this many steps.
        image_mean: Normalisation mean (CLIP).
        image_std: Normalisation std (CLIP).
    """

    sample_rate: int = 16000
    max_audio_seconds: float = 30.0
    min_audio_seconds: float = 3.0
    clip_seconds: float = 1.0
    frames_per_clip: int = 2
    max_clips: int = 60
    image_steps_without_audio: int = 60
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD


@dataclass(frozen=True)
class VideoSalmonnConfig:
    """The whole model.

    Args:
        name: Preset name.
        speech: Whisper encoder.
        beats: BEATs (None when the model has no audio-event encoder, as FAVOR).
        vit: EVA ViT-g.
        visual_qformer: InstructBLIP's Q-Former.
        sync: Audio-visual synchronisation and Q-Former windows.
        av_qformer: Sizes of the audio-visual Q-Former (width, heads; encoder width is derived).
        llm: Language model sizes for random init.
        lora: LoRA settings.
        prompt: Prompt template.
        generation: Official decoding defaults.
        media: Preprocessing.
        instruction_max_length: Max BERT tokens of the instruction (``max_tgt_len``).
        diversity_loss: Add the diversity loss in training (``diversity_loss``).
        diversity_loss_factor: Its weight (``diversity_loss_factor``, default 0.01).
        tokenizer: ``hf`` (files next to the LLM and BERT) or ``tiny`` (built in code).
        init_seed: Seed of random initialisation.
        init_std: Std of random linear/embedding init where the official code uses BERT's 0.02.
    """

    name: str = "video-salmonn-13b"
    speech: SpeechEncoderConfig = field(default_factory=SpeechEncoderConfig)
    beats: BeatsConfig | None = field(default_factory=BeatsConfig)
    vit: VitConfig = field(default_factory=VitConfig)
    visual_qformer: QFormerConfig = field(default_factory=QFormerConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    av_qformer: QFormerConfig = field(
        default_factory=lambda: QFormerConfig(
            layers=2, cross_attention_freq=1, vocab_size=0, causal_frames=True, num_queries=30
        )
    )
    llm: LlmConfig = field(default_factory=LlmConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    generation: GenerationDefaults = field(default_factory=GenerationDefaults)
    media: MediaConfig = field(default_factory=MediaConfig)
    instruction_max_length: int = 512
    diversity_loss: bool = False
    diversity_loss_factor: float = 0.01
    tokenizer: str = "hf"
    init_seed: int = 0
    init_std: float = 0.02

    @property
    def audio_width(self) -> int:
        """Width of the audio half of a synchronised step (Whisper, plus BEATs when used)."""
        per_stream = self.visual_qformer.hidden_size
        return per_stream * (2 if self.beats is not None else 1)

    @property
    def joint_width(self) -> int:
        """Width of one synchronised step: visual + audio (``visual_hidden_size``)."""
        return self.visual_qformer.hidden_size + self.audio_width

    @property
    def tokens_per_step(self) -> int:
        return max(self.sync.video_tokens_per_step, self.sync.audio_frames_per_step)

    @property
    def resolved_av_qformer(self) -> QFormerConfig:
        """The audio-visual Q-Former with its derived fields filled in."""
        return replace(
            self.av_qformer,
            encoder_width=self.joint_width,
            num_queries=self.sync.num_queries,
            cross_attention_freq=1,
            vocab_size=0,
            causal_frames=self.sync.causal_frames,
            frame_block=self.tokens_per_step,
            layers=self.sync.qformer_layers,
        )

    def validate(self) -> None:
        """Raise ValueError naming the field when a combination cannot work."""
        if self.visual_qformer.num_queries != self.sync.video_tokens_per_step:
            raise ValueError(
                "sync.video_tokens_per_step must equal visual_qformer.num_queries "
                f"({self.sync.video_tokens_per_step} != {self.visual_qformer.num_queries})"
            )
        if self.visual_qformer.encoder_width != self.vit.width:
            raise ValueError(
                f"visual_qformer.encoder_width ({self.visual_qformer.encoder_width}) must equal "
                f"vit.width ({self.vit.width})"
            )
        if self.sync.groupsize < 1:
            raise ValueError("sync.groupsize must be >= 1")
        low = self.sync.low_groupsize
        if low is not None and (low < 1 or self.sync.groupsize % low):
            raise ValueError("sync.low_groupsize must divide sync.groupsize")
        if low is not None and self.sync.low_num_queries * (self.sync.groupsize // low) != (
            self.sync.num_queries
        ):
            raise ValueError(
                "sync.num_queries * sync.low_groupsize / sync.groupsize must be a whole number so "
                "that both resolutions give the same number of tokens"
            )
        av = self.resolved_av_qformer
        for name, qf in (("visual_qformer", self.visual_qformer), ("av_qformer", av)):
            if qf.hidden_size % qf.heads:
                raise ValueError(f"{name}.hidden_size must be divisible by {name}.heads")
        if av.causal_frames and av.encoder_width % av.heads:
            raise ValueError("the audio-visual width must be divisible by av_qformer.heads")
        if self.vit.width % self.vit.heads:
            raise ValueError("vit.width must be divisible by vit.heads")
        if self.tokenizer not in ("hf", "tiny"):
            raise ValueError(f"tokenizer must be 'hf' or 'tiny', got {self.tokenizer!r}")
        if "{prompt}" not in self.prompt.after:
            raise ValueError("prompt.after must contain '{prompt}'")


def _video_salmonn_13b() -> VideoSalmonnConfig:
    return VideoSalmonnConfig(name="video-salmonn-13b")


def _favor_13b() -> VideoSalmonnConfig:
    # FAVOR's inference.py: lora r=32 alpha=32 dropout=0.1 on q/k/v/o, num_video_query=32,
    # groupsize=10, causal_attention, no BEATs, max_tgt_len=256 (instruction truncation). Its demo
    # decodes with beam sampling at top_p=0.01 (nearly greedy per beam); the preset uses plain
    # 5-beam search, which is deterministic.
    return VideoSalmonnConfig(
        name="favor-13b",
        beats=None,
        sync=SyncConfig(use_beats=False, groupsize=10, low_groupsize=None, num_queries=32),
        av_qformer=QFormerConfig(layers=2, cross_attention_freq=1, vocab_size=0, causal_frames=True),
        prompt=PromptConfig(cut_at=("\n#",)),
        generation=GenerationDefaults(num_beams=5, repetition_penalty=1.5, max_new_tokens=512, top_p=0.01),
        media=MediaConfig(min_audio_seconds=0.0),
        instruction_max_length=256,
    )


def _tiny() -> VideoSalmonnConfig:
    return VideoSalmonnConfig(
        name="tiny",
        speech=SpeechEncoderConfig(d_model=16, layers=1, heads=2, ffn_dim=32),
        beats=BeatsConfig(
            embed_dim=8,
            encoder_layers=1,
            encoder_embed_dim=16,
            encoder_ffn_embed_dim=32,
            encoder_attention_heads=2,
            conv_pos=16,
            conv_pos_groups=4,
            num_buckets=32,
            max_distance=64,
            predictor_class=5,
        ),
        vit=VitConfig(image_size=28, patch_size=14, width=16, depth=1, heads=2, mlp_dim=32),
        visual_qformer=QFormerConfig(
            hidden_size=16, layers=2, heads=2, intermediate_size=32, encoder_width=16, vocab_size=104
        ),
        sync=SyncConfig(num_queries=10, groupsize=10, low_groupsize=1),
        av_qformer=QFormerConfig(hidden_size=16, heads=2, intermediate_size=32, vocab_size=0),
        llm=LlmConfig(
            vocab_size=100,
            hidden_size=32,
            intermediate_size=64,
            layers=2,
            heads=4,
            kv_heads=4,
            max_position_embeddings=1024,
            initializer_range=0.3,
        ),
        lora=LoraConfig(r=4, alpha=8.0, dropout=0.1),
        generation=GenerationDefaults(num_beams=1, repetition_penalty=1.5, max_new_tokens=32),
        instruction_max_length=64,
        tokenizer="tiny",
        init_seed=1234,
        init_std=0.3,
    )


PRESETS = {
    "video-salmonn-13b": _video_salmonn_13b,
    "favor-13b": _favor_13b,
    "tiny": _tiny,
}


def get_preset(name: str) -> VideoSalmonnConfig:
    """A preset by name.

    Args:
        name: ``video-salmonn-13b``, ``favor-13b`` or ``tiny``.

    Raises:
        ValueError: Unknown name (the message lists the known ones).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    config = PRESETS[name]()
    config.validate()
    return config


def _apply(obj: Any, overrides: dict[str, Any], where: str, path: str) -> Any:
    if not isinstance(overrides, dict):
        raise ValueError(f"{where}: {path or 'config'} must be a mapping, got {type(overrides).__name__}")
    known = {f.name: f for f in fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        dotted = f"{path}.{key}" if path else key
        if key not in known:
            raise ValueError(f"{where}: unknown field {dotted!r}; known: {', '.join(sorted(known))}")
        current = getattr(obj, key)
        if is_dataclass(current) and isinstance(value, dict):
            changes[key] = _apply(current, value, where, dotted)
        elif current is None and isinstance(value, dict) and key == "beats":
            changes[key] = _apply(BeatsConfig(), value, where, dotted)
        else:
            changes[key] = _coerce(current, value, where, dotted)
    return replace(obj, **changes)


def _coerce(current: Any, value: Any, where: str, path: str) -> Any:
    if value is None or current is None:
        return value
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where}: {path} must be true or false, got {value!r}")
        return value
    if isinstance(current, int) and not isinstance(current, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: {path} must be an integer, got {value!r}")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: {path} must be a number, got {value!r}")
        return float(value)
    if isinstance(current, tuple):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where}: {path} must be a list, got {value!r}")
        return tuple(value)
    if isinstance(current, str) and not isinstance(value, str):
        raise ValueError(f"{where}: {path} must be a string, got {value!r}")
    return value


def apply_overrides(config: VideoSalmonnConfig, overrides: dict[str, Any], where: str = "overrides"):
    """A copy of ``config`` with nested ``overrides`` applied, type-checked and validated.

    Args:
        config: Base configuration.
        overrides: Nested mapping of field names to values (e.g. ``{"sync": {"groupsize": 5}}``).
        where: Name of the source for error messages (a file path).

    Raises:
        ValueError: An unknown field, a value of the wrong type, or an invalid combination;
            the message names the source and the field.
    """
    updated = _apply(config, overrides, where, "")
    try:
        updated.validate()
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return updated


@dataclass(frozen=True)
class ModelFiles:
    """Local checkpoint paths (any may be None for random init of that part).

    Args:
        checkpoint: The video-SALMONN / FAVOR delta checkpoint (Q-Formers, projections, LoRA).
        llm_path: Hugging Face folder of Vicuna (config.json, weights, tokenizer).
        whisper_path: Hugging Face folder of Whisper large-v2.
        beats_path: ``BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt``.
        eva_path: ``eva_vit_g.pth``.
        instructblip_path: ``instruct_blip_vicuna13b_trimmed.pth``.
        bert_path: Folder (or ``vocab.txt``) of bert-base-uncased's tokenizer.
    """

    checkpoint: str | None = None
    llm_path: str | None = None
    whisper_path: str | None = None
    beats_path: str | None = None
    eva_path: str | None = None
    instructblip_path: str | None = None
    bert_path: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)


FILE_KEYS = tuple(f.name for f in fields(ModelFiles))


def load_config_file(path: str | Path) -> tuple[VideoSalmonnConfig, ModelFiles, dict[str, Any]]:
    """Read a YAML model config: ``preset``, checkpoint paths and field overrides.

    Example::

        preset: video-salmonn-13b
        checkpoint: /ckpt/video_salmonn_v1.pt
        llm_path: /ckpt/vicuna-13b-v1.5
        overrides:
          generation: {num_beams: 1}

    Args:
        path: The YAML file.

    Returns:
        The configuration, the file paths, and any other top-level keys (left for the caller,
        e.g. ``dtype``) as a dict.

    Raises:
        ValueError: The file is missing, not YAML, or has an unknown or badly typed field.
    """
    where = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{where}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: the top level must be a mapping")
    preset = data.pop("preset", "video-salmonn-13b")
    if not isinstance(preset, str):
        raise ValueError(f"{where}: preset must be a string")
    try:
        config = get_preset(preset)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    overrides = data.pop("overrides", {}) or {}
    config = apply_overrides(config, overrides, where)
    paths = {}
    for key in FILE_KEYS:
        value = data.pop(key, None)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a path string")
        paths[key] = value
    return config, ModelFiles(**paths), data
