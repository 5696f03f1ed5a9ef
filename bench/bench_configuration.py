"""Configuration check cost, and /api/integrations/config latency over loopback.

Baselines measured in the same run:
- the check against the original system's logic (a list comprehension over os.getenv);
- the route against a bare Starlette route returning a constant JSON body, on the same
  uvicorn settings, so the ratio shows what atom-health adds over the framework floor.
"""

from __future__ import annotations

import os

import httpx

from atom_health.catalog import build_catalog
from atom_health.checks.configuration import check_configuration
from atom_health.config import Settings
from bench.common import PYTHON, describe_ms, latencies_ms, per_call_seconds, percentile, serving

REQUESTS = 2000


def original_check(required: tuple[str, ...]) -> dict[str, object]:
    """The original system's configuration logic, for the baseline."""
    missing = [name for name in required if not os.getenv(name)]
    return {
        "configured": not missing,
        "present_env_vars": [name for name in required if os.getenv(name)],
        "missing_env_vars": missing,
    }


def main() -> None:
    catalog = build_catalog(Settings(), os.environ)
    integrations = list(catalog)
    os.environ.setdefault("SLACK_SIGNING_SECRET", "bench")

    ours = per_call_seconds(
        lambda: [check_configuration(i, os.environ) for i in integrations], calls=2000
    ) / len(integrations)
    baseline = per_call_seconds(
        lambda: [original_check(i.required_env) for i in integrations], calls=2000
    ) / len(integrations)
    print("configuration check (one integration, best of 5 x 2000 rounds of 14)")
    print(f"  atom-health        {ours * 1e6:8.2f} µs   (target < 100 µs; original target < 10 ms)")
    print(
        f"  original logic     {baseline * 1e6:8.2f} µs   ratio ours/original {ours / baseline:.1f}x"
    )

    uvicorn_flags = ["--log-level", "warning", "--no-access-log", "--port", "{port}"]
    ours_cmd = [PYTHON, "-m", "atom_health", "serve", "--log-level", "warning", "--port", "{port}"]
    base_cmd = [PYTHON, "-m", "uvicorn", "bench.baseline_app:app", *uvicorn_flags]
    results = {}
    for label, command, path in (
        ("bare Starlette route", base_cmd, "/config"),
        ("/api/integrations/config", ours_cmd, "/api/integrations/config"),
    ):
        with serving(command, path) as url, httpx.Client(base_url=url) as client:
            results[label] = latencies_ms(client, path, REQUESTS)
    print(f"\nHTTP latency over loopback, {REQUESTS} sequential requests after warm-up")
    for label, samples in results.items():
        print(f"  {label:26s} {describe_ms(samples)}")
    ratio = percentile(results["/api/integrations/config"], 0.5) / percentile(
        results["bare Starlette route"], 0.5
    )
    print(f"  p50 ratio atom-health / bare route: {ratio:.2f}x")


if __name__ == "__main__":
    main()
