"""The tester's self-contained HTML report (inline CSS and SVG; no external assets)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from atom_health.report.models import TestReport
from atom_health.report.tester import FULL_CHECK_TARGET_MS

_ENVIRONMENT = Environment(
    loader=PackageLoader("atom_health.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
_BAR_SPACE = 500.0


def _chart(report: TestReport) -> dict[str, Any]:
    latencies = [r.probe_latency_ms or 0.0 for r in report.integrations]
    scale = _BAR_SPACE / max([FULL_CHECK_TARGET_MS, *latencies])
    bars = []
    for index, item in enumerate(report.integrations):
        value = item.probe_latency_ms
        bars.append({
            "name": item.name,
            "y": 6 + index * 24,
            "width": round((value or 0) * scale, 1),
            "colour": "#cf222e" if value and value > FULL_CHECK_TARGET_MS else "#2da44e",
            "label": f"{value:.0f} ms" if value is not None else "no probe",
        })  # fmt: skip
    return {"bars": bars, "height": 12 + 24 * len(bars), "target_ms": int(FULL_CHECK_TARGET_MS),
            "target_x": 160 + FULL_CHECK_TARGET_MS * scale}  # fmt: skip


def render_html(report: TestReport) -> str:
    return _ENVIRONMENT.get_template("report.html.j2").render(report=report, chart=_chart(report))
