"""``atom-health alerts ...``: alerts on a running server, over its HTTP API.

List alerts and the outbox, acknowledge an alert, silence integrations and end a silence.
Exit codes: 0 done; 2 usage error, an unreachable server, or a request the server refused
(its reason on stderr).
"""

from __future__ import annotations

import getpass
import json
import os
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from atom_health.config.environment import API_KEY_ENV_VAR, URL_ENV_VAR

EXIT_USAGE = 2

alerts_app = typer.Typer(
    name="alerts",
    help="Alerts on a running server: list, show, acknowledge, silence.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar=URL_ENV_VAR, help=f"The running server (or ${URL_ENV_VAR})."),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        envvar=API_KEY_ENV_VAR,
        help="API key for a server that needs one (admin, to acknowledge and silence).",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]


def _author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


AuthorOption = Annotated[
    str, typer.Option("--author", "-a", help="Who does it (default: your user name).")
]


def _fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def call(method: str, url: str, api_key: str | None, path: str, **kwargs: Any) -> dict[str, Any]:
    """One API call; a clear message and exit 2 when it cannot be made or is refused."""
    base = url.rstrip("/")
    shown = httpx.URL(base).copy_with(username=None, password=None)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        answer = httpx.request(method, base + path, timeout=30, headers=headers, **kwargs)
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach atom-health at {shown} ({type(exc).__name__})") from None
    try:
        body: dict[str, Any] = answer.json()
    except ValueError:
        body = {}
    if answer.status_code >= 400:
        reason = body.get("message") or _validation_message(body) or answer.reason_phrase
        raise _fail(f"HTTP {answer.status_code}: {reason}")
    return body


def _validation_message(body: dict[str, Any]) -> str:
    detail = body.get("detail")
    if not isinstance(detail, list):
        return ""
    return "; ".join(
        f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg', '')}"
        for item in detail
        if isinstance(item, dict)
    )


def _print_json(body: dict[str, Any]) -> None:
    typer.echo(json.dumps(body, indent=2))


