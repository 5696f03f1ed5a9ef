"""The fast path: a GET without a query for a known answer is sent from its bytes before
routing; every other request, and every answer not known yet, goes on to the app.

It must stay the innermost middleware (added first in :func:`atom_health.web.app.create_app`),
so that whatever the outer layers do (access control, rate limits, audit) applies to it too.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from atom_health.web.answers import Answers


class AnswerMiddleware:
    def __init__(self, app: ASGIApp, answers: Answers) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            answer = self.answers.for_path(scope["path"])
            if answer is not None:
                await answer.send(scope, send)
                return
        await self.app(scope, receive, send)
