"""The ``atom-health`` command.

Exit codes: 0 all checked integrations are healthy; 1 at least one is not;
2 usage or configuration error (unknown service, malformed config file); 3 unexpected error.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from atom_health.cli_manage import manage_app
from atom_health.config import CONFIG_ENV_VAR, ConfigError, Role, Settings, load_settings
from atom_health.config.security import ADMIN_KEY_ENV_VAR, READ_KEY_ENV_VAR
from atom_health.model.results import ConfigurationReport, Overview, Status
from atom_health.monitor import HealthMonitor, UnknownIntegrationError

if TYPE_CHECKING:
    from atom_health.report.models import TestReport
    from atom_health.system import HealthSystem

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="atom-health",
    help="Can each third-party integration work right now, and if not, why?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"Config file (YAML or TOML). Default: ${CONFIG_ENV_VAR}, else built-in defaults.",
        dir_okay=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for machines instead of a table.")
]

STATUS_STYLE = {
    Status.healthy: ("✔", "green"),
    Status.degraded: ("▲", "yellow"),
    Status.unhealthy: ("✖", "red"),
    Status.unknown: ("?", "dim"),
}


def status_text(status: Status) -> Text:
    icon, style = STATUS_STYLE[status]
    return Text(f"{icon} {status.value}", style=style)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load_config(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def load_monitor(config: Path | None) -> HealthMonitor:
    try:
        from atom_health.system import build_monitor

        return build_monitor(load_settings(config))
    except ConfigError as exc:
        raise fail(str(exc)) from None


def load_system(
    config: Path | None, scheduler: bool | None = None, database_url: str | None = None
) -> HealthSystem:
    """The whole system from the config file; a clear message and exit 2 when it cannot be."""
    from atom_health.system import HealthSystem

    try:
        settings = load_settings(config)
        if database_url:
            settings = settings.model_copy(
                update={
                    "history": settings.history.model_copy(update={"database_url": database_url})
                }
            )
        return HealthSystem(settings, scheduler=scheduler)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # the database URL may carry a password: never print it
        raise fail(f"cannot open the history database ({type(exc).__name__})") from None


InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure-no-auth",
        help="Serve a non-loopback address with no API key configured (anyone who can reach "
        "the port can use the API).",
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    config: ConfigOption = None,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Check every integration on its interval and store the results; "
            "--no-scheduler for API-only replicas.",
        ),
    ] = True,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="History database (SQLAlchemy URL, or memory://). Default: "
            "$ATOM_HEALTH_DATABASE_URL, else the config file, else sqlite:///atom-health.db.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    insecure_no_auth: InsecureOption = False,
) -> None:
    """Serve the API (docs at /docs, metrics at /metrics) and the dashboard, and run the scheduler."""
    refuse_open_network_without_keys(load_config(config), os.environ, host, insecure_no_auth)
    # --no-scheduler turns it off; otherwise the config file decides (default on).
    system = load_system(config, None if scheduler else False, database_url)
    run_server(system, host, port, log_level=log_level, insecure_no_auth=insecure_no_auth)


def refuse_open_network_without_keys(
    settings: Settings, environ: Mapping[str, str], host: str, insecure_no_auth: bool
) -> None:
    """Exit 2 before serving a non-loopback address with no API key configured."""
    from atom_health.config.security import configured_keys
    from atom_health.web.hardening import is_loopback

    if insecure_no_auth or is_loopback(host) or configured_keys(settings.security, environ):
        return
    raise fail(
        f"refusing to serve {host} with no API key: anyone who can reach it could use "
        f"the API. Set {READ_KEY_ENV_VAR} and/or {ADMIN_KEY_ENV_VAR}, or list keys under "
        "security.keys in the config file (atom-health keys new), or pass "
        "--insecure-no-auth"
    )


def run_server(
    system: HealthSystem,
    host: str,
    port: int,
    *,
    log_level: str = "warning",
    ready: Callable[[str, Overview], None] | None = None,
    insecure_no_auth: bool = False,
) -> None:
    from atom_health.runner import StartError, serve_system

    refuse_open_network_without_keys(system.settings, system.environ, host, insecure_no_auth)
    try:
        serve_system(system, host, port, ready=ready, log_level=log_level)
    except StartError as exc:
        raise fail(str(exc), EXIT_UNHEALTHY) from None
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def system(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    config: ConfigOption = None,
    database_url: Annotated[
        str | None, typer.Option(help="History database URL (default: see serve --help).")
    ] = None,
    insecure_no_auth: InsecureOption = False,
) -> None:
    """Run everything in one process: API, scheduler and dashboard.

    Waits until it is ready, runs a first round of checks, prints the dashboard URL and a
    summary table, and stops cleanly on Ctrl-C or SIGTERM (exit 0).
    """
    refuse_open_network_without_keys(load_config(config), os.environ, host, insecure_no_auth)
    system = load_system(config, database_url=database_url)
    run_server(system, host, port, ready=print_ready, insecure_no_auth=insecure_no_auth)


def print_ready(url: str, overview: Overview) -> None:
    out.print(overview_table(overview))
    out.print(f"Dashboard: [bold]{url}[/bold]   API docs: {url}docs   Stop: Ctrl-C")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """A live dashboard with no credentials at all: the provider simulator on loopback with a
    realistic mix (most healthy, one slow, one with rejected credentials, one during a vendor
    incident, one not configured), and the whole system pointed at it."""
    from atom_health.demo import DEMO_FAULTS, demo_system
    from atom_health.simulator import Simulator

    with Simulator(host=host) as simulator:
        running = demo_system(simulator)

        def ready(url: str, overview: Overview) -> None:
            print_ready(url, overview)
            out.print(f"Simulator: {simulator.url}   (faults now: {DEMO_FAULTS})")
            out.print(
                "Flip a fault:  atom-health fault slack none --simulator "
                f"{simulator.url}    atom-health fault zoom server_error --simulator {simulator.url}"
            )

        run_server(running, host, port, ready=ready)


FAULTS = ("reject", "forbidden", "rate_limit", "server_error", "slow", "hang", "malformed",
          "reset", "none")  # fmt: skip


@app.command()
def fault(
    provider: Annotated[str, typer.Argument(help="Provider id, e.g. slack.")],
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(FAULTS)}.")] = "none",
    status_page: Annotated[
        str, typer.Option(help="operational, incident or broken.")
    ] = "operational",
    simulator: Annotated[
        str, typer.Option(help="The simulator's URL (see demo or simulate).")
    ] = "http://127.0.0.1:9100",
) -> None:
    """Switch a fault in the provider simulator (for the demo and rehearsals)."""
    import httpx

    if name not in FAULTS:
        raise fail(f"unknown fault {name!r}; one of: {', '.join(FAULTS)}")
    body = {"fault": None if name == "none" else name, "status_page": status_page}
    try:
        answer = httpx.put(f"{simulator.rstrip('/')}/_admin/providers/{provider}", json=body)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach the simulator at {simulator} ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise fail(f"the simulator refused: HTTP {answer.status_code} {answer.text}")
    out.print(f"{provider}: fault {name}, status page {status_page}")


@app.command("test")
def run_integration_tests(
    services: Annotated[
        list[str] | None,
        typer.Argument(metavar="SERVICE...", help="Integrations to test; all when omitted."),
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Test this running server; default: start one in-process.")
    ] = None,
    config: ConfigOption = None,
    json_report: Annotated[
        Path, typer.Option(help="Where to write the JSON report.", dir_okay=False)
    ] = Path("atom-health-report.json"),
    html_report: Annotated[
        Path, typer.Option(help="Where to write the HTML report.", dir_okay=False)
    ] = Path("atom-health-report.html"),
    fail_under: Annotated[
        float | None,
        typer.Option(min=0, max=100, help="Exit 0 when the score is at least this (deploy gate)."),
    ] = None,
    config_target_ms: Annotated[
        float,
        typer.Option(min=0, help="A configuration check (one route) must answer within this."),
    ] = 10.0,
    probe_target_ms: Annotated[
        float, typer.Option(min=0, help="A live probe must answer within this.")
    ] = 500.0,
    as_json: JsonOption = False,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="ATOM_HEALTH_API_KEY",
            help="API key for a server that needs one (admin, for the refresh tests).",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Test every integration (or those named): configuration, live probe, every health route's
    body against its schema, latency against the targets, vendor status. Writes a JSON and an
    HTML report. Exit 0 only when every test passed (or, with --fail-under, when the score is
    at least that); 1 otherwise; 2 on usage error."""
    from contextlib import ExitStack

    import httpx
    from rich.progress import Progress

    from atom_health.report.html import render_html
    from atom_health.report.tester import (
        LatencyTargets,
        known_services,
        resolve_services,
        run_tests,
    )

    with ExitStack() as stack:
        target = url
        if target is None:
            from atom_health.serving import ThreadedServer

            running = load_system(config, scheduler=False, database_url="memory://")
            target = stack.enter_context(ThreadedServer(running.web_app())).url
        auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        client = stack.enter_context(
            httpx.Client(base_url=target.rstrip("/"), timeout=60, headers=auth)
        )
        shown = re.sub(r"//[^/@]*@", "//", target)  # never print credentials in the URL
        try:
            known = known_services(client)
        except httpx.HTTPError as exc:
            raise fail(f"cannot reach atom-health at {shown} ({type(exc).__name__})") from None
        chosen, unknown = resolve_services(client, services) if services else (known, [])
        if unknown:
            raise fail(f"Unknown integration: {', '.join(unknown)} (known: {', '.join(known)})")
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Testing integrations", total=len(chosen))
            targets = LatencyTargets(config_target_ms, probe_target_ms)
            report = run_tests(client, chosen, shown, lambda _: progress.advance(task), targets)
    json_report.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    html_report.write_text(render_html(report), encoding="utf-8")
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        out.print(test_table(report))
        out.print(f"Reports: {json_report}  {html_report}")
    passed = report.ok if fail_under is None else (report.score or 0) >= fail_under
    raise typer.Exit(EXIT_OK if passed else EXIT_UNHEALTHY)