@alerts_app.command("list")
def list_alerts(
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    state: Annotated[str | None, typer.Option(help="open, resolved or acknowledged.")] = None,
    integration: Annotated[str | None, typer.Option(help="Only alerts naming it.")] = None,
    since: Annotated[str | None, typer.Option(help="Opened at or after (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """Alerts, newest first."""
    params = {k: v for k, v in {"state": state, "integration": integration, "since": since,
              "limit": limit, "offset": offset}.items() if v is not None}  # fmt: skip
    body = call("GET", url, api_key, "/api/alerts", params=params)
    if as_json:
        _print_json(body)
        return
    table = Table(title=f"Alerts ({body['total']} matching, {body['open_alerts']} open)")
    for column in ("id", "state", "severity", "integrations", "title", "opened", "notified"):
        table.add_column(column)
    for alert in body["alerts"]:
        state_word = "open" if alert["open"] else "resolved"
        if alert["acknowledged"]:
            state_word = f"acknowledged by {alert['acknowledged']['by']}"
        sent = sorted({n["notifier"] for n in alert["notifications"] if n["state"] == "delivered"})
        table.add_row(str(alert["id"]), state_word, alert["severity"],
                      ", ".join(alert["services"]), alert["title"], alert["opened_at"],
                      ", ".join(sent) or "-")  # fmt: skip
    out.print(table)
    for silence in body["silences"]:
        out.print(f"Silenced until {silence['ends_at']}: {', '.join(silence['integrations'])} "
                  f"(#{silence['id']} by {silence['created_by']}: {silence['comment']})")  # fmt: skip
    if body["maintenance"]:
        out.print(f"Maintenance now: {', '.join(body['maintenance'])}")


@alerts_app.command("show")
def show(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """One alert, with every notification and delivery attempt."""
    alert = call("GET", url, api_key, f"/api/alerts/{alert_id}")
    if as_json:
        _print_json(alert)
        return
    out.print(f"#{alert['id']} {alert['title']} ({alert['severity']}, "
              f"{'open' if alert['open'] else 'resolved'})", markup=False)  # fmt: skip
    out.print(alert["message"], markup=False)
    table = Table(title="Notifications")
    for column in ("notifier", "action", "state", "attempts", "last error", "idempotency key"):
        table.add_column(column)
    for n in alert["notifications"]:
        table.add_row(n["notifier"], n["action"], n["state"], str(n["attempts"]),
                      n["last_error"] or "", n["idempotency_key"])  # fmt: skip
    out.print(table)


@alerts_app.command("ack")
def acknowledge(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (see: alerts list).")],
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    author: AuthorOption = "",
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why, or what is done.")] = "",
) -> None:
    """Acknowledge an open alert: no more reminders until it resolves."""
    body = {"author": author or _author(), "comment": comment}
    alert = call("POST", url, api_key, f"/api/alerts/{alert_id}/acknowledge", json=body)
    out.print(f"acknowledged #{alert['id']}: {alert['title']}", markup=False)


@alerts_app.command("silence")
def silence(
    integrations: Annotated[list[str], typer.Argument(metavar="INTEGRATION...")],
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why (required).")],
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    duration: Annotated[
        str | None, typer.Option("--duration", "-d", help="e.g. 2h, 90m, 1h30m, 1d.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="End time (ISO 8601).")] = None,
    author: AuthorOption = "",
) -> None:
    """Silence alerts on these integrations for a duration or until a time."""
    if (duration is None) == (until is None):
        raise _fail("give either --duration (e.g. 2h) or --until")
    body: dict[str, Any] = {"integrations": integrations, "comment": comment,
                            "created_by": author or _author()}  # fmt: skip
    body["duration" if duration else "ends_at"] = duration or until
    made = call("POST", url, api_key, "/api/alerts/silences", json=body)
    out.print(f"silence #{made['id']}: {', '.join(made['integrations'])} until "
              f"{made['ends_at']}", markup=False)  # fmt: skip


@alerts_app.command("silences")
def silences(
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    expired: Annotated[bool, typer.Option(help="Include silences that ended.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Silences, newest first, with their expiry."""
    body = call("GET", url, api_key, "/api/alerts/silences", params={"expired": expired})
    if as_json:
        _print_json(body)
        return
    table = Table(title="Silences")
    for column in ("id", "integrations", "ends", "by", "comment", "active"):
        table.add_column(column)
    for s in body["silences"]:
        table.add_row(str(s["id"]), ", ".join(s["integrations"]), s["ends_at"],
                      s["created_by"], s["comment"], "yes" if s["active"] else "no")  # fmt: skip
    out.print(table)


@alerts_app.command("unsilence")
def unsilence(
    silence_id: Annotated[int, typer.Argument(help="The silence's id.")],
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
) -> None:
    """End a silence now."""
    ended = call("DELETE", url, api_key, f"/api/alerts/silences/{silence_id}")
    out.print(f"silence #{ended['id']} ended", markup=False)


@alerts_app.command("outbox")
def outbox(
    url: UrlOption = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
    state: Annotated[
        str | None, typer.Option(help="pending, delivered, dropped or silenced.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """Notifications in the outbox, oldest first, with their attempts."""
    params: dict[str, Any] = {"limit": limit}
    if state:
        params["state"] = state
    body = call("GET", url, api_key, "/api/alerts/notifications", params=params)
    if as_json:
        _print_json(body)
        return
    table = Table(title=f"Outbox ({body['total']})")
    for column in ("id", "alert", "notifier", "action", "state", "attempts", "last error"):
        table.add_column(column)
    for n in body["notifications"]:
        table.add_row(str(n["id"]), str(n["alert_id"]), n["notifier"], n["action"], n["state"],
                      str(n["attempts"]), n["last_error"] or "")  # fmt: skip
    out.print(table)
