"""Flask and FastAPI: the same API from both, health gates in both, the bridge, the client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from flask import Flask, jsonify
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.serving import make_server

from atom_health.client import AsyncHealthClient, HealthClient, HealthClientError
from atom_health.config import HistorySettings, SchedulerSettings, Settings
from atom_health.frameworks.bridge import create_bridge
from atom_health.frameworks.flask import AtomHealth, requires_integration
from atom_health.model.results import ServiceSummary
from atom_health.serving import ThreadedServer, free_port
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from atom_health.web.gates import require_healthy
from tests.conftest import FAST_PROBES, wait_for

# Fields that differ between two runs of one check: times, and what the store holds an
# instant after the first checks (the recorder writes in the background).
VOLATILE = {"timestamp", "latency_ms", "checked_at", "cached", "last_checked", "since", "until",
            "uptime_24h", "uptime", "bars", "latencies", "age_seconds",
            "fingerprints", "calls", "operations", "rate_limit"}  # fmt: skip


def stable(value: Any) -> Any:
    """A body without what differs between two runs of the same check."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


# A loaded machine must not make one framework's answer "slow" (degraded) and not the other's.
UNHURRIED_PROBES = FAST_PROBES.model_copy(update={"slow_threshold_ms": 60_000})


def settings(cache_ttl: float = 30) -> Settings:
    return Settings(probes=UNHURRIED_PROBES, history=HistorySettings(database_url="memory://"),
                    scheduler=SchedulerSettings(enabled=False), cache_ttl_seconds=cache_ttl, refresh_min_interval_seconds=0)  # fmt: skip


