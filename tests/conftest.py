"""Shared test helpers, and the helper modules next to the tests (e.g. `recheck`) made importable
however pytest is run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


INSTANCES = Path(__file__).parent / "instances"


def _tight(data: dict) -> dict:
    """Deadlines 5 h at A and B (only H, 2 h, reaches them), 3 h at C (only C itself)."""
    for s, hours in zip(data["scenarios"], (5, 5, 3)):
        s["demands"][0]["deadline_hours"] = hours
    return data


def _write(tmp_path: Path, data: dict, name: str = "inst.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


@pytest.fixture(scope="session")
def tight():  # noqa: ANN201
    """Tighten the three-missions deadlines (a function: data → data)."""
    return _tight


@pytest.fixture(scope="session")
def write():  # noqa: ANN201
    """Write a dict as an instance file: write(tmp_path, data, name) → path."""
    return _write
