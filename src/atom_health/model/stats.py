"""Nearest-rank percentiles: the one definition every report and metric uses."""

from __future__ import annotations

from collections.abc import Sequence


def nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    """The value at ``fraction`` (0..1) of already sorted, non-empty ``ordered`` values."""
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def percentiles(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """Nearest-rank p50, p95 and p99, rounded to 0.01; all None for no values."""
    return sorted_percentiles(sorted(values))


def sorted_percentiles(
    ordered: Sequence[float],
) -> tuple[float | None, float | None, float | None]:
    """:func:`percentiles` of values already sorted."""
    if not ordered:
        return None, None, None
    p50, p95, p99 = (round(nearest_rank(ordered, f), 2) for f in (0.50, 0.95, 0.99))
    return p50, p95, p99
