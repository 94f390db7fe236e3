"""Untrusted text in every report: model outputs, sample ids and fields, model arguments and
published model names holding markup, CSV and markdown syntax, control characters, formula
starts, line separators and unpaired surrogates.

Each writer's output is read back with an independent reader (json, csv, pandas, an HTML parser,
a markdown renderer, Chromium) and compared with the original text.
"""

from __future__ import annotations

import csv
import json
import re
import textwrap
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from savbench.cli import main
from savbench.cli._common import table
from savbench.leaderboard import COLUMNS, model_label
from savbench.runner import RunConfig, run

HOSTILE = [
    "\x00\x1b[31mred\x1b[0m\x1b[2J",
    "</script><script>alert(1)</script>",
    '"a,b\n"c',
    "| md | table |",
    "=cmd()",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tindented",
    "\rcarriage",
    "mid\rcarriage",
    "line\u2028separator\x85next\u2029para",
    "a\\|b",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1)) **bold** `code`",
    "\u202eevil\u202c",
    "lone \ud800 surrogate",
    "&amp; &lt;",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONSTANT = '"a,b\n"c | md | table | \x1b[31m </script><script>alert(1)</script> a\\|b \rx'
SURROGATE_FREE = [h.replace("\ud800", "\ufffd") for h in HOSTILE]  # what a UTF-8 page can show


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An oracle run whose answers, questions, ids and metadata are the hostile strings, and a
    constant-answer run whose model argument is one."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "media").mkdir()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(root / "media" / "i.png")
    rows = [
        {"id": f"{i}:{text}", "image": "i.png", "question": text, "references": [text], "meta": {"m": text}}
        for i, text in enumerate(HOSTILE)
    ]
    (root / "hostile.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "hostile.yaml").write_text(
        textwrap.dedent(
            """\
            task: hostile_qa
            description: Free-text answers full of markup and control characters.
            modalities: [image]
            source: {kind: manifest, path: hostile.jsonl, media_root: media}
            prompt: "{question}"
            answer: free_text
            metrics: [{name: exact_match}]
            """
        )
    )
    common = dict(tasks=["hostile_qa"], include_paths=[str(root)], output_dir=root / "results", num_workers=0,
                  progress=False, bootstrap_samples=50)  # fmt: skip
    oracle = run(RunConfig(model="oracle", run_name="oracle", **common))
    constant = run(RunConfig(model="constant", run_name="constant", model_args={"text": CONSTANT}, **common))
    return {"root": root, "oracle": oracle.run_dir, "constant": constant.run_dir}


def test_results_json_and_samples_jsonl_read_back_exactly(runs: dict[str, Path]) -> None:
    path = runs["oracle"] / "samples.jsonl"
    with path.open(encoding="utf-8", newline="") as handle:  # split on "\n" only
        by_file_lines = [json.loads(line) for line in handle]
    by_any_line_break = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert by_file_lines == by_any_line_break  # no raw U+2028/U+0085 splits a row for other readers
    assert [r["prediction"] for r in by_file_lines] == HOSTILE
    assert [r["id"] for r in by_file_lines] == [f"{i}:{t}" for i, t in enumerate(HOSTILE)]
    assert all(r["question"] == r["references"][0] == r["meta"]["m"] for r in by_file_lines)
    assert all(r["scores"]["exact_match"] == 100.0 for r in by_file_lines)  # what was scored is what came in
    frame = pd.read_json(path, lines=True)
    assert len(frame) == len(HOSTILE)
    # pandas' JSON reader drops unpaired surrogates; every other string comes back as written
    assert [p for p, h in zip(frame["prediction"], HOSTILE, strict=True) if "\ud800" not in h] == [
        h for h in HOSTILE if "\ud800" not in h
    ]
    constant = json.loads((runs["constant"] / "results.json").read_text(encoding="utf-8"))
    assert constant["model"]["args"]["text"] == CONSTANT
    assert constant["tasks"]["hostile_qa"]["n_scored"] == len(HOSTILE)
    for store in runs["oracle"].glob("predictions/*.jsonl"):
        assert all(json.loads(line) for line in store.read_text(encoding="utf-8").splitlines())


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.cells: list[str] = []
        self.titles: list[str] = []  # the page's, then the charts' (SVG)
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "td", "th", "title"):
            self._in = tag
            if tag == "script":
                self.scripts.append("")
            elif tag in ("td", "th"):
                self.cells.append("")
            else:
                self.titles.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in in ("td", "th"):
            self.cells[-1] += data
        elif self._in == "title":
            self.titles[-1] += data


