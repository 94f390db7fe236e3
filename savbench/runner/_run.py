"""The runner: tasks -> samples -> decoded requests -> adapter -> store -> scores -> report.

It never computes a metric itself (``savbench.scoring`` does) and never parses YAML
(``savbench.tasks`` does).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from savbench import __version__
from savbench._errors import RunError, SpecError
from savbench.adapters import Adapter, GenerationSettings, build_adapter, get_adapter_class
from savbench.data import Sample, TaskData, load_task_data
from savbench.report import environment, predictions_digest, sample_rows, task_section, write_run_files
from savbench.runner._config import RunConfig, redact
from savbench.runner._distributed import ProcessGroup, World, current_world, owns, pin_cuda_device
from savbench.runner._fingerprint import fingerprint
from savbench.runner._generate import GenerateStats, Outcome, generate_batch
from savbench.runner._pipeline import iterate_decoded, plan_batches
from savbench.runner._requests import Decoded, DecodeFailure, RequestDataset, RequestPlan
from savbench.scoring import score_task
from savbench.store import PredictionStore, ReadReport, read_predictions
from savbench.tasks import LoadedTask, TaskRegistry, default_search_paths
from savbench.tasks._spec import GenerationSpec

log = logging.getLogger(__name__)
MIN_FREE_BYTES = 64 * 1024 * 1024


@dataclass
class TaskPlan:
    """One task as this run will execute it."""

    task: LoadedTask
    data: TaskData
    selected: list[Sample]
    plan: RequestPlan
    key: str
    prompt_source: str
    pending: list[Sample] = field(default_factory=list)


@dataclass
class RunOutcome:
    """What ``run`` returns: where the report is and what it says."""

    run_dir: Path
    results: dict[str, Any]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "model"


def run_folder(config: RunConfig) -> Path:
    name = config.run_name or f"{_slug(config.model)}-{fingerprint(config.identity(), 10)}"
    if "/" in name or name in ("", ".", ".."):
        raise RunError(f"--run-name {name!r} is not a folder name")
    return Path(config.output_dir).expanduser() / name


def check_writable(folder: Path) -> None:
    """Fail before any compute when the output folder cannot take the run."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise RunError(f"cannot write to the output folder {folder}: {exc.strerror or exc}") from None
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise RunError(
            f"only {free // (1024 * 1024)} MiB free under {folder}; savbench needs at least 64 MiB"
        )


