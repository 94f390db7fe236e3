"""Decoder thread settings for worker processes."""

from __future__ import annotations

import pytest

from savbench.media import decode_threads, set_decode_threads


def test_default_env_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAVBENCH_DECODE_THREADS", raising=False)
    assert decode_threads() == 1
    monkeypatch.setenv("SAVBENCH_DECODE_THREADS", "3")
    assert decode_threads() == 3
    monkeypatch.setenv("SAVBENCH_DECODE_THREADS", "lots")
    assert decode_threads() == 1
    set_decode_threads(2)
    try:
        assert decode_threads() == 2
    finally:
        set_decode_threads(None)
    with pytest.raises(ValueError):
        set_decode_threads(0)
