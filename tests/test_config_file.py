"""User config files: what they can change, and how bad ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from atom_health.catalog import build_catalog
from atom_health.config import ConfigError, Settings, load_settings
from atom_health.monitor import HealthMonitor

YAML_CONFIG = """
cache_ttl_seconds: 45
integrations:
  zoom:
    criticality: normal
    base_url: http://127.0.0.1:9999/zoom/
    env:
      ZOOM_API_KEY: ACME_ZOOM_KEY
  trello:
    enabled: false
  acme-crm:
    name: Acme CRM
    criticality: critical
    required_env: [ACME_CRM_TOKEN]
    base_url: https://crm.acme.test
    aliases: [acme]
"""

TOML_CONFIG = """
cache_ttl_seconds = 45

[integrations.zoom]
criticality = "normal"
base_url = "http://127.0.0.1:9999/zoom/"
env = { ZOOM_API_KEY = "ACME_ZOOM_KEY" }

[integrations.trello]
enabled = false

[integrations.acme-crm]
name = "Acme CRM"
criticality = "critical"
required_env = ["ACME_CRM_TOKEN"]
base_url = "https://crm.acme.test"
aliases = ["acme"]
"""


@pytest.fixture(
    params=[("atom.yaml", YAML_CONFIG), ("atom.toml", TOML_CONFIG)], ids=["yaml", "toml"]
)
def config_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    name, text = request.param
    path = tmp_path / name
    path.write_text(text)
    return path


def test_config_file_overrides_adds_renames_and_disables(config_file: Path) -> None:
    environ = {"ACME_ZOOM_KEY": "k", "ZOOM_API_SECRET": "s", "ACME_CRM_TOKEN": "t"}
    settings = load_settings(config_file, environ={})
    catalog = build_catalog(settings, environ)

    assert settings.cache_ttl_seconds == 45
    zoom = catalog.get("zoom")
    assert zoom is not None
    assert zoom.criticality == "normal"
    assert zoom.base_url == "http://127.0.0.1:9999/zoom"
    assert zoom.required_env == ("ACME_ZOOM_KEY", "ZOOM_API_SECRET")
    assert zoom.env_name("ZOOM_API_KEY") == "ACME_ZOOM_KEY"
    assert zoom.token_url == "https://zoom.us/oauth/token"  # untouched fields keep built-ins
    assert catalog.get("trello") is None
    assert "trello" not in [i.id for i in catalog]
    crm = catalog.get("acme")
    assert crm is not None
    assert (crm.id, crm.name, crm.criticality) == ("acme-crm", "Acme CRM", "critical")
    assert len(catalog) == 14  # 14 built-ins - trello + acme-crm


async def test_renamed_variables_drive_the_configuration_check(config_file: Path) -> None:
    environ = {"ACME_ZOOM_KEY": "k", "ZOOM_API_SECRET": "s", "ZOOM_API_KEY": ""}
    settings = load_settings(config_file, environ={})
    monitor = HealthMonitor(build_catalog(settings, environ), settings=settings, environ=environ)

    result = await monitor.check("zoom", check_api=False)

    assert result.configured is True
    assert result.checks.configuration.present_env_vars == ["ACME_ZOOM_KEY", "ZOOM_API_SECRET"]


def test_config_path_comes_from_the_environment(config_file: Path) -> None:
    settings = load_settings(environ={"ATOM_HEALTH_CONFIG": str(config_file)})

    assert settings.cache_ttl_seconds == 45
    assert settings.source == str(config_file)


def test_no_config_means_defaults() -> None:
    assert load_settings(environ={}) == Settings()


@pytest.mark.parametrize("setting", ["BASE_URL", "TOKEN_URL", "STATUS_URL"])
def test_environment_overrides_every_url(setting: str) -> None:
    environ = {f"ATOM_HEALTH_GOOGLEDRIVE_{setting}": "http://127.0.0.1:1234/g"}

    integration = build_catalog(Settings(), environ).get("googledrive")

    assert integration is not None
    assert getattr(integration, setting.lower()) == "http://127.0.0.1:1234/g"


def test_environment_override_beats_config_and_base_url_env() -> None:
    settings = Settings.model_validate({"integrations": {"jira": {"base_url": "https://x.test"}}})
    environ = {
        "ATOM_HEALTH_JIRA_BASE_URL": "http://127.0.0.1:1/jira",
        "JIRA_BASE_URL": "https://a.test",
    }

    jira = build_catalog(settings, environ).get("jira")

    assert jira is not None
    assert jira.resolved_base_url(environ) == "http://127.0.0.1:1/jira"


def test_jira_base_url_comes_from_its_own_variable() -> None:
    environ = {"JIRA_BASE_URL": "https://acme.atlassian.net/"}

    jira = build_catalog(Settings(), environ).get("jira")

    assert jira is not None
    assert jira.resolved_base_url(environ) == "https://acme.atlassian.net"


def test_override_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="ATOM_HEALTH_ZOOM_BASE_URL: must be an http"):
        build_catalog(Settings(), {"ATOM_HEALTH_ZOOM_BASE_URL": "ftp://x"})


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.yaml", "integrations:\n  zoom: [unclosed\n", r"invalid YAML at line \d+, column \d+"),
        ("bad.toml", "integrations = [\n", r"invalid TOML"),
        ("list.yaml", "- a\n- b\n", "the top level must be a mapping"),
        ("typo.yaml", "integratoins: {}\n", "integratoins: Extra inputs are not permitted"),
        (
            "crit.yaml",
            "integrations:\n  zoom:\n    criticality: urgent\n",
            "integrations.zoom.criticality: Input should be 'critical' or 'normal'",
        ),
        (
            "env.yaml",
            "integrations:\n  x:\n    required_env: ['NOT A NAME']\n",
            r"integrations.x.required_env.0: String should match pattern",
        ),
        (
            "id.yaml",
            "integrations:\n  Bad Id:\n    name: X\n",
            r"integrations.Bad Id.\[key\]: String should match pattern",
        ),
        (
            "url.yaml",
            "integrations:\n  zoom:\n    base_url: api.zoom.us\n",
            "integrations.zoom.base_url",
        ),
        (
            "ttl.yaml",
            "cache_ttl_seconds: -1\n",
            "cache_ttl_seconds: Input should be greater than or equal to 0",
        ),
        ("alias.yaml", "integrations:\n  x:\n    aliases: [zoom]\n", "'zoom' is already the name"),
        ("conf.ini", "[x]\n", "unsupported config file type '.ini'"),
    ],
)
def test_bad_config_files_are_refused_with_file_field_and_problem(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(text)

    with pytest.raises(ConfigError, match=expected) as caught:
        build_catalog(load_settings(path, environ={}), {})

    assert str(caught.value).startswith(str(path))


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.yaml")


def test_the_readme_example_config_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "atom.yaml"
    path.write_text(example)

    catalog = build_catalog(load_settings(path, environ={}), {})

    crm = catalog.get("acme")
    assert crm is not None
    assert crm.probes[0].request is not None
    assert crm.rate_limit is not None
