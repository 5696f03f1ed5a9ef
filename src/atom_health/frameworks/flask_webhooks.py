"""``@verified_webhook("stripe")`` for Flask views that receive a provider's deliveries: the
view runs only for a delivery whose signature verifies (401 otherwise, 503 when no signing
secret is configured), with the same JSON body as the FastAPI dependency. Each verdict is
recorded for the integration's ``webhooks`` health part. Needs the :class:`AtomHealth`
extension on the app.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request

from atom_health.frameworks.flask import EXTENSION, AtomHealth


def verified_webhook(service: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def verified(*args: Any, **kwargs: Any) -> Any:
            extension: AtomHealth = current_app.extensions[EXTENSION]
            verdict = extension.system.monitor.webhooks.verify(
                service, request.method, request.url, dict(request.headers), request.get_data()
            )
            if verdict.ok:
                return view(*args, **kwargs)
            body = json.dumps({"detail": verdict.body()}, separators=(",", ":"))
            return Response(body, status=verdict.status, mimetype="application/json")

        return verified

    return decorate
