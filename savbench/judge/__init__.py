"""LLM-judged scoring: templates, verdict parsing, the call cache and the ``llm_judge`` metric."""

from savbench.judge._cache import JudgeCache, judge_key
from savbench.judge._metric import JudgeSettings, LLMJudgeMetric
from savbench.judge._parse import UnparsableVerdict, parse_verdict
from savbench.judge._templates import JudgeTemplate, get_template, register_template, template_names

__all__ = [
    "JudgeCache",
    "JudgeSettings",
    "JudgeTemplate",
    "LLMJudgeMetric",
    "UnparsableVerdict",
    "get_template",
    "judge_key",
    "parse_verdict",
    "register_template",
    "template_names",
]
