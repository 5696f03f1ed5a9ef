"""Python client for an atom-health server: typed results, sync and async, and ``watch``.

    client = HealthClient("http://127.0.0.1:8000")
    client.service("zoom").status            # ServiceHealth
    watcher = client.watch(callback=print, changes_only=True)
    ...
    watcher.stop()

Results are the server's own models (:mod:`atom_health.model.results`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from atom_health.model import routes as paths
from atom_health.model.results import (
    ConfigurationReport,
    HistoryPage,
    Overview,
    ServiceHealth,
    ServiceSummary,
    Status,
)
from atom_health.services.retry import Backoff

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
Callback = Callable[[str, ServiceSummary], Any]


class HealthClientError(Exception):
    """The server answered with an error (``status_code`` and its JSON ``body``)."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"atom-health answered HTTP {status_code}")
        self.status_code = status_code
        self.body = body


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


@dataclass(frozen=True)
class _Call(Generic[M]):
    """One API request and the model of its answer: shared by the sync and async clients."""

    path: str
    params: dict[str, Any]
    model: type[M]


def _flags(check_api: bool, refresh: bool) -> dict[str, Any]:
    return {"check_api": str(check_api).lower(), "refresh": str(refresh).lower()}


def _service_call(name: str, check_api: bool, refresh: bool) -> _Call[ServiceHealth]:
    return _Call(
        paths.SERVICE_HEALTH.format(service=name), _flags(check_api, refresh), ServiceHealth
    )


def _overview_call(check_api: bool, refresh: bool) -> _Call[Overview]:
    return _Call(paths.OVERVIEW, _flags(check_api, refresh), Overview)


_CONFIGURATION_CALL = _Call(paths.CONFIGURATION, {}, ConfigurationReport)


def _history_call(
    name: str,
    since: datetime | None,
    until: datetime | None,
    status: Status | None,
    limit: int,
    offset: int,
) -> _Call[HistoryPage]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if since is not None:
        params["since"] = since.isoformat()
    if until is not None:
        params["until"] = until.isoformat()
    if status is not None:
        params["status"] = status.value
    return _Call(paths.HISTORY.format(service=name), params, HistoryPage)


def _parse(response: httpx.Response, model: type[M]) -> M:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        raise HealthClientError(response.status_code, body)
    return model.model_validate_json(response.content)


class HealthClient:
    """Synchronous client. Use it as a context manager, or call :meth:`close`."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url, headers=_headers(api_key), timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HealthClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, call: _Call[M]) -> M:
        return _parse(self._http.get(call.path, params=call.params), call.model)

    def service(self, name: str, *, check_api: bool = True, refresh: bool = False) -> ServiceHealth:
        return self._get(_service_call(name, check_api, refresh))

    def overview(self, *, check_api: bool = True, refresh: bool = False) -> Overview:
        return self._get(_overview_call(check_api, refresh))

    def configuration(self) -> ConfigurationReport:
        return self._get(_CONFIGURATION_CALL)

    def history(
        self,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        status: Status | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> HistoryPage:
        return self._get(_history_call(name, since, until, status, limit, offset))

    def watch(
        self,
        callback: Callback,
        services: Iterable[str] | None = None,
        interval: float = 30.0,
        changes_only: bool = False,
    ) -> Watcher:
        """Poll the overview every ``interval`` seconds in a background thread and call
        ``callback(service, line)`` (``line``: its :class:`ServiceSummary`) for each watched
        service, or only for those whose status changed. Network errors and server restarts
        are retried with backoff; :meth:`Watcher.stop` ends it."""
        return Watcher(
            self.base_url, self.api_key, self.timeout, callback, services, interval, changes_only
        )


class _Watch:
    """What one watch remembers between polls: the last statuses, and failures in a row."""

    def __init__(self, services: Iterable[str] | None, interval: float, changes_only: bool):
        self.services = set(services) if services is not None else None
        self.interval = interval
        self.changes_only = changes_only
        self.errors = 0
        self._failures = 0
        self._backoff = Backoff(base=0.5, cap=max(interval, 30.0))
        self._last: dict[str, Status] = {}

    def failed(self, exc: Exception) -> float:
        """Seconds to wait before polling again after a failed poll."""
        self.errors += 1
        delay = self._backoff.delay(self._failures)
        self._failures += 1
        log.warning("watch: %s; retrying in %.1f s", type(exc).__name__, delay)
        return delay

    def lines(self, overview: Overview) -> list[tuple[str, ServiceSummary]]:
        """The (service, line) pairs to report from a fresh overview."""
        self._failures = 0
        now = {name: line.status for name, line in overview.services.items()}
        changed = [name for name, status in now.items() if self._last.get(name) != status]
        self._last = now
        names = changed if self.changes_only else list(overview.services)
        return [
            (name, overview.services[name])
            for name in names
            if self.services is None or name in self.services
        ]


class Watcher:
    """A running ``watch``; :meth:`stop` ends it cleanly."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout: float,
        callback: Callback,
        services: Iterable[str] | None,
        interval: float,
        changes_only: bool,
    ) -> None:
        self.callback = callback
        self._watch = _Watch(services, interval, changes_only)
        self._client = HealthClient(base_url, api_key, timeout)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="atom-health-watch", daemon=True)
        self._thread.start()

    @property
    def errors(self) -> int:
        """Polls that failed (network errors, server errors) since the watch began."""
        return self._watch.errors

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        watch = self._watch
        while not self._stop.is_set():
            try:
                overview = self._client.overview()
            except (httpx.HTTPError, HealthClientError) as exc:
                self._stop.wait(watch.failed(exc))
                continue
            for name, line in watch.lines(overview):
                try:
                    self.callback(name, line)
                except Exception as exc:  # a broken callback must not end the watch
                    log.error("watch callback failed: %s", type(exc).__name__)
            self._stop.wait(watch.interval)


class AsyncHealthClient:
    """Asynchronous client with the same methods as :class:`HealthClient`."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=_headers(api_key), timeout=timeout
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncHealthClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _get(self, call: _Call[M]) -> M:
        return _parse(await self._http.get(call.path, params=call.params), call.model)

    async def service(
        self, name: str, *, check_api: bool = True, refresh: bool = False
    ) -> ServiceHealth:
        return await self._get(_service_call(name, check_api, refresh))

    async def overview(self, *, check_api: bool = True, refresh: bool = False) -> Overview:
        return await self._get(_overview_call(check_api, refresh))

    async def configuration(self) -> ConfigurationReport:
        return await self._get(_CONFIGURATION_CALL)

    async def history(
        self,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        status: Status | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> HistoryPage:
        return await self._get(_history_call(name, since, until, status, limit, offset))

    async def watch(
        self,
        callback: Callable[[str, ServiceSummary], Awaitable[Any] | Any],
        services: Iterable[str] | None = None,
        interval: float = 30.0,
        changes_only: bool = False,
    ) -> None:
        """Like :meth:`HealthClient.watch`, as a coroutine: cancel its task to stop it."""
        watch = _Watch(services, interval, changes_only)
        while True:
            try:
                overview = await self.overview()
            except (httpx.HTTPError, HealthClientError) as exc:
                await asyncio.sleep(watch.failed(exc))
                continue
            for name, line in watch.lines(overview):
                try:
                    outcome = callback(name, line)
                    if asyncio.iscoroutine(outcome):
                        await outcome
                except Exception as exc:  # a broken callback must not end the watch
                    log.error("watch callback failed: %s", type(exc).__name__)
            await asyncio.sleep(interval)
