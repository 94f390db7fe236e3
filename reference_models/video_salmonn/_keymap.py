"""Parameter names: the official layout (the official model's ``state_dict``) and ours.

The official model registers shared modules under several names (``video_Qformer``,
``joint_Qformer`` and ``speech_Qformer`` are one module; likewise ``ln_video``/``ln_joint``,
``llama_proj``/``llama_proj_joint``...), so any alias maps to our single module; exports use
the first registered name, which is the one the released delta checkpoint stores.

Each rule pairs an official pattern with ours; ``{i}`` is a layer index and ``{p}`` a parameter
name (``weight``/``bias``). Rules are tried in order and work in both directions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = r"(?:weight|bias)"


@dataclass(frozen=True)
class _Rule:
    official: str
    internal: str
    aliases: tuple[str, ...] = ()
    export: bool = True

    def compile(self, pattern: str) -> re.Pattern[str]:
        body = re.escape(pattern).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{p\}", f"(?P<p>{_PARAM})")
        body = body.replace(r"\{rest\}", r"(?P<rest>.+)")
        return re.compile(f"^{body}$")

    @staticmethod
    def fill(pattern: str, match: re.Match[str]) -> str:
        out = pattern
        for name, value in match.groupdict().items():
            out = out.replace("{" + name + "}", value)
        return out


def _bert_rules() -> list[_Rule]:
    rules = [
        _Rule("embeddings.word_embeddings.weight", "embeddings.word.weight"),
        _Rule("embeddings.position_embeddings.weight", "embeddings.position.weight"),
        _Rule("embeddings.LayerNorm.{p}", "embeddings.norm.{p}"),
    ]
    for official, ours in (
        ("attention", "self_attn"),
        ("crossattention", "cross_attn"),
        ("encoder_causal_attention", "frame_attn"),
    ):
        for proj in ("query", "key", "value"):
            rules.append(
                _Rule(
                    f"encoder.layer.{{i}}.{official}.self.{proj}.{{p}}", f"layers.{{i}}.{ours}.{proj}.{{p}}"
                )
            )
        rules.append(
            _Rule(f"encoder.layer.{{i}}.{official}.output.dense.{{p}}", f"layers.{{i}}.{ours}.out.{{p}}")
        )
        rules.append(
            _Rule(f"encoder.layer.{{i}}.{official}.output.LayerNorm.{{p}}", f"layers.{{i}}.{ours}.norm.{{p}}")
        )
    for suffix, ours in (("", "text_ffn"), ("_query", "query_ffn")):
        rules += [
            _Rule(
                f"encoder.layer.{{i}}.intermediate{suffix}.dense.{{p}}", f"layers.{{i}}.{ours}.fc_in.{{p}}"
            ),
            _Rule(f"encoder.layer.{{i}}.output{suffix}.dense.{{p}}", f"layers.{{i}}.{ours}.fc_out.{{p}}"),
            _Rule(f"encoder.layer.{{i}}.output{suffix}.LayerNorm.{{p}}", f"layers.{{i}}.{ours}.norm.{{p}}"),
        ]
    return rules


def _beats_rules() -> list[_Rule]:
    rules = [
        _Rule("patch_embedding.{p}", "patch_embed.{p}"),
        _Rule("layer_norm.{p}", "patch_norm.{p}"),
        _Rule("post_extract_proj.{p}", "input_proj.{p}"),
        _Rule(
            "encoder.pos_conv.0.weight_g",
            "pos_conv.weight_g",
            ("encoder.pos_conv.0.parametrizations.weight.original0",),
        ),
        _Rule(
            "encoder.pos_conv.0.weight_v",
            "pos_conv.weight_v",
            ("encoder.pos_conv.0.parametrizations.weight.original1",),
        ),
        _Rule("encoder.pos_conv.0.bias", "pos_conv.bias"),
        _Rule("encoder.layer_norm.{p}", "encoder_norm.{p}"),
        _Rule("encoder.layers.0.self_attn.relative_attention_bias.weight", "relative_bias.weight"),
        _Rule("encoder.layers.{i}.self_attn.grep_linear.{p}", "layers.{i}.attn.gate.{p}"),
        _Rule("encoder.layers.{i}.self_attn.grep_a", "layers.{i}.attn.gate_scale"),
        _Rule("encoder.layers.{i}.self_attn_layer_norm.{p}", "layers.{i}.attn_norm.{p}"),
        _Rule("encoder.layers.{i}.final_layer_norm.{p}", "layers.{i}.ffn_norm.{p}"),
        _Rule("encoder.layers.{i}.fc1.{p}", "layers.{i}.fc1.{p}"),
        _Rule("encoder.layers.{i}.fc2.{p}", "layers.{i}.fc2.{p}"),
    ]
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        rules.append(_Rule(f"encoder.layers.{{i}}.self_attn.{proj}.{{p}}", f"layers.{{i}}.attn.{proj}.{{p}}"))
    return rules


def _top_rules() -> list[_Rule]:
    rules: list[_Rule] = []
    for rule in _bert_rules():
        rules.append(_Rule("Qformer.bert." + rule.official, "visual.qformer." + rule.internal))
        rules.append(
            _Rule(
                "video_Qformer.bert." + rule.official,
                "sync.qformer." + rule.internal,
                ("joint_Qformer.bert." + rule.official, "speech_Qformer.bert." + rule.official),
            )
        )
    for rule in _beats_rules():
        rules.append(
            _Rule(
                "beats." + rule.official, "audio." + rule.internal, tuple("beats." + a for a in rule.aliases)
            )
        )
    rules += [
        _Rule("query_tokens", "visual.query_tokens"),
        _Rule("ln_vision.{p}", "visual.ln_vision.{p}"),
        _Rule("visual_encoder.{rest}", "visual.vit.{rest}"),
        _Rule("speech_encoder.{rest}", "speech.encoder.{rest}"),
        _Rule("speech_pre_qformer_proj.{p}", "sync.speech_proj.{p}"),
        _Rule("beats_pre_qformer_proj.{p}", "sync.audio_proj.{p}"),
        _Rule("ln_video.{p}", "sync.norm.{p}", ("ln_joint.{p}", "ln_speech.{p}")),
        _Rule(
            "video_frame_position_embedding.weight",
            "sync.position.weight",
            ("joint_frame_position_embedding.weight",),
        ),
        _Rule("video_query_tokens", "sync.query_tokens", ("joint_query_tokens", "speech_query_tokens")),
        _Rule("low_query_tokens", "sync.low_query_tokens"),
        _Rule("llama_proj.{p}", "proj.{p}", ("llama_proj_joint.{p}", "llama_proj_speech.{p}")),
        # peft 0.5 keeps the base weight on the LoRA layer itself; newer peft under base_layer.
        _Rule(
            "llama_model.base_model.model.{rest}.lora_A.default.weight",
            "llm.{rest}.lora_A.weight",
        ),
        _Rule(
            "llama_model.base_model.model.{rest}.lora_B.default.weight",
            "llm.{rest}.lora_B.weight",
        ),
        _Rule("llama_model.base_model.model.{rest}.base_layer.{p}", "llm.{rest}.{p}", export=False),
        _Rule("llama_model.base_model.model.{rest}", "llm.{rest}", ("llama_model.{rest}",)),
    ]
    return rules


# Official parameters that exist in the released files but that the released forward never uses.
_IGNORED = [
    (
        re.compile(r"^(low_Qformer|high_Qformer)\."),
        "built by the official code but unused (the low-resolution windows use the shared Q-Former)",
    ),
    (re.compile(r"^high_query_tokens$"), "unused by the released configuration"),
    (re.compile(r"^(Qformer|video_Qformer|joint_Qformer|speech_Qformer)\.cls\."), "masked-LM head, unused"),
    (
        re.compile(r"^(Qformer|video_Qformer|joint_Qformer|speech_Qformer)\.bert\.embeddings\.position_ids$"),
        "buffer, rebuilt",
    ),
    (re.compile(r"^llm_proj\."), "InstructBLIP's own LLM projection, not used by video-SALMONN"),
    (re.compile(r"^beats\.predictor\."), "BEATs classification head, features only are used"),
    (
        re.compile(r"^beats\.encoder\.layers\.[1-9]\d*\.self_attn\.relative_attention_bias\."),
        "shared copy of layer 0's bias",
    ),
    (re.compile(r"rotary_emb\.inv_freq$"), "buffer, rebuilt"),
]

_RULES = _top_rules()
_OFFICIAL = [(rule, rule.compile(p)) for rule in _RULES for p in (rule.official, *rule.aliases)]
_INTERNAL = [(rule, rule.compile(rule.internal)) for rule in _RULES if rule.export]


@dataclass(frozen=True)
class MappedKey:
    """Where an official key goes: ``target`` (our key) or None with the ``reason`` it is skipped."""

    target: str | None
    reason: str | None = None


def official_to_internal(key: str) -> MappedKey:
    """Map one key of the official namespace to ours.

    Args:
        key: e.g. ``video_Qformer.bert.encoder.layer.0.crossattention.self.query.weight``.

    Returns:
        The target key, or None with a reason when the official key is known but unused. A key
        that matches nothing maps to None with reason ``unknown``.
    """
    for pattern, reason in _IGNORED:
        if pattern.search(key):
            return MappedKey(None, reason)
    for rule, pattern in _OFFICIAL:
        match = pattern.match(key)
        if match:
            return MappedKey(rule.fill(rule.internal, match))
    return MappedKey(None, "unknown")


def internal_to_official(key: str) -> str:
    """Map one of our keys to the official name (the first registered alias).

    Raises:
        KeyError: The key has no official counterpart.
    """
    for rule, pattern in _INTERNAL:
        match = pattern.match(key)
        if match:
            return rule.fill(rule.official, match)
    raise KeyError(f"no official name for {key!r}")
