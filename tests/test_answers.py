"""Answers served from bytes: the same body as the engine, an ETag, 304, and a new body as
soon as an input changes (a result, a variable, the history). No store query per request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from atom_health.model.results import ConfigurationReport, Dashboard, Overview, ServiceHealth
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.sinks.metrics import LOOP_LAG_WINDOW
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.answers import service_in_path
from atom_health.web.app import create_app
from tests.conftest import wait_for


@pytest.fixture
def configured(
    api: httpx.Client, environ: dict[str, str], sim_credentials: dict[str, str]
) -> httpx.Client:
    """Every integration configured and checked once (so every result is cached)."""
    environ.update(sim_credentials)
    assert api.get("/api/integrations/health", params={"refresh": "true"}).status_code == 200
    return api


def test_cached_health_is_the_engines_answer_with_an_etag(configured: httpx.Client) -> None:
    fast = configured.get("/api/stripe/health")
    engine = configured.get("/api/stripe/health", params={"check_api": "true"})  # a query: engine

    assert fast.status_code == 200
    assert fast.headers["content-type"] == "application/json"
    assert fast.headers["cache-control"] == "no-cache"
    assert fast.headers["etag"].startswith('"')
    assert "etag" not in engine.headers
    body = ServiceHealth.model_validate_json(fast.content)
    assert body.cached is True
    assert fast.json() == engine.json()
    for alias in (
        "/api/integrations/stripe/health",
        "/api/v2/health/health/stripe",
        "/api/enhanced/integrations/stripe/health",
        "/api/STRIPE/health",
    ):
        assert configured.get(alias).content == fast.content


def test_if_none_match_gets_304_until_a_new_result(configured: httpx.Client) -> None:
    first = configured.get("/api/zoom/health")
    etag = first.headers["etag"]

    again = configured.get("/api/zoom/health", headers={"If-None-Match": etag})
    listed = configured.get("/api/zoom/health", headers={"If-None-Match": f'"x", W/{etag}'})
    configured.get("/api/zoom/health", params={"refresh": "true"})
    changed = configured.get("/api/zoom/health", headers={"If-None-Match": etag})

    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert listed.status_code == 304
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["timestamp"] > first.json()["timestamp"]


def test_overview_and_aliases_from_bytes_then_new_after_a_result(
    configured: httpx.Client, simulator: Simulator
) -> None:
    first = configured.get("/api/integrations/health")
    Overview.model_validate_json(first.content)
    for alias in (
        "/api/v2/health/health/all",
        "/api/v2/health/health/summary",
        "/api/enhanced/health/overview",
    ):
        assert configured.get(alias).content == first.content
    assert first.json()["services"]["zoom"]["last_checked"] is not None

    simulator.set_fault("zoom", "reject")
    configured.get("/api/zoom/health", params={"refresh": "true"})
    after = configured.get(
        "/api/integrations/health", headers={"If-None-Match": first.headers["etag"]}
    )

    assert after.status_code == 200
    assert after.json()["services"]["zoom"]["status"] == "unhealthy"
    assert after.json()["services"]["zoom"]["uptime_24h"] == 50.0  # one good, one bad check


def test_the_overview_is_revalidated_across_seconds_until_a_result_changes(
    configured: httpx.Client,
) -> None:
    first = configured.get("/api/integrations/health")
    line = first.json()["services"]["zoom"]
    time.sleep(1.1)  # past a second boundary: a line's age must not change the bytes

    polled = configured.get(
        "/api/integrations/health", headers={"If-None-Match": first.headers["etag"]}
    )
    configured.get("/api/zoom/health", params={"refresh": "true"})
    after = configured.get(
        "/api/integrations/health", headers={"If-None-Match": first.headers["etag"]}
    )

    assert polled.status_code == 304
    checked_at = datetime.fromisoformat(line["checked_at"])
    made = datetime.fromisoformat(first.json()["timestamp"])
    assert line["age_seconds"] == round((made - checked_at).total_seconds(), 1)
    assert after.status_code == 200
    assert after.json()["services"]["zoom"]["checked_at"] > line["checked_at"]


def test_a_changed_variable_is_never_answered_from_old_bytes(
    configured: httpx.Client, environ: dict[str, str]
) -> None:
    assert configured.get("/api/slack/health").json()["configured"] is True
    config = configured.get("/api/integrations/config")
    assert ConfigurationReport.model_validate_json(config.content).summary.fully_configured == 14

    environ["SLACK_CLIENT_SECRET"] = "rotated"  # same presence, a new value
    rotated = configured.get("/api/integrations/config").json()["integrations"]["slack"]
    before = config.json()["integrations"]["slack"]
    assert (
        rotated["fingerprints"]["SLACK_CLIENT_SECRET"]
        != before["fingerprints"]["SLACK_CLIENT_SECRET"]
    )
    assert configured.get("/api/slack/health").json()["cached"] is False  # checked again

    del environ["SLACK_CLIENT_SECRET"]

    assert configured.get("/api/slack/health").json()["configured"] is False
    overview = configured.get("/api/integrations/health").json()
    assert overview["services"]["slack"]["missing_env_vars"] == ["SLACK_CLIENT_SECRET"]
    changed = configured.get(
        "/api/integrations/config", headers={"If-None-Match": config.headers["etag"]}
    )
    assert changed.status_code == 200
    assert changed.json()["integrations"]["slack"]["missing_env_vars"] == ["SLACK_CLIENT_SECRET"]


def test_a_changed_process_variable_is_never_answered_from_old_bytes(
    monkeypatch: pytest.MonkeyPatch, sim_urls: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    """As the test above, on the process environment itself (what ``serve`` reads), whose
    bytes the cached answers watch instead of decoding every variable per request."""
    import os

    from atom_health.catalog import build_catalog
    from atom_health.config import Settings
    from atom_health.monitor import HealthMonitor
    from tests.conftest import FAST_PROBES

    for name, value in {**sim_urls, **sim_credentials}.items():
        monkeypatch.setenv(name, value)
    settings = Settings(probes=FAST_PROBES, refresh_min_interval_seconds=0)
    monitor = HealthMonitor(build_catalog(settings, os.environ), settings=settings)
    system = HealthSystem(
        settings, os.environ, monitor=monitor, store=MemoryStore(), scheduler=False
    )
    with ThreadedServer(create_app(system)) as server, httpx.Client(base_url=server.url) as api:
        assert api.get("/api/integrations/health", params={"refresh": "true"}).status_code == 200
        overview = api.get("/api/integrations/health")
        config = api.get("/api/integrations/config")
        assert api.get("/api/slack/health").json()["cached"] is True

        monkeypatch.delenv("SLACK_CLIENT_SECRET")
        cleared = api.get("/api/slack/health").json()
        polled = api.get(
            "/api/integrations/health", headers={"If-None-Match": overview.headers["etag"]}
        )
        changed = api.get(
            "/api/integrations/config", headers={"If-None-Match": config.headers["etag"]}
        )
        monkeypatch.setenv("SLACK_CLIENT_SECRET", "rotated")
        rotated = api.get("/api/integrations/config").json()["integrations"]["slack"]

    assert cleared["configured"] is False
    assert polled.status_code == 200
    assert polled.json()["services"]["slack"]["missing_env_vars"] == ["SLACK_CLIENT_SECRET"]
    assert changed.status_code == 200
    assert changed.json()["integrations"]["slack"]["missing_env_vars"] == ["SLACK_CLIENT_SECRET"]
    before = config.json()["integrations"]["slack"]["fingerprints"]["SLACK_CLIENT_SECRET"]
    assert rotated["missing_env_vars"] == []
    assert rotated["fingerprints"]["SLACK_CLIENT_SECRET"] != before


def test_an_expired_result_goes_back_to_the_engine(
    make_monitor: Callable[..., Any], environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    from atom_health.config import Settings
    from tests.conftest import FAST_PROBES

    environ.update(sim_credentials)
    monitor = make_monitor(
        Settings(probes=FAST_PROBES, cache_ttl_seconds=0, refresh_min_interval_seconds=0)
    )
    system = HealthSystem(
        monitor.settings, environ, monitor=monitor, store=MemoryStore(), scheduler=False
    )
    with ThreadedServer(create_app(system)) as server:
        first = httpx.get(server.url + "/api/linear/health").json()
        second = httpx.get(server.url + "/api/linear/health").json()

    assert first["cached"] is False
    assert second["cached"] is False
    assert second["timestamp"] > first["timestamp"]


class CountingStore(MemoryStore):
    """Counts every read, and the threads they ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def __getattribute__(self, name: str) -> Any:
        if name in {"results", "latest", "latencies", "raw_counts", "rollup_counts",
                    "raw_hourly_counts", "raw_between", "rollups", "get_meta", "incidents"}:  # fmt: skip
            object.__setattr__(self, "reads", object.__getattribute__(self, "reads") + 1)
        return object.__getattribute__(self, name)


