"""The HubSpot CRM client, its routes and its part of the health answer, against the simulator."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from atom_health.model.results import Category
from atom_health.monitor import HealthMonitor
from atom_health.services.http import CallFailed
from atom_health.services.hubspot import Filter, FilterGroup, HubSpotClient, SearchRequest, Sort
from atom_health.simulator import Simulator
from atom_health.simulator.hubspot_crm import EXPIRED_ACCESS_TOKEN, HUBSPOT_CREDENTIALS, SEED_COUNTS

OAUTH = {k: v for k, v in HUBSPOT_CREDENTIALS.items() if k != "HUBSPOT_ACCESS_TOKEN"}
WRONG = "pat-na1-Wr0ngT0kenValue-9Q"


@pytest.fixture
def configured(environ: dict[str, str], sim_credentials: dict[str, str]) -> dict[str, str]:
    environ.update(sim_credentials)
    return environ


@pytest.fixture
def client(monitor: HealthMonitor) -> HubSpotClient:
    integration = monitor.catalog.get("hubspot")
    assert integration is not None
    service = monitor.live_prober.service(integration)
    assert isinstance(service, HubSpotClient)
    return service


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> list[str]:
        return [self.format(r) for r in self.records]


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


# -- the client ---------------------------------------------------------------------------


@pytest.mark.usefixtures("configured")
async def test_iterating_walks_every_contact_once_in_order(
    monitor: HealthMonitor, client: HubSpotClient
) -> None:
    async with monitor:
        ids = [int(record.id) async for record in client.iterate("contacts")]

    assert len(ids) == SEED_COUNTS["contacts"]
    assert ids == sorted(set(ids))
    pages = client.operations.by_operation["contacts.list"]
    assert (pages.calls, pages.successes) == (100, 100)


@pytest.mark.usefixtures("configured")
async def test_pages_follow_the_after_cursor_and_the_last_page_has_none(
    monitor: HealthMonitor, client: HubSpotClient
) -> None:
    async with monitor:
        first = await client.page("companies", limit=7, properties=["name", "domain"])
        second = await client.page("companies", after=first.next_after, limit=7)
        records = [r async for r in client.iterate("companies", limit=100)]
        tail = await client.page("companies", after=records[-3].id, limit=100)

    assert len(first.results) == 7
    assert set(first.results[0].properties) == {"name", "domain"}
    assert int(second.results[0].id) == int(first.results[-1].id) + 1
    assert len(records) == SEED_COUNTS["companies"]
    assert [r.id for r in tail.results] == [r.id for r in records[-3:]]
    assert tail.next_after is None
    assert tail.paging is None


@pytest.mark.usefixtures("configured")
async def test_search_filters_sorts_and_pages(
    monitor: HealthMonitor, client: HubSpotClient
) -> None:
    request = SearchRequest(
        filterGroups=[
            FilterGroup(
                filters=[
                    Filter(propertyName="firstname", operator="EQ", value="Ada"),
                    Filter(
                        propertyName="lifecyclestage", operator="IN", values=["lead", "customer"]
                    ),
                ]
            )
        ],
        sorts=[Sort(propertyName="phone", direction="DESCENDING")],
        properties=["firstname", "lifecyclestage", "phone"],
        limit=50,
    )
    async with monitor:
        first = await client.search("contacts", request)
        found = list(first.results)
        after = first.next_after
        while after is not None:
            page = await client.search("contacts", request.model_copy(update={"after": after}))
            found.extend(page.results)
            after = page.next_after

    assert first.total == len(found) > 50
    assert all(r.properties["firstname"] == "Ada" for r in found)
    assert {r.properties["lifecyclestage"] for r in found} == {"lead", "customer"}
    phones = [r.properties["phone"] or "" for r in found]
    assert phones == sorted(phones, reverse=True)


@pytest.mark.usefixtures("configured")
async def test_create_then_update_round_trip(monitor: HealthMonitor, client: HubSpotClient) -> None:
    async with monitor:
        created = await client.create(
            "contacts",
            {"email": "new.person@example.org", "firstname": "New", "lastname": "Person"},
        )
        updated = await client.update("contacts", created.id, {"lastname": "Renamed"})
        fetched = await client.get("contacts", created.id, ["email", "lastname"])
        search = await client.search(
            "contacts",
            SearchRequest(
                filterGroups=[
                    FilterGroup(
                        filters=[
                            Filter(
                                propertyName="email", operator="EQ", value="new.person@example.org"
                            )
                        ]
                    )
                ]
            ),
        )
        with pytest.raises(CallFailed) as duplicate:
            await client.create("contacts", {"email": "new.person@example.org"})
        with pytest.raises(CallFailed) as unknown_property:
            await client.update("contacts", created.id, {"shoe_size": "44"})

    assert int(created.id) > 1000 + SEED_COUNTS["contacts"]
    assert updated.properties["lastname"] == "Renamed"
    assert fetched.properties == {"email": "new.person@example.org", "lastname": "Renamed"}
    assert [r.id for r in search.results] == [created.id]
    assert (duplicate.value.http_status, duplicate.value.code) == (409, "CONFLICT")
    assert (unknown_property.value.http_status, unknown_property.value.code) == (
        400,
        "VALIDATION_ERROR",
    )
    assert client.breaker.state == "closed"  # refused requests are not provider failures


@pytest.mark.usefixtures("configured")
async def test_batch_read_names_missing_ids_and_owners_page(
    monitor: HealthMonitor, client: HubSpotClient
) -> None:
    async with monitor:
        batch = await client.batch_read("deals", ["9000001", "9000002", "1"], ["dealname"])
        owners = [o async for o in client.owners()]
        owner = await client.owner(owners[0].id)

    assert [r.id for r in batch.results] == ["9000001", "9000002"]
    assert batch.numErrors == 1
    assert batch.errors[0].context == {"ids": ["1"]}
    assert len(owners) == 12
    assert owner.email == owners[0].email


@pytest.mark.usefixtures("configured")
async def test_a_429_waits_for_the_window_then_succeeds(
    monitor: HealthMonitor, client: HubSpotClient, simulator: Simulator
) -> None:
    simulator.set_fault("hubspot", "rate_limit", times=1, retry_after=1)
    async with monitor:
        page = await client.page("deals", limit=3)

    assert len(page.results) == 3
    assert client.quota.last_policy == "TEN_SECONDLY_ROLLING"
    assert client.quota.interval_limit == 190
    assert client.quota.daily_limit == 250_000
    assert simulator.state("hubspot")["api_requests"] == 2


@pytest.mark.usefixtures("configured")
async def test_a_used_up_interval_is_waited_out_before_the_next_call(
    monitor: HealthMonitor, client: HubSpotClient, simulator: Simulator
) -> None:
    simulator.set_hubspot_limits(interval_max=2, interval_ms=500, daily=1000)
    async with monitor:
        pages = [await client.page("contacts", limit=1) for _ in range(5)]

    assert all(len(p.results) == 1 for p in pages)
    ops = client.operations.by_operation["contacts.list"]
    # The headers said "0 remaining": the client waited instead of drawing a 429.
    assert (ops.calls, ops.successes) == (5, 5)
    assert simulator.state("hubspot")["api_requests"] == 5
    assert client.quota.daily_remaining == 995


@pytest.mark.usefixtures("configured")
async def test_the_daily_limit_is_reported_and_not_retried(
    monitor: HealthMonitor, client: HubSpotClient, simulator: Simulator
) -> None:
    simulator.set_hubspot_limits(interval_max=100, interval_ms=10_000, daily=1)
    async with monitor:
        await client.page("contacts", limit=1)
        with pytest.raises(CallFailed) as raised:
            await client.page("contacts", limit=1)

    failure = raised.value
    assert (failure.category, failure.code, failure.attempts) == (Category.rate_limited, "DAILY", 1)
    assert client.quota.daily_remaining == 0
    assert client.quota.last_policy == "DAILY"


async def test_an_expired_oauth_token_is_renewed_once(
    environ: dict[str, str], monitor: HealthMonitor, client: HubSpotClient, simulator: Simulator
) -> None:
    environ.update(OAUTH, HUBSPOT_ACCESS_TOKEN=EXPIRED_ACCESS_TOKEN)
    async with monitor:
        first = await client.page("contacts", limit=2)
        second = await client.page("contacts", after=first.next_after, limit=2)

    assert [len(first.results), len(second.results)] == [2, 2]
    assert simulator.state("hubspot")["token_requests"] == 1
    state = client.auth_state()
    assert state is not None
    assert (state.kind, state.renewals) == ("oauth", 1)
    assert state.expires_in_seconds is not None
    assert state.expires_in_seconds > 1000


async def test_a_renewed_token_that_is_refused_again_is_credentials_rejected(
    environ: dict[str, str], monitor: HealthMonitor, client: HubSpotClient, simulator: Simulator
) -> None:
    environ.update(OAUTH, HUBSPOT_ACCESS_TOKEN=EXPIRED_ACCESS_TOKEN)
    simulator.set_fault("hubspot", "reject")
    async with monitor:
        with pytest.raises(CallFailed) as raised:
            await client.page("contacts")

    assert raised.value.category is Category.credentials_rejected
    assert simulator.state("hubspot")["token_requests"] == 1
    assert simulator.state("hubspot")["api_requests"] == 2


async def test_a_refused_refresh_token_names_the_oauth_variables(
    environ: dict[str, str], monitor: HealthMonitor, client: HubSpotClient
) -> None:
    environ.update(OAUTH, HUBSPOT_ACCESS_TOKEN=EXPIRED_ACCESS_TOKEN, HUBSPOT_REFRESH_TOKEN=WRONG)
    async with monitor:
        with pytest.raises(CallFailed) as raised:
            await client.page("contacts")
        result = await monitor.check("hubspot")

    assert raised.value.category is Category.credentials_rejected
    assert raised.value.code == "BAD_REFRESH_TOKEN"
    assert "HUBSPOT_REFRESH_TOKEN" in result.message
    assert result.status == "unhealthy"
    assert result.services is not None
    assert result.services.auth.status == "fail"
    assert result.services.auth.credential is not None
    assert result.services.auth.credential.last_failure is Category.credentials_rejected


async def test_a_rejected_private_app_token_is_not_renewed(
    environ: dict[str, str], monitor: HealthMonitor, client: HubSpotClient, simulator: Simulator
) -> None:
    environ["HUBSPOT_ACCESS_TOKEN"] = WRONG
    async with monitor:
        with pytest.raises(CallFailed) as raised:
            await client.page("contacts")

    assert raised.value.category is Category.credentials_rejected
    assert raised.value.code == "INVALID_AUTHENTICATION"
    assert simulator.state("hubspot")["token_requests"] == 0


# -- the routes ---------------------------------------------------------------------------


@pytest.mark.usefixtures("configured")
def test_list_route_pages_with_after_and_limit(api: httpx.Client) -> None:
    first = api.get("/api/hubspot/deals", params={"limit": 5, "properties": "dealname,amount"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["results"]) == 5
    assert set(body["results"][0]["properties"]) == {"dealname", "amount"}
    after = body["paging"]["next"]["after"]
    second = api.get("/api/hubspot/deals", params={"limit": 5, "after": after}).json()
    assert second["results"][0]["id"] == after


@pytest.mark.usefixtures("configured")
def test_record_route_and_its_errors(api: httpx.Client) -> None:
    found = api.get("/api/hubspot/contacts/1001")
    missing = api.get("/api/hubspot/contacts/77")
    assert found.status_code == 200
    assert found.json()["id"] == "1001"
    assert missing.status_code == 404
    assert missing.json() | {"message": ""} == {
        "ok": False, "service": "hubspot", "error": "not_found", "category": None, "message": "",
        "code": "OBJECT_NOT_FOUND", "http_status": 404, "retry_after_seconds": None,
    }  # fmt: skip
    assert api.get("/api/hubspot/widgets").status_code == 422
    assert api.get("/api/hubspot/contacts", params={"limit": 101}).status_code == 422
    assert api.get("/api/hubspot/health").json()["service"] == "hubspot"


@pytest.mark.usefixtures("configured")
def test_search_route(api: httpx.Client) -> None:
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}]}
        ],
        "properties": ["dealstage"],
        "limit": 200,
    }
    answer = api.post("/api/hubspot/deals/search", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["total"] == SEED_COUNTS["deals"] // 5
    assert len(data["results"]) == 200
    assert {r["properties"]["dealstage"] for r in data["results"]} == {"closedwon"}
    bad = api.post(
        "/api/hubspot/deals/search",
        json={"filterGroups": [{"filters": [{"propertyName": "x", "operator": "LIKE"}]}]},
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("setup", "status", "category"),
    [
        ("rejected", 502, "credentials_rejected"),
        ("server_error", 502, "server_error"),
        ("not_configured", 503, "not_configured"),
    ],
)
def test_route_failures_say_what_the_health_check_says(
    environ: dict[str, str],
    sim_credentials: dict[str, str],
    api: httpx.Client,
    simulator: Simulator,
    setup: str,
    status: int,
    category: str,
) -> None:
    if setup != "not_configured":
        environ.update(sim_credentials)
    if setup == "rejected":
        environ["HUBSPOT_ACCESS_TOKEN"] = WRONG
    if setup == "server_error":
        simulator.set_fault("hubspot", "server_error")
    answer = api.get("/api/hubspot/contacts")
    health = api.get("/api/hubspot/health", params={"refresh": True}).json()

    assert answer.status_code == status, answer.text
    body = answer.json()
    assert (body["ok"], body["error"], body["category"]) == (False, category, category)
    if setup == "not_configured":
        assert "HUBSPOT_ACCESS_TOKEN" in body["message"]
        assert health["services"]["auth"]["category"] == "not_configured"
    else:
        assert health["checks"]["api_access"]["category"] == category
        assert body["message"] == health["checks"]["api_access"]["message"]
    assert WRONG not in answer.text


@pytest.mark.usefixtures("configured")
def test_daily_limit_route_is_503_naming_the_policy(
    api: httpx.Client, simulator: Simulator
) -> None:
    simulator.set_hubspot_limits(interval_max=100, interval_ms=10_000, daily=1)
    assert api.get("/api/hubspot/contacts").status_code == 200
    answer = api.get("/api/hubspot/contacts")
    assert answer.status_code == 503
    assert answer.json()["code"] == "DAILY"
    assert answer.json()["category"] == "rate_limited"


# -- health parts, metrics and logs -------------------------------------------------------


@pytest.mark.usefixtures("configured")
def test_health_answer_has_api_auth_and_webhooks_parts(api: httpx.Client) -> None:
    api.get("/api/hubspot/contacts", params={"limit": 3})
    health = api.get("/api/hubspot/health").json()

    assert health["status"] == "healthy"
    assert health["checks"]["api_access"]["status"] == "pass"
    parts = health["services"]
    assert set(parts) == {"api", "auth", "webhooks"}
    assert parts["api"]["status"] == "pass"
    assert parts["api"]["operations"]["contacts.list"]["successes"] == 1
    assert parts["api"]["operations"]["probe"]["calls"] == 1
    assert parts["api"]["rate_limit"]["daily_limit"] == 250_000
    assert parts["auth"]["status"] == "pass"
    assert parts["auth"]["credential"] == {
        "kind": "token", "variables": ["HUBSPOT_ACCESS_TOKEN"], "renewals": 0,
        "last_renewed": None, "expires_in_seconds": None, "last_failure": None,
    }  # fmt: skip


@pytest.mark.usefixtures("configured")
def test_prometheus_counts_calls_by_operation_and_outcome(api: httpx.Client) -> None:
    api.get("/api/hubspot/contacts", params={"limit": 3})
    api.get("/api/hubspot/contacts/5")
    text = api.get("/metrics").text

    assert (
        'atom_health_provider_calls_total{integration="hubspot",operation="contacts.list",outcome="ok"} 1.0'
        in text
    )
    assert (
        'atom_health_provider_calls_total{integration="hubspot",operation="contacts.get",outcome="bad_response"} 1.0'
        in text
    )
    assert (
        'atom_health_provider_call_duration_seconds_count{integration="hubspot",operation="contacts.list"} 1.0'
        in text
    )


async def test_one_log_line_per_call_with_no_token_or_personal_value(
    environ: dict[str, str],
    monitor: HealthMonitor,
    client: HubSpotClient,
    log_lines: Lines,
) -> None:
    environ.update(OAUTH, HUBSPOT_ACCESS_TOKEN=EXPIRED_ACCESS_TOKEN)
    personal = {
        "email": "private.person@example.net",
        "firstname": "Zyxwvut",
        "phone": "+1-555-0199",
    }
    async with monitor:
        record = await client.create("contacts", personal)
        await client.update("contacts", record.id, {"lastname": "Qwertyuiop"})
        await client.search(
            "contacts",
            SearchRequest(
                filterGroups=[
                    FilterGroup(
                        filters=[
                            Filter(propertyName="email", operator="EQ", value=personal["email"])
                        ]
                    )
                ]
            ),
        )
        with pytest.raises(CallFailed):
            await client.get("contacts", "424242")
        await monitor.check("hubspot")
        renewed = await client.auth().token(client, deadline=float("inf"))

    calls = [r for r in log_lines.records if r.name == "atom_health.calls"]
    operations = [r.__dict__["call"]["operation"] for r in calls]
    assert operations == [
        "contacts.create", "oauth.refresh", "contacts.create", "contacts.update",
        "contacts.search", "contacts.get", "probe",
    ]  # fmt: skip
    first = calls[0].__dict__["call"]
    assert first["path"] == "/crm/v3/objects/{objectType}"
    assert first["status"] == 401
    assert set(first) == {
        "integration",
        "operation",
        "method",
        "path",
        "status",
        "outcome",
        "latency_ms",
        "attempts",
    }
    secrets = [*HUBSPOT_CREDENTIALS.values(), EXPIRED_ACCESS_TOKEN, renewed]
    forbidden = [*personal.values(), "Qwertyuiop", "424242", *secrets]
    for line in log_lines.text:
        assert not [value for value in forbidden if value in line], line
