"""The starts (`horizon.optimizer.solve.starts.lp_neighbourhood_start`, `hubs_first_start`): same optima,
valid bounds, honest reporting, and the start standing when the full solve stops before
improving on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from recheck import recheck

from horizon.cli import main
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.writer import write_instance
from horizon.optimizer.errors import InputError
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.pipeline import prepare, solve_prepared
from horizon.optimizer.solve.highs import configure, new_highs, pass_model
from horizon.optimizer.solve.result import SolveOptions, SolveResult
from horizon.optimizer.solve.starts import (
    SECOND_SEARCH_AFTER,
    START_AUTO_COLUMNS,
    STARTS,
    Start,
    _with_start,
    hubs_first_start,
    resolve_start,
    wants_start,
)

REL = 1e-6


@pytest.fixture(scope="module")
def prepared():
    return prepare(Instance.from_spec(generate_spec(12, 5, 3, 10, 4)))


def test_start_keeps_the_optimum_and_says_what_it_did(prepared) -> None:
    plain, _ = solve_prepared(prepared, SolveOptions(start="none"))
    started, result = solve_prepared(prepared, SolveOptions(start="lp-neighbourhood"))
    assert plain.status == started.status == "optimal"
    assert started.objective == pytest.approx(plain.objective, rel=REL)
    assert "start: LP relaxation" in result.message
    assert "start:" not in plain.message
    assert recheck(prepared.instance, started) == []


def test_auto_only_for_large_models(prepared) -> None:
    assert prepared.model.n_cols < START_AUTO_COLUMNS
    assert not wants_start(prepared.model, SolveOptions(threads=1))
    assert wants_start(prepared.model, SolveOptions(start="lp-neighbourhood"))
    assert not wants_start(prepared.model, SolveOptions(start="none"))
    with pytest.raises(InputError, match="unknown start"):
        wants_start(prepared.model, SolveOptions(start="rens"))
    big = START_AUTO_COLUMNS
    assert resolve_start(SolveOptions(), big, 200, cpus=1).start == "lp-neighbourhood"
    assert resolve_start(SolveOptions(), big, 200, cpus=2).start == "concurrent"  # a core for each search
    assert resolve_start(SolveOptions(threads=1), big, 200, cpus=2).start == "lp-neighbourhood"
    assert resolve_start(SolveOptions(), big, 1, cpus=2).start == "none"  # one-scenario location models
    mid = resolve_start(SolveOptions(), big - 1, 200, cpus=2)  # hubs first joins a solve still running
    assert (mid.start, mid.second_after) == ("concurrent", SECOND_SEARCH_AFTER)
    assert resolve_start(SolveOptions(), big, 200, cpus=2).second_after == 0.0
    assert resolve_start(SolveOptions(), big - 1, 200, cpus=1).start == "none"
    assert resolve_start(SolveOptions(threads=1), big - 1, 200, cpus=2).start == "none"
    assert resolve_start(SolveOptions(), big - 1, 9, cpus=2).start == "none"
    assert resolve_start(SolveOptions(), big, None, cpus=1).start == "lp-neighbourhood"
    assert resolve_start(SolveOptions(start="concurrent"), 10, 1, cpus=1).start == "concurrent"
    assert resolve_start(SolveOptions(start="lp-neighbourhood"), 10, 1).start == "lp-neighbourhood"
    assert resolve_start(SolveOptions(start="hubs-first"), 10, 1).start == "hubs-first"
    assert wants_start(prepared.model, SolveOptions(start="hubs-first"))


def test_hubs_first_keeps_the_optimum(prepared) -> None:
    plain, _ = solve_prepared(prepared, SolveOptions(start="none"))
    started, result = solve_prepared(prepared, SolveOptions(start="hubs-first"))
    assert started.status == "optimal"
    assert started.objective == pytest.approx(plain.objective, rel=REL)
    assert "start: hubs first: hubs-only relaxation optimal" in result.message
    assert recheck(prepared.instance, started) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hubs_first_bound_is_valid_and_its_plan_feasible(seed: int) -> None:
    prep = prepare(Instance.from_spec(generate_spec(14, 6, 4, 12, seed)))
    optimum = solve_prepared(prep, SolveOptions(start="none"))[0].objective
    h = new_highs()
    configure(h, SolveOptions())
    pass_model(h, prep.model)
    start = hubs_first_start(h, prep.model, SolveOptions())
    assert start.lp_bound is not None and start.objective is not None and start.values is not None
    # the hubs-only relaxation bounds the optimum; its plan within fixed hubs is feasible, so no better
    assert start.lp_bound <= optimum * (1 + REL)
    assert start.objective >= optimum * (1 - REL)
    lower, upper, integer = prep.model.col_bounds()
    v = start.values
    assert np.all(v >= lower - 1e-6) and np.all(v <= upper + 1e-6)
    assert np.allclose(v[integer], np.round(v[integer]), atol=1e-6)
    lo, up = prep.model.row_bounds()
    act = prep.model.matrix() @ v
    assert np.all(act >= lo - 1e-6) and np.all(act <= up + 1e-6)
    # `h` is left as it was: the full solve from here finds the optimum
    h.setSolution(_highs_solution(v))
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(optimum, rel=REL)


def test_hubs_first_falls_back_to_the_lp_neighbourhood(prepared, monkeypatch) -> None:
    """A hubs-only relaxation stopped far from its bound (forced here) leaves the hubs to
    the LP-neighbourhood start; the bound stays valid and the optimum is unchanged."""
    import horizon.optimizer.solve.starts as solve

    optimum = solve_prepared(prepared, SolveOptions(start="none"))[0].objective
    monkeypatch.setattr(solve, "HUBS_FIRST_MAX_GAP", -1.0)
    h = new_highs()
    configure(h, SolveOptions())
    pass_model(h, prepared.model)
    start = solve.hubs_first_start(h, prepared.model, SolveOptions())
    assert "hubs not used; start: LP relaxation" in start.note
    assert start.lp_bound is not None and start.lp_bound <= optimum * (1 + REL)
    assert start.objective is not None and start.objective >= optimum * (1 - REL)
    sol, _ = solve_prepared(prepared, SolveOptions(start="hubs-first"))
    assert sol.status == "optimal" and sol.objective == pytest.approx(optimum, rel=REL)


def _highs_solution(values: np.ndarray):
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = list(values)
    sol.value_valid = True
    return sol


def test_a_start_at_its_bound_is_proven() -> None:
    x = np.array([1.0])
    assert Start(x, 100.0, 100.0, 1.0, "").proven(0.0)
    assert not Start(x, 100.0, 99.0, 1.0, "").proven(0.0)
    assert Start(x, 100.0, 99.0, 1.0, "").proven(0.02)
    assert not Start(None, 100.0, 100.0, 1.0, "").proven(0.0)
    assert not Start(x, 100.0, None, 1.0, "").proven(0.0)


def _result(**kw) -> SolveResult:
    base = dict(
        status="feasible",
        objective=120.0,
        bound=80.0,
        gap=1 / 3,
        solver="highs",
        solver_version="x",
        seconds=10.0,
        transfer_seconds=0.0,
        has_solution=True,
        message="Time limit reached",
    )
    return SolveResult(**{**base, **kw})


def test_the_start_stands_when_the_full_solve_ends_worse() -> None:
    start = Start(values=np.array([1.0, 2.0]), objective=100.0, lp_bound=90.0, seconds=5.0, note="start: ...")
    result, values = _with_start(_result(), np.array([0.0, 3.0]), start)
    assert values.tolist() == [1.0, 2.0]
    assert result.objective == 100.0
    assert result.bound == 90.0  # the LP bound beats the tree's 80
    assert result.gap == pytest.approx(0.1)
    assert result.seconds == 15.0
    assert result.message.endswith("start: ...")
    # no incumbent from the full solve at all: still feasible, with the start's values
    none, values = _with_start(_result(status="no_solution", objective=None, has_solution=False), None, start)
    assert none.status == "feasible" and values.tolist() == [1.0, 2.0]


def test_a_better_full_solve_wins_and_optimal_stays_optimal() -> None:
    start = Start(values=np.array([1.0]), objective=100.0, lp_bound=90.0, seconds=1.0, note="start")
    result, values = _with_start(_result(status="optimal", objective=95.0, bound=95.0, gap=0.0), np.array([7.0]), start)
    assert values.tolist() == [7.0]
    assert (result.status, result.objective, result.bound, result.gap) == ("optimal", 95.0, 95.0, 0.0)


def test_cli_start_option(tmp_path: Path) -> None:
    path = tmp_path / "inst.yaml"
    write_instance(generate_spec(8, 4, 3, 6, 2), path)
    runner = CliRunner()
    a = runner.invoke(main, ["solve", str(path), "--json", "--start", "lp-neighbourhood"])
    b = runner.invoke(main, ["solve", str(path), "--json", "--start", "none"])
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    sa, sb = json.loads(a.stdout), json.loads(b.stdout)
    assert sa["objective"] == pytest.approx(sb["objective"], rel=REL)
    assert "start:" in sa["message"] and "start:" not in sb["message"]
    bad = runner.invoke(main, ["solve", str(path), "--start", "rens"])
    assert bad.exit_code == 2
    hubs = runner.invoke(main, ["solve", str(path), "--json", "--start", "hubs-first"])
    assert hubs.exit_code == 0, hubs.output
    assert json.loads(hubs.stdout)["objective"] == pytest.approx(sb["objective"], rel=REL)
    assert "hubs first" in json.loads(hubs.stdout)["message"]
    option = next(o for o in main.commands["solve"].params if o.name == "start")
    assert tuple(option.type.choices) == STARTS


def test_time_limited_start_reports_incumbent_bound_and_gap(prepared) -> None:
    sol, result = solve_prepared(prepared, SolveOptions(start="lp-neighbourhood", time_limit=5))
    assert sol.ok and sol.objective is not None and sol.bound is not None
    assert sol.bound <= sol.objective * (1 + REL)
    assert result.seconds <= 5 * 1.5 + 2
    assert sol.gap == pytest.approx((sol.objective - sol.bound) / sol.objective, abs=1e-9)


def test_an_lp_after_other_runs_gets_its_own_time_limit(prepared) -> None:
    """HiGHS's LP solvers count `time_limit` on the Highs object's run clock, which keeps
    running across runs; `run_highs` shifts an LP's limit so earlier runs do not eat it."""
    from horizon.optimizer.solve.highs import _option, solve_relaxation

    h = new_highs()
    configure(h, SolveOptions())
    pass_model(h, prepared.model)
    runs = 0
    while h.getRunTime() < 0.3 and runs < 10_000:
        solve_relaxation(h, prepared.model)
        runs += 1
    h.setOptionValue("time_limit", 0.25)
    result, values = solve_relaxation(h, prepared.model)
    assert result.status == "optimal" and values is not None
    assert _option(h, "time_limit") == 0.25  # restored
