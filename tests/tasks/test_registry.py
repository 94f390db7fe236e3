from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from savbench._errors import SpecError
from savbench.tasks import TaskRegistry, load_task_file, render_prompt

GOOD = """\
task: toy_asr
description: Toy transcription task.
modalities: [speech]
source: {kind: manifest, path: toy.jsonl, media_root: media}
prompt: "Transcribe the speech into text."
answer: transcript
metrics:
  - {name: wer, normalizer: whisper_en+basic}
"""

MC = """\
task: toy_mc
description: Toy multiple choice.
modalities: [video]
source: {kind: manifest, path: mc.jsonl}
prompt: "{question}\\n{choices}\\nAnswer with {choice_letters}."
answer: multiple_choice
metrics: [{name: accuracy}]
groups: [toys]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_spec_loads_with_defaults(tmp_path: Path) -> None:
    task = load_task_file(write(tmp_path, "toy.yaml", GOOD))
    assert task.name == "toy_asr"
    assert task.spec.generation.max_new_tokens == 128
    assert task.spec.primary_metric.name == "wer"
    assert task.spec.primary_metric.options() == {"normalizer": "whisper_en+basic"}
    assert task.resolve("toy.jsonl") == tmp_path / "toy.jsonl"


def test_fingerprint_changes_with_prompt_only(tmp_path: Path) -> None:
    a = load_task_file(write(tmp_path / "a", "t.yaml", GOOD))
    b = load_task_file(write(tmp_path / "b", "t.yaml", GOOD))
    c = load_task_file(write(tmp_path / "c", "t.yaml", GOOD.replace("Transcribe", "Write down")))
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (GOOD + "colour: red\n", "colour", "unknown field"),
        (GOOD.replace("answer: transcript", "answer: essay"), "answer", "Input should be"),
        (GOOD.replace("modalities: [speech]", "modalities: [smell]"), "modalities.0", "Input should be"),
        (
            GOOD.replace("description: Toy transcription task.\n", ""),
            "description",
            "required field is missing",
        ),
        (
            GOOD.replace("{name: wer, normalizer: whisper_en+basic}", "{name: werr}"),
            "metrics.0.name",
            "unknown metric 'werr'",
        ),
        (
            GOOD.replace('"Transcribe the speech into text."', '"Say {answer}"'),
            "prompt",
            "unknown placeholder(s) {answer}",
        ),
        (
            GOOD.replace("kind: manifest, ", "kind: ftp, "),
            "source",
            "does not match any of the expected tags",
        ),
        (
            GOOD + "generation: {max_new_tokens: 0}\n",
            "generation.max_new_tokens",
            "greater than or equal to 1",
        ),
    ],
)
def test_malformed_spec_names_file_field_and_reason(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(SpecError) as info:
        load_task_file(path)
    assert info.value.path == str(path)
    assert info.value.field.startswith(field)
    assert reason in info.value.reason


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", GOOD + "metrics: [unclosed\n")
    with pytest.raises(SpecError, match=r"bad.yaml: line \d+, column \d+: invalid YAML"):
        load_task_file(path)


@pytest.mark.parametrize("tag", ["!function utils.doc_to_text", "!!python/object/apply:os.system ['true']"])
def test_yaml_cannot_name_code(tmp_path: Path, tag: str) -> None:
    path = write(tmp_path, "evil.yaml", GOOD.replace('"Transcribe the speech into text."', tag))
    with pytest.raises(SpecError, match="cannot name code"):
        load_task_file(path)


def test_non_utf8_spec(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.replace("Toy", "Caf\xe9").encode("latin-1"))
    with pytest.raises(SpecError, match="not valid UTF-8"):
        load_task_file(path)


def test_multiple_choice_prompt_must_show_choices(tmp_path: Path) -> None:
    path = write(tmp_path, "mc.yaml", MC.replace("\\n{choices}\\nAnswer with {choice_letters}.", ""))
    with pytest.raises(SpecError, match=r"prompt: a multiple-choice prompt must show the options"):
        load_task_file(path)


def test_include_merges_defaults_and_spec_wins(tmp_path: Path) -> None:
    write(
        tmp_path, "_asr_defaults.yaml", "generation: {max_new_tokens: 32, num_beams: 2}\nanswer: transcript\n"
    )
    spec = (
        GOOD.replace("answer: transcript\n", "") + "include: _asr_defaults.yaml\ngeneration: {num_beams: 4}\n"
    )
    task = load_task_file(write(tmp_path, "t.yaml", spec))
    assert task.spec.generation.max_new_tokens == 32
    assert task.spec.generation.num_beams == 4
    assert task.spec.answer == "transcript"


def test_include_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "_a.yaml", "include: _b.yaml\n")
    write(tmp_path, "_b.yaml", "include: _a.yaml\n")
    with pytest.raises(SpecError, match="include"):
        load_task_file(write(tmp_path, "t.yaml", GOOD + "include: _a.yaml\n"))


def test_registry_groups_and_expansion(tmp_path: Path) -> None:
    write(tmp_path, "asr/toy.yaml", GOOD)
    write(tmp_path, "mc/mc.yaml", MC)
    write(tmp_path, "groups/all.yaml", "group: all\ntasks: [toys, toy_asr]\n")
    registry = TaskRegistry([tmp_path])
    assert sorted(registry.tasks) == ["toy_asr", "toy_mc"]
    assert registry.groups["toys"] == ["toy_mc"]
    assert [t.name for t in registry.expand("all")] == ["toy_mc", "toy_asr"]
    assert [t.name for t in registry.expand("toy_asr,all")] == ["toy_asr", "toy_mc"]
    with pytest.raises(KeyError, match="unknown task or group 'nope'"):
        registry.expand("nope")


def test_registry_refuses_duplicate_task_names(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", GOOD)
    write(tmp_path, "two.yaml", GOOD)
    with pytest.raises(SpecError, match="also defined in"):
        TaskRegistry([tmp_path])


def test_group_with_unknown_member(tmp_path: Path) -> None:
    write(tmp_path, "toy.yaml", GOOD)
    write(tmp_path, "g.yaml", "group: g\ntasks: [toy_asr, missing_task]\n")
    with pytest.raises(SpecError, match="unknown task or group 'missing_task'"):
        TaskRegistry([tmp_path])


def test_group_cycle(tmp_path: Path) -> None:
    write(tmp_path, "toy.yaml", GOOD)
    write(tmp_path, "a.yaml", "group: a\ntasks: [b]\n")
    write(tmp_path, "b.yaml", "group: b\ntasks: [a]\n")
    registry = TaskRegistry([tmp_path])
    with pytest.raises(KeyError, match="group cycle"):
        registry.expand("a")


def test_render_prompt_formats_choices() -> None:
    text = render_prompt(
        "{question}\n{choices}\nAnswer with {choice_letters}.",
        question="What colour?",
        choices=["red", "green", "blue"],
        choice_format="lettered",
    )
    assert text == "What colour?\n(A) red\n(B) green\n(C) blue\nAnswer with A, B or C."
    assert (
        render_prompt("{choices}", question="", choices=["x", "y"], choice_format="numbered") == "1. x\n2. y"
    )
