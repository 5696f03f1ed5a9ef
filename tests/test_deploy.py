"""What ships under deploy/: Prometheus alerting rules (checked and unit-tested with promtool),
the Grafana dashboard, and /metrics itself (linted by promtool), all against a real server."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from atom_health.simulator import Simulator
from tests.system_services import promtool

DEPLOY = Path(__file__).parent.parent / "deploy"
METRIC = re.compile(r"\b((?:atom_health|process|python)_[a-z_]+)\b")


@pytest.fixture
def exported(
    api: httpx.Client,
    environ: dict[str, str],
    sim_credentials: dict[str, str],
    simulator: Simulator,
) -> str:
    """/metrics of a server that has checked every integration once: Slack failing, Linear
    low on quota, a Google token expiring."""
    environ.update(sim_credentials)
    simulator.set_fault("slack", "reject")
    simulator.set_fault("linear", "quota_low")
    simulator.set_fault("googledrive", "expiring", expires_in_days=5)
    assert api.get("/api/integrations/health").status_code == 200
    return api.get("/metrics").text


def sample_names(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    tool = str(promtool())
    rules = DEPLOY / "prometheus"

    checked = subprocess.run(
        [tool, "check", "rules", "alerts.yml"],
        cwd=rules,
        capture_output=True,
        text=True,
        timeout=60,
    )
    tested = subprocess.run(
        [tool, "test", "rules", "alerts_test.yml"], cwd=rules, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_alert_rules_and_grafana_use_only_metrics_the_server_exports(exported: str) -> None:
    names = sample_names(exported)
    rules = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    dashboard = json.loads((DEPLOY / "grafana" / "atom-health.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]

    assert set(METRIC.findall(rules)) <= names
    for expression in expressions:
        assert set(METRIC.findall(expression)) <= names, expression
    assert {"Critical integrations down", "Up (1 can work, 0 cannot)"} <= {
        p["title"] for p in dashboard["panels"]
    }
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_metrics_pass_promtool_lint(exported: str) -> None:
    linted = subprocess.run(
        [str(promtool()), "check", "metrics"], input=exported, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip

    assert linted.returncode == 0, linted.stdout + linted.stderr
