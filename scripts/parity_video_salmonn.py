"""Parity of ``reference_models.video_salmonn`` with the official video-SALMONN code, at tiny size.

Not run in CI (the official code cannot be part of this repository). It builds the official
modules at the ``tiny`` preset's sizes with seeded random weights, copies those weights into our
model through the official key layout (the same path real checkpoints take), feeds both the same
30 s audio-visual sample, and prints the largest absolute difference at every stage: Whisper,
BEATs, the InstructBLIP Q-Former, the synchronised audio features, the multi-resolution causal
Q-Former, the LLM input embeddings, the LLM logits, the diversity loss, and the greedy tokens.

Requirements: a checkout of bytedance/SALMONN on branch ``videosalmonn`` and, in the Python
that runs this script, that code's pins (``transformers==4.40.1``, ``peft==0.5.0``) next to
torch, torchaudio and soundfile. Modules the compared path does not use (ImageBind's video
reader, timm, the ``data`` package) are replaced by stand-ins; pixels come from our
preprocessing, so the frame transform itself is checked by the unit tests instead.

Usage::

    python scripts/parity_video_salmonn.py --official /path/to/SALMONN [--seconds 30] [--tolerance 1e-4]

Exit status 0 when every difference is within the tolerance.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import json
import os
import sys
import types
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def _stub(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for key, value in attrs.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


@contextmanager
def _cwd(path: Path) -> Any:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def import_official(root: Path) -> types.ModuleType:
    """Import the official ``model/openllama.py`` without its training-only dependencies.

    Args:
        root: The official checkout (it holds ``model/`` and ``dummy/``).
    """
    import torch
    import transformers  # noqa: F401 - imported before the stand-ins so it sees the real packages

    if transformers.__version__ != "4.40.1":
        print(f"warning: the official code pins transformers 4.40.1; this is {transformers.__version__}")
    sys.path.insert(0, str(root))
    package = _stub("model")
    package.__path__ = [str(root / "model")]  # skip model/__init__.py (it imports deepspeed)
    imagebind = _stub(
        "model.ImageBind", data=types.SimpleNamespace(), imagebind_model=None, ModalityType=None
    )
    imagebind.__path__ = []
    imagebind.__all__ = ["data"]
    _stub("data")
    try:
        import timm  # noqa: F401
    except ImportError:
        _stub("timm")
        _stub("timm.models")
        _stub(
            "timm.models.layers",
            drop_path=lambda x, drop_prob=0.0, training=False: x,
            to_2tuple=lambda x: (x, x),
            trunc_normal_=lambda tensor, std=1.0: torch.nn.init.trunc_normal_(tensor, std=std),
        )
        _stub("timm.models.registry", register_model=lambda fn: fn)
    with _cwd(root):  # openllama.py reads ./dummy/*.flac at import time
        import model.openllama as official

    return official


class CharTokenizerShim:
    """The tiny preset's character tokenizer with the calling convention the official code uses."""

    def __init__(self) -> None:
        from reference_models.video_salmonn import CharTokenizer

        self.inner = CharTokenizer()
        self.bos_token_id = self.inner.bos_token_id
        self.eos_token_id = self.inner.eos_token_id
        self.pad_token_id = self.inner.pad_token_id

    def __call__(self, text: str, return_tensors: str | None = None, add_special_tokens: bool = False) -> Any:
        import torch

        ids = self.inner.encode(text)
        result = types.SimpleNamespace(input_ids=torch.tensor([ids]) if return_tensors == "pt" else ids)
        result.to = lambda device: result
        return result


