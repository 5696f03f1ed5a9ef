"""SVG badges (flat, in the style of shields.io and Gatus): a label on grey, a value on colour.

Text widths are estimated from character classes (no font files); every text is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from atom_health.model.results import Status

STATUS_COLOURS = {
    Status.healthy: "#2da44e",
    Status.degraded: "#bf8700",
    Status.unhealthy: "#cf222e",
    Status.unknown: "#6e7781",
}
_NARROW, _WIDE = set("fijlrt1.,:;|!' "), set("mwMW%@")


def _text_width(text: str) -> int:
    """About how wide ``text`` is in 11 px Verdana, plus padding."""
    width = sum(4 if c in _NARROW else 10 if c in _WIDE else 7 for c in text)
    return width + 10


def badge(label: str, value: str, colour: str) -> str:
    left, right = _text_width(label), _text_width(value)
    total = left + right
    name = escape(f"{label}: {value}")
    label, value = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{name}"><title>{name}</title>'
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        f'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="11">'
        f'<text x="{left / 2}" y="15" fill="#010101" fill-opacity=".3">{label}</text>'
        f'<text x="{left / 2}" y="14">{label}</text>'
        f'<text x="{left + right / 2}" y="15" fill="#010101" fill-opacity=".3">{value}</text>'
        f'<text x="{left + right / 2}" y="14">{value}</text></g></svg>'
    )


def status_badge(name: str, status: Status) -> str:
    return badge(name, status.value, STATUS_COLOURS[status])


def uptime_badge(window: str, uptime: float | None) -> str:
    if uptime is None:
        return badge(f"uptime {window}", "no data", STATUS_COLOURS[Status.unknown])
    colour = (
        STATUS_COLOURS[Status.healthy]
        if uptime >= 99.5
        else STATUS_COLOURS[Status.degraded]
        if uptime >= 95
        else STATUS_COLOURS[Status.unhealthy]
    )
    shown = f"{uptime:.2f}".rstrip("0").rstrip(".")
    return badge(f"uptime {window}", f"{shown}%", colour)
