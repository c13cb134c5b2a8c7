"""The overview page: run history as static HTML with inline SVG charts.

Charts are drawn here in Python (no JavaScript, no CDN): people glance at bars and lines,
and read tables only for the details. Links go into GX Data Docs, served beside the page
under ``data-docs/``.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.dashboard.records import load_history
from pipeline.settings import Settings

DOCS_PREFIX = "data-docs/"
MAX_RUNS_CHARTED = 30
MAX_FAILURES_LISTED = 25
SERIES: tuple[tuple[str, str, str], ...] = (
    # (key in events_by_type, label, colour)
    ("statement", "statements", "#4c78a8"),
    ("military_update", "military updates", "#f58518"),
    ("commitment", "commitments", "#54a24b"),
)
DEAD = ("dead letters", "#e45756")
STATUS_COLOURS = {
    "passed": "#2f9e44",
    "passed with dead letters": "#e67700",
    "alert": "#c92a2a",
    "held": "#862e9c",
}


def site_dir(settings: Settings) -> Path:
    """Where the overview page is written (served at the dashboard's root)."""
    return settings.quality_dir / "site"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _short_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d %b %H:%M")
    except ValueError:
        return iso[:16]


def _events_by_type(record: dict[str, Any]) -> dict[str, int]:
    """Events published per type: from topic counts when the run published, else the split."""
    return {k: int(record.get("events_by_type", {}).get(k, 0)) for k, _, _ in SERIES}


# --------------------------------------------------------------------------------------------
# SVG charts


def runs_chart(records: Sequence[dict[str, Any]], width: int = 1100, height: int = 260) -> str:
    """Stacked bars per run: events per type, with the run's dead letters in red beside."""
    if not records:
        return '<p class="empty">No runs recorded yet.</p>'
    left, right, top, bottom = 48, 16, 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(_events_by_type(r).values()) for r in records]
    top_value = max([*totals, *(r.get("dead_letters", 0) for r in records), 1])
    scale = plot_h / _nice(top_value)
    slot = plot_w / len(records)
    bar = max(4.0, min(28.0, slot * 0.38))
    parts = [_axis(left, top, plot_w, plot_h, _nice(top_value))]
    for i, record in enumerate(records):
        x = left + i * slot + slot / 2 - bar - 1
        y = top + plot_h
        name = _e(record.get("run_name", ""))
        for key, label, colour in SERIES:
            n = _events_by_type(record)[key]
            if n:
                h = n * scale
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{colour}"><title>{name}: {n} {label}</title></rect>'
                )
        dead = int(record.get("dead_letters", 0))
        if dead:
            h = dead * scale
            parts.append(
                f'<rect x="{x + bar + 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{DEAD[1]}"><title>{name}: {dead} dead letters</title></rect>'
            )
        status = record.get("status", "passed")
        parts.append(
            f'<circle cx="{left + i * slot + slot / 2:.1f}" cy="{top + plot_h + 10}" r="4" '
            f'fill="{STATUS_COLOURS.get(status, "#868e96")}"><title>{_e(status)}</title></circle>'
        )
        if len(records) <= 12 or i % max(1, len(records) // 10) == 0:
            parts.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 30}" '
                f'class="tick" text-anchor="middle">{_e(_short_time(record.get("recorded_at", "")))}</text>'
            )
    return _svg(width, height, "Events and dead letters per run", parts)


def hbar_chart(
    items: Sequence[tuple[str, float, str]],
    *,
    width: int = 520,
    value_format: str = "{:.0f}",
    max_value: float | None = None,
    label_width: int = 210,
) -> str:
    """Horizontal bars: (label, value, colour) per line, value printed at the bar's end."""
    if not items:
        return '<p class="empty">Nothing to show.</p>'
    row_h, gap = 22, 8
    height = len(items) * (row_h + gap) + 4
    top_value = max_value or max(v for _, v, _ in items) or 1
    plot_w = width - label_width - 60
    parts = []
    for i, (label, value, colour) in enumerate(items):
        y = 2 + i * (row_h + gap)
        w = max(1.5, plot_w * value / top_value) if value else 0
        fits = int((label_width - 12) / 6.8)  # 12 px text: about 6.8 px per character
        shown = label if len(label) <= fits else label[: fits - 1] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" class="label">'
            f"<title>{_e(label)}</title>{_e(shown)}</text>"
            f'<rect x="{label_width}" y="{y}" width="{plot_w}" height="{row_h}" fill="#f1f3f5"/>'
            f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{row_h}" fill="{colour}">'
            f"<title>{_e(label)}: {_e(value_format.format(value))}</title></rect>"
            f'<text x="{label_width + w + 6:.1f}" y="{y + 15}" class="value">'
            f"{_e(value_format.format(value))}</text>"
        )
    return _svg(width, height, "bar chart", parts)


