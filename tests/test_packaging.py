"""Packaging: typed, licensed, a small core install, and extras named when a feature needs one."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest

import atom_health

ROOT = Path(__file__).parent.parent
OPTIONAL = ("flask", "a2wsgi", "psycopg", "redis", "apprise", "opentelemetry")


def test_the_package_is_typed_and_licensed() -> None:
    assert (Path(atom_health.__file__).parent / "py.typed").exists()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_core_install_leaves_optional_features_to_extras() -> None:
    requirements = requires("atom-health") or []
    core = [r for r in requirements if "extra ==" not in r]
    assert not [r for r in core if r.lower().startswith(OPTIONAL)], core
    # CI installs [test], which pulls in every extra (the metadata lists them expanded).
    test_extra = [r.lower() for r in requirements if "extra == 'test'" in r.replace('"', "'")]
    for package in OPTIONAL:
        assert any(r.startswith(package) for r in test_extra), package


@pytest.mark.parametrize(
    ("blocked", "code", "message"),
    [
        ("flask", "import atom_health.frameworks.flask",
         "The Flask extension needs the optional extra [flask]: pip install 'atom-health[flask]'"),
        ("a2wsgi", "import atom_health.frameworks.bridge",
         "The Flask bridge needs the optional extra [flask]"),
        ("psycopg", "from atom_health.store import open_store; "
         "open_store('postgresql+psycopg://atom@127.0.0.1:1/x')",
         "A PostgreSQL database needs the optional extra [postgres]"),
    ],
)  # fmt: skip
def test_a_feature_without_its_extra_names_the_extra(blocked: str, code: str, message: str) -> None:
    """The module is made unimportable, as it is when the extra was not installed."""
    script = f"import sys; sys.modules[{blocked!r}] = None\n{code}"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode != 0
    assert message in result.stderr
