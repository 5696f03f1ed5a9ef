"""The synchronous API for scripts, jobs and sync views, on the one async engine."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from flask import Flask

import atom_health
from atom_health import sync
from atom_health.simulator import Simulator


@pytest.fixture
def configured(environ: dict[str, str], sim_credentials: dict[str, str]) -> Iterator[None]:
    environ.update(sim_credentials)
    sync.configure(environ=environ)
    yield
    sync.configure(environ={})  # leave no engine holding this test's environment


def test_one_integration_and_all_of_them(configured: None, simulator: Simulator) -> None:
    github = atom_health.check_integration_health("github")
    overview = atom_health.check_all_integrations_health()

    assert (github.service, github.status, github.checks.api_access.status) == (
        "github",
        "healthy",
        "pass",
    )
    assert overview.summary.total_services == len(overview.services) >= 14
    assert overview.services["github"].status == "healthy"


def test_results_are_cached_like_the_api(configured: None, simulator: Simulator) -> None:
    atom_health.check_integration_health("slack")
    calls = simulator.state("slack")["api_requests"]

    again = atom_health.check_integration_health("slack")

    assert again.status == "healthy"
    assert simulator.state("slack")["api_requests"] == calls  # served from the engine's cache


def test_unknown_integration_raises(configured: None) -> None:
    with pytest.raises(atom_health.UnknownIntegrationError):
        atom_health.check_integration_health("orkut")


def test_usable_from_a_flask_view_and_beside_a_running_loop(configured: None) -> None:
    app = Flask("host")

    @app.get("/zoom-ready")
    def zoom_ready() -> dict[str, str]:
        return {"status": atom_health.check_integration_health("zoom").status}

    assert app.test_client().get("/zoom-ready").json == {"status": "healthy"}

    async def caller() -> str:  # a thread that runs its own event loop
        return await asyncio.to_thread(lambda: atom_health.check_integration_health("zoom").status)

    seen: list[str] = []
    thread = threading.Thread(target=lambda: seen.append(asyncio.run(caller())))
    thread.start()
    thread.join(30)
    assert seen == ["healthy"]
