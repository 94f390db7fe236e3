"""Reading the official checkpoint files safely and loading them into the model.

Files are read with safetensors or ``torch.load(weights_only=True)``: tensors and plain
containers only, never code. Keys are mapped from the official layout (see ``_keymap``); every
file's missing, unexpected and ignored keys are reported by name, and a shape mismatch or a
file that is not a checkpoint stops loading with an error naming the file and the key.

Official files and where their keys go:

=====================  =================================================  =====================
file                   content                                            our modules
=====================  =================================================  =====================
eva_path               ``eva_vit_g.pth``: the ViT's state dict            ``visual.vit``
instructblip_path      ``{"model": ...}``: Qformer, query_tokens,         ``visual.qformer``,
                       ln_vision (llm_proj ignored)                       ``visual.ln_vision``
beats_path             ``{"cfg": ..., "model": ...}``                     ``audio``
whisper_path           Hugging Face folder (``model.encoder.*``)          ``speech.encoder``
llm_path               Hugging Face folder of Vicuna                      ``llm`` (base weights)
checkpoint             the delta: Q-Former side, projections, LoRA        ``sync``, ``proj``,
                                                                          ``llm`` LoRA
=====================  =================================================  =====================
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from reference_models.video_salmonn._keymap import internal_to_official, official_to_internal


class CheckpointError(ValueError):
    """A checkpoint cannot be used. The message names the file, the key (when one is at fault)
    and the reason.

    Args:
        path: The file.
        reason: What is wrong.
        key: The offending key, if any.
    """

    def __init__(self, path: str | Path, reason: str, key: str | None = None) -> None:
        self.path = str(path)
        self.key = key
        self.reason = reason
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {reason}")


@dataclass
class LoadReport:
    """What loading one file did.

    Args:
        file: The file.
        role: Which argument it came from (``checkpoint``, ``eva_path``...).
        loaded: Our keys that received a value.
        missing: Our keys this file should have provided but did not.
        unexpected: Official keys that match nothing in the model.
        ignored: Official keys known to be unused, with the reason.
    """

    file: str
    role: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.role} {self.file}: {len(self.loaded)} loaded, {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.ignored)} ignored"
        )


def read_checkpoint(path: str | Path, role: str) -> Any:
    """Read a checkpoint file without executing code.

    Args:
        path: ``.safetensors`` or a ``torch.save`` file.
        role: The argument it came from, for messages.

    Raises:
        CheckpointError: Missing file, a folder, a file that is not a checkpoint, or one that
            holds pickled objects other than tensors and plain containers.
    """
    file = Path(path)
    if not file.exists():
        raise CheckpointError(file, f"{role}: file not found")
    if file.is_dir():
        raise CheckpointError(file, f"{role}: expected a checkpoint file, got a folder")
    if file.suffix == ".safetensors":
        try:
            return load_file(str(file))
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not a checkpoint"
            raise CheckpointError(file, f"{role}: not a readable safetensors file ({exc})") from None
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        lines = message.splitlines() or [""]
        detail = next((ln.strip() for ln in lines if "Unsupported global" in ln), "")
        if detail:
            raise CheckpointError(
                file,
                f"{role}: refused to load: the file holds pickled objects other than tensors and plain "
                f"containers ({detail}); re-save its state dict as safetensors",
            ) from None
        reason = next((ln.strip() for ln in lines if "Unsupported" in ln), lines[0])
        raise CheckpointError(
            file, f"{role}: not a PyTorch or safetensors checkpoint ({reason[:200]})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a file that is not a checkpoint
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(
            file, f"{role}: not a PyTorch or safetensors checkpoint ({type(exc).__name__}: {first})"
        ) from None


def as_state_dict(
    obj: Any, path: str | Path, role: str, container: str | None = None
) -> dict[str, torch.Tensor]:
    """The tensor mapping inside a checkpoint object.

    Args:
        obj: What :func:`read_checkpoint` returned.
        path: The file (for messages).
        role: The argument (for messages).
        container: Key of the state dict inside the object (``model``), if it is wrapped.

    Raises:
        CheckpointError: Not a mapping, the container key is absent, or a value is not a tensor.
    """
    if container is not None and isinstance(obj, dict) and container in obj:
        obj = obj[container]
    elif (
        container is not None
        and isinstance(obj, dict)
        and not any(isinstance(v, torch.Tensor) for v in obj.values())
    ):
        raise CheckpointError(
            path, f"{role}: expected the weights under {container!r}; keys are {sorted(obj)[:8]}"
        )
    if not isinstance(obj, dict):
        raise CheckpointError(
            path, f"{role}: expected a mapping of names to tensors, got {type(obj).__name__}"
        )
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(
                path, f"{role}: value is {type(value).__name__}, not a tensor", key=str(key)
            )
    return obj


def load_official_tensors(
    model: nn.Module,
    tensors: dict[str, torch.Tensor],
    *,
    path: str | Path,
    role: str,
    prefix: str = "",
    required: Callable[[str], bool] | None = None,
    strict: bool = True,
    ignore_beyond_depth: tuple[str, int] | None = None,
) -> LoadReport:
    """Copy official-layout tensors into ``model``.

    Args:
        model: The VideoSalmonn model.
        tensors: Official keys (without ``prefix``) to tensors.
        path: Their file (for messages).
        role: The argument (for messages).
        prefix: Prepended to each key to get the official model's namespace (``beats.``...).
        required: Which of our keys this file must provide.
        strict: Raise when a required key is missing.
        ignore_beyond_depth: (our block prefix, depth): blocks at or past ``depth`` are ignored
            (LAVIS builds EVA with 39 of the 40 stored blocks).

    Raises:
        CheckpointError: A shape mismatch (naming the key and both shapes), or missing required
            keys when ``strict``.
    """
    report = LoadReport(file=str(path), role=role)
    own = model.state_dict()
    seen: set[str] = set()
    for key, value in tensors.items():
        mapped = official_to_internal(prefix + key)
        if mapped.target is None:
            if mapped.reason == "unknown":
                report.unexpected.append(key)
            else:
                report.ignored[key] = mapped.reason or ""
            continue
        target = mapped.target
        if target not in own:
            if ignore_beyond_depth and _beyond_depth(target, *ignore_beyond_depth):
                report.ignored[key] = "block beyond the depth the model uses"
            else:
                report.unexpected.append(key)
            continue
        if tuple(own[target].shape) != tuple(value.shape):
            raise CheckpointError(
                path,
                f"{role}: shape mismatch: checkpoint {tuple(value.shape)} vs model {tuple(own[target].shape)} "
                f"(model key {target}); is this the checkpoint of another preset?",
                key=key,
            )
        with torch.no_grad():
            own[target].copy_(value.to(own[target].dtype))
        seen.add(target)
        report.loaded.append(target)
    if not report.loaded:
        raise CheckpointError(
            path, f"{role}: no key of this file belongs to the model; is it the right file?"
        )
    report.missing = [k for k in own if required(k) and k not in seen] if required is not None else []
    if strict and report.missing:
        shown = ", ".join(report.missing[:12]) + (" ..." if len(report.missing) > 12 else "")
        raise CheckpointError(
            path, f"{role}: {len(report.missing)} model parameters not found in this file: {shown}"
        )
    return report


def _beyond_depth(target: str, block_prefix: str, depth: int) -> bool:
    if not target.startswith(block_prefix):
        return False
    index = target[len(block_prefix) :].split(".", 1)[0]
    return index.isdigit() and int(index) >= depth


def read_hf_weights(folder: str | Path, role: str) -> dict[str, torch.Tensor]:
    """All tensors of a Hugging Face model folder (single or sharded safetensors / bin files)."""
    root = Path(folder)
    if not root.is_dir():
        raise CheckpointError(root, f"{role}: expected a Hugging Face model folder")
    files = sorted(root.glob("*.safetensors")) or sorted(root.glob("pytorch_model*.bin"))
    if not files:
        raise CheckpointError(root, f"{role}: no *.safetensors or pytorch_model*.bin weights in the folder")
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        tensors.update(as_state_dict(read_checkpoint(file, role), file, role))
    return tensors


def read_json(path: Path, role: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(path, f"{role}: config.json not found") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(path, f"{role}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(path, f"{role}: expected a JSON object")
    return data


def official_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Our state dict renamed to the official layout (first registered alias per module)."""
    out = {}
    for key, value in model.state_dict().items():
        out[internal_to_official(key)] = value.detach().cpu().contiguous()
    return out


