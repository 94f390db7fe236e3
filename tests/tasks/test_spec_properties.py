"""Property tests of the task-spec parser: whatever a YAML file holds, loading it gives a valid
spec or a SpecError naming the file and the field at fault, never another exception; a spec
that loads can be written into a report."""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from savbench._errors import SpecError
from savbench.tasks import LoadedTask, TaskRegistry, load_task_file
from savbench.tasks._yaml import read_yaml

BASE: dict[str, Any] = {
    "task": "prop_task",
    "description": "A task built by a property test.",
    "modalities": ["video", "speech"],
    "source": {"kind": "manifest", "path": "rows.jsonl", "media_root": "media"},
    "prompt": "{question}\n{choices}\nAnswer with {choice_letters}.",
    "answer": "multiple_choice",
    "metrics": [{"name": "accuracy"}],
    "generation": {"max_new_tokens": 8},
    "media": {"video": {"num_frames": 4}, "audio": {"sample_rate": 16000}},
}

# Places a value can be put or removed: every top-level field and the nested ones users write.
PATHS = [
    ("task",), ("description",), ("modalities",), ("source",), ("prompt",), ("answer",), ("metrics",),
    ("generation",), ("media",), ("audio_from_video",), ("optional_modalities",), ("prompt_overrides",),
    ("choice_format",), ("parser",), ("groups",), ("version",), ("prepare",), ("reproduces",),
    ("source", "kind"), ("source", "path"), ("source", "media_root"), ("source", "dataset"),
    ("source", "split"), ("source", "columns"), ("source", "constants"), ("source", "revision"),
    ("metrics", 0), ("metrics", 0, "name"), ("metrics", 0, "primary"), ("metrics", 0, "normalizer"),
    ("metrics", 0, "parser"), ("metrics", 0, "n"), ("generation", "temperature"), ("generation", "top_p"),
    ("generation", "num_beams"), ("generation", "length_penalty"), ("generation", "stop"),
    ("generation", "max_new_tokens"), ("media", "video"), ("media", "video", "num_frames"),
    ("media", "video", "fps"), ("media", "video", "max_frames"), ("media", "audio", "sample_rate"),
    ("media", "audio", "max_seconds"), ("prepare", "converter"), ("reproduces", "paper"),
    ("prompt_overrides", "oracle"), ("unknown_field",),
]  # fmt: skip

WORDS = [
    "speech", "audio", "video", "image", "manifest", "hf", "accuracy", "wer", "cider", "exact_match",
    "llm_judge", "multiple_choice", "free_text", "yes_no", "transcript", "lettered", "numbered", "yes_no",
    "whisper_en+basic", "strip", "{question}", "{choices}", "{choice_letters}", "{unknown}", "{", "}",
    "{0}", "{}", "{question.upper}", "{question!r}", "{question:>{width}}", "", " ", "\x00", "\x1b[2J",
    "${SAVBENCH_DATA}/x.jsonl", "~/x", "../../etc/passwd", "/abs/path", "prop_task", "bad name!",
    "-dash", "a" * 300, "references", "id",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(WORDS), st.text(max_size=6), st.integers(0, 3)), inner, max_size=4
        ),
    ),
    max_leaves=8,
)
_DELETE = object()
mutations = st.dictionaries(
    st.sampled_from(PATHS), st.one_of(values, st.just(_DELETE)), min_size=1, max_size=4
)


def _apply(spec: dict[str, Any], path: tuple[Any, ...], value: Any) -> bool:
    """Set (or delete) ``spec[path]``; False when the path no longer exists in the spec."""
    node: Any = spec
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    if isinstance(node, dict):
        if value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value
        return True
    if isinstance(node, list) and isinstance(last, int) and last < len(node):
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
        return True
    return False


def _load(text: str) -> tuple[Path, LoadedTask | SpecError]:
    with tempfile.TemporaryDirectory(prefix="spec-prop-") as folder:
        path = Path(folder) / "task.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return path, load_task_file(path)
        except SpecError as exc:  # anything else fails the test
            return path, exc


