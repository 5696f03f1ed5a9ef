"""A test hook: crash (SIGKILL) at a named point of alert handling.

``ATOM_HEALTH_CRASH_AT=<point>:<n>`` kills the process, with no chance to clean up, the n-th
time it passes ``<point>``. The restart tests use it to place a ``kill -9`` exactly between
a state change and its delivery. Unset (always, outside tests), it costs one dict lookup.

Points: ``alert-changed`` (the rules changed, nothing written yet), ``alert-committed``
(state and outbox written, nothing sent), ``notification-sent`` (a receiver accepted it,
the outbox does not know yet).
"""

from __future__ import annotations

import os
import signal

CRASH_ENV_VAR = "ATOM_HEALTH_CRASH_AT"
POINTS = ("alert-changed", "alert-committed", "notification-sent")
_passes: dict[str, int] = {}


def crash_point(name: str) -> None:
    spec = os.environ.get(CRASH_ENV_VAR)
    if not spec:
        return
    point, _, count = spec.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
