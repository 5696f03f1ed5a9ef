"""Helpers shared by the benchmarks: timing, percentiles, and servers in their own processes."""

from __future__ import annotations

import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import httpx
from starlette.types import ASGIApp

from atom_health.model.stats import nearest_rank
from atom_health.serving import free_port
from atom_health.web.access import AccessMiddleware
from atom_health.web.answer_middleware import AnswerMiddleware
from atom_health.web.hardening import HardeningMiddleware

EDGE_LAYERS = (HardeningMiddleware, AccessMiddleware, AnswerMiddleware)


def per_call_seconds(function: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """Best of ``repeats`` runs of ``calls`` calls, in seconds per call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def percentile(samples: list[float], fraction: float) -> float:
    return nearest_rank(sorted(samples), fraction)


def latencies_ms(client: httpx.Client, path: str, requests: int, warmup: int = 200) -> list[float]:
    for _ in range(warmup):
        client.get(path).raise_for_status()
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def describe_ms(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 0.50):6.3f} ms  p99 {percentile(samples, 0.99):6.3f} ms  "
        f"mean {statistics.fmean(samples):6.3f} ms"
    )


@contextmanager
def serving(
    argv: list[str], ready_path: str, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Start a server command with ``{port}`` filled in; yield its base URL once it answers.

    Its stderr (the audit trail's line per request, say) goes to a file, as a log collector
    would take it: an undrained pipe would fill up and stop the server mid-run."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in argv]
    environment = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    httpx.get(url + ready_path, timeout=1)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        said = log.read()[-2000:].decode(errors="replace")
                        raise RuntimeError(f"{command} did not start:\n{said}") from None
                    time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


PYTHON = sys.executable


def edge_without(stack: ASGIApp, layer: type | None) -> ASGIApp:
    """An app's middleware stack (``app.build_middleware_stack()``) with one layer of its
    edge left out: each other layer is copied and relinked."""
    layers = []
    while isinstance(stack, EDGE_LAYERS):
        layers.append(stack)
        stack = stack.app
    for outer in reversed(layers):
        if type(outer) is not layer:
            outer = copy.copy(outer)
            outer.app = stack
            stack = outer
    return stack