def sparkline(values: Sequence[float], width: int = 140, height: int = 28) -> str:
    """Pass rate over runs (0-100 %), newest on the right."""
    if len(values) < 2:
        return ""
    step = (width - 6) / (len(values) - 1)
    points = " ".join(
        f"{3 + i * step:.1f},{3 + (height - 6) * (1 - v):.1f}" for i, v in enumerate(values)
    )
    last_x, last_y = 3 + (len(values) - 1) * step, 3 + (height - 6) * (1 - values[-1])
    colour = "#2f9e44" if values[-1] >= 0.999 else "#e67700" if values[-1] >= 0.9 else "#c92a2a"
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="pass rate over runs"><polyline points="{points}" fill="none" '
        f'stroke="#adb5bd" stroke-width="1.5"/><circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" '
        f'fill="{colour}"/></svg>'
    )


def _nice(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return float(step * 4)
    return float(value)


def _axis(left: int, top: int, plot_w: float, plot_h: float, top_value: float) -> str:
    lines = []
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        lines.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{top_value * k / 4:.0f}</text>"
        )
    return "".join(lines)


def _svg(width: int, height: int, title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg width="100%" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" '
        f'preserveAspectRatio="xMinYMin meet">{"".join(parts)}</svg>'
    )


# --------------------------------------------------------------------------------------------
# The page


def _docs_link(path: str | None, docs_root: Path, text: str = "Data Docs →") -> str:
    """A link into Data Docs, or a note when retention has pruned the page."""
    if not path:
        return ""
    if not (docs_root / path).is_file():
        return '<span class="muted" title="pruned by gx_results_retention">pruned</span>'
    return f'<a href="{DOCS_PREFIX}{_e(path)}">{_e(text)}</a>'


def _kpis(latest: dict[str, Any]) -> str:
    published = sum(v for k, v in latest.get("topics", {}).items() if "dead_letter" not in k)
    status = latest.get("status", "passed")
    cards = [
        (
            "status",
            f'<span class="badge" style="background:{STATUS_COLOURS.get(status, "#868e96")}">'
            f"{_e(status)}</span>",
        ),
        ("pages discovered", latest.get("discovered", 0)),
        ("articles ingested", latest.get("ingested", 0)),
        ("events", sum(_events_by_type(latest).values())),
        ("messages published", published),
        ("dead letters", latest.get("dead_letters", 0)),
    ]
    return "".join(
        f'<div class="kpi"><div class="kpi-value" data-kpi="{_e(label)}">{value}</div>'
        f'<div class="kpi-label">{_e(label)}</div></div>'
        for label, value in cards
    )


