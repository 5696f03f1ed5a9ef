"""The alert rules on constructed results, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from atom_health.alerting.rules import GROUP_SETTLE_SECONDS, AlertEngine, window_active
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


def test_down_means_unhealthy_a_standing_degraded_opens_nothing_by_default() -> None:
    rules = engine()
    for i in range(10):
        assert rules.observe(result("notion", Status.degraded), T + i) == []
    opened = [e for i in (20, 21) for e in rules.observe(result("notion", Status.unhealthy), T + i)]
    assert actions(opened) == [("down:notion", "opened")]
    back = [e for i in (30, 31) for e in rules.observe(result("notion", Status.degraded), T + i)]
    assert actions(back) == [("down:notion", "resolved")]  # degraded can work: not down


def test_alert_on_degraded_opens_a_warning_that_escalates_and_resolved_can_be_silent() -> None:
    rules = engine(send_on_resolved=False, per_integration={"notion": {"alert_on": "degraded"}})
    assert rules.observe(result("trello", Status.degraded), T) == []
    assert rules.observe(result("trello", Status.degraded), T + 1) == []  # not for trello
    rules.observe(result("notion", Status.degraded), T)
    (opened,) = rules.observe(result("notion", Status.degraded), T + 1)
    assert opened.alert.severity == "warning"
    (worse,) = rules.observe(result("notion", Status.unhealthy), T + 2)
    assert (worse.action, worse.alert.severity) == ("updated", "critical")
    rules.observe(result("notion", Status.healthy), T + 3)
    assert rules.observe(result("notion", Status.healthy), T + 4) == []
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
    assert opened[0].alert.message == "JIRA_API_TOKEN is missing"
    more = rules.observe_config([ConfigEvent("jira", T + 1, "JIRA_EMAIL", "missing")], T + 1)
    assert [(e.action, e.alert.message) for e in more] == [
        ("updated", "JIRA_API_TOKEN and JIRA_EMAIL are missing")
    ]
    rules.observe_config([ConfigEvent("jira", T + 2, "JIRA_EMAIL", "present")], T + 2)
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
    assert silenced.silenced_by == "maintenance window 'db upgrade'"
    (loud,) = engine(maintenance=[one_off]).observe(result("zoom", Status.unhealthy), T + 7200)
    assert loud.silenced_by is None
    (quiet,) = engine(maintenance=[recurring]).observe(result("zoom", Status.unhealthy), T)
    assert quiet.silenced_by == "maintenance window 'nightly'"


def test_maintenance_windows_in_an_iana_time_zone_and_across_midnight() -> None:
    # T is 2027-01-15 08:00 UTC, a Friday: 09:00 in Berlin (CET, UTC+1), 03:00 in New York.
    assert datetime.fromtimestamp(T, UTC).isoformat() == "2027-01-15T08:00:00+00:00"
    berlin = MaintenanceWindow(name="berlin morning", weekdays=["fri"], start_time=time(8, 30),
                               end_time=time(9, 30), timezone="Europe/Berlin")  # fmt: skip
    overnight = MaintenanceWindow(name="overnight", weekdays=["thu"], start_time=time(22, 0),
                                  end_time=time(4, 0), timezone="America/New_York")  # fmt: skip
    local_one_off = MaintenanceWindow(name="one-off", start=datetime(2027, 1, 15, 8, 45),
                                      end=datetime(2027, 1, 15, 9, 15), timezone="Europe/Berlin")  # fmt: skip
    assert window_active(berlin, T)
    assert not window_active(berlin, T - 3600)  # 08:00 in Berlin: not yet
    assert window_active(overnight, T)  # Friday 03:00 in New York, in Thursday's night
    assert not window_active(overnight, T + 3600)  # 04:00: over
    assert window_active(local_one_off, T)
    assert not window_active(local_one_off, T + 1800)


def test_a_critical_integration_alerts_during_a_group_alert_and_members_update_it() -> None:
    rules = engine(group_threshold=3)
    events = []
    for round_ in range(2):
        for service in ("notion", "trello", "hubspot"):
            events += rules.observe(result(service, Status.unhealthy), T + round_)
    assert actions(events) == [("group", "opened")]

    critical = rules.observe(result("zoom", Status.unhealthy), T + 5)
    assert actions(critical) == [("down:zoom", "opened")]  # at once, never held
    rules.observe(result("jira", Status.unhealthy), T + 6)  # held: a normal member
    assert rules.tick(T + 6) == []  # changes settle for a few seconds, then one update
    (update,) = rules.tick(T + 6 + GROUP_SETTLE_SECONDS)
    assert (update.alert.key, update.action) == ("group", "updated")
    assert update.alert.services == ["hubspot", "jira", "notion", "trello", "zoom"]
    assert "joined: jira, zoom" in update.alert.message

    rules.observe(result("notion", Status.healthy), T + 20)
    (left,) = rules.tick(T + 20 + GROUP_SETTLE_SECONDS)
    assert (left.action, left.alert.services) == ("updated", ["hubspot", "jira", "trello", "zoom"])
    assert "left: notion" in left.alert.message
    rules.observe(result("jira", Status.healthy), T + 30)
    (resolved,) = rules.observe(result("trello", Status.healthy), T + 31)
    assert (resolved.alert.key, resolved.action) == ("group", "resolved")  # below the threshold


def test_the_rules_memory_survives_a_restart() -> None:
    before = engine(failure_threshold=3)
    before.observe(result("notion", Status.unhealthy), T)
    before.observe(result("notion", Status.unhealthy), T + 1)
    assert actions(before.observe(result("zoom", Status.unhealthy), T + 2)) == [
        ("down:zoom", "opened")
    ]
    before.open["down:zoom"].id = 7  # as the store numbered it

    after = engine(failure_threshold=3)
    after.restore([before.open["down:zoom"]], before.take_changed_state())
    assert actions(after.observe(result("zoom", Status.unhealthy), T + 3)) == []  # no re-open
    assert actions(after.observe(result("notion", Status.unhealthy), T + 4)) == [
        ("down:notion", "opened")  # the third bad check in a row, across the restart
    ]
    assert after.observe(result("zoom", Status.healthy), T + 5) == []  # 1 of 2 good checks
    (resolved,) = after.observe(result("zoom", Status.healthy), T + 6)
    assert (resolved.action, resolved.alert.id) == ("resolved", 7)


def test_recovered_while_stopped_resolves_at_the_first_fresh_check() -> None:
    before = engine(success_threshold=3)
    before.observe(result("zoom", Status.unhealthy), T)
    after = engine(success_threshold=3)
    after.restore(list(before.open.values()), before.take_changed_state())

    assert actions(after.observe(result("zoom", Status.healthy), T + 600)) == [
        ("down:zoom", "resolved")
    ]


def test_acknowledged_alerts_get_no_reminders() -> None:
    rules = engine(reminder_interval_seconds=300)
    rules.observe(result("zoom", Status.unhealthy), T)
    rules.open["down:zoom"].acknowledged_at = T + 10

    assert rules.tick(T + 1000) == []
    assert actions(rules.observe(result("zoom", Status.healthy), T + 1001)) == []
    assert actions(rules.observe(result("zoom", Status.healthy), T + 1002)) == [
        ("down:zoom", "resolved")
    ]


def test_a_not_configured_integration_is_down_by_the_names_of_its_missing_variables() -> None:
    down = result("notion", Status.unhealthy, Category.not_configured)
    configuration = down.checks.configuration.model_copy(
        update={"configured": False, "missing_env_vars": ["NOTION_CLIENT_SECRET"]}
    )
    down = down.model_copy(update={"configured": False, "checks": down.checks.model_copy(
        update={"configuration": configuration})})  # fmt: skip
    rules = engine(failure_threshold=1)
    (opened,) = rules.observe(down, T)
    assert opened.alert.message == "Notion is not configured: NOTION_CLIENT_SECRET is missing"


def test_reminders_keep_their_schedule_across_a_restart() -> None:
    before = engine(reminder_interval_seconds=300)
    before.observe(result("zoom", Status.unhealthy), T)
    before.tick(T + 300)  # a reminder: the schedule now counts from T + 300
    after = engine(reminder_interval_seconds=300)
    after.restore([a.snapshot() for a in before.open.values()], before.take_changed_state())

    assert after.tick(T + 599) == []
    assert actions(after.tick(T + 600)) == [("down:zoom", "reminder")]
