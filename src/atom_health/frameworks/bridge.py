"""One process, both frameworks: atom-health's FastAPI app with an existing Flask app mounted
inside it (through a2wsgi). The bridge routes (discovery, bridge health) are served by every
app (:mod:`atom_health.web.bridge`); here the Flask app joins them as a mounted app.
"""

from __future__ import annotations

import time

from fastapi import FastAPI

from atom_health.model.errors import MissingExtraError

try:
    from a2wsgi import WSGIMiddleware
    from flask import Flask
except ImportError:
    raise MissingExtraError("The Flask bridge", "flask") from None

from atom_health.model.bridge import Component, Framework
from atom_health.model.results import Status
from atom_health.system import HealthSystem
from atom_health.web.bridge import mounted_apps


class MountedFlask:
    """A Flask app as the bridge sees it: its routes, and one real request to check it."""

    framework: Framework = "flask"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def routes(self) -> list[tuple[str, str]]:
        return [
            (method, rule.rule)
            for rule in self.app.url_map.iter_rules()
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        ]

    def check(self) -> Component:
        """Its first parameterless GET route, health routes first."""
        candidates = sorted(
            (
                r.rule
                for r in self.app.url_map.iter_rules()
                if "GET" in (r.methods or set()) and not r.arguments
            ),
            key=lambda rule: ("health" not in rule, len(rule)),
        )
        if not candidates:
            return Component(
                status=Status.unknown, framework="flask", message="no GET route to check"
            )
        started = time.perf_counter()
        answer = self.app.test_client().get(candidates[0])
        latency = round((time.perf_counter() - started) * 1000, 2)
        return Component(
            status=Status.healthy if answer.status_code < 500 else Status.unhealthy,
            framework="flask",
            message=f"GET {candidates[0]} answered {answer.status_code}",
            latency_ms=latency,
        )


def create_bridge(system: HealthSystem, flask_app: Flask) -> FastAPI:
    """atom-health's app serving ``flask_app`` too: any path FastAPI does not route goes to Flask."""
    app = system.web_app()
    mounted_apps(app).append(MountedFlask(flask_app))
    system.monitor.bridge_system_used = True  # reported in every health answer
    app.mount("/", WSGIMiddleware(flask_app))  # type: ignore[arg-type]
    return app