def _suite_table(records: Sequence[dict[str, Any]], docs_root: Path) -> str:
    latest = records[-1]
    rows = []
    for suite in sorted({s for r in records for s in r.get("suites", {})}):
        history = [r["suites"][suite]["pass_rate"] for r in records if suite in r.get("suites", {})]
        now = latest.get("suites", {}).get(suite)
        rate = f"{100 * now['pass_rate']:.1f} %" if now else "—"
        rows_text = f"{now['rows'] - now['failed_rows']}/{now['rows']}" if now else ""
        rows.append(
            f"<tr><td><code>{_e(suite)}</code></td><td class='num'>{rate}</td>"
            f"<td class='num muted'>{rows_text}</td><td>{sparkline(history[-MAX_RUNS_CHARTED:])}</td>"
            f"<td>{_docs_link(now['docs'] if now else None, docs_root, 'latest →')}</td></tr>"
        )
    return (
        "<table><thead><tr><th>suite</th><th>pass rate (last run)</th><th>rows ok</th>"
        f"<th>over runs</th><th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _failures_table(records: Sequence[dict[str, Any]], docs_root: Path) -> str:
    rows = []
    for record in reversed(records):
        for failure in record.get("failing_expectations", []):
            rows.append(
                f"<tr><td>{_e(_short_time(record.get('recorded_at', '')))}</td>"
                f"<td><code>{_e(record.get('run_name'))}</code></td>"
                f"<td><code class='expectation'>{_e(failure['label'])}</code></td>"
                f"<td class='num'>{failure['unexpected']}</td>"
                f"<td>{_docs_link(failure.get('docs'), docs_root)}</td></tr>"
            )
            if len(rows) >= MAX_FAILURES_LISTED:
                break
        if len(rows) >= MAX_FAILURES_LISTED:
            break
    if not rows:
        return '<p class="empty">No failing expectations in the kept runs.</p>'
    return (
        "<table><thead><tr><th>when</th><th>run</th><th>failing expectation</th>"
        f"<th>rows</th><th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _runs_table(records: Sequence[dict[str, Any]], docs_root: Path) -> str:
    rows = []
    for r in reversed(records[-MAX_RUNS_CHARTED:]):
        status = r.get("status", "passed")
        by_type = _events_by_type(r)
        run_check = r.get("run_check") or {}
        failed_run = ", ".join(run_check.get("failed_expectations", {}))
        docs = (r.get("suites", {}).get("run") or r.get("suites", {}).get("events") or {}).get(
            "docs"
        )
        rows.append(
            f"<tr class='run-row' data-run='{_e(r.get('run_name'))}'>"
            f"<td>{_e(_short_time(r.get('recorded_at', '')))}</td>"
            f"<td><code>{_e(r.get('run_name'))}</code></td>"
            f'<td><span class="dot" style="background:{STATUS_COLOURS.get(status, "#868e96")}">'
            f"</span>{_e(status)}</td>"
            f"<td class='num'>{r.get('discovered', 0)}</td><td class='num'>{r.get('ingested', 0)}</td>"
            + "".join(f"<td class='num'>{by_type[k]}</td>" for k, _, _ in SERIES)
            + f"<td class='num'>{r.get('dead_letters', 0)}</td>"
            f"<td class='small'>{_e(failed_run) or ('—' if run_check.get('checked') else 'sample too small')}</td>"
            f"<td>{_docs_link(docs, docs_root)}</td></tr>"
        )
    head = "".join(f"<th>{_e(label)}</th>" for _, label, _ in SERIES)
    return (
        "<table><thead><tr><th>when</th><th>run</th><th>status</th><th>pages</th>"
        f"<th>articles</th>{head}<th>dead letters</th><th>run-level checks</th><th></th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render_overview(records: Sequence[dict[str, Any]], docs_root: Path) -> str:
    """The whole page as a string (pure: records and the Data Docs folder in, HTML out)."""
    charted = list(records[-MAX_RUNS_CHARTED:])
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if not records:
        body = '<p class="empty">No runs recorded yet: run the pipeline, then reload.</p>'
        return _page(generated, 0, body)
    latest = records[-1]
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for r in charted:
        totals.update(_events_by_type(r))
        reasons.update(r.get("dead_letter_reasons", {}))
    type_bars = [(label, float(totals[k]), colour) for k, label, colour in SERIES]
    reason_bars = [(k, float(v), DEAD[1]) for k, v in reasons.most_common(10)]
    suite_bars = [
        (name, 100 * s["pass_rate"], "#2f9e44" if s["success"] else "#e67700")
        for name, s in sorted(latest.get("suites", {}).items())
    ]
    legend = "".join(
        f'<span class="key"><i style="background:{c}"></i>{_e(label)}</span>'
        for _, label, c in (*SERIES, ("", DEAD[0], DEAD[1]))
    )
    body = f"""
<section class="kpis" aria-label="last run">{_kpis(latest)}</section>
<p class="muted">Last run <code>{_e(latest.get("run_name"))}</code> recorded
{_e(_short_time(latest.get("recorded_at", "")))} · {len(records)} runs kept</p>
<section class="card"><h2>Runs over time</h2><div class="legend">{legend}</div>
{runs_chart(charted)}</section>
<div class="grid2">
<section class="card"><h2>Events per type <span class="muted">(last {len(charted)} runs)</span></h2>
{hbar_chart(type_bars)}</section>
<section class="card"><h2>Pass rate per suite <span class="muted">(last run, % of rows)</span></h2>
{hbar_chart(suite_bars, value_format="{:.1f} %", max_value=100, label_width=150)}</section>
</div>
<section class="card"><h2>Dead letters: top reasons <span class="muted">(last {len(charted)} runs)</span></h2>
{hbar_chart(reason_bars, width=1100, label_width=520)}</section>
<section class="card"><h2>Suites</h2>{_suite_table(records, docs_root)}</section>
<section class="card" id="failures"><h2>Latest failures</h2>{_failures_table(records, docs_root)}</section>
<section class="card" id="runs"><h2>Runs</h2>{_runs_table(records, docs_root)}</section>
"""
    return _page(generated, len(records), body)


def _page(generated: str, n_runs: int, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Data quality · news pipeline</title>
<style>{CSS}</style></head>
<body><header><div><h1>Data quality</h1>
<p>News event pipeline · validation by Great Expectations · generated {_e(generated)}</p></div>
<nav><a href="{DOCS_PREFIX}index.html">GX Data Docs</a></nav></header>
<main data-runs="{n_runs}">{body}</main></body></html>
"""


CSS = """
:root { --ink:#212529; --muted:#868e96; --line:#e9ecef; --bg:#f8f9fa; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color:var(--ink); background:var(--bg); }
header { display:flex; justify-content:space-between; align-items:center; padding:18px 28px;
  background:#1f2d3d; color:#fff; }
header h1 { margin:0; font-size:22px; } header p { margin:2px 0 0; color:#ced4da; }
header a { color:#fff; border:1px solid #ced4da; border-radius:6px; padding:6px 12px;
  text-decoration:none; }
main { max-width:1180px; margin:0 auto; padding:20px 28px 40px; }
.kpis { display:grid; grid-template-columns:repeat(6, 1fr); gap:12px; }
.kpi { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.kpi-value { font-size:26px; font-weight:600; } .kpi-label { color:var(--muted); }
.badge { color:#fff; border-radius:12px; padding:2px 10px; font-size:15px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 18px;
  margin:16px 0; }
.card h2 { font-size:16px; margin:0 0 10px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.grid2 .card { margin:0; }
.legend { margin:-4px 0 6px; } .key { margin-right:16px; color:#495057; }
.key i { display:inline-block; width:11px; height:11px; border-radius:2px; margin-right:5px; }
svg text { font:12px system-ui, sans-serif; fill:#495057; } svg .tick { fill:var(--muted); }
svg .grid { stroke:var(--line); } svg .value { fill:var(--ink); font-weight:600; }
table { width:100%; border-collapse:collapse; }
th { text-align:left; color:var(--muted); font-weight:500; border-bottom:1px solid var(--line);
  padding:6px 8px; }
td { padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:middle; }
td.small { word-break:break-word; max-width:330px; } td a { white-space:nowrap; }
td.num { text-align:right; font-variant-numeric:tabular-nums; } .small { font-size:12px; }
.muted { color:var(--muted); } .empty { color:var(--muted); font-style:italic; }
code { font:12px ui-monospace, SFMono-Regular, Menlo, monospace; }
code.expectation { color:#c92a2a; }
.dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:6px; }
a { color:#1c7ed6; }
"""


def build_overview(settings: Settings) -> Path:
    """Write the overview page from the kept run records; return its path."""
    from pipeline.validate import data_docs_root

    out = site_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    page = render_overview(load_history(settings), data_docs_root(settings))
    fd, tmp = tempfile.mkstemp(dir=out, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.replace(tmp, out / "index.html")
    return out / "index.html"
