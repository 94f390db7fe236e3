"""The ``llm_judge`` metric: an LLM grades each answer against the reference.

The judge endpoint is run-time configuration (``--judge-model``, ``--judge-base-url``, key in an
environment variable); the task YAML names the template and may name a default judge model.
Every call is cached by (judge model, template and its version, question, references,
prediction), so rescoring a run or resuming one never pays twice. A reply that cannot be read
is an error for that sample (left out of the score and counted), never a zero.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from savbench._errors import SavbenchError
from savbench.http import ChatClient, ChatError, message_text
from savbench.judge._cache import JudgeCache, judge_key
from savbench.judge._parse import UnparsableVerdict, parse_verdict
from savbench.judge._templates import get_template
from savbench.metrics import Metric, MetricResult, ScoringInput, bootstrap_ci, mean_statistic, register_metric


@dataclass(frozen=True)
class JudgeSettings:
    """Where and how to call the judge (never includes the API key itself).

    Args:
        model: Judge model name, as the endpoint serves it.
        base_url: OpenAI-compatible endpoint.
        api_key_env: Environment variable holding the key.
        concurrency: Calls in flight at once.
        timeout: Seconds per call.
        max_retries: Retries on 429/5xx/timeouts.
        cache_path: The judge cache file.
    """

    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 4
    timeout: float = 60.0
    max_retries: int = 5
    cache_path: Path | None = None

    def __post_init__(self) -> None:
        if not self.timeout > 0:  # also refuses NaN
            raise SavbenchError(f"judge timeout must be a positive number of seconds, got {self.timeout}")
        if self.concurrency < 1:
            raise SavbenchError(f"judge concurrency must be at least 1, got {self.concurrency}")

    def public(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, "api_key_env": self.api_key_env}


@register_metric("llm_judge")
class LLMJudgeMetric(Metric):
    """Mean judge score (0-100): the share judged correct, or the mean rating rescaled."""

    direction = "higher"
    scale = "percent"
    needs_judge = True

    def __init__(
        self,
        *,
        template: str = "qa_correctness",
        judge_model: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 64,
        judge: JudgeSettings | None = None,
        bootstrap_samples: int = 1000,
        seed: int = 0,
    ) -> None:
        super().__init__(bootstrap_samples=bootstrap_samples, seed=seed)
        self.template = get_template(template)  # KeyError names the known templates
        self.judge = judge or JudgeSettings()
        self.model = self.judge.model or judge_model
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.calls_made = 0

    def settings(self) -> dict[str, Any]:
        return {
            "template": self.template.name,
            "template_version": self.template.version,
            "judge_model": self.model,
            "judge_base_url": self.judge.base_url,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    def _messages(self, item: ScoringInput) -> list[dict[str, Any]]:
        user = self.template.user.format(
            question=item.question or "(no question text)",
            reference=" | ".join(item.references),
            prediction=item.prediction,
        )
        return [{"role": "system", "content": self.template.system}, {"role": "user", "content": user}]

    def _ask(
        self,
        items: Sequence[ScoringInput],
        keys: list[str],
        todo: list[int],
        cache: JudgeCache | None,
        replies: list[str | None],
        call_errors: dict[int, str],
    ) -> None:
        """Call the judge for the items in ``todo``, filling ``replies`` or ``call_errors``.

        Each reply is added to the cache as soon as it arrives, so a run killed while judging
        keeps every reply it has paid for.
        """
        client = ChatClient(
            base_url=self.judge.base_url or "", model=self.model or "", api_key_env=self.judge.api_key_env,
            timeout=self.judge.timeout, max_retries=self.judge.max_retries, concurrency=self.judge.concurrency,
        )  # fmt: skip

        def one(i: int) -> tuple[int, str | None, str | None]:
            try:
                response = client.complete(
                    self._messages(items[i]), temperature=self.temperature, max_tokens=self.max_tokens
                )
                return i, _without_key(message_text(response), self.judge.api_key_env), None
            except ChatError as exc:
                return i, None, f"judge call failed: {_without_key(str(exc), self.judge.api_key_env)}"

        try:
            with ThreadPoolExecutor(max_workers=self.judge.concurrency) as pool:
                for future in as_completed([pool.submit(one, i) for i in todo]):
                    i, text, error = future.result()
                    if text is None:
                        call_errors[i] = error or "no reply"
                        continue
                    replies[i] = text
                    if cache is not None:
                        cache.put_many([{"key": keys[i], "reply": text, "model": self.model,
                                         "template": self.template.name}])  # fmt: skip
        finally:
            self.calls_made += client.stats.calls

    def compute(self, items: Sequence[ScoringInput]) -> MetricResult:
        if not self.model or not self.judge.base_url:
            return MetricResult(
                metric=self.name, score=None, per_sample=[None] * len(items), ci=None, n=0,
                direction=self.direction, scale=self.scale, definition=self.settings(),
                unavailable="no judge configured: pass --judge-model and --judge-base-url (key in $"
                + self.judge.api_key_env + ")",
            )  # fmt: skip
        cache = JudgeCache(self.judge.cache_path) if self.judge.cache_path else None
        keys = [
            judge_key(
                self.model,
                self.template.name,
                self.template.version,
                it.question,
                list(it.references),
                it.prediction,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
            )
            for it in items
        ]
        replies: list[str | None] = [cache.get(k) if cache else None for k in keys]
        cached = [r is not None for r in replies]
        todo = [i for i, r in enumerate(replies) if r is None]
        call_errors: dict[int, str] = {}
        if todo:
            self._ask(items, keys, todo, cache, replies, call_errors)
        per_sample: list[float | None] = []
        details: list[dict[str, Any]] = []
        for i, reply in enumerate(replies):
            detail: dict[str, Any] = {"judge_reply": reply, "cached": cached[i]}
            value: float | None = None
            if reply is None:
                detail["judge_error"] = call_errors.get(i, "no reply")
            else:
                try:
                    value = parse_verdict(self.template, reply)
                    detail["verdict"] = value
                except UnparsableVerdict as exc:
                    detail["judge_error"] = f"unparsable reply: {exc}"
            per_sample.append(value)
            details.append(detail)
        scored = [v for v in per_sample if v is not None]
        clusters = [it.cluster for it, v in zip(items, per_sample, strict=True) if v is not None]
        definition = {
            **self.settings(),
            "aggregation": "mean over samples the judge scored",
            "judge_errors": len(per_sample) - len(scored),
            "judge_calls": self.calls_made,
            "cache_hits": sum(cached),
            "ci_method": "percentile bootstrap over samples",
            "bootstrap_samples": self.bootstrap_samples,
            "seed": self.seed,
        }
        score = float(np.mean(scored)) if scored else None
        ci = bootstrap_ci(len(scored), mean_statistic(scored), resamples=self.bootstrap_samples, seed=self.seed,
                          clusters=clusters)  # fmt: skip
        return MetricResult(
            metric=self.name, score=score, per_sample=per_sample, ci=ci, n=len(scored), direction=self.direction,
            scale=self.scale, definition=definition, details=details,
            unavailable=None if scored else "the judge scored no sample",
        )  # fmt: skip


def _without_key(text: str, api_key_env: str) -> str:
    """``text`` with the API key masked: some servers echo the key back in an error body."""
    key = os.environ.get(api_key_env)
    return text.replace(key, "***") if key else text
