"""The alert rules on constructed results, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from atom_health.alerting.rules import AlertEngine
from atom_health.config.alerting import AlertingSettings, MaintenanceWindow, RuleOverride
from atom_health.model.history import ConfigEvent
from atom_health.model.results import (
    ApiAccessCheck,
    Category,
    Checks,
    CheckStatus,
    ConfigurationCheck,
    ServiceHealth,
    Status,
    VendorState,
    VendorStatus,
)
from atom_health.model.vocabulary import Criticality

CRITICALITY = {"zoom": Criticality.critical, "notion": Criticality.normal, "trello": Criticality.normal,
               "hubspot": Criticality.normal, "jira": Criticality.normal}  # fmt: skip
T = 1_800_000_000.0


def result(
    service: str,
    status: Status,
    category: Category | None = None,
    latency: float = 50.0,
    vendor: VendorState | None = None,
) -> ServiceHealth:
    configuration = ConfigurationCheck(status=CheckStatus.passed, configured=True, required_env_vars=[],
                                       present_env_vars=[], missing_env_vars=[], configuration_percentage=100)  # fmt: skip
    api = ApiAccessCheck(
        status=CheckStatus.passed if status is Status.healthy else CheckStatus.failed,
        message=f"{service} is {status.value}", category=category, latency_ms=latency,
    )  # fmt: skip
    vendor_status = (
        VendorStatus(vendor=service, state=vendor, message="incident",
                     incidents=["Elevated errors"] if vendor is not VendorState.operational else [])
        if vendor else None
    )  # fmt: skip
    return ServiceHealth(status=status, service=service, name=service.title(), criticality=CRITICALITY[service],
                         timestamp=datetime.now(UTC), configured=True, message=api.message,
                         checks=Checks(configuration=configuration, api_access=api, vendor_status=vendor_status))  # fmt: skip


def engine(**settings: object) -> AlertEngine:
    return AlertEngine(AlertingSettings.model_validate(settings), CRITICALITY)


def actions(events: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e.alert.key, e.action) for e in events]


def test_failure_and_success_thresholds() -> None:
    rules = engine()
    assert rules.observe(result("notion", Status.unhealthy, Category.timeout), T) == []
    assert actions(rules.observe(result("notion", Status.unhealthy, Category.timeout), T + 60)) == [
        ("down:notion", "opened")
    ]
    assert rules.observe(result("notion", Status.unhealthy), T + 120) == []  # no repeat
    assert rules.observe(result("notion", Status.healthy), T + 180) == []
    assert actions(rules.observe(result("notion", Status.healthy), T + 240)) == [
        ("down:notion", "resolved")
    ]


def test_critical_integration_alerts_at_once_and_overrides_apply() -> None:
    rules = engine(per_integration={"trello": RuleOverride(failure_threshold=3)})

    opened = rules.observe(result("zoom", Status.unhealthy, Category.credentials_rejected), T)
    assert actions(opened) == [("down:zoom", "opened")]
    assert opened[0].alert.severity == "critical"
    for offset in (0, 1):
        assert rules.observe(result("trello", Status.unhealthy), T + offset) == []
    assert actions(rules.observe(result("trello", Status.unhealthy), T + 2)) == [
        ("down:trello", "opened")
    ]


def test_degraded_is_a_warning_and_resolved_can_be_silent() -> None:
    rules = engine(send_on_resolved=False)
    rules.observe(result("notion", Status.degraded), T)
    (opened,) = rules.observe(result("notion", Status.degraded), T + 1)
    assert opened.alert.severity == "warning"
    rules.observe(result("notion", Status.healthy), T + 2)
    assert rules.observe(result("notion", Status.healthy), T + 3) == []
    assert "down:notion" not in rules.open


def test_several_unhealthy_at_once_make_one_grouped_alert() -> None:
    rules = engine(group_threshold=3)
    events = []
    for round_ in range(3):
        for service in ("notion", "trello", "hubspot"):
            events += rules.observe(
                result(service, Status.unhealthy, Category.server_error), T + round_
            )

    assert actions(events) == [("group", "opened")]
    assert events[0].alert.services == ["hubspot", "notion", "trello"]
    resolved = rules.observe(result("notion", Status.healthy), T + 10)
    assert actions(resolved) == [("group", "resolved")]


def test_configuration_going_missing_alerts_by_name() -> None:
    rules = engine()
    opened = rules.observe_config([ConfigEvent("jira", T, "JIRA_API_TOKEN", "missing")], T)
    assert actions(opened) == [("config:jira", "opened")]
    assert opened[0].alert.message == "No longer set: JIRA_API_TOKEN"
    back = rules.observe_config([ConfigEvent("jira", T + 5, "JIRA_API_TOKEN", "present")], T + 5)
    assert actions(back) == [("config:jira", "resolved")]


def test_latency_over_threshold_for_n_checks() -> None:
    rules = engine(latency_threshold_ms=500, latency_checks=3)
    events = []
    for i in range(3):
        events += rules.observe(result("notion", Status.healthy, latency=900), T + i)
    assert actions(events) == [("latency:notion", "opened")]
    events = [
        e
        for i in range(2)
        for e in rules.observe(result("notion", Status.healthy, latency=100), T + 9 + i)
    ]
    assert actions(events) == [("latency:notion", "resolved")]


def test_vendor_incidents_are_informational_and_routed_apart() -> None:
    rules = engine()
    (incident,) = rules.observe(result("notion", Status.healthy, vendor=VendorState.outage), T)
    assert (incident.alert.key, incident.alert.severity, incident.alert.route) == (
        "vendor:notion",
        "info",
        "vendor",
    )

    rules.observe(result("trello", Status.unhealthy, Category.vendor_outage), T)
    (down,) = [e for e in rules.observe(result("trello", Status.unhealthy, Category.vendor_outage), T + 1)
               if e.alert.kind == "down"]  # fmt: skip
    assert down.alert.route == "vendor"  # the vendor's outage is not our failure


def test_reminders_while_open_no_sooner_than_the_interval() -> None:
    rules = engine(reminder_interval_seconds=300)
    rules.observe(result("zoom", Status.unhealthy), T)

    assert rules.tick(T + 299) == []
    assert actions(rules.tick(T + 300)) == [("down:zoom", "reminder")]
    assert rules.tick(T + 400) == []
    assert actions(rules.tick(T + 600)) == [("down:zoom", "reminder")]


def test_flapping_gives_one_alert_and_holds_the_rest() -> None:
    rules = engine(flapping={"window_seconds": 600, "max_changes": 4})
    events = []
    for i, status in enumerate([Status.healthy, Status.unhealthy, Status.healthy, Status.unhealthy,
                                Status.healthy, Status.unhealthy, Status.unhealthy]):  # fmt: skip
        events += rules.observe(result("notion", status), T + i * 10)

    assert [key for key, action in actions(events)] == ["flapping:notion"]
    assert actions(rules.tick(T + 70 + 601)) == [("flapping:notion", "resolved")]


def test_maintenance_windows_silence_sending() -> None:
    start = datetime.fromtimestamp(T, UTC)
    one_off = MaintenanceWindow(
        name="db upgrade", services=["zoom"], start=start, end=start + timedelta(hours=1)
    )
    weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][start.weekday()]
    recurring = MaintenanceWindow(
        name="nightly", weekdays=[weekday], start_time=time(0, 0), end_time=time(23, 59)
    )
    rules = engine(maintenance=[one_off])

    (silenced,) = rules.observe(result("zoom", Status.unhealthy), T + 10)
    assert silenced.silenced_by == "db upgrade"
    (loud,) = engine(maintenance=[one_off]).observe(result("zoom", Status.unhealthy), T + 7200)
    assert loud.silenced_by is None
    (quiet,) = engine(maintenance=[recurring]).observe(result("zoom", Status.unhealthy), T)
    assert quiet.silenced_by == "nightly"
