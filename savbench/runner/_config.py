"""Run configuration and parsing of ``k=v,...`` argument strings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from savbench._errors import RunError

ABLATIONS = ("none", "audio", "video", "image", "all")
JUDGE_CACHE_FILE = "judge-cache.jsonl"
SECRET_ARG = re.compile(r"(key|token|secret|password)", re.IGNORECASE)


def parse_kv(text: str | None, *, option: str) -> dict[str, str]:
    """Parse ``a=1,b=x`` into a dict of strings.

    Raises:
        RunError: An item without ``=`` or an empty key.
    """
    result: dict[str, str] = {}
    if not text:
        return result
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RunError(f"{option}: expected key=value pairs separated by commas, got {item!r}")
        result[key.strip()] = value.strip()
    return result


def redact(args: dict[str, Any]) -> dict[str, Any]:
    """Model arguments safe to write into reports (secrets replaced)."""
    return {k: ("***" if SECRET_ARG.search(k) else v) for k, v in args.items()}


@dataclass
class RunConfig:
    """Everything ``savbench run`` needs.

    Args:
        model: Registered adapter name (``lmms:NAME`` for the lmms-eval bridge).
        tasks: Task and group names.
        model_args: Adapter keyword arguments (strings).
        limit: Use at most this many samples per task (after ``offset``).
        offset: Skip this many samples at the start of each task.
        batch_size: Requests per adapter call (capped by the adapter's ``max_batch_size``).
        seed: Seed for the adapter's randomness and the bootstrap.
        output_dir: Parent folder of run folders.
        run_name: Run folder name; by default derived from the model and settings, so rerunning
            the same command resumes the same run.
        strict: Stop at the first error instead of recording it.
        num_workers: Decoding processes; None picks from the CPU count, 0 decodes in-process.
        prefetch_factor: Batches each worker decodes ahead.
        gen_kwargs: Overrides of the tasks' generation settings.
        ablate: Streams to replace by neutral input (audio, video, image).
        video_fill: Neutral video: ``mean`` colour of the clip or ``first`` frame repeated.
        media_roots: Task name -> media folder, overriding the task YAML.
        include_paths: Extra folders with task YAMLs.
        allow_missing_modalities: Run tasks that need streams the model cannot take.
        retry_errors: Retry samples whose stored row is an error.
        bootstrap_samples: Bootstrap resamples for confidence intervals.
        progress: Show a progress bar.
        reuse_predictions: Copy predictions stored under the same prediction key by other runs
            in ``output_dir`` instead of recomputing them.
        judge_model: Judge model for LLM-judged metrics (overrides the task YAML's).
        judge_base_url: OpenAI-compatible endpoint of the judge.
        judge_api_key_env: Environment variable holding the judge's API key.
        judge_concurrency: Judge calls in flight at once.
        judge_timeout: Seconds per judge call before it is retried.
    """

    model: str
    tasks: list[str]
    model_args: dict[str, str] = field(default_factory=dict)
    limit: int | None = None
    offset: int = 0
    batch_size: int = 1
    seed: int = 0
    output_dir: Path = Path("results")
    run_name: str | None = None
    strict: bool = False
    num_workers: int | None = None
    prefetch_factor: int = 2
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    ablate: tuple[str, ...] = ()
    video_fill: str = "mean"
    media_roots: dict[str, str] = field(default_factory=dict)
    include_paths: list[str] = field(default_factory=list)
    allow_missing_modalities: bool = False
    retry_errors: bool = False
    bootstrap_samples: int = 1000
    progress: bool = True
    reuse_predictions: bool = True
    judge_model: str | None = None
    judge_base_url: str | None = None
    judge_api_key_env: str = "OPENAI_API_KEY"
    judge_concurrency: int = 4
    judge_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise RunError("--batch-size must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise RunError("--limit must be at least 1")
        if self.offset < 0:
            raise RunError("--offset must not be negative")
        if not self.judge_timeout > 0:  # also refuses NaN
            raise RunError("--judge-timeout must be a positive number of seconds")
        if self.judge_concurrency < 1:
            raise RunError("--judge-concurrency must be at least 1")
        if self.video_fill not in ("mean", "first"):
            raise RunError("--video-fill must be 'mean' or 'first'")
        bad = [a for a in self.ablate if a not in ("audio", "video", "image")]
        if bad and self.ablate != ("all",):  # "all" is expanded by the CLI into one run per stream
            raise RunError(f"--ablate: unknown stream(s) {bad}; choose from audio, video, image")

    def identity(self) -> dict[str, Any]:
        """The settings that name a run folder (limit and offset excluded: a longer run resumes a shorter one)."""
        return {
            "model": self.model,
            "model_args": dict(sorted(self.model_args.items())),
            "tasks": list(self.tasks),
            "seed": self.seed,
            "gen_kwargs": dict(sorted(self.gen_kwargs.items())),
            "ablate": sorted(self.ablate),
            "video_fill": self.video_fill if "video" in self.ablate or "image" in self.ablate else None,
            "judge": self.judge_public(),
        }

    def judge_public(self) -> dict[str, Any] | None:
        """Judge settings as reports record them (the key's variable name, never the key)."""
        if not self.judge_model and not self.judge_base_url:
            return None
        return {
            "model": self.judge_model,
            "base_url": self.judge_base_url,
            "api_key_env": self.judge_api_key_env,
        }

    def judge_settings(self) -> Any:
        from savbench.judge import JudgeSettings

        return JudgeSettings(
            model=self.judge_model,
            base_url=self.judge_base_url,
            api_key_env=self.judge_api_key_env,
            concurrency=self.judge_concurrency,
            timeout=self.judge_timeout,
            cache_path=Path(self.output_dir).expanduser() / JUDGE_CACHE_FILE,
        )