def export_official(model: Any, folder: str | Path) -> dict[str, str]:
    """Write the model as the official files (at whatever size it has), for tests and parity.

    Args:
        model: A VideoSalmonn.
        folder: Output folder.

    Returns:
        Model-file arguments (``checkpoint``, ``eva_path``...) pointing at the written files.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    state = official_state(model)

    def take(prefix: str, strip: bool) -> dict[str, torch.Tensor]:
        return {(k[len(prefix) :] if strip else k): v for k, v in state.items() if k.startswith(prefix)}

    paths: dict[str, str] = {}
    torch.save(take("visual_encoder.", True), root / "eva_vit_g.pth")
    paths["eva_path"] = str(root / "eva_vit_g.pth")
    blip = {**take("Qformer.", False), **take("ln_vision.", False), "query_tokens": state["query_tokens"]}
    torch.save({"model": blip}, root / "instruct_blip_trimmed.pth")
    paths["instructblip_path"] = str(root / "instruct_blip_trimmed.pth")
    if model.audio is not None:
        import dataclasses

        torch.save(
            {"cfg": dataclasses.asdict(model.audio.config), "model": take("beats.", True)}, root / "beats.pt"
        )
        paths["beats_path"] = str(root / "beats.pt")
    whisper_dir = root / "whisper"
    whisper_dir.mkdir(exist_ok=True)
    model.speech.encoder.config.to_json_file(str(whisper_dir / "config.json"))
    save_file(
        {"model.encoder." + k: v for k, v in take("speech_encoder.", True).items()},
        str(whisper_dir / "model.safetensors"),
    )
    paths["whisper_path"] = str(whisper_dir)
    llm_dir = root / "llm"
    llm_dir.mkdir(exist_ok=True)
    model.llm.config.to_json_file(str(llm_dir / "config.json"))
    base = {
        k[len("llama_model.base_model.model.") :]: v
        for k, v in state.items()
        if k.startswith("llama_model.") and ".lora_" not in k
    }
    save_file(base, str(llm_dir / "model.safetensors"))
    paths["llm_path"] = str(llm_dir)
    delta = {
        k: v
        for k, v in state.items()
        if not k.startswith(
            ("visual_encoder.", "Qformer.", "ln_vision.", "query_tokens", "beats.", "speech_encoder.")
        )
        and not (k.startswith("llama_model.") and ".lora_" not in k)
    }
    torch.save(delta, root / "delta.pt")
    paths["checkpoint"] = str(root / "delta.pt")
    return paths


def export_peft_lora(model: Any, folder: str | Path, base_model: str = "") -> Path:
    """Write the LLM's LoRA weights as a peft adapter folder (``adapter_config.json`` and
    ``adapter_model.safetensors``), the form serving engines such as vLLM load.

    Args:
        model: A VideoSalmonn.
        folder: Output folder.
        base_model: Recorded as ``base_model_name_or_path`` (the Vicuna folder).

    Returns:
        The folder.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    lora = model.config.lora
    tensors = {
        f"base_model.model.{k}": v.detach().cpu().contiguous()
        for k, v in model.llm.state_dict().items()
        if ".lora_A." in k or ".lora_B." in k
    }
    save_file(tensors, str(root / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": lora.r,
        "lora_alpha": lora.alpha,
        "lora_dropout": lora.dropout,
        "target_modules": list(lora.targets),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "base_model_name_or_path": base_model,
    }
    (root / "adapter_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return root
