"""Real receivers for alerts, on loopback: a webhook recorder (also standing in for Slack's
incoming webhooks, PagerDuty's Events API and an Apprise JSON target) that can be switched
down or slow, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from atom_health.serving import ThreadedServer, free_port

PAGERDUTY_PATH = "/pd/v2/enqueue"
SLOW_SECONDS = 8.0  # a slow receiver; a check taking half of this would be waiting for it


class Receiver:
    """Records posts to ``/webhook``, ``/slack``, ``/apprise`` and ``/pd/v2/enqueue``; can be
    switched down or slow. PagerDuty's path answers as the Events API v2 does (202 with
    ``status``, ``message`` and the ``dedup_key``)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.mode = "up"

        async def record(request: Request) -> JSONResponse:
            if self.mode == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            if self.mode == "down":
                return JSONResponse({"error": "down"}, status_code=503)
            body = await request.body()
            self.posts.append((request.url.path, dict(request.headers), body))
            if request.url.path == PAGERDUTY_PATH:
                event = {"status": "success", "message": "Event processed"}
                key = json.loads(body)["dedup_key"]
                return JSONResponse({**event, "dedup_key": key}, status_code=202)
            return JSONResponse({"ok": True})

        paths = ("/webhook", "/slack", "/apprise", PAGERDUTY_PATH)
        app = Starlette(routes=[Route(path, record, methods=["POST"]) for path in paths])
        self.server = ThreadedServer(app)

    def bodies(self, path: str = "/webhook") -> list[dict[str, Any]]:
        return [json.loads(body) for p, _, body in self.posts if p == path]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    with running.server:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()
