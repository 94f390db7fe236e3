"""Parity of ``reference_models.video_salmonn`` with the official video-SALMONN / FAVOR code, at tiny size.

Not run in CI (the official code cannot be part of this repository). It builds the official
modules at the ``tiny`` preset's sizes with seeded random weights, copies those weights into our
model through the official key layout (the same path real checkpoints take), feeds both the same
30 s audio-visual sample, and prints the largest absolute difference at every stage: Whisper,
BEATs, the InstructBLIP Q-Former, the synchronised audio features, the multi-resolution causal
Q-Former, the LLM input embeddings, the LLM logits, the diversity loss, and the greedy tokens.

Requirements: a checkout of bytedance/SALMONN on branch ``videosalmonn`` (or of
BriansIDP/AudioVisualLLM for ``--variant favor``) and, in the Python that runs this script, that
code's pins (``transformers==4.40.1``, ``peft==0.5.0``) next to torch, torchaudio and soundfile.
Modules the compared path does not use (ImageBind's video reader, timm, deepspeed, the ``data``
package) are replaced by stand-ins; pixels and log-mel features come from our preprocessing, so
those transforms are checked by the unit tests instead.

Usage::

    python scripts/parity_video_salmonn.py --official /path/to/SALMONN [--seconds 30] [--tolerance 1e-4]
    python scripts/parity_video_salmonn.py --variant favor --official /path/to/AudioVisualLLM

Exit status 0 when every difference is within the tolerance.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import importlib.util
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
    for name in ("deepspeed", "ipdb"):  # FAVOR's header imports them
        if importlib.util.find_spec(name) is None:
            _stub(name)
    try:
        import transformers.deepspeed  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure: replace the training-only module
        _stub("transformers.deepspeed", HfDeepSpeedConfig=object)
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
    as ``self`` (attribute names and aliases as the official constructor sets them)."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from torch import nn
    from transformers import BertConfig, LlamaConfig, WhisperConfig

    # The official checkout's own modules (importable after import_official).
    VisionTransformer = importlib.import_module("model.eva_vit").VisionTransformer
    LlamaForCausalLM = importlib.import_module("model.modeling_llama").LlamaForCausalLM
    WhisperModel = importlib.import_module("model.modeling_whisper").WhisperModel

    torch.manual_seed(seed)
    vq, av = cfg.visual_qformer, cfg.av_qformer
    bert = BertConfig(
        hidden_size=vq.hidden_size,
        num_hidden_layers=vq.layers,
        num_attention_heads=vq.heads,
        intermediate_size=vq.intermediate_size,
        vocab_size=vq.vocab_size,
        max_position_embeddings=vq.max_position_embeddings,
    )

    def bert_av() -> Any:
        return BertConfig(
            hidden_size=av.hidden_size,
            num_hidden_layers=12,
            num_attention_heads=av.heads,
            intermediate_size=av.intermediate_size,
            vocab_size=vq.vocab_size,
        )

    configs = iter([bert, bert_av(), bert_av()])
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
    o.use_beats = cfg.beats is not None
    if o.use_beats:
        beats_module = importlib.import_module("model.beats")
        beats_cfg = {k: getattr(cfg.beats, k) for k in cfg.beats.__dataclass_fields__}
        o.beats = beats_module.BEATs(beats_module.BEATsConfig(beats_cfg))
        o.beats_pre_qformer_proj = nn.Linear(cfg.beats.encoder_embed_dim, width)
    o.visual_hidden_size = width * (3 if o.use_beats else 2)
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
    resolutions = 2 if cfg.sync.low_groupsize is not None else 1
    o.llama_proj = nn.Linear(av.hidden_size * resolutions, cfg.llm.hidden_size)
    o.low_groupsize = cfg.sync.low_groupsize
    if o.low_groupsize is not None:
        low = int(cfg.sync.num_queries * cfg.sync.low_groupsize / cfg.sync.groupsize)
        _, o.low_query_tokens = init_qformer(
            low, o.visual_hidden_size, num_hidden_layers=2, causal_encoder=True
        )
    # Aliases the official constructor sets up for alignmode 2.
    o.joint_Qformer, o.joint_query_tokens = o.video_Qformer, o.video_query_tokens
    o.llama_proj_joint, o.ln_joint = o.llama_proj, o.ln_video
    o.joint_frame_position_embedding = o.video_frame_position_embedding
    # Settings of config/test.yaml (video-SALMONN) and of FAVOR's inference.py.
    o.use_blip = o.instructblip = o.use_whisper = o.early_align = o.ext_same_qformer = True
    o.instructblip_video = o.speech_qformer = o.pure_aud = o.sin_pos = o.bilinear_pooling = False
    o.xsegalign = o.add_time = o.use_llama2 = o.training = False
    o.alignmode, o.groupsize = 2, cfg.sync.groupsize
    o.ext_groupsize = o.high_groupsize = None
    o.video_window_size = 240
    o.use_qformer = "true"
    o.device = "cpu"
    o.args = {"use_lora": "true"}
    o.PROMPT_START = "USER: <Img>"
    o.llama_tokenizer = CharTokenizerShim()
    prompts = root / "prompt" / "alignment_speech_multitask.json"
    o.prompt = json.loads(prompts.read_text(encoding="utf-8")) if prompts.is_file() else {}
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _, module in _named_modules(o):
            module.eval()
            for param in module.parameters():
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
        for _, tokens in _named_tokens(o):
            tokens.add_(0.05 * torch.randn(tokens.shape, generator=generator))
    return o


_MODULES = (
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
)


def _named_modules(o: types.SimpleNamespace) -> list[tuple[str, Any]]:
    return [(n, getattr(o, n)) for n in _MODULES if hasattr(o, n)]


def _named_tokens(o: types.SimpleNamespace) -> list[tuple[str, Any]]:
    names = ("query_tokens", "video_query_tokens", "low_query_tokens")
    return [(n, getattr(o, n)) for n in names if hasattr(o, n)]


def official_state_dict(o: types.SimpleNamespace) -> dict[str, Any]:
    """The namespace's weights under the official model's state dict names."""
    state: dict[str, Any] = {}
    for prefix, module in _named_modules(o):
        for key, value in module.state_dict().items():
            state[f"{prefix}.{key}"] = value
    for name, tokens in _named_tokens(o):
        state[name] = tokens.data
    return state


def tiny_config(variant: str) -> Any:
    """The tiny preset, or for FAVOR the same sizes with FAVOR's layout (no BEATs, one resolution)."""
    from reference_models.video_salmonn import apply_overrides, get_preset

    cfg = get_preset("tiny")
    if variant == "favor":
        overrides = {
            "beats": None,
            "sync": {"use_beats": False, "low_groupsize": None, "num_queries": 8},
            "media": {"min_audio_seconds": 0.0},
        }
        cfg = apply_overrides(cfg, overrides, "favor")
    return cfg