def _resolve_generation(task: LoadedTask, overrides: dict[str, Any]) -> GenerationSettings:
    merged = {**task.spec.generation.model_dump(), **overrides}
    try:
        spec = GenerationSpec.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RunError(f"--gen-kwargs: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    return GenerationSettings(**spec.model_dump())


def _plan_task(
    task: LoadedTask,
    data: TaskData,
    config: RunConfig,
    adapter_cls: type[Adapter],
    adapter_fp: dict[str, Any],
    preprocess: Any = None,
) -> TaskPlan:
    spec = task.spec
    task_streams = set(spec.modalities)
    consumed = frozenset(task_streams & set(adapter_cls.modalities))
    wants_audio = bool(consumed & {"speech", "audio"})
    template = spec.prompt_overrides.get(config.model, spec.prompt)
    prompt_source = f"override:{config.model}" if config.model in spec.prompt_overrides else "task"
    stream_of = {"speech": "audio", "audio": "audio", "video": "video", "image": "image"}
    ablated = frozenset(a for a in config.ablate if a in {stream_of[m] for m in consumed})
    video_settings = spec.media.video.model_dump()
    plan = RequestPlan(
        task=task.name,
        prompt_template=template,
        choice_format=spec.choice_format,
        decode_audio=wants_audio,
        audio_from_video=spec.audio_from_video,
        sample_rate=spec.media.audio.sample_rate,
        max_audio_seconds=spec.media.audio.max_seconds,
        decode_video="video" in consumed,
        video_settings=video_settings,
        decode_image="image" in consumed,
        modalities=consumed,
        generation=_resolve_generation(task, config.gen_kwargs),
        seed=config.seed,
        ablate=ablated,
        video_fill=config.video_fill,
        optional=frozenset(stream_of[m] for m in spec.optional_modalities),
        preprocess=preprocess,
    )
    key = fingerprint(
        {
            "adapter": adapter_fp,
            "task": task.fingerprint(),
            "data": data.source_id,
            "prompt": template,
            "generation": plan.generation.__dict__,
            "seed": config.seed,
            "modalities": sorted(consumed),
            "ablate": sorted(ablated),
            "video_fill": config.video_fill if ablated & {"video", "image"} else None,
        }
    )
    selected = data.samples[config.offset :]
    if config.limit is not None:
        selected = selected[: config.limit]
    return TaskPlan(task=task, data=data, selected=selected, plan=plan, key=key, prompt_source=prompt_source)


def _cost(sample: Sample) -> int:
    """Batching order proxy: size of the largest media file (no decoding needed)."""
    size = 0
    for ref in (sample.audio, sample.video, sample.image):
        if ref is not None and ref.path:
            try:
                size = max(size, os.path.getsize(ref.path))
            except OSError:
                pass
        elif ref is not None and ref.data:
            size = max(size, len(ref.data))
    return size


def _auto_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _worker_preprocessor(adapter: Adapter) -> Any:
    """The adapter's optional worker-side preparation: an adapter may define
    ``worker_preprocessor()`` returning a picklable ``Request -> Request`` callable (or None),
    which the runner runs on each request right after decoding, in the decoding workers."""
    hook = getattr(adapter, "worker_preprocessor", None)
    return hook() if callable(hook) else None


def _error_row(
    plan: TaskPlan, sample: Sample, prompt: str, kind: str, message: str, file: str | None
) -> dict[str, Any]:
    return {
        "key": plan.key,
        "task": plan.task.name,
        "id": sample.id,
        "prompt": prompt,
        "prediction": None,
        "error": {"kind": kind, "message": message, "file": file},
        "modalities": sorted(plan.plan.modalities),
        "ablated": sorted(plan.plan.ablate),
    }


def _outcome_row(plan: TaskPlan, outcome: Outcome, decode_timings: dict[str, float]) -> dict[str, Any]:
    request = outcome.request
    if outcome.prediction is None:
        return _error_row(
            plan,
            request.sample,
            request.prompt,
            outcome.error_kind or "adapter",
            outcome.error_message or "",
            None,
        )
    return {
        "key": plan.key,
        "task": plan.task.name,
        "id": request.sample.id,
        "prompt": request.prompt,
        "prediction": outcome.prediction,
        "error": None,
        "modalities": sorted(plan.plan.modalities),
        "ablated": sorted(plan.plan.ablate),
        "batch_size": outcome.batch_size,
        "decode": {k: round(v, 6) for k, v in decode_timings.items()},
    }


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="sample", dynamic_ncols=True, file=sys.stderr)

    def task(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description(name)

    def update(self, n: int, errors: int) -> None:
        if self.bar is not None:
            self.bar.update(n)
            if errors:
                self.bar.set_postfix(errors=errors)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _load_tasks(config: RunConfig) -> list[tuple[LoadedTask, TaskData]]:
    registry = TaskRegistry(default_search_paths(config.include_paths))
    try:
        tasks = registry.expand(config.tasks)
    except KeyError as exc:
        raise RunError(str(exc.args[0])) from None
    unknown_roots = sorted(set(config.media_roots) - {t.name for t in tasks})
    if unknown_roots:
        raise RunError(f"--media-root names task(s) not in this run: {', '.join(unknown_roots)}")
    return [(task, load_task_data(task, config.media_roots.get(task.name))) for task in tasks]


def _check_modalities(
    tasks: list[tuple[LoadedTask, TaskData]], adapter_cls: type[Adapter], config: RunConfig
) -> None:
    problems = []
    for task, _ in tasks:
        missing = sorted(set(task.spec.modalities) - set(adapter_cls.modalities))
        if missing:
            problems.append(f"{task.name} needs {', '.join(missing)}")
    if problems and not config.allow_missing_modalities:
        raise RunError(
            f"model {config.model!r} takes {', '.join(sorted(adapter_cls.modalities)) or 'no media'}; "
            + "; ".join(problems)
            + ". Pick other tasks, or pass --allow-missing-modalities to run them without those streams."
        )


def _partition_existing(
    plans: list[TaskPlan],
    existing: dict[tuple[str, str, str], dict[str, Any]],
    retry_errors: bool,
    world: World,
) -> None:
    for plan in plans:
        for sample in plan.selected:
            if not owns(world, plan.task.name, sample.id):
                continue
            row = existing.get((plan.key, plan.task.name, sample.id))
            if row is None or (retry_errors and row.get("error")):
                plan.pending.append(sample)


def _reuse_sibling_predictions(run_dir: Path, plans: list[TaskPlan], store: PredictionStore) -> int:
    """Serve pending samples from other run folders beside this one that stored a prediction
    under the same key (e.g. tasks an ablation does not touch). Copied rows make this run folder
    self-contained; errors are not reused."""
    wanted = {(p.key, p.task.name): p for p in plans if p.pending}
    if not wanted:
        return 0
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for sibling in sorted(run_dir.parent.iterdir()):
        if sibling == run_dir or not (sibling / "predictions").is_dir():
            continue
        for key, row in read_predictions(sibling).items():
            if key[:2] in wanted and key not in found and not row.get("error"):
                found[key] = {**row, "reused_from": sibling.name}
    copied = 0
    for (key, task), plan in wanted.items():
        reused = [found[(key, task, s.id)] for s in plan.pending if (key, task, s.id) in found]
        if reused:
            store.append(reused)
            done = {row["id"] for row in reused}
            plan.pending = [s for s in plan.pending if s.id not in done]
            copied += len(reused)
    return copied


def run(config: RunConfig) -> RunOutcome:
    """Run a model on tasks and write the report.

    Raises:
        RunError: Bad arguments, unwritable output, a held lock, or (with ``strict``) the first
            failed sample. Rows already stored are kept in every case.
        SpecError: A malformed task spec or manifest.
    """
    if config.ablate == ("all",):
        raise RunError("ablate=('all',) names several runs; run each stream's ablation separately")
    started = time.perf_counter()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    world = current_world()
    run_dir = run_folder(config)
    check_writable(run_dir)
    try:
        adapter_cls = get_adapter_class(config.model)
    except KeyError as exc:
        raise RunError(str(exc.args[0])) from None
    tasks = _load_tasks(config)
    _check_modalities(tasks, adapter_cls, config)

    group = ProcessGroup(world)
    store = PredictionStore(run_dir, rank=world.rank).open()
    timing: dict[str, float] = defaultdict(float)
    stats = GenerateStats()
    adapter: Adapter | None = None
    try:
        pin_cuda_device(world)
        existing = read_predictions(run_dir)
        load_start = time.perf_counter()
        try:
            adapter = build_adapter(config.model, config.model_args)
        except (TypeError, ValueError) as exc:
            raise RunError(f"--model-args for {config.model!r}: {exc}") from None
        timing["model_load_s"] = time.perf_counter() - load_start
        adapter_fp = adapter.fingerprint()
        preprocess = _worker_preprocessor(adapter)
        plans = [_plan_task(task, data, config, adapter_cls, adapter_fp, preprocess) for task, data in tasks]
        _partition_existing(plans, existing, config.retry_errors, world)
        reused = _reuse_sibling_predictions(run_dir, plans, store) if config.reuse_predictions else 0
        batch_size = max(1, min(config.batch_size, adapter.max_batch_size))
        num_workers = _auto_workers() if config.num_workers is None else config.num_workers
        timing["setup_s"] = time.perf_counter() - started - timing["model_load_s"]
        loop_start = time.perf_counter()
        _generation_loop(plans, adapter, stats, timing, store, config, batch_size, num_workers, world)
        timing["generation_s"] = time.perf_counter() - loop_start
        timing["adapter_s"] = stats.adapter_seconds
        # Every append is already fsynced, so rank 0 can read all rows after the gather. The
        # store (and its lock) stays open until the report is written: a second run on this
        # folder must not slip in between scoring and writing.
        summed = ("adapter_s", "generation_s", "decode_wait_s", "store_s")
        per_rank = group.all_gather(
            {
                "processed": sum(len(p.pending) for p in plans),
                "reused": reused,
                "torn_repaired": store.torn_lines_repaired,
                **{name: timing[name] for name in summed},
            }
        )
        if not world.is_main:
            # Wait for rank 0's report: ranks that tear down their gloo group while rank 0
            # still holds it can abort at exit.
            group.barrier()
            return RunOutcome(run_dir=run_dir, results={})
        try:
            for name in summed:
                timing[name] = sum(r[name] for r in per_rank)
            processed = sum(r["processed"] for r in per_rank)
            timing["reused_predictions"] = float(sum(r["reused"] for r in per_rank))
            torn_repaired = sum(r["torn_repaired"] for r in per_rank)
            return _write_report(
                config,
                run_dir,
                plans,
                adapter,
                adapter_fp,
                stats,
                timing,
                started,
                created,
                torn_repaired,
                processed,
                world,
            )
        finally:
            group.barrier()
    finally:
        store.close()
        group.close()
        if adapter is not None:
            adapter.close()


def _generation_loop(
    plans: list[TaskPlan],
    adapter: Adapter,
    stats: GenerateStats,
    timing: dict[str, float],
    store: PredictionStore,
    config: RunConfig,
    batch_size: int,
    num_workers: int,
    world: World,
) -> int:
    """Decode (ahead, in workers), generate and store every pending sample; returns the error count."""
    active = [p for p in plans if p.pending]
    samples, owner, batches = plan_batches(
        [p.pending for p in active], batch_size, cost=_cost if batch_size > 1 else None
    )
    dataset = RequestDataset(samples, [active[i].plan for i in owner])
    workers = min(num_workers, len(batches))
    decoded = iterate_decoded(dataset, batches, num_workers=workers, prefetch_factor=config.prefetch_factor)
    progress = _Progress(len(samples), config.progress and world.is_main)
    errors = 0
    current: TaskPlan | None = None
    try:
        for indices in batches:
            plan = active[owner[indices[0]]]
            if plan is not current:
                progress.task(plan.task.name)
                current = plan
            wait_start = time.perf_counter()
            batch: list[Decoded] = next(decoded)
            timing["decode_wait_s"] += time.perf_counter() - wait_start
            rows, batch_errors = _process_batch(plan, batch, adapter, stats, config.strict)
            write_start = time.perf_counter()
            try:
                store.append(rows)
            except OSError as exc:
                raise RunError(
                    f"cannot append to {store.path}: {exc.strerror or exc}. Rows written so far are "
                    "kept; free space and rerun the same command to resume."
                ) from None
            timing["store_s"] += time.perf_counter() - write_start
            errors += batch_errors
            progress.update(len(batch), errors)
            if config.strict and batch_errors:
                failed = next(r for r in rows if r["error"])
                raise RunError(
                    f"--strict: {plan.task.name}/{failed['id']}: {failed['error']['message']} "
                    f"(stored rows are kept; rerun without --strict to record errors and go on)"
                )
    finally:
        progress.close()
        close = getattr(decoded, "close", None)
        if close is not None:
            close()  # stops the decoding workers when the loop ends early
    return errors


def _process_batch(
    plan: TaskPlan, batch: list[Decoded], adapter: Adapter, stats: GenerateStats, strict: bool
) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    ready = []
    errors = 0
    for decoded in batch:
        item = decoded.item
        if isinstance(item, DecodeFailure):
            rows.append(_error_row(plan, item.sample, item.prompt, item.kind, item.message, item.file))
            errors += 1
        else:
            ready.append(decoded)
    if ready and not (strict and errors):
        outcomes = generate_batch(adapter, [d.item for d in ready], stats, strict=False)  # type: ignore[misc]
        for decoded, outcome in zip(ready, outcomes, strict=True):
            row = _outcome_row(plan, outcome, decoded.timings)
            errors += row["error"] is not None
            rows.append(row)
    return rows, errors


TIMING_DEFINITIONS = {
    "setup_s": "reading tasks, manifests and stored predictions, planning (rank 0)",
    "model_load_s": "building the adapter (rank 0)",
    "generation_s": "the generation loop: decoding wait + adapter calls + storing rows (summed over ranks)",
    "adapter_s": "inside Adapter.generate, i.e. the model's own compute and preparation (summed over ranks)",
    "decode_wait_s": "waiting for decoded batches from the decoding workers (summed over ranks)",
    "store_s": "appending rows to the prediction store (summed over ranks)",
    "scoring_s": "reading the store, metrics and bootstrap CIs (rank 0)",
    "wall_s": "start to report, rank 0",
    "harness_overhead_fraction": "1 - adapter_s / generation_s: the share of the generation loop spent "
    "outside the adapter (model loading and scoring excluded; they are reported on their own)",
    "end_to_end_overhead_fraction": "1 - (adapter_s + model_load_s) / (wall_s * world_size): everything "
    "but the model, including setup and scoring",
}


def _timing_section(timing: dict[str, float], wall: float, n_processed: int, world: World) -> dict[str, Any]:
    generation = timing.get("generation_s", 0.0)
    rank_seconds = wall * world.size
    return {
        **{k: round(v, 4) for k, v in timing.items()},
        "wall_s": round(wall, 4),
        "samples_processed": n_processed,
        "samples_per_s": round(n_processed / wall, 4) if wall > 0 else None,
        "harness_overhead_fraction": (
            round(1 - timing["adapter_s"] / generation, 4) if n_processed and generation > 0 else None
        ),
        "end_to_end_overhead_fraction": (
            round(1 - (timing["adapter_s"] + timing["model_load_s"]) / rank_seconds, 4)
            if rank_seconds > 0
            else None
        ),
        "definitions": TIMING_DEFINITIONS,
    }


def _write_report(
    config: RunConfig,
    run_dir: Path,
    plans: list[TaskPlan],
    adapter: Adapter,
    adapter_fp: dict[str, Any],
    stats: GenerateStats,
    timing: dict[str, float],
    started: float,
    created: str,
    torn_repaired: int,
    n_processed: int,
    world: World,
) -> RunOutcome:
    score_start = time.perf_counter()
    read_report = ReadReport()
    stored = read_predictions(run_dir, read_report)
    tasks_section: dict[str, Any] = {}
    all_rows: list[dict[str, Any]] = []
    total_scored = 0
    judge = config.judge_settings()
    for plan in plans:
        rows = {
            sid: row for (key, task, sid), row in stored.items() if key == plan.key and task == plan.task.name
        }
        scores = score_task(
            plan.task,
            plan.selected,
            rows,
            seed=config.seed,
            bootstrap_samples=config.bootstrap_samples,
            judge=judge,
        )
        total_scored += scores.n_scored
        spec = plan.task.spec
        tasks_section[plan.task.name] = task_section(
            scores,
            {
                "description": spec.description,
                "version": spec.version,
                "spec_path": str(plan.task.path),
                "spec_fingerprint": plan.task.fingerprint(),
                "spec": spec.model_dump(mode="json"),
                "data": {
                    "source_id": plan.data.source_id,
                    "media_root": str(plan.data.media_root) if plan.data.media_root else None,
                    "offset": config.offset,
                    "limit": config.limit,
                },
                "prediction_key": plan.key,
                "predictions_sha256": predictions_digest(plan.selected, rows),
                "prompt_template": plan.plan.prompt_template,
                "prompt_source": plan.prompt_source,
                "modalities_required": list(spec.modalities),
                "modalities_consumed": sorted(plan.plan.modalities),
                "ablated": sorted(plan.plan.ablate),
                "generation": dict(plan.plan.generation.__dict__),
                "reproduces": spec.reproduces.model_dump() if spec.reproduces else None,
            },
        )
        all_rows.extend(sample_rows(plan.selected, rows, scores))
    timing["scoring_s"] = time.perf_counter() - score_start
    wall = time.perf_counter() - started
    results = {
        "savbench_version": __version__,
        "run_id": run_dir.name,
        "created_at": created,
        "command": sys.argv,
        "model": {
            "name": config.model,
            "args": redact(config.model_args),
            "fingerprint": adapter_fp,
            "modalities": sorted(type(adapter).modalities),
        },
        "config": {
            "tasks": config.tasks,
            "limit": config.limit,
            "offset": config.offset,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "gen_kwargs": config.gen_kwargs,
            "ablate": list(config.ablate),
            "video_fill": config.video_fill,
            "num_workers": config.num_workers,
            "world_size": world.size,
            "bootstrap_samples": config.bootstrap_samples,
            "judge": config.judge_public(),
        },
        "tasks": tasks_section,
        "environment": environment(),
        "timing": _timing_section(timing, wall, n_processed, world),
        "adapter_calls": {
            "calls": stats.adapter_calls,
            "split_retries": stats.split_retries,
            "oom_retries": stats.oom_retries,
            "contract_violations": stats.contract_violations,
        },
        "store": {
            # torn tails cut off when the ranks opened the store, plus any found on this read
            "torn_lines_dropped": torn_repaired + read_report.torn_lines,
            "duplicate_rows_ignored": read_report.duplicate_rows,
        },
    }
    try:
        write_run_files(run_dir, results, all_rows)
    except OSError as exc:
        raise RunError(
            f"cannot write the report into {run_dir}: {exc.strerror or exc}. Every prediction is "
            "kept in the store; free space and rerun the same command to write it."
        ) from None
    return RunOutcome(run_dir=run_dir, results=results)


__all__ = ["RunConfig", "RunOutcome", "SpecError", "check_writable", "run", "run_folder"]
