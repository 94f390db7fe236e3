"""video-SALMONN and FAVOR, implemented in torch + transformers.

Build a model with :func:`build_model` from a preset (:func:`get_preset`) and local checkpoint
paths (:class:`ModelFiles`); feed it :class:`AVSample` objects::

    from reference_models.video_salmonn import AVSample, build_model, get_preset

    model, reports = build_model(get_preset("tiny"))
    answers = model.generate([AVSample(prompt="What happens?", audio=wave, frames=frames,
                                       timestamps=times, duration=30.0, source_fps=25.0)])
"""

from reference_models.video_salmonn._batch import PreparedBatch, Preprocessor, merge_batches
from reference_models.video_salmonn._beats import Beats, beats_fbank
from reference_models.video_salmonn._build import DTYPES, beats_config_from_checkpoint, build_model
from reference_models.video_salmonn._checkpoint import (
    CheckpointError,
    LoadReport,
    export_official,
    export_peft_lora,
    load_official_tensors,
    official_state,
    read_checkpoint,
)
from reference_models.video_salmonn._config import (
    PRESETS,
    BeatsConfig,
    GenerationDefaults,
    LlmConfig,
    LoraConfig,
    MediaConfig,
    ModelFiles,
    PromptConfig,
    QFormerConfig,
    SpeechEncoderConfig,
    SyncConfig,
    VideoSalmonnConfig,
    VitConfig,
    apply_overrides,
    get_preset,
    load_config_file,
)
from reference_models.video_salmonn._eva_vit import EvaViT
from reference_models.video_salmonn._generate import DecodeOptions, DecodeTimes, greedy_generate, hf_generate
from reference_models.video_salmonn._keymap import MappedKey, internal_to_official, official_to_internal
from reference_models.video_salmonn._llm_backend import HFBackend, LlmBackend, PrefillClock
from reference_models.video_salmonn._lora import LoraLinear, inject_lora
from reference_models.video_salmonn._model import (
    EmbedsBatch,
    TrainOutput,
    VideoSalmonn,
    diversity_loss,
)
from reference_models.video_salmonn._preprocess import (
    AVSample,
    clip_windows,
    frames_to_pixels,
    image_to_pixels,
    prepare_audio,
    select_frames,
)
from reference_models.video_salmonn._qformer import QFormer, frame_block_mask
from reference_models.video_salmonn._speech import SpeechEncoder
from reference_models.video_salmonn._sync import AVQFormer, QFormerOutput
from reference_models.video_salmonn._tokenizer import CharInstructionTokenizer, CharTokenizer
from reference_models.video_salmonn._visual import VisualEncoder
from reference_models.video_salmonn._vllm import (
    VllmBackend,
    export_llm_folder,
    import_vllm,
    sampling_params,
    unpadded_embeds,
    vllm_lora_rank,
)

__all__ = [
    "DTYPES",
    "PRESETS",
    "AVQFormer",
    "AVSample",
    "Beats",
    "BeatsConfig",
    "CharInstructionTokenizer",
    "CharTokenizer",
    "CheckpointError",
    "DecodeOptions",
    "DecodeTimes",
    "EmbedsBatch",
    "EvaViT",
    "GenerationDefaults",
    "HFBackend",
    "LlmBackend",
    "LlmConfig",
    "LoadReport",
    "LoraConfig",
    "LoraLinear",
    "MappedKey",
    "MediaConfig",
    "ModelFiles",
    "PrefillClock",
    "PreparedBatch",
    "Preprocessor",
    "PromptConfig",
    "QFormer",
    "QFormerConfig",
    "QFormerOutput",
    "SpeechEncoder",
    "SpeechEncoderConfig",
    "SyncConfig",
    "TrainOutput",
    "VideoSalmonn",
    "VideoSalmonnConfig",
    "VisualEncoder",
    "VitConfig",
    "VllmBackend",
    "apply_overrides",
    "beats_config_from_checkpoint",
    "beats_fbank",
    "build_model",
    "clip_windows",
    "diversity_loss",
    "export_llm_folder",
    "export_official",
    "export_peft_lora",
    "frame_block_mask",
    "frames_to_pixels",
    "get_preset",
    "greedy_generate",
    "hf_generate",
    "image_to_pixels",
    "import_vllm",
    "inject_lora",
    "internal_to_official",
    "load_config_file",
    "load_official_tensors",
    "merge_batches",
    "official_state",
    "official_to_internal",
    "prepare_audio",
    "read_checkpoint",
    "sampling_params",
    "select_frames",
    "unpadded_embeds",
    "vllm_lora_rank",
]