def test_html_report_shows_every_string_as_text_and_runs_no_injected_markup(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    title = "</title><script>alert(2)</script>"
    assert main(["report", str(runs["oracle"]), str(runs["constant"]), "-o", str(out), "--no-published",
                 "--title", title]) == 0  # fmt: skip
    page = _Page()
    page.feed(out.read_bytes().decode("utf-8"))  # the page encodes although an output held a lone surrogate
    tags = {tag for tag, _ in page.tags}
    assert "img" not in tags and "a" not in tags
    assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")]
    assert len(page.scripts) == 2  # the sample data (JSON, not run) and the page's own script
    assert [attrs.get("type") for tag, attrs in page.tags if tag == "script"] == ["application/json", None]
    data = json.loads(page.scripts[0])
    oracle_rows = [r for r in data["rows"] if r["run"].startswith("oracle")]
    assert [r["prediction"] for r in oracle_rows] == SURROGATE_FREE
    assert page.titles[0] == title
    constant_label = model_label(json.loads((runs["constant"] / "results.json").read_text()))
    assert any(cell.startswith(constant_label) for cell in page.cells)  # markup shown as text


def test_html_report_renders_in_chromium_with_only_its_own_scripts(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    from tests.browser import find_or_install_chromium, render

    chromium = find_or_install_chromium()
    out = tmp_path / "report.html"
    main(["report", str(runs["oracle"]), str(runs["constant"]), "-o", str(out), "--no-published"])
    dom = render(chromium, out).dom
    assert 'data-rendered="ok"' in dom
    assert dom.count("<script") == 2 and "<img" not in dom
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # an output, shown as text
    assert f"showing {2 * len(HOSTILE)} of {2 * len(HOSTILE)} matching samples" in dom


def write_published(path: Path, models: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for model in models:
            writer.writerow({"benchmark": "SAVE", "task": "hostile_qa", "metric": "exact_match", "direction": "higher",
                             "model": model, "score": "12.5", "scale": "percent", "status": "ok", "source": "T1",
                             "source_url": "", "eval_setting": "", "note": ""})  # fmt: skip
    return path


def markdown_cells(line: str) -> list[str]:
    """Split a markdown table row on unescaped pipes and drop the escaping backslashes."""
    cells, current, i = [], "", 0
    body = line.strip()[1:-1] if line.strip().startswith("|") else line
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current += body[i : i + 2]
            i += 2
        elif body[i] == "|":
            cells.append(current)
            current, i = "", i + 1
        else:
            current += body[i]
            i += 1
    cells.append(current)
    return [re.sub(r"\\(.)", r"\1", c.strip()) for c in cells]


def test_leaderboard_csv_and_markdown_keep_cells_intact_and_inert(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published_models = [h for h in HOSTILE if h.strip() and "\ud800" not in h]
    published = write_published(tmp_path / "published.csv", published_models)
    csv_path = tmp_path / "board.csv"
    assert (
        main(["leaderboard", str(runs["oracle"].parent), "--published", str(published), "-o", str(csv_path)])
        == 0
    )
    labels = [model_label(json.loads((runs[r] / "results.json").read_text())) for r in ("oracle", "constant")]
    labels += [f"{m} [published]" for m in published_models]
    expected = sorted("'" + label if label.startswith(FORMULA_START) else label for label in labels)

    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["model"] for r in rows) == expected  # quoting held: one row per model, text intact
    assert all(r["hostile_qa/exact_match"] in ("100.0", "0.0", "12.5") for r in rows)
    frame = pd.read_csv(csv_path, keep_default_na=False)
    assert sorted(frame["model"]) == expected and len(frame) == len(labels)

    markdown = csv_path.with_suffix(".md").read_text(encoding="utf-8")
    lines = markdown.splitlines()
    assert len(lines) == 2 + len(labels)  # no label broke a row
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202e]", markdown)
    shown = sorted(markdown_cells(line)[0] for line in lines[2:])
    assert all(len(markdown_cells(line)) == 2 for line in lines)
    # line breaks and tabs become spaces; a table cell loses its outer spaces
    visible = [_visible(re.sub(r"\r\n|[\r\n\t]", " ", label)).strip() for label in labels]
    assert shown == sorted(visible)
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script" not in html and "<img" not in html and "<a " not in html and "<strong" not in html
    assert capsys.readouterr().out.count("\n") == 2  # the summary lines only


def _visible(text: str) -> str:
    """Control, separator and bidi characters as the escapes the reports print."""
    out = []
    for ch in text:
        if unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029\u202e\u202c":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def test_errors_and_tables_printed_to_the_terminal_carry_no_control_characters(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = runs["root"]
    (root / "empty").mkdir(exist_ok=True)  # every image is missing there
    code = main(["run", "--model", "oracle", "--tasks", "hostile_qa", "--include-path", str(root),
                 "--output-dir", str(root / "strict"), "--strict", "--no-progress", "--num-workers", "0",
                 "--media-root", f"hostile_qa={root / 'empty'}"])  # fmt: skip
    captured = capsys.readouterr()
    # the id and file name of the first sample, shown with its escape sequences spelled out
    assert code == 2 and "--strict: hostile_qa/0:\\x00\\x1b[31mred\\x1b[0m\\x1b[2J: " in captured.err
    assert "i.png" in captured.err and "file not found" in captured.err
    assert "\x1b" not in captured.err and len(captured.err.strip().splitlines()) == 1
    assert main(["run", "--model", "oracle", "--tasks", "hostile_qa", "--include-path", str(root),
                 "--output-dir", str(root / "plain"), "--no-progress", "--num-workers", "0"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", printed)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=3, max_size=3), max_size=5), st.text(max_size=8))
def test_terminal_table_has_one_line_per_row_and_no_control_characters(
    rows: list[list[str]], header: str
) -> None:
    text = table(rows, [header, "b", "c"])
    lines = text.split("\n")
    assert len(lines) == len(rows) + 2
    assert not [ch for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs")]
    text.encode("utf-8")  # printable on a UTF-8 terminal: no unpaired surrogates
