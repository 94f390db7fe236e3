"""A self-contained HTML report: one file, no network, charts as inline SVG.

Everything shown comes from run folders (results.json + samples.jsonl). Model outputs and every
other text from runs are escaped: inserted as text nodes by the page's script, or through
``html.escape`` on the Python side, so an output containing markup cannot change the page.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from savbench._text import without_surrogates
from savbench.report._read import RunRecord
from savbench.report._svg import Bar, bar_chart

MAX_SAMPLES = 20000

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777;font-size:12px}.err{color:#b00}.empty{color:#777}
#sample-table td{max-width:340px;white-space:pre-wrap;word-break:break-word}
.controls{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}
"""

_SCRIPT = r"""
(function () {
  const root = document.documentElement;
  window.addEventListener("error", function (e) { root.dataset.rendered = "error: " + e.message; });
  const data = JSON.parse(document.getElementById("sample-data").textContent);
  const body = document.getElementById("sample-body");
  const count = document.getElementById("sample-count");
  const controls = {
    task: document.getElementById("filter-task"),
    run: document.getElementById("filter-run"),
    status: document.getElementById("filter-status"),
    text: document.getElementById("filter-text"),
  };
  function fillSelect(select, values) {
    for (const value of values) {
      const option = document.createElement("option");
      option.value = value; option.textContent = value; select.appendChild(option);
    }
  }
  fillSelect(controls.task, [...new Set(data.rows.map(r => r.task))].sort());
  fillSelect(controls.run, data.runs);
  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    row.appendChild(td);
  }
  function render() {
    const task = controls.task.value, run = controls.run.value, status = controls.status.value;
    const needle = controls.text.value.toLowerCase();
    const shown = data.rows.filter(r =>
      (!task || r.task === task) && (!run || r.run === run) &&
      (!status || (status === "error" ? r.error : !r.error)) &&
      (!needle || JSON.stringify(r).toLowerCase().includes(needle)));
    body.replaceChildren();
    for (const r of shown.slice(0, 500)) {
      const tr = document.createElement("tr");
      cell(tr, r.run); cell(tr, r.task); cell(tr, r.id); cell(tr, r.prompt);
      cell(tr, r.prediction); cell(tr, (r.references || []).join(" | "));
      cell(tr, Object.entries(r.scores || {}).map(([k, v]) => k + "=" + (v == null ? "n/a" : Number(v).toFixed(3))).join(" "));
      cell(tr, r.error ? r.error.kind + ": " + r.error.message : "", r.error ? "err" : "");
      body.appendChild(tr);
    }
    count.textContent = "showing " + Math.min(shown.length, 500) + " of " + shown.length + " matching samples (" + data.rows.length + " in all" + (data.truncated ? ", list truncated" : "") + ")";
  }
  for (const c of Object.values(controls)) c.addEventListener("input", render);
  render();
  root.dataset.rendered = "ok";
})();
"""


