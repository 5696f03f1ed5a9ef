"""What importing one part loads: the layers below it, never the ones above (no import circle
through a package's ``__init__``). import-linter checks the import statements; these check
what Python really executes, in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def loaded_by(module: str) -> set[str]:
    """Our modules (and aiohttp) loaded by importing ``module`` in a fresh interpreter."""
    script = (
        f"import json, sys, {module}; "
        "print(json.dumps([m for m in sys.modules if m.startswith(('atom_health', 'aiohttp'))]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize(
    "module",
    ["atom_health.model.results", "atom_health.model.history", "atom_health.model.alerts"],
)
def test_the_model_loads_nothing_above_it(module: str) -> None:
    loaded = loaded_by(module)

    above = {m for m in loaded if not m.startswith(("atom_health.model", "atom_health._version"))}
    assert above == {"atom_health"}, sorted(above)


def test_the_client_does_not_load_the_engine() -> None:
    loaded = loaded_by("atom_health.client")

    assert "atom_health.monitor" not in loaded
    assert "aiohttp" not in loaded  # the probes' HTTP stack is the server's business


def test_the_package_still_offers_the_engine() -> None:
    from atom_health import HealthMonitor, UnknownIntegrationError
    from atom_health.monitor import HealthMonitor as Engine

    assert HealthMonitor is Engine
    assert issubclass(UnknownIntegrationError, Exception)