@pytest.fixture
def counted(
    monitor: Any, environ: dict[str, str], sim_credentials: dict[str, str]
) -> Iterator[tuple[httpx.Client, CountingStore, HealthSystem]]:
    environ.update(sim_credentials)
    store = CountingStore()
    system = HealthSystem(monitor.settings, environ, monitor=monitor, store=store, scheduler=False)
    with ThreadedServer(create_app(system)) as server, httpx.Client(base_url=server.url) as client:
        yield client, store, system


def test_dashboard_and_overview_never_query_the_store(
    counted: tuple[httpx.Client, CountingStore, HealthSystem], simulator: Simulator
) -> None:
    client, store, system = counted
    client.get("/api/integrations/health", params={"refresh": "true"})
    assert system.recorder.flush()
    reads = store.reads

    first = client.get("/api/dashboard")
    for _ in range(5):
        for path in ("/api/dashboard", "/api/integrations/health", "/api/zoom/health"):
            assert client.get(path).status_code == 200
    simulator.set_fault("zoom", "server_error")
    client.get("/api/zoom/health", params={"refresh": "true"})
    after = client.get("/api/dashboard", headers={"If-None-Match": first.headers["etag"]})

    assert store.reads == reads
    dashboard = Dashboard.model_validate_json(first.content)
    assert dashboard.model_dump_json().encode() == first.content  # rows spliced in exactly
    assert [s.service for s in dashboard.services][:4] == ["zoom", "stripe", "github", "slack"]
    zoom = dashboard.services[0]
    assert zoom.bars["24h"][-1].checks == 1
    assert zoom.uptime["24h"] == 100.0
    assert len(zoom.latencies) == 1
    assert after.status_code == 200
    zoom_after = Dashboard.model_validate_json(after.content).services[0]
    assert zoom_after.status == "unhealthy"
    assert zoom_after.bars["24h"][-1].checks == 2
    assert zoom_after.uptime["24h"] == 50.0
    assert (
        client.get("/api/dashboard", headers={"If-None-Match": after.headers["etag"]}).status_code
        == 304
    )


