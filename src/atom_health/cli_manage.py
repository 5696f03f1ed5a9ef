"""``atom-health manage ...``: the management API of a running server, over HTTP.

Exit codes: 0 done; 2 refused (unknown integration, invalid config file, bad input, a key
without the admin role) or the server cannot be reached; the server's message is printed.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from atom_health.config.environment import API_KEY_ENV_VAR, URL_ENV_VAR

EXIT_REFUSED = 2

manage_app = typer.Typer(
    help="Manage a running server (admin key): integrations, checks, config, maintenance.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

Url = Annotated[
    str,
    typer.Option(envvar=URL_ENV_VAR, help="The running server, e.g. http://127.0.0.1:8000"),
]
ApiKey = Annotated[
    str | None,
    typer.Option(envvar=API_KEY_ENV_VAR, help="An admin API key.", show_envvar=True),
]


def call(url: str, api_key: str | None, method: str, path: str, body: Any = None) -> None:
    """Send one request; print the JSON answer, or the refusal and exit 2."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    shown = re.sub(r"//[^/@]*@", "//", url)  # never print credentials in the URL
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60) as client:
            answer = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        err.print(f"error: cannot reach atom-health at {shown} ({type(exc).__name__})")
        raise typer.Exit(EXIT_REFUSED) from None
    if answer.status_code == 204:
        out.print("done")
        return
    try:
        data = answer.json()
    except ValueError:
        data = {"message": answer.text[:200]}
    if answer.status_code >= 400:
        message = data.get("message") or json.dumps(data.get("detail", data))
        err.print(f"error: {answer.status_code}: {message}", markup=False, highlight=False)
        raise typer.Exit(EXIT_REFUSED)
    out.print_json(data=data)


@manage_app.command()
def integrations(url: Url, api_key: ApiKey = None) -> None:
    """List every integration, disabled ones included."""
    call(url, api_key, "GET", "/api/manage/integrations")


@manage_app.command()
def enable(service: str, url: Url, api_key: ApiKey = None) -> None:
    """Enable an integration (kept across restarts)."""
    call(url, api_key, "PATCH", f"/api/manage/integrations/{service}", {"enabled": True})


@manage_app.command()
def disable(service: str, url: Url, api_key: ApiKey = None) -> None:
    """Disable an integration (kept across restarts)."""
    call(url, api_key, "PATCH", f"/api/manage/integrations/{service}", {"enabled": False})


@manage_app.command()
def check(service: str, url: Url, api_key: ApiKey = None) -> None:
    """Check an integration now (within the refresh window: the newest result and its age)."""
    call(url, api_key, "POST", f"/api/manage/integrations/{service}/checks")


@manage_app.command()
def reload(url: Url, api_key: ApiKey = None) -> None:
    """Reload the server's config file and print what changed."""
    call(url, api_key, "POST", "/api/manage/config/reload")


@manage_app.command("maintenance-list")
def maintenance_list(url: Url, api_key: ApiKey = None) -> None:
    """List maintenance windows."""
    call(url, api_key, "GET", "/api/manage/maintenance")


@manage_app.command("maintenance-add")
def maintenance_add(
    url: Url,
    start: Annotated[str, typer.Option(help="ISO 8601, e.g. 2026-12-01T02:00:00Z")],
    end: Annotated[str, typer.Option(help="ISO 8601")],
    name: Annotated[str, typer.Option(help="Shown on the dashboard and alerts.")] = "maintenance",
    service: Annotated[
        list[str] | None, typer.Option(help="An integration it covers (repeat); default: all.")
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="IANA name for a start and end without an offset.")
    ] = "UTC",
    api_key: ApiKey = None,
) -> None:
    """Add a one-off maintenance window (it silences alert delivery while active; kept until
    deleted, across restarts)."""
    body = {
        "name": name,
        "start": start,
        "end": end,
        "services": service or [],
        "timezone": timezone,
    }
    call(url, api_key, "POST", "/api/manage/maintenance", body)


@manage_app.command("maintenance-delete")
def maintenance_delete(window_id: str, url: Url, api_key: ApiKey = None) -> None:
    """Delete a maintenance window added at run time (e.g. runtime-1)."""
    call(url, api_key, "DELETE", f"/api/manage/maintenance/{window_id}")
