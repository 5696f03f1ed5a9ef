"""The ``atom-health`` command.

Exit codes: 0 all checked integrations are healthy; 1 at least one is not;
2 usage or configuration error (unknown service, malformed config file); 3 unexpected error.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from atom_health.config import CONFIG_ENV_VAR, ConfigError, load_settings
from atom_health.monitor import HealthMonitor, UnknownIntegrationError
from atom_health.results import ConfigurationReport, Overview, Status

if TYPE_CHECKING:
    from atom_health.system import HealthSystem

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE = 0, 1, 2
# Open dashboards keep an event stream open; a stop waits this long for them, no longer.
GRACEFUL_SHUTDOWN_SECONDS = 5

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
    err.print(f"error: {message}", markup=False, highlight=False)
    return typer.Exit(code)


def load_monitor(config: Path | None) -> HealthMonitor:
    try:
        return HealthMonitor.from_settings(load_settings(config))
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
) -> None:
    """Serve the health JSON API (docs at /docs, metrics at /metrics) and run the scheduler."""
    import uvicorn

    from atom_health.web.app import create_app

    system = load_system(
        config, scheduler=scheduler if not scheduler else None, database_url=database_url
    )
    uvicorn.run(
        create_app(system),
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level in ("debug", "trace", "info"),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


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
