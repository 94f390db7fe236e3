from __future__ import annotations

import re
from pathlib import Path

import pytest

from savbench.cli import main
from tests.browser import find_or_install_chromium, render
from tests.run_factory import make_run, metric

HOSTILE = '<script>alert("x")</script></script><img src=x onerror=alert(1)> & "quotes" \x07bell'


def sample(task: str, i: int, prediction: str, error: dict | None = None) -> dict:
    return {
        "task": task, "id": f"s{i}", "prompt": "What is shown?", "question": "", "choices": [],
        "references": ["ref <b>bold</b>"], "prediction": prediction, "scores": {"accuracy": 1.0}, "details": {},
        "error": error, "modalities": ["video"], "cluster": None, "meta": {},
    }  # fmt: skip


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    samples = [sample("qa", 0, HOSTILE), sample("qa", 1, "plain answer"),
               sample("qa", 2, None, {"kind": "media", "message": "bad.mp4: video: truncated", "file": "bad.mp4"})]  # fmt: skip
    a = make_run(
        tmp_path / "a", "model-<a>", {"qa": {"accuracy": metric(42.5, (37.0, 47.0))}}, samples=samples
    )
    b = make_run(
        tmp_path / "b", "model-b", {"qa": {"accuracy": metric(61.25, (55.0, 66.0))}}, samples=samples[:2]
    )
    return [a, b]


def test_html_is_self_contained_and_escapes_outputs(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", *map(str, runs), "-o", str(out), "--no-published"]) == 0
    html = out.read_text()
    assert (
        "<script>alert" not in html
        and "onerror=alert" not in html.replace("\\u003c", "<").split("<script")[0]
    )
    assert not re.search(r"""(src|href)=["']?https?://""", html)  # nothing fetched from the network
    assert "model-&lt;a&gt;" in html and "42.50" in html and "61.25" in html
    assert "<svg" in html


def test_html_renders_in_chromium_without_console_errors(runs: list[Path], tmp_path: Path) -> None:
    chromium = find_or_install_chromium()
    out = tmp_path / "report.html"
    main(["report", *map(str, runs), "-o", str(out), "--no-published"])
    page = render(chromium, out)
    assert 'data-rendered="ok"' in page.dom, page.console[-2000:]
    assert "showing 5 of 5 matching samples" in page.dom
    assert '&lt;script&gt;alert("x")&lt;/script&gt;' in page.dom  # shown as text, not run
    assert "bad.mp4: video: truncated" in page.dom
    assert "[37.00, 47.00]" in page.dom
    console_errors = [
        line
        for line in page.console.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or "rror" in line)
    ]
    assert console_errors == []
