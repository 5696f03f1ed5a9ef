"""The fast path: a GET without a query for a known answer is sent from its bytes before
routing; a GET of one integration's health with only ``check_api`` / ``refresh`` asks the
engine directly (the probe path: every ``?refresh=true``); every other request, and every
answer not known yet, goes on to the app.

It must stay the innermost layer of the app's edge (:class:`atom_health.web.app.HealthApp`),
so that whatever the outer layers do (access control, rate limits, audit) applies to it too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from atom_health.monitor import UnknownIntegrationError
from atom_health.web.answers import JSON, Answers, to_json

CHECK_OPTIONS = frozenset({"check_api", "refresh"})
# The spellings clients send; any other (``yes``, ``On``, a typo) goes to the route, which
# reads it, or refuses it with FastAPI's 422, exactly as before.
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


@functools.lru_cache(maxsize=64)  # clients send a handful of query strings, over and over
def check_options(query: bytes) -> Mapping[str, bool] | None:
    """``check_api`` / ``refresh`` from a query string, or None when it holds anything else."""
    options: dict[str, bool] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name not in CHECK_OPTIONS or value not in BOOLEANS:
            return None
        options[name] = BOOLEANS[value]  # the last one wins, as in the route
    return MappingProxyType(options)


class AnswerMiddleware:
    def __init__(self, app: ASGIApp, answers: Answers) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            if not scope["query_string"]:
                answer = self.answers.for_path(scope["path"])
                if answer is not None:
                    await answer.send(scope, send)
                    return
            elif await self.checked(scope, send):
                return
        await self.app(scope, receive, send)

    async def checked(self, scope: Scope, send: Send) -> bool:
        """Answer ``GET /api/{service}/health?refresh=true`` (or an alias, or ``check_api``)
        from the engine, as the route would, without routing, request parsing or response
        validation; False when the route should answer (an unknown name, another query)."""
        name = self.answers.service_named(scope["path"])
        if name is None:
            return False
        options = check_options(scope["query_string"])
        if options is None:
            return False
        try:
            result = await self.answers.monitor.check(name, **options)
        except UnknownIntegrationError:
            return False  # the route's 404
        body = to_json(result)
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", JSON)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
