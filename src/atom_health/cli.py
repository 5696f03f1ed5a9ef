"""The ``atom-health`` command.

Exit codes (the README lists them too):
0 all checked integrations are healthy (``config``: every required variable is set;
``test``: passed, or the gate held); 1 at least one is not; 2 usage or configuration error
(unknown service, malformed config file, a key the server refused); 3 unexpected error;
4 could not start (the port is taken or cannot be bound); 5 could not reach the server
asked with ``--url``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperOption

from atom_health.alerts_cli import alerts_app
from atom_health.cli_manage import manage_app
from atom_health.config import (
    DEFAULT_DATABASE_URL,
    ConfigError,
    ProcessEnvironment,
    Role,
    Settings,
    load_settings,
    read_environment,
)
from atom_health.config.environment import (
    ADMIN_KEY_ENV_VAR,
    API_KEY_ENV_VAR,
    READ_KEY_ENV_VAR,
    URL_ENV_VAR,
)
from atom_health.model.results import ConfigurationReport, Overview, Status
from atom_health.monitor import HealthMonitor, UnknownIntegrationError

if TYPE_CHECKING:
    import httpx

    from atom_health.system import HealthSystem

EXIT_OK, EXIT_UNHEALTHY, EXIT_USAGE, EXIT_ERROR, EXIT_CANNOT_START, EXIT_UNREACHABLE = range(6)
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000

app = typer.Typer(
    name="atom-health",
    help="Can each third-party integration work right now, and if not, why?",
    epilog="Exit codes: 0 healthy; 1 unhealthy; 2 usage or configuration error; 3 unexpected "
    "error; 4 could not start (port taken); 5 could not reach the server given with --url.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: no "<bool>" type placeholders on flags
)
out = Console()
err = Console(stderr=True)
app.add_typer(alerts_app)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="Config file (YAML or TOML). Default: $ATOM_HEALTH_CONFIG, else built-in defaults.",
        dir_okay=False,
    ),
]
HostOption = Annotated[
    str | None,
    typer.Option(
        metavar="HOST",
        help=f"Interface to listen on. Default: $ATOM_HEALTH_HOST, else {DEFAULT_HOST}.",
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        metavar="PORT",
        help=f"TCP port. Default: $ATOM_HEALTH_PORT, else {DEFAULT_PORT}.",
        min=1,
        max=65535,
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="History database (SQLAlchemy URL, or memory://). Default: "
        f"$ATOM_HEALTH_DATABASE_URL, else the config file, else {DEFAULT_DATABASE_URL}.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for machines instead of a table.")
]

UrlOption = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="Ask this running atom-health server (e.g. http://127.0.0.1:8000) "
        "instead of checking from this process.",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        metavar="KEY",
        envvar=API_KEY_ENV_VAR,
        show_envvar=True,
        help="API key for --url, sent as a Bearer token.",
    ),
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


def show_version(value: bool) -> None:
    if value:
        from atom_health._version import __version__

        typer.echo(f"atom-health {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Can each third-party integration work right now, and if not, why?"""