def _assert_usable(task: LoadedTask) -> None:
    # what a run does with a spec: fingerprint it and write it into results.json
    dumped = task.spec.model_dump(mode="json")
    json.dumps(dumped, allow_nan=False)
    assert len(task.fingerprint()) == 16
    assert task.spec.primary_metric in task.spec.metrics


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations)
def test_random_field_values_give_a_spec_or_an_error_naming_file_and_field(changes: dict) -> None:
    spec = copy.deepcopy(BASE)
    touched = {path[0] for path, value in changes.items() if _apply(spec, path, value)}
    path, outcome = _load(yaml.safe_dump(spec, allow_unicode=True))
    if isinstance(outcome, LoadedTask):
        _assert_usable(outcome)
        return
    assert outcome.path == str(path) and str(outcome).startswith(f"{path}: ")
    assert outcome.reason
    # the error points at a field that was changed (or, for cross-field rules, names it)
    named = f"{outcome.field} {outcome.reason}"
    assert any(str(key) in named for key in touched) or outcome.field.startswith("(top level)"), (
        touched,
        str(outcome),
    )


@settings(max_examples=100, deadline=None)
@given(values)
def test_any_top_level_value_gives_a_spec_error_or_a_spec(value: Any) -> None:
    path, outcome = _load(yaml.safe_dump(value, allow_unicode=True))
    assert isinstance(outcome, SpecError) and outcome.path == str(path)


TRICKY_YAML = [
    "a: 2001-02-30", "a: 2001-13-01", "a: !!timestamp 'x'", "a: !!int 'x'", "a: !!float 'x'",
    "a: !!binary '###'", "a: !!set {x}", "a: &x 1\nb: *y", "a: !!python/name:os.system",
    "a: !!python/object/apply:os.system ['true']", "a: !function utils.f", "? [a]\n: 1", "a: [" * 3000,
    "[" * 3000 + "]" * 3000, "{" * 3000 + "}" * 3000, "a: 'unterminated", "\t- x", "- a\nb: c", "%YAML 9.9\n---\na: 1",
    "a: 1\na: 2", "a: .nan", "a: .inf", "a: 0x", "a: 1e999", "\ufeffa: 1", "a: \x85", "--- 1\n--- 2",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TRICKY_YAML), st.text(max_size=30)), min_size=1, max_size=4))
def test_any_yaml_text_reads_as_a_mapping_or_a_spec_error(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="yaml-prop-") as folder:
        path = Path(folder) / "any.yaml"
        path.write_text("\n".join(lines), encoding="utf-8")
        try:
            data = read_yaml(path)
        except SpecError as exc:
            assert exc.path == str(path) and exc.reason
            return
    assert isinstance(data, dict)


@settings(max_examples=100, deadline=None)
@given(st.one_of(values, st.sampled_from(["x\x00y.yaml", "../" * 40 + "etc/passwd", "task.yaml", "", "."])))
def test_any_include_value_gives_a_spec_or_a_spec_error(include: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="include-prop-") as name:
        folder = Path(name)
        (folder / "_defaults.yaml").write_text("generation: {max_new_tokens: 4}\n")
        path = folder / "task.yaml"
        path.write_text(yaml.safe_dump({**BASE, "include": include}, allow_unicode=True), encoding="utf-8")
        try:
            _assert_usable(load_task_file(path))
        except SpecError as exc:
            assert exc.reason
            assert exc.field == "include" or exc.path != str(path)  # or it names the included file


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["group", "tasks", "description", "extra"]), values, max_size=4))
def test_any_group_file_gives_a_registry_or_a_spec_error(group: dict) -> None:
    with tempfile.TemporaryDirectory(prefix="group-prop-") as name:
        folder = Path(name)
        (folder / "task.yaml").write_text(yaml.safe_dump(BASE))
        (folder / "group.yaml").write_text(yaml.safe_dump({"group": "g", **group}, allow_unicode=True))
        try:
            registry = TaskRegistry([folder])
        except SpecError as exc:
            assert exc.path == str(folder / "group.yaml") and exc.field
            return
    for group_name in registry.groups:
        try:
            assert all(t.name == "prop_task" for t in registry.expand(group_name))
        except KeyError as exc:  # expand's documented error, turned into a RunError by the runner
            assert "group cycle" in str(exc)


def test_non_finite_numbers_are_refused_where_a_report_could_not_hold_them(tmp_path: Path) -> None:
    for field, value in (("temperature", math.inf), ("length_penalty", math.nan)):
        path, outcome = _load(yaml.safe_dump({**BASE, "generation": {field: value}}))
        assert isinstance(outcome, SpecError) and outcome.field == f"generation.{field}", outcome