def test_a_check_with_a_query_is_the_routes_answer(configured: httpx.Client) -> None:
    """``?refresh=true`` is answered by the engine before routing; a query the fast path does
    not read (another parameter, another spelling) is the route's, with the same answer."""

    def check(path: str, query: str) -> httpx.Response:
        response = configured.get(f"{path}?{query}")
        assert response.status_code == 200, (path, query)
        return response

    direct = check("/api/stripe/health", "refresh=true")
    routed = check("/api/stripe/health", "refresh=true&via=route")
    again = check("/api/integrations/stripe/health", "check_api=1&refresh=1")

    for response in (direct, routed, again):
        assert response.headers["content-type"] == "application/json"
        assert "etag" not in response.headers
        ServiceHealth.model_validate_json(response.content)
    assert direct.json()["timestamp"] < routed.json()["timestamp"] < again.json()["timestamp"]
    steady = [{k: v for k, v in r.json().items() if k not in ("timestamp", "checks", "services")}
              for r in (direct, routed)]  # fmt: skip
    assert steady[0] == steady[1]
    assert steady[0]["cached"] is False
    assert direct.json().keys() == routed.json().keys()
    configured_only = check("/api/v2/health/health/stripe", "check_api=false").json()
    assert configured_only["checks"]["api_access"]["status"] == "skip"
    assert check("/api/stripe/health", "refresh=yes").json()["cached"] is False  # the route's
    assert configured.get("/api/stripe/health?refresh=maybe").status_code == 422
    unknown = configured.get("/api/nosuch/health?refresh=true")
    assert (unknown.status_code, unknown.json()["status"]) == (404, "unknown")
    overview = check("/api/integrations/health", "check_api=false").json()
    assert overview["summary"]["total_services"] == 14
    assert "status" in check("/api/bridge/health", "check_api=false").json()


def test_answers_pass_through_outer_middleware(
    system: HealthSystem, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    """A middleware added after the app is built (access control, say) sees fast answers."""
    environ.update(sim_credentials)
    app = create_app(system)
    seen: list[str] = []

    class Outer:
        def __init__(self, inner: ASGIApp) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                seen.append(scope["path"])
            await self.inner(scope, receive, send)

    app.add_middleware(Outer)
    with ThreadedServer(app) as server:
        httpx.get(server.url + "/api/zoom/health")
        cached = httpx.get(server.url + "/api/zoom/health")

    assert cached.headers.get("etag")
    assert seen == ["/api/zoom/health", "/api/zoom/health"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/zoom/health", "zoom"),
        ("/api/integrations/zoom/health", "zoom"),
        ("/api/v2/health/health/zoom", "zoom"),
        ("/api/enhanced/integrations/zoom/health", "zoom"),
        ("/api/zoom/uptime", None),
        ("/api/integrations/zoom/history", None),
        ("/api/enhanced/integrations/zoom/status", None),
        ("/api//health", None),
        ("/api/" + "x" * 101 + "/health", None),
        ("/other/zoom/health", None),
    ],
)
def test_service_paths(path: str, name: str | None) -> None:
    assert service_in_path(path) == name


def test_metrics_report_the_event_loop_lag(api: httpx.Client) -> None:
    def lag() -> float | None:
        for line in api.get("/metrics").text.splitlines():
            if line.startswith("atom_health_event_loop_lag_seconds "):
                return float(line.split()[1])
        return None

    wait_for(lambda: (lag() or 0.0) > 0.0)  # a timer is always at least a little late
    value = lag()
    assert value is not None
    assert value < LOOP_LAG_WINDOW


def test_large_answers_are_gzipped_once_for_clients_that_accept_it(
    configured: httpx.Client,
) -> None:
    import gzip

    plain = configured.get("/api/dashboard", headers={"Accept-Encoding": "identity"})
    with configured.stream("GET", "/api/dashboard", headers={"Accept-Encoding": "gzip"}) as r:
        packed = b"".join(r.iter_raw())
        gzipped = r

    assert "content-encoding" not in plain.headers
    assert gzipped.headers["content-encoding"] == "gzip"
    assert plain.headers["vary"] == gzipped.headers["vary"] == "accept-encoding"
    assert len(packed) < len(plain.content) / 4
    assert gzip.decompress(packed) == plain.content
    assert gzipped.headers["etag"] != plain.headers["etag"]
