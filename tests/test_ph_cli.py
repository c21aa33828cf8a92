"""`horizon solve --method ph` through the CLI (progressive hedging with mpi-sppy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from horizon.cli import main

ph = pytest.importorskip("horizon.optimizer.planning.ph")
if not ph.available():
    pytest.skip("mpi-sppy / mpi4py not installed", allow_module_level=True)

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny-two-hubs.yaml"


def test_solve_method_ph_matches_the_extensive_form() -> None:
    result = CliRunner().invoke(main, ["solve", str(TINY), "--method", "ph", "--json"])
    assert result.exit_code == 0, result.output
    sol = json.loads(result.stdout)
    assert sol["objective"] == pytest.approx(200.0)
    assert sol["bound"] <= sol["objective"] + 1e-6
    assert sol["solver"].startswith("mpisppy-ph")


def test_method_ph_does_not_combine_with_classic() -> None:
    result = CliRunner().invoke(main, ["solve", str(TINY), "--method", "ph", "--classic", "lscp"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
