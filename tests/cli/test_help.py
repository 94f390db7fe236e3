"""The command line reads well: every command has a description and examples or a clear usage line,
`savbench tasks` and `savbench models` say what a new user needs to choose."""

from __future__ import annotations

import subprocess
import sys

import pytest

from savbench.cli import build_parser, main

COMMANDS = [
    "run",
    "tasks",
    "models",
    "data",
    "leaderboard",
    "check",
    "compare",
    "report",
    "plot",
    "rescore",
    "export",
]


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_every_command_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    assert text.startswith("usage: savbench")
    for command in COMMANDS:
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(command + " ")), None)
        assert line is not None and len(line.split()) > 2, f"{command} has no summary in --help"
    assert "savbench run --model oracle --tasks mini" in text
    assert all(len(line) <= 100 for line in text.splitlines())


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_its_own_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    text = help_text(capsys, command)
    assert text.startswith(f"usage: savbench {command}")
    description = text.split("\n\n")[1]
    assert len(description.split()) >= 4, f"`savbench {command} --help` has no description"


def test_run_help_documents_resume_errors_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "run")
    for option in ("--model", "--tasks", "--model-args", "--limit", "--batch-size", "--seed", "--output-dir",
                   "--ablate", "--judge-model", "--strict"):  # fmt: skip
        assert option in text
    assert "resume" in text and "error row" in text and "examples:" in text
    assert "(default: 1)" in text  # defaults are shown


def test_parser_rejects_unknown_option_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["run", "--model", "oracle", "--tasks", "mini", "--bogus"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_tasks_lists_modalities_metrics_counts_and_presence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks"]) == 0
    text = capsys.readouterr().out
    header = text.splitlines()[0].split()
    assert header[:6] == ["task", "modalities", "metrics", "samples", "data", "groups"]
    mini_asr = next(line.split() for line in text.splitlines() if line.startswith("mini_asr "))
    assert mini_asr[1:3] == ["speech", "wer"] and mini_asr[3].isdigit() and mini_asr[4] == "yes"
    assert "groups:" in text and "mini (8 tasks)" in text


def test_models_lists_each_adapter_with_streams_and_needs(capsys: pytest.CaptureFixture[str]) -> None:
    from savbench.adapters import adapter_names

    assert main(["models"]) == 0
    text = capsys.readouterr().out
    for name in adapter_names():
        assert any(line.startswith(name + " ") for line in text.splitlines()), name
    assert text.count("needs: ") == len(adapter_names())
    assert all(len(line) <= 100 for line in text.splitlines())


def test_output_cut_short_by_a_pipe_is_not_an_error() -> None:
    command = [sys.executable, "-c", "import sys; from savbench.cli import main; sys.exit(main(['tasks']))"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err