def test_table(report: TestReport) -> Table:
    table = Table(
        title=f"Integration tests: score {report.score}",
        caption=f"{report.passed} passed · {report.failed} failed · {report.skipped} skipped",
    )
    table.add_column("Integration", style="bold")
    table.add_column("Status")
    table.add_column("Pass rate", justify="right")
    table.add_column("Failed tests", overflow="fold")
    for item in report.integrations:
        failed = [case.name for case in item.tests if case.outcome == "fail"]
        rate = "-" if item.pass_rate is None else f"{item.pass_rate:.0f}%"
        table.add_row(item.service, status_text(item.status), rate, ", ".join(failed))
    return table


@app.command()
def health(
    services: Annotated[
        list[str] | None,
        typer.Argument(metavar="SERVICE...", help="Integration ids or aliases; all when omitted."),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    check_api: Annotated[
        bool,
        typer.Option("--api/--no-api", help="Probe providers live, or check configuration only."),
    ] = True,
) -> None:
    """Check integrations. Exit 0 when all are healthy, 1 when any is not, 2 on usage error."""
    monitor = load_monitor(config)

    async def run() -> Overview:
        async with monitor:
            return await monitor.overview(services or None, check_api=check_api)

    try:
        report = asyncio.run(run())
    except UnknownIntegrationError as exc:
        known = ", ".join(i.id for i in monitor.catalog)
        raise fail(f"{exc} (known: {known})") from None
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        out.print(overview_table(report))
    healthy = report.summary.healthy_services == report.summary.total_services
    raise typer.Exit(EXIT_OK if healthy else EXIT_UNHEALTHY)


@app.command()
def simulate(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 9100,
) -> None:
    """Run the provider simulator: every built-in provider on one local port, for rehearsals.

    Prints the variables that point atom-health at it (with valid test credentials).
    Switch faults at run time, e.g.
    curl -X PUT localhost:9100/_admin/providers/slack -d '{"fault": "reject"}'
    (faults: reject, forbidden, rate_limit, server_error, slow, hang, malformed, reset;
    status_page: operational, incident, broken).
    """
    import uvicorn

    from atom_health.simulator import create_simulator_app, environment

    for name, value in environment(f"http://{host}:{port}").items():
        typer.echo(f"export {name}={value}")
    uvicorn.run(create_simulator_app(), host=host, port=port, log_level="warning")


@app.command()
def openapi(
    config: ConfigOption = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the document to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the API's OpenAPI document (JSON), e.g. to generate a client from it."""
    import json

    running = load_system(config, scheduler=False, database_url="memory://")
    document = json.dumps(running.web_app().openapi(), indent=2, sort_keys=True) + "\n"
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")


app.add_typer(manage_app, name="manage")

keys_app = typer.Typer(help="API keys for the HTTP API and the dashboard.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def new_key_command(
    role: Annotated[Role, typer.Option(help="read: every GET route; admin: everything.")],
    name: Annotated[
        str | None, typer.Option(help="The key's name in logs and the audit trail.")
    ] = None,
) -> None:
    """Print a fresh random key, and the config line that grants it (only its SHA-256)."""
    import secrets

    from pydantic import TypeAdapter, ValidationError

    from atom_health.config.security import KeyName, key_digest
    from atom_health.web.auth import new_key

    chosen = name or f"{role.value}-{secrets.token_hex(3)}"
    try:
        TypeAdapter(KeyName).validate_python(chosen)
    except ValidationError:
        raise fail(
            f"invalid key name {chosen!r}: letters, digits, '_', '.', '-' (max 64)"
        ) from None
    key = new_key()
    digest = key_digest(key).hex()
    typer.echo(f"key: {key}")
    typer.echo("Keep the key secret; it is not stored anywhere. Add under security.keys:")
    typer.echo(f"  - {{name: {chosen}, role: {role.value}, sha256: {digest}}}")


@app.command("config")
def config_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show which integrations have their required variables set (names only, never values)."""
    report = load_monitor(config).configuration_report()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        out.print(configuration_table(report))


def overview_table(report: Overview) -> Table:
    s = report.summary
    table = Table(
        title=f"Integrations: {status_text(s.overall_status).plain}",
        caption=f"{s.healthy_services} healthy · {s.degraded_services} degraded · "
        f"{s.unhealthy_services} unhealthy · {s.total_services} total",
    )
    table.add_column("Integration", style="bold")
    table.add_column("Status")
    table.add_column("Message", overflow="fold")
    table.add_column("Missing variables", overflow="fold")
    for service, line in report.services.items():
        table.add_row(
            service, status_text(line.status), line.message, ", ".join(line.missing_env_vars)
        )
    return table


def configuration_table(report: ConfigurationReport) -> Table:
    s = report.summary
    table = Table(
        title="Configuration",
        caption=f"{s.fully_configured} configured · {s.partially_configured} partly · "
        f"{s.not_configured} not configured · {s.total_integrations} total",
    )
    table.add_column("Integration", style="bold")
    table.add_column("Configured", justify="right")
    table.add_column("Present")
    table.add_column("Missing", style="red")
    for service, check in report.integrations.items():
        pct = check.configuration_percentage
        style = "green" if pct == 100 else "yellow" if pct else "red"
        table.add_row(
            service,
            Text(f"{pct}%", style=style),
            ", ".join(check.present_env_vars),
            ", ".join(check.missing_env_vars),
        )
    return table


def main() -> None:
    """Run the command; an unexpected error is one line (the traceback with ATOM_HEALTH_DEBUG=1)."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("ATOM_HEALTH_DEBUG"):
            raise
        err.print(
            f"error: unexpected {type(exc).__name__}; set ATOM_HEALTH_DEBUG=1 for details",
            markup=False,
            highlight=False,
        )
        raise SystemExit(3) from None