def self_command() -> str:
    """This very command as a shell would run it: by name when it is on PATH, else by path."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "atom-health" and argv0.exists():
        on_path = shutil.which("atom-health")
        if on_path and Path(on_path).resolve() == argv0.resolve():
            return "atom-health"
        return shlex.quote(str(argv0.resolve()))
    return f"{shlex.quote(sys.executable)} -m atom_health"


def environment() -> ProcessEnvironment:
    """The ``ATOM_HEALTH_*`` environment; a bad value is a usage error (exit 2)."""
    try:
        return read_environment()
    except ConfigError as exc:
        raise fail(str(exc)) from None


def address(host: str | None, port: int | None) -> tuple[str, int]:
    """Where to listen: the flags, else the environment, else the defaults."""
    env = environment()
    return (
        host if host is not None else env.host or DEFAULT_HOST,
        port if port is not None else env.port or DEFAULT_PORT,
    )


def load_monitor(config: Path | None) -> HealthMonitor:
    try:
        from atom_health.system import build_monitor

        return build_monitor(load_settings(config))
    except ConfigError as exc:
        raise fail(str(exc)) from None


def load_system(
    config: Path | None,
    scheduler: bool | None = None,
    database_url: str | None = None,
    alerting: bool = True,
) -> HealthSystem:
    """The whole system from the config file; a clear message and exit 2 when it cannot be."""
    from atom_health.system import HealthSystem

    try:
        settings = load_settings(config, database_url=database_url)
        if not alerting:
            off = settings.alerting.model_copy(update={"enabled": False})
            settings = settings.model_copy(update={"alerting": off})
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
    host: HostOption = None,
    port: PortOption = None,
    config: ConfigOption = None,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Check every integration on its interval and store the results; "
            "--no-scheduler for API-only replicas.",
        ),
    ] = True,
    database_url: DatabaseOption = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            metavar="LEVEL", help="uvicorn log level. Default: $ATOM_HEALTH_LOG_LEVEL, else info."
        ),
    ] = None,
    insecure_no_auth: InsecureOption = False,
) -> None:
    """Serve the API (docs at /docs, metrics at /metrics) and the dashboard, and run the scheduler."""
    host, port = address(host, port)
    refuse_open_network_without_keys(load_config(config), os.environ, host, insecure_no_auth)
    # --no-scheduler turns it off; otherwise the config file decides (default on).
    system = load_system(config, None if scheduler else False, database_url)
    level = log_level or environment().log_level or "info"
    run_server(system, host, port, log_level=level, insecure_no_auth=insecure_no_auth)


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
    log_level: str | None = None,
    ready: Callable[[str, Overview], None] | None = None,
    insecure_no_auth: bool = False,
) -> None:
    """Serve ``system`` until stopped; the log level defaults to $ATOM_HEALTH_LOG_LEVEL, else
    warning."""
    from atom_health.runner import StartError, serve_system

    log_level = log_level or environment().log_level or "warning"
    refuse_open_network_without_keys(system.settings, system.environ, host, insecure_no_auth)
    try:
        serve_system(system, host, port, ready=ready, log_level=log_level)
    except StartError as exc:
        raise fail(str(exc), EXIT_CANNOT_START) from None
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def system(
    host: HostOption = None,
    port: PortOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    insecure_no_auth: InsecureOption = False,
) -> None:
    """Run everything in one process: API, scheduler and dashboard.

    Waits until it is ready, runs a first round of checks, prints the dashboard URL and a
    summary table, and stops cleanly on Ctrl-C or SIGTERM (exit 0).
    """
    host, port = address(host, port)
    refuse_open_network_without_keys(load_config(config), os.environ, host, insecure_no_auth)
    system = load_system(config, database_url=database_url)
    run_server(system, host, port, ready=print_ready, insecure_no_auth=insecure_no_auth)


def print_ready(url: str, overview: Overview) -> None:
    out.print(overview_table(overview))
    out.print(f"Dashboard: [bold]{url}[/bold]   API docs: {url}docs   Stop: Ctrl-C")


@app.command()
def demo(
    host: HostOption = None,
    port: PortOption = None,
    simulator_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT", help="The simulator's TCP port. Default: a free one.", min=1, max=65535
        ),
    ] = None,
) -> None:
    """A live dashboard with no credentials at all: the provider simulator on loopback with a
    realistic mix (most healthy, one slow, one with rejected credentials, one during a vendor
    incident, one not configured), and the whole system pointed at it. Prints the commands
    that flip faults, ready to paste."""
    from atom_health.demo import DEMO_FAULTS, demo_system
    from atom_health.simulator import Simulator

    host, port = address(host, port)
    try:
        simulator = Simulator(host=host, port=simulator_port).start()
    except RuntimeError:
        raise fail(
            f"could not start the simulator on {host}:{simulator_port}", EXIT_CANNOT_START
        ) from None
    try:
        running = demo_system(simulator)
        command = f"{self_command()} fault"
        where = f"--simulator {simulator.url}"

        def ready(url: str, overview: Overview) -> None:
            print_ready(url, overview)
            out.print(f"Simulator: {simulator.url}   (faults now: {DEMO_FAULTS})")
            out.print("Flip a fault (paste into another terminal):", highlight=False)
            for example in (
                "slack none",
                "zoom server_error",
                "stripe none --status-page incident",
            ):
                typer.echo(f"  {command} {example} {where}")

        run_server(running, host, port, ready=ready)
    finally:
        simulator.stop()


FAULTS = ("reject", "forbidden", "rate_limit", "server_error", "slow", "hang", "malformed",
          "reset", "none")  # fmt: skip


@app.command()
def fault(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", show_default=False)],
    name: Annotated[str, typer.Argument(metavar="[FAULT]", show_default=False)] = "none",
    status_page: Annotated[
        str, typer.Option(metavar="STATE", help="operational, incident or broken.")
    ] = "operational",
    simulator: Annotated[
        str, typer.Option(metavar="URL", help="The simulator's URL (see demo or simulate).")
    ] = "http://127.0.0.1:9100",
) -> None:
    """Switch a fault in the provider simulator (for the demo and rehearsals).

    PROVIDER is a provider id (e.g. slack); FAULT one of: reject, forbidden, rate_limit,
    server_error, slow, hang, malformed, reset, none (the default: no fault).
    """
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
        typer.Argument(metavar="SERVICE", show_default=False),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="Test this running server; default: start one in-process."
        ),
    ] = None,
    config: ConfigOption = None,
    json_report: Annotated[
        Path, typer.Option(metavar="FILE", help="Where to write the JSON report.", dir_okay=False)
    ] = Path("atom-health-report.json"),
    html_report: Annotated[
        Path, typer.Option(metavar="FILE", help="Where to write the HTML report.", dir_okay=False)
    ] = Path("atom-health-report.html"),
    junit_xml: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Also write JUnit XML (for CI).", dir_okay=False),
    ] = None,
    fail_under: Annotated[
        float | None,
        typer.Option(
            metavar="SCORE",
            min=0,
            max=100,
            help="Deploy gate: exit 0 when the health score is at least this and no critical "
            "integration is unhealthy.",
        ),
    ] = None,
    config_target_ms: Annotated[
        float,
        typer.Option(
            metavar="MS", min=0, help="A configuration check (one route) must answer within this."
        ),
    ] = 10.0,
    probe_target_ms: Annotated[
        float, typer.Option(metavar="MS", min=0, help="A live probe must answer within this.")
    ] = 500.0,
    batch_target_ms: Annotated[
        float,
        typer.Option(
            metavar="MS", min=0, help="Every enabled integration must have answered within this."
        ),
    ] = 2000.0,
    calls: Annotated[
        int,
        typer.Option(
            metavar="N", min=1, max=1000, help="Call each route N times (for its p50 and p95)."
        ),
    ] = 5,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify/--no-notify",
            help="Let the in-process server send alerts through the configured notifiers "
            "(off by default: a test run never pages anyone).",
        ),
    ] = False,
) -> None:
    """Test every integration (or those named): configuration, live probe, every health route's
    body against its schema, latency against the targets, vendor status; and the overview
    route and its aliases, the bridge routes, every enabled integration answered within the
    batch target. Each route is called N times (--calls) for its p50 and p95. Prints the
    summary (overall status, health score, duration, a line per integration, recommendations)
    and writes a JSON and an HTML report (and JUnit XML with --junit-xml). Exit 0 only when every test passed, or, with
    --fail-under, when the gate holds (the health score is at least SCORE and no critical
    integration is unhealthy, whatever the score); 1 otherwise; 2 on usage error; 5 when the
    server given with --url cannot be reached."""
    from contextlib import ExitStack

    import httpx
    from rich.progress import Progress

    from atom_health.report.console import print_summary
    from atom_health.report.html import render_html
    from atom_health.report.junit import render_junit
    from atom_health.report.tester import (
        LatencyTargets,
        deploy_gate,
        known_services,
        resolve_services,
        run_tests,
    )

    with ExitStack() as stack:
        target = url
        if target is None:
            from atom_health.serving import ThreadedServer

            running = load_system(
                config, scheduler=False, database_url="memory://", alerting=notify
            )
            target = stack.enter_context(ThreadedServer(running.web_app())).url
        auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        client = stack.enter_context(
            httpx.Client(base_url=target.rstrip("/"), timeout=60, headers=auth)
        )
        shown = re.sub(r"//[^/@]*@", "//", target)  # never print credentials in the URL
        try:
            known = known_services(client)
        except httpx.HTTPStatusError as exc:
            _refused(exc.response, shown)  # 401/403: a usage error; other statuses: exit 5
            raise
        except httpx.HTTPError as exc:
            raise fail(
                f"cannot reach atom-health at {shown} ({type(exc).__name__})", EXIT_UNREACHABLE
            ) from None
        chosen, unknown = resolve_services(client, services) if services else (known, [])
        if unknown:
            raise fail(f"Unknown integration: {', '.join(unknown)} (known: {', '.join(known)})")
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Testing integrations", total=len(chosen))
            targets = LatencyTargets(config_target_ms, probe_target_ms, batch_target_ms)
            report = run_tests(
                client, chosen, shown, lambda _: progress.advance(task), targets, calls
            )
    json_report.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    html_report.write_text(render_html(report), encoding="utf-8")
    if junit_xml is not None:
        junit_xml.write_bytes(render_junit(report))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_summary(out, report, [json_report, html_report, *([junit_xml] if junit_xml else [])])
    if fail_under is None:
        raise typer.Exit(EXIT_OK if report.ok else EXIT_UNHEALTHY)
    held, reason = deploy_gate(report, fail_under)
    (out if held else err).print(f"Deploy gate: {reason}", markup=False, highlight=False)
    raise typer.Exit(EXIT_OK if held else EXIT_UNHEALTHY)


@app.command()
def health(
    services: Annotated[
        list[str] | None,
        typer.Argument(metavar="SERVICE", show_default=False),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    check_api: Annotated[
        bool,
        typer.Option("--api/--no-api", help="Probe providers live, or check configuration only."),
    ] = True,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Check integrations (SERVICE: ids or aliases; all when omitted), here or, with --url,
    on a running server. Exit 0 when all are healthy, 1 when any is not, 2 on usage error,
    5 when the server cannot be reached."""
    if url is not None:
        report = ask_server(url, api_key, services or [], check_api)
    else:
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


