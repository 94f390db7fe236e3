"""Benchmark: video-SALMONN through savbench's fast path against the official-style baseline.

One run, one model, the same synthetic audio-visual clips for both paths:

- baseline: one sample at a time, decoded in this process, prepared and generated with
  transformers' ``generate`` at batch size 1 (what the official ``inference.py`` does);
- fast: decoding (and, with ``--prepare-in-workers``, Whisper features and frame pixels) in
  DataLoader worker processes with prefetch, encoders batched across samples, batched generation,
  and optionally vLLM for the LLM (``--backend vllm``).

It prints samples/s of both paths and their ratio, seconds per stage, peak memory, GPU busy time
in steady state (CUDA only) and the greedy token agreement between the paths, and writes all
figures to a JSON file. Both paths decode greedily with a fixed number of new tokens
(``min_new_tokens == max_new_tokens``), so their work is the same.

    python benchmarks/bench_video_salmonn.py --preset tiny
    python benchmarks/bench_video_salmonn.py --preset video-salmonn-13b --out bench-13b.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._monitor import Monitor, peak_rss_mib, reset_peak_rss  # noqa: E402
from benchmarks._synthetic import ClipSettings, make_clips  # noqa: E402

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "samples": 32,
        "seconds": 10.0,
        "fps": 10,
        "width": 128,
        "height": 96,
        "new_tokens": 32,
        "batch_size": 8,
        "prefetch": 2,
        "device": "cpu",
        "dtype": "fp32",
    },
    "video-salmonn-13b": {
        "samples": 64,
        "seconds": 30.0,
        "fps": 25,
        "width": 640,
        "height": 360,
        "new_tokens": 64,
        "batch_size": 16,
        "prefetch": 1,  # 4 workers x 1 batch of 16 prepared clips ahead is plenty for the GPU
        "device": "cuda",
        "dtype": "bf16",
    },
}
PROMPTS = (
    "What is happening in this video?",
    "Describe the sounds and what can be seen.",
    "Is anyone speaking? Summarise the clip in one sentence.",
    "List the colours and the moving objects, then describe the audio.",
)
VIDEO_SETTINGS = {"fps": 2.0, "max_frames": 120}  # the SAVE tasks' frame sampling
STAGES = (
    ("media_decode_s", "media decode"),
    ("decode_wait_s", "wait for decoded batch"),
    ("prepare_s", "prepare (Whisper features, pixels)"),
    ("speech_encoder_s", "speech encoder (Whisper)"),
    ("audio_encoder_s", "audio encoder (BEATs)"),
    ("visual_encoder_s", "visual encoder (EVA + Q-Former)"),
    ("qformer_s", "audio-visual Q-Former"),
    ("projection_s", "projection + prompt embeds"),
    ("llm_prefill_s", "LLM prefill"),
    ("llm_decode_s", "LLM decode"),
    ("llm_generate_s", "LLM (vLLM, prefill + decode)"),
    ("other_s", "other (harness, Python)"),
    ("model_untimed_s", "model, all stages (--no-stage-times)"),
)
DEFINITIONS = {
    "samples_per_s": "measured samples / wall seconds of the measured part (warm-up batch excluded)",
    "speedup": "fast samples_per_s / baseline samples_per_s",
    "stages": "seconds in the main process per stage, summed over the measured samples; "
    "other_s = wall - the listed stages (model_untimed_s instead when stage timing is off)",
    "worker_stages": "seconds spent in decoding workers (overlapped with the main process)",
    "sample_agreement": "share of samples whose new tokens are identical in both paths",
    "token_agreement": "mean over samples of (common prefix length / longer length)",
    "gpu_busy": "mean nvidia-smi utilization.gpu during the measured part of the path (0-1)",
    "peak_gpu_allocated_mib": "torch.cuda.max_memory_allocated during the path",
    "peak_rss_mib": "peak resident memory of the main process during the path (VmHWM)",
    "workers_peak_rss_mib": "largest summed resident memory of the decoding workers seen",
}


@dataclass
class PathResult:
    """Figures of one path."""

    name: str
    samples: int
    wall_s: float
    batch_sizes: list[int]
    stages: dict[str, float]
    worker_stages: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, list[int]] = field(default_factory=dict)
    peak_rss_mib: float | None = None
    workers_peak_rss_mib: float | None = None
    peak_gpu_allocated_mib: float | None = None
    gpu_busy: float | None = None

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("tokens")
        data["samples_per_s"] = round(self.samples_per_s, 4)
        data["stages"] = {k: round(v, 4) for k, v in self.stages.items()}
        data["worker_stages"] = {k: round(v, 4) for k, v in self.worker_stages.items()}
        return data


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Presets: tiny (CPU, fp32, random tiny model) and video-salmonn-13b (CUDA, bf16, random "
        "weights at full size, 30 s clips, 64 new tokens). Flags override the preset's values.",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--samples", type=int, help="measured samples (a warm-up batch comes on top)")
    parser.add_argument("--seconds", type=float, help="clip length in seconds")
    parser.add_argument("--new-tokens", type=int, help="new tokens per answer (fixed length)")
    parser.add_argument("--batch-size", type=int, help="fast path batch size")
    parser.add_argument(
        "--workers", type=int, default=None, help="decoding processes (default: min(4, CPUs - 1))"
    )
    parser.add_argument(
        "--prefetch", type=int, help="batches each worker decodes ahead (default: the preset's)"
    )
    parser.add_argument("--backend", choices=("hf", "vllm"), default="hf", help="LLM of the fast path")
    parser.add_argument(
        "--prepare-in-workers",
        choices=("auto", "true", "false"),
        default="auto",
        help="compute Whisper features and pixels in the workers (auto: with CUDA)",
    )
    parser.add_argument("--device", help="cpu or cuda (default: the preset's)")
    parser.add_argument("--dtype", choices=("fp32", "bf16", "fp16"), help="default: the preset's")
    parser.add_argument("--media-dir", type=Path, default=None, help="cache of the synthetic clips")
    parser.add_argument("--work-dir", type=Path, default=None, help="vLLM export folder (default: temporary)")
    parser.add_argument("--vllm-memory", type=float, default=0.45, help="share of GPU memory vLLM may take")
    parser.add_argument("--paths", default="baseline,fast", help="which paths to run (comma-separated)")
    parser.add_argument(
        "--no-stage-times",
        action="store_true",
        help="skip per-stage timing (it synchronises the GPU at every stage boundary)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON output (default: bench-<preset>-<backend>.json)"
    )
    return parser.parse_args(argv)


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    """The preset's settings with the command line's overrides."""
    settings = dict(PRESETS[args.preset])
    for name in ("samples", "seconds", "new_tokens", "batch_size", "prefetch", "device", "dtype"):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    settings["workers"] = (
        args.workers if args.workers is not None else max(1, min(4, (os.cpu_count() or 2) - 1))
    )
    settings["backend"] = args.backend
    settings["prepare_in_workers"] = args.prepare_in_workers
    settings["stage_times"] = not args.no_stage_times
    settings["paths"] = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = set(settings["paths"]) - {"baseline", "fast"}
    if unknown or not settings["paths"]:
        raise SystemExit(f"--paths: choose from baseline, fast (got {args.paths!r})")
    if settings["backend"] == "vllm" and settings["device"] != "cuda":
        raise SystemExit("--backend vllm needs --device cuda")
    return settings


def build_adapter(preset: str, settings: dict[str, Any]) -> Any:
    """The model both paths share: random weights, greedy, fixed answer length."""
    from model_adapters.video_salmonn import VideoSalmonnAdapter

    return VideoSalmonnAdapter(
        preset=preset,
        device=settings["device"],
        dtype=settings["dtype"],
        random_weights="true",
        num_beams="1",
        repetition_penalty="1.0",
        min_new_tokens=str(settings["new_tokens"]),
        batch_size=str(settings["batch_size"]),
        prepare_in_workers=settings["prepare_in_workers"],
    )


def make_samples(paths: list[Path]) -> list[Any]:
    from savbench.data import MediaRef, Sample

    return [
        Sample(
            id=f"clip-{i:04d}", task="bench", video=MediaRef(path=str(p)), question=PROMPTS[i % len(PROMPTS)]
        )
        for i, p in enumerate(paths)
    ]


def make_plan(new_tokens: int, preprocess: Any = None) -> Any:
    from savbench.adapters import GenerationSettings
    from savbench.runner import RequestPlan

    return RequestPlan(
        task="bench",
        prompt_template="{question}",
        choice_format="lettered",
        decode_audio=True,
        audio_from_video=True,
        sample_rate=16000,
        max_audio_seconds=30.0,
        decode_video=True,
        video_settings=dict(VIDEO_SETTINGS),
        decode_image=False,
        modalities=frozenset({"speech", "audio", "video"}),
        generation=GenerationSettings(max_new_tokens=new_tokens),
        seed=0,
        preprocess=preprocess,
    )


def _sync(adapter: Any) -> None:
    if adapter.device.type == "cuda":
        import torch

        torch.cuda.synchronize(adapter.device)


def _start_memory(adapter: Any) -> None:
    reset_peak_rss()
    if adapter.device.type == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(adapter.device)


def _finish(result: PathResult, adapter: Any, monitor: Monitor, window: tuple[float, float]) -> PathResult:
    result.peak_rss_mib = peak_rss_mib()
    result.workers_peak_rss_mib = monitor.children_peak_mib
    if adapter.device.type == "cuda":
        import torch

        result.peak_gpu_allocated_mib = torch.cuda.max_memory_allocated(adapter.device) / 2**20
        result.gpu_busy = monitor.gpu_busy(*window)
    listed = sum(result.stages.values())
    timed = any(k.endswith("_encoder_s") for k in result.stages)
    result.stages["other_s" if timed else "model_untimed_s"] = max(0.0, result.wall_s - listed)
    return result


def _trace(stage_times: bool) -> Any:
    from model_adapters.video_salmonn import GenerationTrace

    return GenerationTrace(times={} if stage_times else None)


def run_baseline(
    adapter: Any, samples: list[Any], warmup: list[Any], new_tokens: int, stage_times: bool = True
) -> PathResult:
    """One sample at a time: decode here, then generate with transformers at batch size 1."""
    from savbench.runner import DecodeFailure, build_request

    plan = make_plan(new_tokens)
    saved = adapter.max_batch_size
    adapter.max_batch_size = 1
    try:
        for sample in warmup:
            adapter.generate([build_request(sample, plan).item])
        _sync(adapter)
        trace = adapter.trace = _trace(stage_times)
        stages: dict[str, float] = defaultdict(float)
        _start_memory(adapter)
        with Monitor(gpu=adapter.device.type == "cuda") as monitor:
            window_start = time.time()
            start = time.perf_counter()
            for sample in samples:
                begin = time.perf_counter()
                decoded = build_request(sample, plan)
                stages["media_decode_s"] += time.perf_counter() - begin
                if isinstance(decoded.item, DecodeFailure):
                    raise RuntimeError(f"{sample.id}: {decoded.item.message}")
                adapter.generate([decoded.item])
            _sync(adapter)
            wall = time.perf_counter() - start
            window = (window_start, time.time())
    finally:
        adapter.trace = None
        adapter.max_batch_size = saved
    stages.update(trace.times or {})
    result = PathResult("baseline", len(samples), wall, trace.batch_sizes, dict(stages), tokens=trace.tokens)
    return _finish(result, adapter, monitor, window)


def run_fast(adapter: Any, samples: list[Any], warmup: list[Any], settings: dict[str, Any]) -> PathResult:
    """Workers decode (and prepare) ahead; the model takes whole batches."""
    from savbench.runner import DecodeFailure, RequestDataset, iterate_decoded

    size = settings["batch_size"]
    everything = [*warmup, *samples]
    batches = [list(range(i, min(i + size, len(everything)))) for i in range(0, len(everything), size)]
    dataset = RequestDataset(everything, make_plan(settings["new_tokens"], adapter.worker_preprocessor()))
    workers = min(settings["workers"], len(batches))
    decoded = iterate_decoded(dataset, batches, num_workers=workers, prefetch_factor=settings["prefetch"])
    stages: dict[str, float] = defaultdict(float)
    worker_stages: dict[str, float] = defaultdict(float)
    trace = _trace(settings["stage_times"])
    with Monitor(gpu=adapter.device.type == "cuda") as monitor:
        # The warm-up batch (sized to a full batch) starts the workers and warms the kernels.
        for _ in range(-(-len(warmup) // size)):
            adapter.generate([d.item for d in next(decoded)])
        _sync(adapter)
        _start_memory(adapter)
        adapter.trace = trace
        try:
            window_start = time.time()
            start = time.perf_counter()
            for _ in range(len(batches) - -(-len(warmup) // size)):
                begin = time.perf_counter()
                batch = next(decoded)
                stages["decode_wait_s"] += time.perf_counter() - begin
                for item in batch:
                    if isinstance(item.item, DecodeFailure):
                        raise RuntimeError(f"{item.sample.id}: {item.item.message}")
                    for key, value in item.timings.items():
                        worker_stages["media_decode_s" if key.endswith("_decode_s") else key] += value
                adapter.generate([d.item for d in batch])
            _sync(adapter)
            wall = time.perf_counter() - start
            window = (window_start, time.time())
        finally:
            adapter.trace = None
    stages.update(trace.times or {})
    result = PathResult(
        "fast", len(samples), wall, trace.batch_sizes, dict(stages), dict(worker_stages), trace.tokens
    )
    return _finish(result, adapter, monitor, window)


def agreement(base: dict[str, list[int]], fast: dict[str, list[int]]) -> dict[str, Any]:
    """How often the two paths produced the same tokens."""
    ids = sorted(set(base) & set(fast))
    if not ids:
        return {"samples": 0, "sample_agreement": None, "token_agreement": None, "differing": []}
    same, prefix_shares, differing = 0, [], []
    for sid in ids:
        a, b = base[sid], fast[sid]
        common = 0
        for x, y in zip(a, b, strict=False):
            if x != y:
                break
            common += 1
        longer = max(len(a), len(b))
        prefix_shares.append(common / longer if longer else 1.0)
        if a == b:
            same += 1
        else:
            differing.append({"id": sid, "first_difference_at": common})
    return {
        "samples": len(ids),
        "sample_agreement": same / len(ids),
        "token_agreement": sum(prefix_shares) / len(ids),
        "differing": differing,
    }


def environment(adapter: Any) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
    }
    if adapter.device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(adapter.device)
    return info


def use_vllm(adapter: Any, settings: dict[str, Any], work_dir: Path | None, memory: float) -> Any:
    """Swap the adapter's LLM for a vLLM engine over the same weights; returns the old one."""
    from reference_models.video_salmonn import VllmBackend

    folder = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="savbench-bench-vllm-"))
    previous = adapter.llm
    adapter.llm = VllmBackend.from_model(adapter.model, folder, gpu_memory_utilization=memory, seed=0)
    return previous


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the clips, build the model, run the paths and gather the figures."""
    settings = resolve(args)
    preset = PRESETS[args.preset]
    clip = ClipSettings(
        seconds=settings["seconds"],
        fps=preset["fps"],
        width=preset["width"],
        height=preset["height"],
        gop=2 * preset["fps"],
    )
    media_dir = args.media_dir or Path(tempfile.gettempdir()) / "savbench-bench-clips"
    warm = settings["batch_size"]
    started = time.perf_counter()
    paths = make_clips(media_dir, warm + settings["samples"], clip, workers=max(1, (os.cpu_count() or 2) - 1))
    clips_s = time.perf_counter() - started
    all_samples = make_samples(paths)
    warmup, samples = all_samples[:warm], all_samples[warm:]

    started = time.perf_counter()
    adapter = build_adapter(args.preset, settings)
    load_s = time.perf_counter() - started
    results: dict[str, PathResult] = {}
    try:
        if "baseline" in settings["paths"]:
            results["baseline"] = run_baseline(
                adapter, samples, warmup[:1], settings["new_tokens"], settings["stage_times"]
            )
        if "fast" in settings["paths"]:
            if settings["backend"] == "vllm":
                use_vllm(adapter, settings, args.work_dir, args.vllm_memory)
            results["fast"] = run_fast(adapter, samples, warmup, settings)
        env = environment(adapter)
    finally:
        adapter.close()
    report: dict[str, Any] = {
        "benchmark": "video-salmonn",
        "preset": args.preset,
        "settings": {
            **settings,
            "clip": asdict(clip),
            "video_decode": VIDEO_SETTINGS,
            "warmup_samples": warm,
        },
        "environment": env,
        "setup": {"clips_s": round(clips_s, 3), "model_load_s": round(load_s, 3)},
        "paths": {name: r.summary() for name, r in results.items()},
        "definitions": DEFINITIONS,
    }
    if len(results) == 2:
        base, fast = results["baseline"], results["fast"]
        report["speedup"] = round(fast.samples_per_s / base.samples_per_s, 3) if base.samples_per_s else None
        report["agreement"] = agreement(base.tokens, fast.tokens)
    return report


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of the figures."""
    paths = report["paths"]
    names = list(paths)
    lines = [f"video-SALMONN benchmark, preset {report['preset']} ({report['settings']['device']}, "
             f"{report['settings']['dtype']}, fast path LLM: {report['settings']['backend']})"]  # fmt: skip
    header = f"{'':38}" + "".join(f"{n:>18}" for n in names)
    lines += [header, "-" * len(header)]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:38}" + "".join(f"{v:>18}" for v in values))

    row("samples", [str(paths[n]["samples"]) for n in names])
    row("wall s", [f"{paths[n]['wall_s']:.2f}" for n in names])
    row("samples/s", [f"{paths[n]['samples_per_s']:.3f}" for n in names])
    row(
        "batch size (mean)",
        [f"{sum(b) / max(1, len(b)):.1f}" for b in (paths[n]["batch_sizes"] for n in names)],
    )

    def per_sample(group: str, key: str) -> list[str]:
        cells = []
        for n in names:
            value = paths[n][group].get(key)
            cells.append("-" if value is None else f"{1000 * value / max(1, paths[n]['samples']):.1f}")
        return cells

    lines.append("ms per sample, main process:")
    for key, label in STAGES:
        if any(key in paths[n]["stages"] for n in names):
            row("  " + label, per_sample("stages", key))
    worker_keys = sorted({k for n in names for k in paths[n]["worker_stages"]})
    if worker_keys:
        lines.append("ms per sample, in decoding workers (overlapped):")
        for key in worker_keys:
            row("  " + key, per_sample("worker_stages", key))
    row("peak RSS MiB (main)", [_fmt(paths[n]["peak_rss_mib"]) for n in names])
    row("peak RSS MiB (workers)", [_fmt(paths[n]["workers_peak_rss_mib"]) for n in names])
    row("peak GPU allocated MiB", [_fmt(paths[n]["peak_gpu_allocated_mib"]) for n in names])
    row("GPU busy", [_fmt(paths[n]["gpu_busy"], "{:.1%}") for n in names])
    if "speedup" in report:
        agree = report["agreement"]
        lines.append(f"speed-up fast/baseline: {report['speedup']:.2f}x")
        lines.append(
            f"greedy agreement: {agree['sample_agreement']:.1%} of samples identical, "
            f"{agree['token_agreement']:.1%} of tokens (common prefix), n={agree['samples']}"
        )
    return "\n".join(lines)


def _fmt(value: float | None, pattern: str = "{:.0f}") -> str:
    return "-" if value is None else pattern.format(value)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = run_benchmark(args)
    out = args.out or Path(f"bench-{args.preset}-{args.backend}.json")
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(format_report(report))
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