def _fmt(value: float | None, scale: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if scale == "percent" else f"{value:.4f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in numeric else ''}>{escape(str(c))}</td>" for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _run_label(run: RunRecord) -> str:
    from savbench.leaderboard import model_label

    return f"{model_label(run.results)} · {run.run_id}"


def _runs_section(runs: Sequence[RunRecord]) -> str:
    rows = []
    for run in runs:
        env = run.results.get("environment", {})
        timing = run.results.get("timing", {})
        rows.append(
            [
                run.run_id,
                _run_label(run).split(" · ")[0],
                run.results.get("created_at", ""),
                ", ".join(run.tasks),
                str(timing.get("wall_s", "")),
                str(env.get("git_commit") or ""),
                str(run.results.get("savbench_version", "")),
            ]
        )
    return "<h2>Runs</h2>" + _table(
        ["run", "model", "created", "tasks", "wall s", "git commit", "savbench"], rows
    )


def _scores_section(runs: Sequence[RunRecord]) -> str:
    parts = [
        "<h2>Scores</h2>",
        '<p class="muted">95 % confidence intervals from a seeded bootstrap over samples.</p>',
    ]
    bars: list[Bar] = []
    tasks = list(dict.fromkeys(t for run in runs for t in run.tasks))
    for task in tasks:
        rows = []
        for run in runs:
            section = run.tasks.get(task)
            if section is None:
                continue
            for name, metric in section["metrics"].items():
                ci = metric.get("ci")
                definition = metric.get("definition") or {}
                rows.append(
                    [
                        _run_label(run),
                        name,
                        _fmt(metric.get("score"), metric["scale"]),
                        f"[{_fmt(ci[0], metric['scale'])}, {_fmt(ci[1], metric['scale'])}]" if ci else "",
                        metric["scale"],
                        "↑" if metric["direction"] == "higher" else "↓",
                        str(section.get("n_scored", "")),
                        str(section.get("n_errors", "")),
                        metric.get("unavailable")
                        or "; ".join(
                            f"{k}={v}"
                            for k, v in sorted(definition.items())
                            if not isinstance(v, (dict, list))
                        ),
                    ]
                )
            primary = next(iter(section["metrics"].items()), None)
            if primary is not None and primary[1].get("score") is not None:
                ci = primary[1].get("ci") or (None, None)
                bars.append(Bar(f"{task} ({primary[0]})", _run_label(run), primary[1]["score"], ci[0], ci[1]))
        parts.append(f"<h3>{escape(task)}</h3>")
        parts.append(
            _table(
                ["run", "metric", "score", "95% CI", "scale", "dir", "n", "errors", "definition"],
                rows,
                {2, 6, 7},
            )
        )
    parts.insert(2, bar_chart(bars, title="Primary metric per task"))
    return "".join(parts)


def _leaderboard_section(runs: Sequence[RunRecord], published: Sequence[Any]) -> str:
    from savbench.leaderboard import measured_cells, published_cells

    cells = [c for run in runs for c in measured_cells(run)]
    tasks = {c.task for c in cells}
    cells += [c for c in published_cells(list(published)) if c.task in tasks]
    columns = sorted({(c.task, c.metric) for c in cells})
    models = list(dict.fromkeys(c.model for c in cells))
    latest = {(c.model, c.task, c.metric): c for c in cells}
    rows = []
    for model in models:
        row = [model]
        for task, metric in columns:
            cell = latest.get((model, task, metric))
            row.append("" if cell is None else _fmt(cell.score, cell.scale))
        rows.append(row)
    headers = ["model"] + [f"{t} / {m}" for t, m in columns]
    return "<h2>Leaderboard</h2>" + _table(headers, rows, set(range(1, len(headers))))


def _reliance_section(runs: Sequence[RunRecord]) -> str:
    from savbench.compare import reliance_table

    cells = reliance_table(list(runs))
    if not cells:
        return (
            '<h2>Modality reliance</h2><p class="empty">No ablated runs given: run with '
            "<code>--ablate audio</code> (or <code>all</code>) and pass those runs too.</p>"
        )
    rows = [
        [c.task, c.metric, c.stream, _fmt(c.full, c.scale), _fmt(c.ablated, c.scale), _fmt(c.drop, c.scale),
         f"[{_fmt(c.ci[0], c.scale)}, {_fmt(c.ci[1], c.scale)}]" if c.ci else "", f"{c.p_value:.3g}" if c.p_value is not None else "", str(c.n)]
        for c in cells
    ]  # fmt: skip
    chart = bar_chart(
        [
            Bar(f"{c.task} ({c.metric})", f"without {c.stream}", c.drop, *(c.ci or (None, None)))
            for c in cells
        ],
        title="Score drop when a stream is removed (positive: the model used it)",
    )
    table = _table(
        ["task", "metric", "removed", "full", "ablated", "drop", "95% CI", "p", "n"], rows, {3, 4, 5, 8}
    )
    return "<h2>Modality reliance</h2>" + chart + table


def _samples_section(runs: Sequence[RunRecord]) -> str:
    rows: list[dict[str, Any]] = []
    truncated = False
    for run in runs:
        label = _run_label(run)
        for row in run.samples():
            if len(rows) >= MAX_SAMPLES:
                truncated = True
                break
            rows.append(
                {
                    k: row.get(k)
                    for k in ("task", "id", "prompt", "prediction", "references", "scores", "error")
                }
                | {"run": label}
            )
    payload = json.dumps(
        {"runs": [_run_label(r) for r in runs], "rows": rows, "truncated": truncated}, ensure_ascii=False
    )
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    controls = (
        '<div class="controls">'
        '<select id="filter-task"><option value="">all tasks</option></select>'
        '<select id="filter-run"><option value="">all runs</option></select>'
        '<select id="filter-status"><option value="">scored and errors</option><option value="scored">scored</option>'
        '<option value="error">errors</option></select>'
        '<input id="filter-text" type="search" placeholder="search prompt, prediction, references">'
        "</div>"
    )
    table = (
        '<p id="sample-count" class="muted"></p><table id="sample-table"><thead><tr>'
        "<th>run</th><th>task</th><th>id</th><th>prompt</th><th>prediction</th><th>references</th><th>scores</th><th>error</th>"
        '</tr></thead><tbody id="sample-body"></tbody></table>'
    )
    return (
        "<h2>Samples</h2>" + controls + table
        + f'<script type="application/json" id="sample-data">{payload}</script>'
    )  # fmt: skip


def build_html(
    runs: Sequence[RunRecord], published: Sequence[Any] = (), title: str = "savbench report"
) -> str:
    """The whole report as one HTML string."""
    sections = [
        _runs_section(runs),
        _scores_section(runs),
        _leaderboard_section(runs, published),
        _reliance_section(runs),
        _samples_section(runs),
    ]
    page = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>" + "".join(sections) + f"<script>{_SCRIPT}</script></body></html>"
    )
    return without_surrogates(page)  # a model output may hold one; the page must still encode