def ask_server(url: str, api_key: str | None, services: list[str], check_api: bool) -> Overview:
    """The overview from a running server's API (the named services, or all of them)."""
    import httpx

    from atom_health.model.results import ServiceHealth
    from atom_health.monitor import summarise

    shown = re.sub(r"//[^/@]*@", "//", url)  # never print credentials in the URL
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    params = {"check_api": str(check_api).lower()}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60) as client:
            if not services:
                answer = client.get("/api/integrations/health", params=params)
                _refused(answer, shown)
                return Overview.model_validate_json(answer.content)
            results = []
            for name in services:
                answer = client.get(f"/api/{name}/health", params=params)
                if answer.status_code == 404:
                    raise fail(f"Unknown integration: {name} (asked {shown})")
                _refused(answer, shown)
                results.append(ServiceHealth.model_validate_json(answer.content))
            return summarise(results)
    except httpx.HTTPError as exc:
        raise fail(
            f"cannot reach atom-health at {shown} ({type(exc).__name__})", EXIT_UNREACHABLE
        ) from None


def _refused(answer: httpx.Response, shown: str) -> None:
    if answer.status_code in (401, 403):
        raise fail(
            f"{shown} refused the request (HTTP {answer.status_code}): "
            f"give an API key with --api-key or ${API_KEY_ENV_VAR}"
        )
    if answer.status_code != 200:
        raise fail(f"{shown} answered HTTP {answer.status_code}", EXIT_UNREACHABLE)