def official_forward(
    official: types.ModuleType, o: types.SimpleNamespace, batch: Any, inst: Any, prompt: str, variant: str
) -> dict[str, Any]:
    """The official encoders, synchronisation, Q-Former and LLM inputs for one prepared sample."""
    import torch

    cls = official.OpenLLAMAPEFTModel
    out: dict[str, Any] = {}
    mel = batch.mel[0]
    out["video"], mask, _ = cls.encode_video(o, [None], inst, earlyalign=True)
    out["speech"] = o.speech_encoder(batch.mel, return_dict=True).last_hidden_state
    if variant == "favor":
        out["audio"], _ = cls.encode_audio(o, [mel], inst, earlyalign=True)
    else:
        wave = batch.waveforms[0]
        out["audio"], _, _ = cls.encode_audio(o, [mel], inst, raw_audios=[[wave.numpy()]], earlyalign=True)
        no_padding = torch.zeros(1, wave.shape[0], dtype=torch.bool)
        out["beats"] = o.beats.extract_features(wave[None], padding_mask=no_padding, feature_only=True)[0]
    masks = torch.tensor([[1, 1]])
    out["llama_in"], _, joint = cls.sequence_align_v2(
        o, out["video"], mask, out["audio"], masks, instruction_inds=inst
    )
    queries = o.num_video_query_token
    if o.low_groupsize is not None:
        high = torch.split(joint, joint.shape[-1] // 2, dim=-1)[1]
        out["joint"] = joint.reshape(-1, joint.shape[-1])
    else:
        high = joint
        out["joint"] = joint.reshape(-1, joint.shape[-1])
    out["diversity"] = cls.calc_diversity_loss(o, high.reshape(-1, queries, high.shape[-1]))
    if variant == "favor":
        inputs = {"prompt": prompt, "modality_embeds": [([out["llama_in"]], {})]}
        out["embeds"], _ = cls.prepare_generation_embedding(o, inputs)
        out["attention"] = torch.ones(out["embeds"].shape[:2], dtype=torch.long)
    else:
        conversation = [[{"from": "human", "value": prompt}, {"from": "gpt", "value": "None"}]]
        ids, targets, text_mask, _ = official.process_batch_instance(
            o.llama_tokenizer, conversation, 512, generate=True, prompt=o.prompt
        )
        out["embeds"], _, out["attention"], _ = cls.prompt_wrap(o, out["llama_in"], ids, targets, text_mask)
    out["logits"] = o.llama_model(inputs_embeds=out["embeds"], attention_mask=out["attention"]).logits
    return out


def run(root: Path, variant: str, seconds: float, tolerance: float, seed: int) -> int:
    """Compare the two implementations and print the differences; returns the exit status."""
    import numpy as np
    import torch

    from reference_models.video_salmonn import (
        CharInstructionTokenizer,
        DecodeOptions,
        build_model,
        diversity_loss,
        hf_generate,
        load_official_tensors,
    )
    from reference_models.video_salmonn._preprocess import AVSample

    official = import_official(root)
    cfg = tiny_config(variant)
    o = build_official(official, cfg, root, seed)
    ours, _ = build_model(cfg)
    report = load_official_tensors(
        ours, official_state_dict(o), path="<official modules>", role="official", required=lambda k: True
    )
    print(
        f"{variant}: weights {len(report.loaded)} loaded, {len(report.missing)} missing, {len(report.unexpected)} unexpected"
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
    pixels = batch.pixels
    official.data.load_and_transform_video_data_blip = lambda paths, device: (
        pixels[None],
        torch.ones(1, pixels.shape[0], dtype=torch.long),
    )
    diffs: dict[str, float] = {}
    options = DecodeOptions(max_new_tokens=32, repetition_penalty=1.5)
    with torch.no_grad():
        ref = official_forward(official, o, batch, inst, sample.prompt, variant)
        speech = ours.encode_speech(batch)
        beats = ours.encode_audio(batch)
        visual = ours.encode_visual(batch)
        assert speech is not None and visual is not None
        out = ours.qformer(batch, speech, beats, visual)
        tokens = ours.project(out)
        embeds = ours.build_inputs_embeds(tokens, batch.prompts)
        logits = ours.llm(inputs_embeds=embeds.inputs_embeds, attention_mask=embeds.attention_mask).logits

        diffs["whisper encoder"] = _diff(ref["speech"], speech)
        if beats is not None:
            diffs["beats encoder"] = _diff(ref["beats"], beats)
        diffs["instructblip q-former"] = _diff(ref["video"].view(visual.shape), visual)
        diffs["audio features (projected)"] = _diff(ref["audio"], ours.sync.audio_features(speech, beats))
        diffs["av q-former output"] = _diff(ref["joint"], out.tokens[0])
        diffs["projection"] = _diff(ref["llama_in"].reshape(tokens[0].shape), tokens[0])
        diffs["llm inputs_embeds"] = _diff(ref["embeds"], embeds.inputs_embeds)
        diffs["llm logits"] = _diff(ref["logits"], logits)
        diffs["diversity loss"] = _diff(ref["diversity"], diversity_loss(out.high))
        o_tokens = o.llama_model.generate(
            inputs_embeds=ref["embeds"],
            max_new_tokens=options.max_new_tokens,
            do_sample=False,
            num_beams=1,
            repetition_penalty=options.repetition_penalty,
            pad_token_id=2,
        )
        tokens_ours = hf_generate(ours.llm, embeds.inputs_embeds, embeds.attention_mask, options, 2, 2)
    width = max(len(k) for k in diffs)
    for key, value in diffs.items():
        print(f"{key:<{width}}  max |diff| = {value:.3e}")
    agree = o_tokens.shape == tokens_ours.shape and bool((o_tokens == tokens_ours).all())
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
        "--official",
        required=True,
        type=Path,
        help="checkout of bytedance/SALMONN (branch videosalmonn) or, for --variant favor, BriansIDP/AudioVisualLLM",
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="length of the synthetic audio-visual sample"
    )
    parser.add_argument("--variant", choices=("video-salmonn", "favor"), default="video-salmonn")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed absolute difference")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.official / "model" / "openllama.py").is_file():
        parser.error(f"{args.official}: not a checkout of the official code (model/openllama.py missing)")
    sys.path.insert(0, str(REPO_ROOT))
    return run(args.official.resolve(), args.variant, args.seconds, args.tolerance, args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
