"""Real receivers for alerts, on loopback: a webhook (and Slack-webhook) recorder that can be
switched down or slow, and an SMTP server (aiosmtpd)."""

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

SLOW_SECONDS = 8.0  # a slow receiver; a check taking half of this would be waiting for it


class Receiver:
    """Records webhook and Slack-webhook posts; can be switched down or slow."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.mode = "up"

        async def record(request: Request) -> JSONResponse:
            if self.mode == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            if self.mode == "down":
                return JSONResponse({"error": "down"}, status_code=503)
            self.posts.append((request.url.path, dict(request.headers), await request.body()))
            return JSONResponse({"ok": True})

        app = Starlette(routes=[Route("/webhook", record, methods=["POST"]),
                                Route("/slack", record, methods=["POST"])])  # fmt: skip
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