class WsgiServer:
    """A Flask app under a real WSGI server (werkzeug) on loopback."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WsgiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


@pytest.fixture
def configured(environ: dict[str, str], sim_credentials: dict[str, str]) -> dict[str, str]:
    environ.update(sim_credentials)
    environ.pop("TRELLO_TOKEN")  # one integration that can only warn
    return environ


@pytest.fixture
def fastapi_url(configured: dict[str, str]) -> Iterator[str]:
    system = HealthSystem(settings(), configured, store=MemoryStore())
    with ThreadedServer(create_app(system)) as server:
        yield server.url


@pytest.fixture
def flask_url(configured: dict[str, str]) -> Iterator[str]:
    app = Flask("host")
    extension = AtomHealth(app, settings=settings(), environ=configured)
    with WsgiServer(app) as server:
        yield server.url
    extension.stop()


PARITY_PATHS = [
    "/api/zoom/health",
    "/api/zoom/health?check_api=false",
    "/api/trello/health",
    "/api/google-drive/health",
    "/api/integrations/health",
    "/api/integrations/health?check_api=false",
    "/api/integrations/config",
    "/api/integrations/zoom/health",
    "/api/v2/health/health/slack",
    "/api/v2/health/health/all",
    "/api/v2/health/health/summary",
    "/api/enhanced/health/overview",
    "/api/enhanced/integrations/stripe/health",
    "/api/integrations/zoom/history",
    "/api/integrations/zoom/uptime",
    "/api/incidents",
    "/api/dashboard",
    "/api/myspace/health",
    "/api/zoom/health?check_api=maybe",
    "/api/integrations/zoom/history?limit=0",
    "/api/integrations/orkut/uptime",
]


@pytest.mark.parametrize("path", PARITY_PATHS)
def test_flask_and_fastapi_answer_every_route_alike(
    fastapi_url: str, flask_url: str, path: str
) -> None:
    from_fastapi = httpx.get(fastapi_url + path, timeout=10)
    from_flask = httpx.get(flask_url + path, timeout=10)

    assert from_flask.status_code == from_fastapi.status_code
    assert from_flask.headers["content-type"] == from_fastapi.headers["content-type"]
    assert stable(from_flask.json()) == stable(from_fastapi.json())


MANAGE_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/manage/integrations", None),
    ("PATCH", "/api/manage/integrations/trello", {"enabled": False}),
    ("GET", "/api/manage/integrations", None),
    ("POST", "/api/manage/integrations/trello/checks", None),
    ("PATCH", "/api/manage/integrations/trello", {"enabled": True}),
    ("POST", "/api/manage/integrations/zoom/checks", None),
    ("PATCH", "/api/manage/integrations/orkut", {"enabled": True}),
    ("PATCH", "/api/manage/integrations/zoom", {"enabled": "maybe"}),
    ("POST", "/api/manage/config/reload", None),
    ("POST", "/api/manage/maintenance", {"name": "x", "weekdays": ["sun"]}),
    ("POST", "/api/manage/maintenance", {"name": "w", "start": "2026-01-01T00:00:00Z",
                                         "end": "2026-01-02T00:00:00Z"}),
    ("GET", "/api/manage/maintenance", None),
    ("DELETE", "/api/manage/maintenance/runtime-1", None),
    ("DELETE", "/api/manage/maintenance/runtime-1", None),
]  # fmt: skip


def test_flask_and_fastapi_answer_the_management_api_alike(
    fastapi_url: str, flask_url: str
) -> None:
    for method, path, body in MANAGE_REQUESTS:
        from_fastapi = httpx.request(method, fastapi_url + path, json=body, timeout=10)
        from_flask = httpx.request(method, flask_url + path, json=body, timeout=10)

        where = f"{method} {path}"
        assert from_flask.status_code == from_fastapi.status_code, where
        if from_fastapi.status_code == 204:
            assert from_flask.content == from_fastapi.content == b"", where
            continue
        assert from_flask.headers["content-type"] == from_fastapi.headers["content-type"], where
        assert stable(from_flask.json()) == stable(from_fastapi.json()), where


def test_flask_serves_dashboard_openapi_and_metrics(fastapi_url: str, flask_url: str) -> None:
    for path in ("/", "/assets/app.js", "/openapi.json", "/metrics"):
        assert (
            httpx.get(flask_url + path).status_code
            == httpx.get(fastapi_url + path).status_code
            == 200
        )
    assert httpx.get(flask_url + "/").content == httpx.get(fastapi_url + "/").content


def test_flask_relays_the_live_event_stream(flask_url: str) -> None:
    with httpx.stream("GET", flask_url + "/api/events", timeout=10) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        chunks = events.iter_text()
        assert next(chunks).startswith("retry:")
        httpx.get(flask_url + "/api/github/health?refresh=true")
        received = ""
        while "event: result" not in received:
            received += next(chunks)
    assert '"service":"github"' in received


READ_KEY = "read-key-for-the-flask-tests-0123456789"
ADMIN_KEY = "admin-key-for-the-flask-tests-9876543210"


@pytest.fixture
def keyed(configured: dict[str, str]) -> Iterator[tuple[str, str]]:
    """FastAPI and Flask, both with a read key and an admin key configured."""
    environ = {**configured, "ATOM_HEALTH_READ_KEY": READ_KEY, "ATOM_HEALTH_ADMIN_KEY": ADMIN_KEY}
    system = HealthSystem(settings(), environ, store=MemoryStore())
    app = Flask("host")
    extension = AtomHealth(app, settings=settings(), environ=environ)
    with ThreadedServer(create_app(system)) as fastapi, WsgiServer(app) as flask:
        yield fastapi.url, flask.url
    extension.stop()


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/api/integrations/config", None),
        ("GET", "/api/integrations/config", READ_KEY),
        ("GET", "/api/zoom/health?refresh=true", READ_KEY),  # refreshing needs admin
        ("GET", "/api/zoom/health?refresh=true", ADMIN_KEY),
        ("GET", "/api/manage/integrations", READ_KEY),
        ("GET", "/api/manage/integrations", ADMIN_KEY),
        ("GET", "/api/events", None),
        ("GET", "/api/events", "not-a-key-at-all-0123456789"),
    ],
)
def test_flask_applies_the_same_access_control(
    keyed: tuple[str, str], method: str, path: str, key: str | None
) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    answers = [httpx.request(method, url + path, headers=headers, timeout=30)
               for url in keyed]  # fmt: skip
    from_fastapi, from_flask = answers
    assert from_flask.status_code == from_fastapi.status_code, path
    assert from_flask.content == from_fastapi.content or from_flask.status_code == 200
    assert from_flask.status_code in ((200,) if key == ADMIN_KEY else (401, 403, 200))
    for name in ("content-security-policy", "x-content-type-options", "www-authenticate"):
        assert from_flask.headers.get(name) == from_fastapi.headers.get(name), name


def test_flask_event_stream_needs_a_key_and_streams_with_one(keyed: tuple[str, str]) -> None:
    _, flask_url = keyed
    assert httpx.get(flask_url + "/api/events", timeout=10).status_code == 401
    headers = {"Authorization": f"Bearer {READ_KEY}"}
    with httpx.stream("GET", flask_url + "/api/events", headers=headers, timeout=10) as events:
        assert events.status_code == 200
        assert next(events.iter_text()).startswith("retry:")


# -- health gates ----------------------------------------------------------------------------


@pytest.fixture
def gated_fastapi(configured: dict[str, str]) -> Iterator[str]:
    system = HealthSystem(settings(cache_ttl=0), configured, store=MemoryStore())
    app = create_app(system)

    @app.get("/meetings", dependencies=[Depends(require_healthy("zoom"))])
    async def meetings() -> dict[str, bool]:
        return {"created": True}

    @app.get("/files", dependencies=[Depends(require_healthy("trello", allow_degraded=True))])
    async def files() -> dict[str, bool]:
        return {"listed": True}

    with ThreadedServer(app) as server:
        yield server.url


@pytest.fixture
def gated_flask(configured: dict[str, str]) -> Iterator[str]:
    app = Flask("gated")
    extension = AtomHealth(
        app, settings=settings(cache_ttl=0), environ=configured, url_prefix="/health-api"
    )

    @app.get("/meetings")
    @requires_integration("zoom")
    def meetings() -> Any:
        return jsonify(created=True)

    @app.get("/files")
    @requires_integration("trello", allow_degraded=True)
    def files() -> Any:
        return jsonify(listed=True)

    with WsgiServer(app) as server:
        yield server.url
    extension.stop()


def test_gates_open_when_healthy_and_answer_503_with_the_reason(
    gated_fastapi: str, gated_flask: str, simulator: Simulator
) -> None:
    for url in (gated_fastapi, gated_flask):
        assert httpx.get(url + "/meetings").status_code == 200
        assert httpx.get(url + "/files").json() == {"listed": True}  # degraded allowed

    simulator.set_fault("zoom", "reject")
    answers = [httpx.get(url + "/meetings?x=1") for url in (gated_fastapi, gated_flask)]

    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["retry-after"].isdigit()
        detail = answer.json()["detail"]
        assert detail["service"] == "zoom"
        assert detail["status"] == "unhealthy"
        assert detail["category"] == "credentials_rejected"
        assert "ZOOM_API_KEY" in detail["message"]
    assert answers[0].json() == answers[1].json()


def test_flask_extension_serves_its_api_and_dashboard_under_a_prefix(gated_flask: str) -> None:
    assert httpx.get(gated_flask + "/health-api/api/zoom/health").json()["service"] == "zoom"
    page = httpx.get(gated_flask + "/health-api/")
    assert 'src="assets/app.js"' in page.text  # relative: resolves to /health-api/assets/app.js
    assert httpx.get(gated_flask + "/health-api/assets/app.js").status_code == 200


# -- the bridge --------------------------------------------------------------------------------


class Backend:
    """An old back end whose /health can be switched off."""

    def __init__(self) -> None:
        self.up = True

        async def health(request: Any) -> JSONResponse:
            return JSONResponse({"ok": self.up}, status_code=200 if self.up else 503)

        self.server = ThreadedServer(Starlette(routes=[Route("/health", health)]))


@pytest.fixture
def bridged(configured: dict[str, str]) -> Iterator[tuple[str, Backend]]:
    backend = Backend()
    with backend.server:
        bridge_settings = Settings.model_validate({
            "backends": {"old-api": {"name": "Old API", "url": backend.server.url, "framework": "flask"}},
        }).model_copy(update={"probes": FAST_PROBES, "cache_ttl_seconds": 0, "refresh_min_interval_seconds": 0,
                              "history": HistorySettings(database_url="memory://"),
                              "scheduler": SchedulerSettings(enabled=False)})  # fmt: skip
        legacy = Flask("legacy")

        @legacy.get("/legacy/zoom/meetings")
        def zoom_meetings() -> Any:
            return jsonify(meetings=[])

        @legacy.get("/legacy/health")
        def legacy_health() -> Any:
            return jsonify(ok=True)

        system = HealthSystem(bridge_settings, configured, store=MemoryStore())
        with ThreadedServer(create_bridge(system, legacy)) as server:
            yield server.url, backend


def test_one_server_answers_both_frameworks(bridged: tuple[str, Backend]) -> None:
    url, _ = bridged

    assert httpx.get(url + "/legacy/zoom/meetings").json() == {"meetings": []}  # Flask
    assert httpx.get(url + "/api/zoom/health").json()["service"] == "zoom"  # FastAPI
    assert httpx.get(url + "/api/zoom/health").json()["bridge_system_used"] is True
    assert httpx.get(url + "/api/integrations/health").json()["bridge_system_used"] is True


def test_discovery_lists_both_frameworks(bridged: tuple[str, Backend]) -> None:
    url, _ = bridged

    body = httpx.get(url + "/api/enhanced/management/discover").json()

    routes = {(r["framework"], r["method"], r["path"]): r["integration"] for r in body["routes"]}
    assert routes[("flask", "GET", "/legacy/zoom/meetings")] == "zoom"
    assert routes[("fastapi", "GET", "/api/{service}/health")] is None
    assert ("flask", "GET", "/legacy/health") in routes
    assert body["frameworks"]["flask"] >= 2
    assert body["frameworks"]["fastapi"] >= 10
    assert body["total"] == len(body["routes"])


def test_bridge_status_follows_a_backend_going_down(bridged: tuple[str, Backend]) -> None:
    url, backend = bridged

    healthy = httpx.get(url + "/api/bridge/status").json()
    assert healthy["status"] == "healthy"
    assert healthy["health_percentage"] == 100.0
    assert healthy["frameworks"]["flask"]["message"] == "GET /legacy/health answered 200"
    assert healthy["services"]["old-api"]["status"] == "healthy"
    assert healthy["framework_distribution"] == {"fastapi": 1, "flask": 2}
    assert healthy["bridge_system_used"] is True

    backend.up = False
    down = httpx.get(url + "/api/bridge/status").json()
    summary = httpx.get(url + "/api/bridge/health").json()

    assert down["services"]["old-api"]["status"] == "unhealthy"
    assert "HTTP 503" in down["services"]["old-api"]["message"]
    assert down["status"] == "degraded"
    assert down["health_percentage"] == pytest.approx(66.7)
    assert (summary["status"], summary["health_percentage"]) == ("degraded", pytest.approx(66.7))
    assert (
        httpx.get(url + "/api/old-api/health").json()["status"] == "unhealthy"
    )  # like any integration


# -- the client ----------------------------------------------------------------------------------


def test_client_returns_typed_results(fastapi_url: str) -> None:
    with HealthClient(fastapi_url) as client:
        zoom = client.service("zoom")
        overview = client.overview()
        configuration = client.configuration()
        wait_for(lambda: client.history("zoom").total >= 1)  # written within the flush interval
        history = client.history("zoom", limit=5)
        with pytest.raises(HealthClientError) as unknown:
            client.service("orkut")

    assert (zoom.service, zoom.status) == ("zoom", "healthy")
    assert overview.summary.total_services == 14
    assert configuration.integrations["zoom"].configured
    assert history.total >= 1
    assert unknown.value.status_code == 404
    assert unknown.value.body["status"] == "unknown"


async def until_seen(seen: list[str], count: int) -> None:
    while len(seen) < count:  # noqa: ASYNC110 - polling a list the callback fills
        await asyncio.sleep(0.05)


async def test_async_client_and_watch(fastapi_url: str) -> None:
    seen: list[str] = []
    async with AsyncHealthClient(fastapi_url) as client:
        assert (await client.service("slack")).status == "healthy"
        watching = asyncio.create_task(
            client.watch(
                lambda name, line: seen.append(name), services=["slack", "zoom"], interval=0.1
            )
        )
        await asyncio.wait_for(until_seen(seen, 4), timeout=10)
        watching.cancel()
    assert set(seen) == {"slack", "zoom"}


def test_watch_survives_a_server_restart_and_stops_cleanly(
    configured: dict[str, str], make_monitor: Callable[..., Any]
) -> None:
    port = free_port()
    updates: list[tuple[float, str]] = []

    def on_update(name: str, line: ServiceSummary) -> None:
        updates.append((time.monotonic(), line.status))

    def app() -> FastAPI:
        return create_app(HealthSystem(settings(), configured, store=MemoryStore()))

    with ThreadedServer(app(), port=port):
        watcher = HealthClient(f"http://127.0.0.1:{port}").watch(
            on_update, services=["github"], interval=0.1
        )
        wait_for(lambda: len(updates) >= 2)
    down_at = time.monotonic()
    wait_for(lambda: watcher.errors >= 2)  # the server is gone: the watch keeps retrying
    with ThreadedServer(app(), port=port):
        # back within its backoff (full jitter, at most 0.5 s x 2**failures, capped at 30 s)
        wait_for(lambda: any(at > down_at for at, _ in updates), timeout=60)
        watcher.stop()
    assert not watcher.running  # stopped at once, not abandoned mid-wait
    assert {status for _, status in updates} == {"healthy"}
