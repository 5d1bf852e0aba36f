"""Shared helpers of the core's tests.

``install_distribution`` makes a distribution visible to
``importlib.metadata`` the way pip would: a ``.dist-info`` folder with its
entry points on ``sys.path``. The example plugin in ``tests/example_plugin``
is installed this way for the whole run, so ``pytest`` needs no extra step.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

EXAMPLE_PLUGIN = Path(__file__).parent / "example_plugin"


def install_distribution(site: Path, name: str, version: str, entry_points: dict[str, str],
                         modules: dict[str, str] | None = None, summary: str = "") -> None:
    """Write a distribution's metadata (and optional module sources) into
    ``site``, a folder on ``sys.path``."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n", encoding="utf-8")
    lines = ["[crm.plugins]", *(f"{key} = {value}" for key, value in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(source, encoding="utf-8")
    if str(site) not in sys.path:
        sys.path.insert(0, str(site))
    importlib.invalidate_caches()


def pytest_configure(config: pytest.Config) -> None:
    try:
        from importlib.metadata import distribution

        distribution("crm-example")
    except Exception:
        sys.path.insert(0, str(EXAMPLE_PLUGIN))
        install_distribution(EXAMPLE_PLUGIN / ".installed", "crm-example", "0.1.0",
                             {"example": "crm_example.plugin"},
                             summary="A third-party plugin proving the seams: stamp cards for visits")


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``install(name, version, entry_points, modules, summary)`` makes a
    distribution installed for this test only."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield lambda *args, **kwargs: install_distribution(folder, *args, **kwargs)
    for module in set(sys.modules) - before:
        if module.startswith("crm_") and module != "crm_example":
            del sys.modules[module]
