"""Tiny inline-SVG charts for the HTML report (no JavaScript, no network, no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#4062bb", "#e07a1f", "#3a9a5b", "#c0392b", "#8e44ad", "#7f8c8d", "#d4ac0d", "#16a085")


@dataclass(frozen=True)
class Bar:
    """One bar: a group (e.g. a task), a series (e.g. a model), a value and an optional CI."""

    group: str
    series: str
    value: float | None
    low: float | None = None
    high: float | None = None


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str = "", width: int = 720) -> str:
    """Grouped horizontal bar chart with CI whiskers, as an ``<svg>`` element string."""
    groups = list(dict.fromkeys(b.group for b in bars))
    series = list(dict.fromkeys(b.series for b in bars))
    values = [v for b in bars for v in (b.value, b.low, b.high) if v is not None]
    if not groups or not values:
        return f'<p class="empty">{escape(title)}: nothing to plot</p>'
    lo = min(0.0, min(values))
    hi = max(values) if max(values) > lo else lo + 1.0
    label_w, right_pad, bar_h, gap = 200, 70, 14, 10
    plot_w = width - label_w - right_pad
    group_h = bar_h * len(series) + gap
    legend_h = 18 * ((len(series) + 2) // 3)
    height = 30 + group_h * len(groups) + legend_h + 20

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{label_w}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{x(0):.1f}" y1="24" x2="{x(0):.1f}" y2="{24 + group_h * len(groups)}" stroke="#999"/>',
    ]
    index = {(b.group, b.series): b for b in bars}
    for gi, group in enumerate(groups):
        top = 26 + gi * group_h
        out.append(
            f'<text x="{label_w - 6}" y="{top + group_h / 2:.1f}" text-anchor="end">{escape(group)}</text>'
        )
        for si, name in enumerate(series):
            bar = index.get((group, name))
            if bar is None or bar.value is None:
                continue
            y = top + si * bar_h
            x0, x1 = sorted((x(0), x(bar.value)))
            colour = PALETTE[si % len(PALETTE)]
            out.append(
                f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 1):.1f}" height="{bar_h - 2}" fill="{colour}">'
                f"<title>{escape(name)}: {bar.value:.4g}{escape(unit)}</title></rect>"
            )
            if bar.low is not None and bar.high is not None:
                cy = y + (bar_h - 2) / 2
                out.append(
                    f'<line x1="{x(bar.low):.1f}" y1="{cy:.1f}" x2="{x(bar.high):.1f}" y2="{cy:.1f}" stroke="#222"/>'
                    f'<line x1="{x(bar.low):.1f}" y1="{cy - 4:.1f}" x2="{x(bar.low):.1f}" y2="{cy + 4:.1f}" stroke="#222"/>'
                    f'<line x1="{x(bar.high):.1f}" y1="{cy - 4:.1f}" x2="{x(bar.high):.1f}" y2="{cy + 4:.1f}" stroke="#222"/>'
                )
            out.append(
                f'<text x="{max(x1, x(bar.high or bar.value)) + 4:.1f}" y="{y + bar_h - 4:.1f}">{bar.value:.3g}</text>'
            )
    legend_top = 30 + group_h * len(groups)
    for si, name in enumerate(series):
        lx = label_w + (si % 3) * (plot_w // 3)
        ly = legend_top + (si // 3) * 18
        out.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{PALETTE[si % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly + 9}">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