def build_official(official: types.ModuleType, cfg: Any, root: Path, seed: int) -> types.SimpleNamespace:
    """The official modules at ``cfg``'s sizes, seeded, in a namespace the official methods accept
    as ``self``."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from torch import nn
    from transformers import BertConfig, LlamaConfig, WhisperConfig

    # The official checkout's own modules (importable after import_official).
    beats_module = importlib.import_module("model.beats")
    BEATs, BEATsConfig = beats_module.BEATs, beats_module.BEATsConfig
    VisionTransformer = importlib.import_module("model.eva_vit").VisionTransformer
    LlamaForCausalLM = importlib.import_module("model.modeling_llama").LlamaForCausalLM
    WhisperModel = importlib.import_module("model.modeling_whisper").WhisperModel

    torch.manual_seed(seed)
    vq = cfg.visual_qformer
    av = cfg.av_qformer
    bert = BertConfig(
        hidden_size=vq.hidden_size,
        num_hidden_layers=vq.layers,
        num_attention_heads=vq.heads,
        intermediate_size=vq.intermediate_size,
        vocab_size=vq.vocab_size,
        max_position_embeddings=vq.max_position_embeddings,
    )
    bert_av = BertConfig(
        hidden_size=av.hidden_size,
        num_hidden_layers=12,
        num_attention_heads=av.heads,
        intermediate_size=av.intermediate_size,
        vocab_size=vq.vocab_size,
    )
    configs = iter([bert, bert_av, bert_av])
    # init_video_Qformer reads bert-base-uncased's config from the hub; hand it ours instead.
    official.BertConfig.from_pretrained = staticmethod(lambda *a, **k: next(configs))
    init_qformer = official.OpenLLAMAPEFTModel.init_video_Qformer

    o = types.SimpleNamespace()
    v = cfg.vit
    o.visual_encoder = VisionTransformer(
        img_size=v.image_size,
        patch_size=v.patch_size,
        embed_dim=v.width,
        depth=v.depth,
        num_heads=v.heads,
        mlp_ratio=v.mlp_dim / v.width,
        qkv_bias=True,
        drop_path_rate=0.0,
        norm_layer=partial(nn.LayerNorm, eps=v.layer_norm_eps),
        use_mean_pooling=False,
    )
    o.ln_vision = nn.LayerNorm(v.width)
    o.num_query_token = vq.num_queries
    o.Qformer, o.query_tokens = init_qformer(vq.num_queries, v.width, num_hidden_layers=-1)
    o.Qformer.cls = None
    whisper = WhisperConfig(
        d_model=cfg.speech.d_model,
        encoder_layers=cfg.speech.layers,
        encoder_attention_heads=cfg.speech.heads,
        encoder_ffn_dim=cfg.speech.ffn_dim,
        decoder_layers=1,
        decoder_attention_heads=cfg.speech.heads,
        decoder_ffn_dim=cfg.speech.ffn_dim,
        num_mel_bins=cfg.speech.num_mel_bins,
        max_source_positions=cfg.speech.max_source_positions,
    )
    o.speech_encoder = WhisperModel(whisper).encoder
    beats_cfg = {k: getattr(cfg.beats, k) for k in cfg.beats.__dataclass_fields__}
    o.beats = BEATs(BEATsConfig(beats_cfg))
    llama = LlamaConfig(
        vocab_size=cfg.llm.vocab_size,
        hidden_size=cfg.llm.hidden_size,
        intermediate_size=cfg.llm.intermediate_size,
        num_hidden_layers=cfg.llm.layers,
        num_attention_heads=cfg.llm.heads,
        num_key_value_heads=cfg.llm.kv_heads,
        rms_norm_eps=cfg.llm.rms_norm_eps,
        max_position_embeddings=cfg.llm.max_position_embeddings,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    lora = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        inference_mode=False,
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=list(cfg.lora.targets),
    )
    o.llama_model = get_peft_model(LlamaForCausalLM(llama), lora)
    width = cfg.visual_qformer.hidden_size
    o.speech_pre_qformer_proj = nn.Linear(cfg.speech.d_model, width)
    o.beats_pre_qformer_proj = nn.Linear(cfg.beats.encoder_embed_dim, width)
    o.visual_hidden_size = width * 3
    o.ln_video = nn.LayerNorm(o.visual_hidden_size)
    o.video_frame_position_embedding = nn.Embedding(cfg.sync.position_table, o.visual_hidden_size)
    o.num_video_query_token = cfg.sync.num_queries
    o.video_Qformer, o.video_query_tokens = init_qformer(
        cfg.sync.num_queries,
        o.visual_hidden_size,
        num_hidden_layers=cfg.sync.qformer_layers,
        causal_encoder=True,
    )
    o.video_Qformer.bert.embeddings.word_embeddings = None
    o.video_Qformer.bert.embeddings.position_embeddings = None
    for layer in o.video_Qformer.bert.encoder.layer:
        layer.output = None
        layer.intermediate = None
    o.video_Qformer.cls = None
    o.llama_proj = nn.Linear(av.hidden_size * 2, cfg.llm.hidden_size)
    low = int(cfg.sync.num_queries * cfg.sync.low_groupsize / cfg.sync.groupsize)
    _, o.low_query_tokens = init_qformer(low, o.visual_hidden_size, num_hidden_layers=2, causal_encoder=True)
    # Aliases the official constructor sets up for alignmode 2.
    o.joint_Qformer, o.joint_query_tokens = o.video_Qformer, o.video_query_tokens
    o.llama_proj_joint, o.ln_joint = o.llama_proj, o.ln_video
    o.joint_frame_position_embedding = o.video_frame_position_embedding
    # Settings from config/test.yaml.
    o.use_blip = o.instructblip = o.use_whisper = o.use_beats = o.early_align = True
    o.instructblip_video = o.speech_qformer = o.pure_aud = o.sin_pos = o.bilinear_pooling = False
    o.xsegalign = o.add_time = o.ext_same_qformer = o.use_llama2 = False
    o.ext_same_qformer = True
    o.alignmode, o.groupsize, o.low_groupsize = 2, cfg.sync.groupsize, cfg.sync.low_groupsize
    o.ext_groupsize = o.high_groupsize = None
    o.video_window_size = 240
    o.use_qformer = "true"
    o.device = "cpu"
    o.args = {"use_lora": "true"}
    o.PROMPT_START = "USER: <Img>"
    o.llama_tokenizer = CharTokenizerShim()
    o.prompt = json.loads((root / "prompt" / "alignment_speech_multitask.json").read_text(encoding="utf-8"))
    o.training = False
    generator = torch.Generator().manual_seed(seed + 1)
    for module in _modules(o):
        module.eval()
        with torch.no_grad():
            for param in module.parameters():
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
    with torch.no_grad():
        for tokens in (o.query_tokens, o.video_query_tokens, o.low_query_tokens):
            tokens.add_(0.05 * torch.randn(tokens.shape, generator=generator))
    return o


def _modules(o: types.SimpleNamespace) -> list[Any]:
    names = [
        "visual_encoder",
        "ln_vision",
        "Qformer",
        "speech_encoder",
        "beats",
        "llama_model",
        "speech_pre_qformer_proj",
        "beats_pre_qformer_proj",
        "ln_video",
        "video_frame_position_embedding",
        "video_Qformer",
        "llama_proj",
    ]
    return [getattr(o, n) for n in names]


def official_state_dict(o: types.SimpleNamespace) -> dict[str, Any]:
    """The official model's state dict names for the namespace's modules (first registered alias)."""
    state: dict[str, Any] = {}
    prefixes = {
        "visual_encoder": o.visual_encoder,
        "ln_vision": o.ln_vision,
        "Qformer": o.Qformer,
        "speech_encoder": o.speech_encoder,
        "beats": o.beats,
        "llama_model": o.llama_model,
        "speech_pre_qformer_proj": o.speech_pre_qformer_proj,
        "beats_pre_qformer_proj": o.beats_pre_qformer_proj,
        "ln_video": o.ln_video,
        "video_frame_position_embedding": o.video_frame_position_embedding,
        "video_Qformer": o.video_Qformer,
        "llama_proj": o.llama_proj,
    }
    for prefix, module in prefixes.items():
        for key, value in module.state_dict().items():
            state[f"{prefix}.{key}"] = value
    state["query_tokens"] = o.query_tokens.data
    state["video_query_tokens"] = o.video_query_tokens.data
    state["low_query_tokens"] = o.low_query_tokens.data
    return state


def run(root: Path, seconds: float, tolerance: float, seed: int) -> int:
    """Compare the two implementations and print the differences; returns the exit status."""
    import numpy as np
    import torch

    from reference_models.video_salmonn import (
        CharInstructionTokenizer,
        DecodeOptions,
        build_model,
        diversity_loss,
        get_preset,
        hf_generate,
        load_official_tensors,
    )
    from reference_models.video_salmonn._preprocess import AVSample

    official = import_official(root)
    cfg = get_preset("tiny")
    o = build_official(official, cfg, root, seed)
    ours, _ = build_model(cfg)
    report = load_official_tensors(
        ours, official_state_dict(o), path="<official modules>", role="official", required=lambda k: True
    )
    print(
        f"weights: {len(report.loaded)} loaded, {len(report.missing)} missing, {len(report.unexpected)} unexpected"
    )

    rng = np.random.default_rng(seed)
    steps = int(seconds * 2)
    sample = AVSample(
        prompt="Describe the video together with the audio in detail",
        audio=(0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32),
        frames=rng.integers(0, 256, size=(steps, 48, 64, 3), dtype=np.uint8),
        timestamps=np.arange(steps) * 0.5,
        duration=seconds,
        source_fps=2.0,
    )
    batch = ours.prepare([sample])
    assert batch.mel is not None and batch.pixels is not None
    instruction = CharInstructionTokenizer()([sample.prompt], cfg.instruction_max_length)
    inst = types.SimpleNamespace(input_ids=instruction.input_ids, attention_mask=instruction.attention_mask)
    official.data.load_and_transform_video_data_blip = lambda paths, device: (
        batch.pixels[None],
        torch.ones(1, batch.pixels.shape[0], dtype=torch.long),
    )
    cls = official.OpenLLAMAPEFTModel
    diffs: dict[str, float] = {}
    with torch.no_grad():
        o_video, o_mask, _ = cls.encode_video(o, [None], inst, earlyalign=True)
        o_audio, _, _ = cls.encode_audio(
            o, [batch.mel[0]], inst, raw_audios=[[batch.waveforms[0].numpy()]], earlyalign=True
        )
        o_speech = o.speech_encoder(batch.mel, return_dict=True).last_hidden_state
        o_beats = o.beats.extract_features(
            batch.waveforms[0][None],
            padding_mask=torch.zeros(1, batch.waveforms[0].shape[0], dtype=torch.bool),
            feature_only=True,
        )[0]
        o_llama_in, _, o_joint = cls.sequence_align_v2(
            o, o_video, o_mask, o_audio, torch.tensor([[1, 1]]), instruction_inds=inst
        )
        high = torch.split(o_joint, o_joint.shape[-1] // 2, dim=-1)[1]
        o_div = cls.calc_diversity_loss(o, high.reshape(-1, cfg.sync.num_queries, high.shape[-1]))
        conversation = [[{"from": "human", "value": sample.prompt}, {"from": "gpt", "value": "None"}]]
        ids, targets, mask, _ = official.process_batch_instance(
            o.llama_tokenizer, conversation, 512, generate=True, prompt=o.prompt
        )
        o_embeds, _, o_att, _ = cls.prompt_wrap(o, o_llama_in, ids, targets, mask, audio_embs=None)
        o_logits = o.llama_model(inputs_embeds=o_embeds, attention_mask=o_att).logits

        speech = ours.encode_speech(batch)
        beats = ours.encode_audio(batch)
        visual = ours.encode_visual(batch)
        out = ours.qformer(batch, speech, beats, visual)
        tokens = ours.project(out)
        embeds = ours.build_inputs_embeds(tokens, batch.prompts)
        logits = ours.llm(inputs_embeds=embeds.inputs_embeds, attention_mask=embeds.attention_mask).logits
        assert speech is not None and beats is not None and visual is not None

        diffs["whisper encoder"] = _diff(o_speech, speech)
        diffs["beats encoder"] = _diff(o_beats, beats)
        diffs["instructblip q-former"] = _diff(
            o_video.view(-1, cfg.visual_qformer.num_queries, visual.shape[-1]), visual
        )
        diffs["audio features (projected)"] = _diff(o_audio, ours.sync.audio_features(speech, beats))
        diffs["av q-former output"] = _diff(o_joint.reshape(1, -1, o_joint.shape[-1])[0], out.tokens[0])
        diffs["projection"] = _diff(o_llama_in[0], tokens[0])
        diffs["llm inputs_embeds"] = _diff(o_embeds, embeds.inputs_embeds)
        diffs["llm logits"] = _diff(o_logits, logits)
        diffs["diversity loss"] = _diff(o_div, diversity_loss(out.high))

        options = DecodeOptions(max_new_tokens=32, repetition_penalty=1.5)
        o_tokens = o.llama_model.generate(
            inputs_embeds=o_embeds,
            max_new_tokens=32,
            do_sample=False,
            num_beams=1,
            repetition_penalty=1.5,
            pad_token_id=2,
        )
        tokens_ours = hf_generate(ours.llm, embeds.inputs_embeds, embeds.attention_mask, options, 2, 2)
    width = max(len(k) for k in diffs)
    for key, value in diffs.items():
        print(f"{key:<{width}}  max |diff| = {value:.3e}")
    n = min(o_tokens.shape[1], tokens_ours.shape[1])
    agree = int((o_tokens[0, :n] == tokens_ours[0, :n]).all()) and o_tokens.shape[1] == tokens_ours.shape[1]
    print(f"greedy tokens: official {o_tokens[0].tolist()}")
    print(f"               ours     {tokens_ours[0].tolist()}  ({'identical' if agree else 'DIFFERENT'})")
    failed = [k for k, v in diffs.items() if v > tolerance]
    if failed or not agree or report.missing:
        print(f"FAIL (tolerance {tolerance:g}): {', '.join(failed) or 'tokens/weights'}")
        return 1
    print(f"OK: every stage within {tolerance:g}")
    return 0


def _diff(a: Any, b: Any) -> float:
    return float((a.float() - b.float()).abs().max())


def main(argv: list[str] | None = None) -> int:
    """Command line entry point.

    Args:
        argv: Arguments (``sys.argv[1:]`` when None).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--official", required=True, type=Path, help="checkout of bytedance/SALMONN, branch videosalmonn"
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="length of the synthetic audio-visual sample"
    )
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed absolute difference")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.official / "model" / "openllama.py").is_file():
        parser.error(
            f"{args.official}: not a checkout of the videosalmonn branch (model/openllama.py missing)"
        )
    sys.path.insert(0, str(REPO_ROOT))
    return run(args.official.resolve(), args.seconds, args.tolerance, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
