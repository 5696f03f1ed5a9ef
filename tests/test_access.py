"""Access control and hardened edges, black-box against `atom-health serve` in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.simulator import Simulator
from tests.conftest import wait_for
from tests.served import Served, served

READ_KEY = "read-Key-0123456789-abcdefXYZ"
ADMIN_KEY = "admin-Key-9876543210-ghijklUVW"
CONFIG_KEY = "config-Key-5555555555-mnopqrRST"  # listed in the config file by hash only
KEYS = {"ATOM_HEALTH_READ_KEY": READ_KEY, "ATOM_HEALTH_ADMIN_KEY": ADMIN_KEY}
KEYED_CONFIG: dict[str, Any] = {
    "security": {
        "keys": [
            {
                "name": "ci",
                "role": "read",
                "sha256": hashlib.sha256(CONFIG_KEY.encode()).hexdigest(),
            }
        ],
        "header_timeout_seconds": 1,
    }
}
UNAUTHORIZED = {
    "ok": False,
    "error": "unauthorized",
    "message": "A valid API key is required: send Authorization: Bearer <key>, "
    "or sign in on the dashboard",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, simulator: Simulator) -> Iterator[Served]:
    env = {**os.environ, **simulator.environment(), **KEYS}
    with served(tmp_path_factory.mktemp("keyed"), env, KEYED_CONFIG) as server:
        yield server


def needed_role(method: str, path: str) -> str | None:
    """What the README promises each route needs when keys are configured."""
    if path == "/api/session" or not (path.startswith("/api/") or path == "/metrics"):
        return None
    if method != "GET" or path.startswith(("/api/audit", "/api/manage/")):
        return "admin"
    return "read"


def call(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    url = re.sub(r"\{[^}]+\}", "zoom", path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    with client.stream(method, url, headers=headers, json=body) as response:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            response.read()
        return response


def test_json_gets_the_strict_security_headers_and_pages_the_full_set(keyed: Served) -> None:
    """JSON is never a page: nothing may load from it or frame it. Pages keep their policy
    (scripts and styles from this origin) and the opener policy."""
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        json_answers = [
            client.get("/api/integrations/health", headers=bearer(READ_KEY)),  # from bytes
            client.get("/api/integrations/health", headers=bearer(READ_KEY)),
            client.get("/api/alerts", headers=bearer(READ_KEY)),  # a route
            client.get("/api/integrations/health"),  # a refusal (401)
            client.get("/api/nothing-here/at-all", headers=bearer(READ_KEY)),  # 404
        ]
        pages = [client.get("/"), client.get("/docs")]

    for answer in json_answers:
        assert answer.headers["content-type"].startswith("application/json"), answer.url
        assert (
            answer.headers["content-security-policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
    for page in pages:
        assert page.headers["content-type"].startswith("text/html"), page.url
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cross-origin-opener-policy"] == "same-origin"
        assert page.headers["x-content-type-options"] == "nosniff"


def test_every_route_of_the_openapi_document_with_each_kind_of_key(keyed: Served) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        document = client.get("/openapi.json").json()
        operations = [
            (method.upper(), path)
            for path, item in document["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        ]
        assert len(operations) > 15
        for method, path in operations:
            needs = needed_role(method, path)
            anonymous = call(client, method, path, {})
            wrong = call(client, method, path, bearer("not-a-key-at-all-123ABC"))
            read = call(client, method, path, bearer(READ_KEY))
            admin = call(client, method, path, bearer(ADMIN_KEY))
            where = f"{method} {path}"
            documented = document["paths"][path][method.lower()]["responses"]
            for response in (anonymous, wrong, read, admin):
                assert response.status_code < 500 or str(response.status_code) in documented, where
                assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            if needs is None:
                assert anonymous.status_code not in (401, 403), where
                continue
            for refused in (anonymous, wrong):  # the same answer: no hint whether a key exists
                assert refused.status_code == 401, where
                assert refused.json() == UNAUTHORIZED, where
                assert refused.headers["www-authenticate"].startswith("Bearer")
            if needs == "admin":
                assert read.status_code == 403, where
                assert read.json()["error"] == "forbidden", where
            else:
                assert read.status_code not in (401, 403), where
            assert admin.status_code not in (401, 403), where


def test_a_refresh_needs_the_admin_role_and_a_config_file_key_works(keyed: Served) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        assert client.get("/api/zoom/health", headers=bearer(CONFIG_KEY)).status_code == 200
        refreshed = client.get("/api/zoom/health?refresh=TRUE", headers=bearer(CONFIG_KEY))
        assert refreshed.status_code == 403
        assert client.get("/api/zoom/health?refresh=1", headers=bearer(ADMIN_KEY)).is_success
        assert client.get("/api/zoom/health?refresh=false", headers=bearer(READ_KEY)).is_success
    wait_for(lambda: '"key":"ci"' in keyed.text(), 30)  # a thread writes the lines, in batches
    lines = keyed.text()  # the audit line names the key, never shows it
    assert CONFIG_KEY not in lines
    assert READ_KEY not in lines
    assert ADMIN_KEY not in lines


def test_self_health_needs_no_key(keyed: Served) -> None:
    alive = httpx.get(f"{keyed.url}/healthz")
    ready = httpx.get(f"{keyed.url}/readyz")
    assert (alive.status_code, alive.json()["status"]) == (200, "alive")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"store", "scheduler", "engine"}
    assert all(part["ok"] for part in body["checks"].values())


def test_dashboard_signs_in_for_an_httponly_strict_cookie(keyed: Served) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as browser:
        assert browser.get("/api/session").json()["signed_in"] is False
        refused = browser.post("/api/session", json={"key": "wrong-key-ABC123def456"})
        assert (refused.status_code, refused.json()) == (401, UNAUTHORIZED)

        signed = browser.post("/api/session", json={"key": READ_KEY})
        assert signed.status_code == 200
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "path=/" in cookie
        assert READ_KEY.lower() not in cookie
        assert signed.json() == {"ok": True, "auth_required": True, "signed_in": True,
                                 "name": "env-read", "role": "read"}  # fmt: skip
        assert browser.get("/api/dashboard").status_code == 200
        with browser.stream("GET", "/api/events") as events:
            assert events.status_code == 200

        browser.delete("/api/session", headers={"Origin": keyed.url})
        assert browser.get("/api/dashboard").status_code == 401


def test_cookie_state_changes_need_this_origin(keyed: Served) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as browser:
        browser.post("/api/session", json={"key": ADMIN_KEY})
        no_origin = browser.post("/api/integrations/health")
        other = browser.post("/api/integrations/health", headers={"Origin": "http://evil.test"})
        same = browser.post("/api/integrations/health", headers={"Origin": keyed.url})
    assert (no_origin.status_code, other.status_code) == (403, 403)
    assert other.json()["error"] == "forbidden"
    assert same.status_code == 405  # past the access rules: the route has no POST


def test_admin_actions_are_stored_and_listed_for_admins_only(keyed: Served) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as client:
        client.delete("/api/integrations/config", headers=bearer(ADMIN_KEY))
        client.delete("/api/integrations/config", headers=bearer(READ_KEY))
        client.delete("/api/integrations/config")  # anonymous: refused, not an action
        assert client.get("/api/audit", headers=bearer(READ_KEY)).status_code == 403
        deadline = time.monotonic() + 10
        while True:
            listed = client.get("/api/audit", headers=bearer(ADMIN_KEY))
            assert listed.status_code == 200
            entries = [
                e for e in listed.json()["entries"] if e["path"] == "/api/integrations/config"
            ]
            if len(entries) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert {(e["key"], e["method"], e["status"]) for e in entries} == {
        ("env-admin", "DELETE", 405),
        ("env-read", "DELETE", 403),
    }
    assert READ_KEY not in listed.text
    assert ADMIN_KEY not in listed.text


def test_a_rebinding_host_is_refused(keyed: Served) -> None:
    for host in ("attacker.example", "attacker.example:80", "127.0.0.1.nip.io"):
        refused = httpx.get(f"{keyed.url}/api/integrations/config", headers={"Host": host})
        assert refused.status_code == 400, host
        assert refused.json()["error"] == "host_not_allowed"
    allowed = httpx.get(f"{keyed.url}/healthz", headers={"Host": "localhost:1"})
    assert allowed.status_code == 200


def raw_exchange(url: str, request: bytes, timeout: float = 20) -> bytes:
    """Send raw bytes, read until the server closes; a reset ends the answer early."""
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        try:
            connection.sendall(request)
            while chunk := connection.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
    return answer


def refused_head(answer: bytes) -> bool:
    """431, or the connection dropped while we were still sending (the same refusal)."""
    return answer.startswith(b"HTTP/1.1 431") or answer == b""


def test_request_heads_are_bounded_in_size_count_and_time(keyed: Served) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    assert raw_exchange(keyed.url, head + b"\r\n").startswith(b"HTTP/1.1 200")
    assert refused_head(raw_exchange(keyed.url, head + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n"))
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(500))
    assert refused_head(raw_exchange(keyed.url, head + many + b"\r\n"))
    # A head that never completes is dropped after header_timeout_seconds (1 s here).
    started = time.monotonic()
    assert raw_exchange(keyed.url, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") == b""
    assert 0.9 < time.monotonic() - started < 8


def test_request_bodies_are_capped(keyed: Served) -> None:
    big = httpx.post(
        f"{keyed.url}/api/session", content=b"x" * 2_000_000, headers=bearer(ADMIN_KEY)
    )
    assert (big.status_code, big.json()["error"]) == (413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"y" * 65536

    streamed = httpx.post(f"{keyed.url}/api/session", content=chunks())
    assert streamed.status_code == 413


def test_api_docs_load_only_from_the_package(keyed: Served) -> None:
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{keyed.url}{page}").text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, page
        for source in sources:
            assert "://" not in source, source
            if not source.startswith("data:"):
                assert httpx.get(f"{keyed.url}/{source}").status_code == 200, source


def test_rate_limits_answer_429_with_retry_after(tmp_path: Path, simulator: Simulator) -> None:
    env = {**os.environ, **simulator.environment(), **KEYS}
    with served(tmp_path, env, {"security": {"rate_limit": "5/minute"}}) as server:
        answers = [
            httpx.get(f"{server.url}/api/integrations/config", headers=bearer(READ_KEY))
            for _ in range(7)
        ]
        other_client = httpx.get(f"{server.url}/api/integrations/config", headers=bearer(ADMIN_KEY))
        anonymous = [httpx.get(f"{server.url}/api/integrations/config") for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    limited = answers[-1]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"] == "rate_limited"
    assert limited.json()["retry_after"] == int(limited.headers["retry-after"])
    assert other_client.status_code == 200  # limits are per client (key name, else address)
    assert [a.status_code for a in anonymous][-1] == 429


def test_no_key_on_a_non_loopback_address_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    result = subprocess.run(
        [sys.executable, "-m", "atom_health", "serve", "--host", "0.0.0.0", "--port", "1",
         "--database-url", "memory://"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "ATOM_HEALTH_READ_KEY" in result.stderr
    assert "ATOM_HEALTH_ADMIN_KEY" in result.stderr
    assert "--insecure-no-auth" in result.stderr


def test_keys_new_prints_a_key_and_the_config_line_with_its_hash() -> None:
    result = CliRunner().invoke(app, ["keys", "new", "--role", "read", "--name", "ci"])
    assert result.exit_code == 0
    key = re.search(r"key: (\S+)", result.output)
    line = re.search(r"\{name: ci, role: read, sha256: ([0-9a-f]{64})\}", result.output)
    assert key
    assert line
    assert hashlib.sha256(key.group(1).encode()).hexdigest() == line.group(1)
    assert len(key.group(1)) >= 40
    other = CliRunner().invoke(app, ["keys", "new", "--role", "admin"])
    assert key.group(1) not in other.output
    assert CliRunner().invoke(app, ["keys", "new", "--role", "root"]).exit_code == 2


def test_the_dashboard_signs_in_with_a_key_then_goes_live(keyed: Served, browser: Browser) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(keyed.url + "/")
    page.wait_for_selector("#sign-in:not([hidden])")
    page.fill("#sign-in-key", "wrong-key-ABC123def456")
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in-error")).not_to_be_empty(timeout=30_000)  # no eval (CSP)
    page.fill("#sign-in-key", READ_KEY)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector(".row", timeout=30_000)
    page.wait_for_selector("#connection[data-state=live]", timeout=30_000)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["atom_health_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert READ_KEY not in session["value"]
    assert not [e for e in errors if "Content Security Policy" in e]
    page.close()


@pytest.mark.parametrize(("page_path", "rendered"), [("/docs", ".opblock"), ("/redoc", "h1")])
def test_api_docs_render_offline_under_the_csp(
    keyed: Served, browser: Browser, page_path: str, rendered: str
) -> None:
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(keyed.url) else None)
    page.goto(keyed.url + page_path)
    page.wait_for_selector(rendered, timeout=30_000)
    page.close()
    # The only outside URL either page names is ReDoc's footer logo, which the CSP blocks.
    assert [u for u in outside if not u.startswith(("data:", "blob:"))] in (
        [],
        ["https://cdn.redoc.ly/redoc/logo-mini.svg"],
    )


def test_rate_limits_are_shared_by_replicas_through_redis(
    environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    from atom_health.config import HistorySettings, SchedulerSettings, Settings
    from atom_health.serving import ThreadedServer
    from atom_health.store import MemoryStore
    from atom_health.system import HealthSystem
    from tests.system_services import redis_server

    environ.update(sim_credentials, ATOM_HEALTH_READ_KEY=READ_KEY)
    with redis_server() as redis:
        settings = Settings.model_validate(
            {"security": {"rate_limit": "4/minute", "rate_limit_storage": redis.url}}
        ).model_copy(
            update={
                "history": HistorySettings(database_url="memory://"),
                "scheduler": SchedulerSettings(enabled=False),
            }
        )
        replicas = [HealthSystem(settings, environ, store=MemoryStore()) for _ in range(2)]
        with (
            ThreadedServer(replicas[0].web_app()) as one,
            ThreadedServer(replicas[1].web_app()) as two,
        ):
            codes = [
                httpx.get(f"{url}/api/integrations/config", headers=bearer(READ_KEY)).status_code
                for url in (one.url, two.url, one.url, two.url, one.url, two.url)
            ]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_the_alerts_cli_passes_its_key_and_only_an_admin_key_silences(
    keyed: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def alerts(*args: str) -> Any:
        return CliRunner().invoke(app, ["alerts", *args, "--url", keyed.url])

    anonymous = alerts("silence", "zoom", "-d", "1m", "-m", "window")
    assert anonymous.exit_code == 2
    assert "HTTP 401" in anonymous.output
    reader = alerts("silence", "zoom", "-d", "1m", "-m", "window", "--api-key", READ_KEY)
    assert reader.exit_code == 2
    assert "HTTP 403: This request needs the admin role" in reader.output
    made = alerts("silence", "zoom", "-d", "1m", "-m", "window", "--api-key", ADMIN_KEY)
    assert made.exit_code == 0, made.output
    silence_id = re.search(r"silence #(\d+)", made.output)
    assert silence_id is not None
    monkeypatch.setenv("ATOM_HEALTH_API_KEY", READ_KEY)  # the key from the environment
    listed = alerts("silences", "--json")
    assert listed.exit_code == 0, listed.output
    assert silence_id[1] in {str(s["id"]) for s in json.loads(listed.output)["silences"]}
    refused = alerts("unsilence", silence_id[1])
    assert (refused.exit_code, "needs the admin role" in refused.output) == (2, True)
    ended = alerts("unsilence", silence_id[1], "--api-key", ADMIN_KEY)
    assert ended.exit_code == 0, ended.output
    for result in (anonymous, reader, made, listed, refused, ended):
        assert READ_KEY not in result.output
        assert ADMIN_KEY not in result.output


def test_a_dashboard_session_holds_on_every_replica_sharing_the_installation_key(
    tmp_path: Path, simulator: Simulator
) -> None:
    """Behind a load balancer the browser's next request reaches another replica (or the
    same one restarted): the session must hold there; with another installation key, not."""
    env = {**os.environ, **simulator.environment(), **KEYS}
    shared = {**KEYED_CONFIG, "fingerprint_key": "fleet-installation-key-0123456789"}
    other = {**KEYED_CONFIG, "fingerprint_key": "another-installation-key-987654321"}
    for name in "abc":
        (tmp_path / name).mkdir()
    with (
        served(tmp_path / "a", env, shared) as a,
        served(tmp_path / "b", env, shared) as b,
        served(tmp_path / "c", env, other) as c,
    ):
        signed = httpx.post(f"{a.url}/api/session", json={"key": READ_KEY})
        assert signed.status_code == 200
        cookie = {"Cookie": f"atom_health_session={signed.cookies['atom_health_session']}"}
        for replica, expected in ((a, 200), (b, 200), (c, 401)):
            answer = httpx.get(f"{replica.url}/api/integrations/config", headers=cookie)
            assert answer.status_code == expected, replica.url
        assert httpx.get(f"{b.url}/api/session", headers=cookie).json()["name"] == "env-read"


def test_a_session_token_is_refused_when_forged_expired_or_its_key_is_gone() -> None:
    from atom_health.config.security import ApiKey, Role, key_digest
    from atom_health.web.auth import KeyRing, Principal, SessionStore

    ring = KeyRing([ApiKey("ops", Role.admin, key_digest(ADMIN_KEY))])
    store = SessionStore(3600, b"installation-key", ring)
    token = store.open(Principal("ops", Role.admin))
    assert store.lookup(token) == Principal("ops", Role.admin)
    assert ADMIN_KEY not in token
    body, _, signature = token.rpartition(".")
    expires, name, nonce = body.split(".")
    assert store.lookup(f"{int(expires) + 86400}.{name}.{nonce}.{signature}") is None  # longer
    assert store.lookup(f"{body}.{signature[:-2]}AA") is None  # another signature
    assert SessionStore(3600, b"another-key", ring).lookup(token) is None
    assert SessionStore(3600, b"installation-key", KeyRing([])).lookup(token) is None  # key gone
    expired = SessionStore(-1, b"installation-key", ring)
    assert expired.lookup(expired.open(Principal("ops", Role.admin))) is None
    store.close(token)  # signed out: refused here
    assert store.lookup(token) is None
    for junk in ("", "a.b.c", "a.b.c.d", "x" * 600, "1.!!.n.s"):
        assert store.lookup(junk) is None


def test_a_rejected_value_is_never_echoed_in_a_422(keyed: Served) -> None:
    """A key pasted into the wrong field (or a body field too long) is refused with where
    and why, never with the value itself."""
    pasted = ADMIN_KEY * 20  # longer than any key may be
    refused = httpx.post(f"{keyed.url}/api/session", json={"key": pasted})
    assert refused.status_code == 422
    (error,) = refused.json()["detail"]
    assert error["loc"] == ["body", "key"]
    assert "at most" in error["msg"]
    assert ADMIN_KEY not in refused.text
    odd = httpx.post(
        f"{keyed.url}/api/alerts/silences",
        json={"integrations": ["zoom"], "duration": ADMIN_KEY, "created_by": "x", "comment": ""},
        headers=bearer(ADMIN_KEY),
    )
    assert odd.status_code == 422
    assert ADMIN_KEY not in odd.text
