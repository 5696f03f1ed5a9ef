"""Hostile config files fail fast, with exit 2 and a message naming the problem."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.config import ConfigError, load_settings

ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)
HOSTILE = {
    "alias-bomb.yaml": (ALIAS_BOMB, "aliases"),
    "deep.yaml": ("[" * 10_000 + "]" * 10_000, "nested deeper"),
    "deep-map.yaml": (
        "".join(f"{' ' * i}k{i}:\n" for i in range(500)) + " " * 500 + "v: 1",
        "nested deeper",
    ),
    "deep.toml": ("x = " + "[" * 10_000 + "]" * 10_000, "nested"),
    "huge.yaml": ("# " + "x" * 2_000_000, "larger than"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_config_is_refused_quickly(tmp_path: Path, name: str) -> None:
    text, problem = HOSTILE[name]
    file = tmp_path / name
    file.write_text(text)

    started = time.perf_counter()
    with pytest.raises(ConfigError) as refused:
        load_settings(file)
    assert time.perf_counter() - started < 1.0  # the bound; it takes milliseconds
    assert problem in str(refused.value)
    assert str(file) in str(refused.value)


@pytest.mark.parametrize("name", ["alias-bomb.yaml", "deep.yaml"])
def test_the_cli_exits_2_on_a_hostile_config(tmp_path: Path, name: str) -> None:
    file = tmp_path / name
    file.write_text(HOSTILE[name][0])
    result = CliRunner().invoke(app, ["config", "--config", str(file)])
    assert result.exit_code == 2
    assert "refused" in result.output


def test_ordinary_anchors_and_aliases_still_work(tmp_path: Path) -> None:
    file = tmp_path / "anchors.yaml"
    file.write_text(
        "probes: &fast {attempt_timeout_seconds: 1, deadline_seconds: 2}\n"
        "scheduler: {interval_seconds: 30}\n"
        "integrations:\n"
        "  github: {interval_seconds: 10}\n"
    )
    assert load_settings(file).probes.deadline_seconds == 2
