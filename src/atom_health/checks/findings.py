"""What a passing probe's answer reveals beyond "accepted": the findings, most serious
first, each with its category and a message built from codes, names and numbers."""

from __future__ import annotations

from atom_health.checks.quota import share_left
from atom_health.classify import check_status_for
from atom_health.config import ProbeSettings
from atom_health.model.results import ApiAccessCheck, Category, CheckStatus, Quota
from atom_health.services.http import Reply


def assess(
    check: ApiAccessCheck,
    reply: Reply,
    settings: ProbeSettings,
    name: str,
    test_marker: str | None,
    secrets: list[str],
) -> ApiAccessCheck:
    """A passing probe's findings, the most serious first: test credentials in
    production, missing scopes, a spent quota, an expiring credential, a low quota,
    slowness, transient errors."""
    quota, scopes, credential = check.quota, check.scopes, check.credential
    if test_marker is not None:
        return _finding(
            check,
            Category.test_credentials,
            f"{name} works with test or sandbox credentials in production ({test_marker}): "
            f"set live credentials in {join_names(secrets)}",
        )
    if scopes is not None and scopes.missing:
        return _finding(
            check,
            Category.permission_denied,
            f"{name} accepted the credentials, but they lack the scopes "
            f"{join_names(scopes.missing)}: grant them to the app",
        )
    if quota is not None and quota.remaining <= 0:
        return _finding(
            check,
            Category.rate_limited,
            f"{name} accepted the credentials, but the request quota is spent "
            f"(0 of {quota.limit or 'its limit'} left){_resets(quota)}",
        )
    if credential is not None and credential.days_left <= settings.credential_warn_days:
        when = credential.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        state = (
            f"expired on {when}"
            if credential.days_left <= 0
            else f"expires in {credential.days_left:g} days (on {when})"
        )
        return _finding(
            check,
            Category.credential_expiring,
            f"{name}: the credential in {credential.variable} {state}: rotate it",
        )
    if quota is not None and share_left(quota) < settings.quota_warn_share:
        return check.model_copy(
            update={
                "status": CheckStatus.warn,
                "message": f"{name} accepted the credentials, but the request quota is low: "
                f"{quota.remaining} of {quota.limit} left{_resets(quota)}",
            }
        )
    slow = settings.slow_threshold_ms
    if reply.latency_ms > slow:  # the provider's own answer time, not our waits
        return check.model_copy(
            update={
                "status": CheckStatus.warn,
                "message": f"{name} accepted the credentials but answered slowly: "
                f"{reply.latency_ms:.0f} ms, over the {slow:.0f} ms threshold",
            }
        )
    if reply.attempts > 1:
        return check.model_copy(
            update={
                "status": CheckStatus.warn,
                "message": f"{name} accepted the credentials after {reply.attempts} "
                "attempts: transient errors",
            }
        )
    return check


def _finding(check: ApiAccessCheck, category: Category, message: str) -> ApiAccessCheck:
    return check.model_copy(
        update={"status": check_status_for(category), "category": category, "message": message}
    )


def _resets(quota: Quota) -> str:
    if quota.resets_at is None:
        return ""
    return f"; it resets at {quota.resets_at.strftime('%Y-%m-%d %H:%M:%S UTC')}"


def join_names(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
