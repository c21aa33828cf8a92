"""Live progress: what the solve reports to `MONITOR`, how it is shown, and HiGHS's banner."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from horizon.optimizer.commands.common import describe_progress
from horizon.optimizer.pipeline import solve
from horizon.optimizer.solve.events import MONITOR, Progress
from horizon.optimizer.solve.result import SolveOptions


@pytest.mark.parametrize("start", ["none", "lp-neighbourhood", "hubs-first", "concurrent"])
def test_reported_plans_and_bounds_are_the_full_models(start):
    """Every incumbent reported is a plan of the full model (never below its optimum) and every
    bound a bound of it (never above): a sub-model's bound must not leak into the display."""
    seen: list[Progress] = []
    with MONITOR.run(seen.append):
        sol = solve(None, replace(SolveOptions(), start=start))
    assert sol.status == "optimal"
    opt = sol.objective
    tol = 1e-6 * abs(opt)
    assert seen, "nothing reported"
    assert all(p.incumbent is None or p.incumbent >= opt - tol for p in seen)
    assert all(p.bound is None or p.bound <= opt + tol for p in seen)
    assert any(p.step for p in seen)


def test_restart_forgets_the_previous_points_values():
    with MONITOR.run() as m:
        m.report("a", incumbent=10.0, bound=5.0)
        m.restart()
        assert (m.incumbent, m.bound, m.step) == (None, None, "")
        m.report(incumbent=20.0)
        assert m.incumbent == 20.0


def test_progress_line():
    line = describe_progress(Progress("hub-set search: 7 sets left", 105.0, 100.0, 75.0), "USD")
    assert line == "1:15  hub-set search: 7 sets left  plan 105.00 USD  bound 100.00 USD  gap 4.76%"
    assert "no plan yet" in describe_progress(Progress("branch and bound", None, None, 3.0))


@pytest.mark.parametrize("verbose", [False, True])
def test_highs_banner_only_with_verbose(verbose):
    args = [sys.executable, "-m", "horizon.cli", "solve", "--json", *(["-v"] if verbose else [])]
    out = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert ("Running HiGHS" in out.stderr) is verbose
    assert "Running HiGHS" not in out.stdout
