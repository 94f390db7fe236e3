"""The code base stays ruff-clean (lint and format), checked with the pinned ruff."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

TARGETS = ["savbench", "model_adapters", "reference_models", "tests", "scripts", "benchmarks"]


def _ruff() -> list[str]:
    # The ruff of this interpreter's environment: the test extra pins it, and CI does not put
    # the venv's bin folder on PATH.
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (test extra)")
    return [sys.executable, "-m", "ruff"]


def test_ruff_check() -> None:
    targets = [t for t in TARGETS if (REPO_ROOT / t).exists()]
    result = subprocess.run([*_ruff(), "check", *targets], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    targets = [t for t in TARGETS if (REPO_ROOT / t).exists()]
    result = subprocess.run(
        [*_ruff(), "format", "--check", *targets], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
