"""The tester's summary on the terminal, in the original system's form::

    Overall status: HEALTHY
    System health score: 100.0
    Test duration: 2.1 s
    Integrations: 14

    HubSpot: 100.0% (9/9 passed)
    ...

then the route timings, the recommendations and where the reports are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from atom_health.model.results import Status
from atom_health.report.models import RoutePerformance, TestCase, TestReport

_STATUS_COLOURS = {Status.healthy: "green", Status.degraded: "yellow"}


def tests_line(label: str, rate: float | None, passed: int, failed: int) -> Text:
    """``Label: 100.0% (9/9 passed)``: the share of tests passed (skipped ones not counted)."""
    colour = "green" if not failed else "yellow" if passed >= failed else "red"
    line = Text(f"{label}: ")
    line.append(f"{rate or 0.0:.1f}% ({passed}/{passed + failed} passed)", style=colour)
    return line


def _system_line(cases: Sequence[TestCase]) -> Text:
    passed = sum(1 for c in cases if c.outcome == "pass")
    failed = sum(1 for c in cases if c.outcome == "fail")
    colour = "green" if not failed else "red"
    return Text(f"Overview, bridge and batch routes: {passed}/{passed + failed} passed", colour)


def route_table(routes: Iterable[RoutePerformance], calls: int) -> Table:
    table = Table(
        title="Route answer times",
        caption=f"{calls} calls per route (per integration where it names one); "
        "p95 over the budget in red",
    )
    table.add_column("Route")
    for heading in ("Calls", "p50 ms", "p95 ms", "Budget ms"):
        table.add_column(heading, justify="right")
    for route in routes:
        p95 = Text("-" if route.p95_ms is None else f"{route.p95_ms:.1f}")
        p95.stylize("green" if route.within_budget else "red")
        p50 = "-" if route.p50_ms is None else f"{route.p50_ms:.1f}"
        table.add_row(route.route, str(route.calls), p50, p95, f"{route.budget_ms:.0f}")
    return table


def print_summary(console: Console, report: TestReport, report_paths: Iterable[Path]) -> None:
    status = report.overall_status
    score = "-" if report.health_score is None else f"{report.health_score:.1f}"
    console.print(
        Text("Overall status: ").append(
            status.value.upper(), style=f"bold {_STATUS_COLOURS.get(status, 'red')}"
        )
    )
    console.print(f"System health score: {score}", highlight=False)
    console.print(f"Test duration: {report.duration_seconds:.1f} s", highlight=False)
    console.print(f"Integrations: {len(report.integrations)}", highlight=False)
    console.print()
    for item in report.integrations:
        console.print(tests_line(item.name, item.pass_rate, item.passed, item.failed))
    console.print(_system_line(report.system_tests))
    console.print()
    console.print(route_table(report.routes, report.calls_per_route))
    console.print()
    if report.recommendations:
        console.print("Recommendations:")
        for advice in report.recommendations:
            console.print(f"  - {advice}", markup=False, highlight=False, soft_wrap=True)
    else:
        console.print("Recommendations: none, every test passed.")
    console.print()
    console.print(
        "Reports: " + "  ".join(str(path) for path in report_paths),
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