@app.command()
def healthcheck(
    url: Annotated[
        str,
        typer.Option(
            metavar="URL",
            envvar=URL_ENV_VAR,
            show_envvar=True,
            help="The server to ask.",
        ),
    ] = "http://127.0.0.1:8000",
) -> None:
    """Is the server itself alive? GET /healthz; exit 0 on 200, 1 otherwise (the container
    HEALTHCHECK; it says nothing about the integrations, see `health` for those)."""
    import httpx

    shown = re.sub(r"//[^/@]*@", "//", url)
    try:
        answer = httpx.get(f"{url.rstrip('/')}/healthz", timeout=5)
    except httpx.HTTPError as exc:
        raise fail(f"{shown} is not answering ({type(exc).__name__})", EXIT_UNHEALTHY) from None
    if answer.status_code != 200:
        raise fail(f"{shown}/healthz answered HTTP {answer.status_code}", EXIT_UNHEALTHY)
    typer.echo(f"{shown} is alive")


@app.command()
def simulate(
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.", min=1, max=65535)] = 9100,
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
    """Show which integrations have their required variables set (names only, never values).

    Exit 0 when every enabled integration has all its required variables, 1 when one lacks
    any, 2 on usage error."""
    report = load_monitor(config).configuration_report()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        out.print(configuration_table(report))
    complete = report.summary.fully_configured == report.summary.total_integrations
    raise typer.Exit(EXIT_OK if complete else EXIT_UNHEALTHY)


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


def _debugging() -> bool:
    try:
        return read_environment().debug
    except ConfigError:
        return False


class _PlainHelpCommand(TyperCommand):
    """Help lists options only, as ``--name METAVAR``; arguments are named in the usage line
    and described in the command's text (no ``<str>``/``<bool>`` type placeholders)."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        records = [
            record
            for param in self.get_params(ctx)
            if isinstance(param, TyperOption) and (record := param.get_help_record(ctx))
        ]
        if records:
            with formatter.section("Options"):
                formatter.write_dl(records)


for _registered in app.registered_commands:
    _registered.cls = _PlainHelpCommand


def main() -> None:
    """Run the command; an unexpected error is one line (the traceback with ATOM_HEALTH_DEBUG=1)."""
    try:
        app()
    except Exception as exc:
        if _debugging():
            raise
        err.print(
            f"error: unexpected {type(exc).__name__}; set ATOM_HEALTH_DEBUG=1 for details",
            markup=False,
            highlight=False,
        )
        raise SystemExit(3) from None
