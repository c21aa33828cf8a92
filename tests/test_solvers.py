"""Solvers behind one interface: every available solver agrees with HiGHS on small instances,
time-limited runs are reported honestly, licence limits and missing solvers are clear errors.

A solver that is not installed here is skipped with the reason `horizon solvers` gives."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from horizon.cli import main
from horizon.models.linear import LinearModel
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.orlib import read_cap
from horizon.optimizer.errors import InputError
from horizon.optimizer.pipeline import prepare
from horizon.optimizer.planning.bench import max_violation
from horizon.optimizer.solve.adapters import (
    REGISTRY,
    get_solver,
    parse_cbc_bound,
    parse_cbc_solution,
    parse_glpk_bound,
    parse_glpk_raw,
)
from horizon.optimizer.solve.result import SolveOptions, gap_of

ROOT = Path(__file__).parent.parent
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"
UN = ROOT / "instances" / "un-2009.yaml"
ORLIB = ROOT / "tests" / "data" / "orlib"
INSTANCES = [TINY, *sorted((ROOT / "tests" / "instances").glob("*.yaml"))]
if (ORLIB / "cap41.txt").exists():
    INSTANCES.append(ORLIB / "cap41.txt")
CAP41_OPTIMUM = 1040444.375
OTHERS = [n for n in REGISTRY if n != "highs"]


def need(name: str):
    ok, reason = REGISTRY[name].available()
    if not ok:
        pytest.skip(f"{name} not available: {reason}")
    return REGISTRY[name]


_prepared: dict[Path, object] = {}
_reference: dict[Path, tuple] = {}


def prepared(path: Path):
    if path not in _prepared:
        if path.suffix == ".txt":
            _prepared[path] = prepare(Instance.from_spec(read_cap(path), source=str(path)))
        else:
            _prepared[path] = prepare(path)
    return _prepared[path]


def reference(path: Path):
    if path not in _reference:
        _reference[path] = REGISTRY["highs"].solve(prepared(path).model, SolveOptions())
    return _reference[path]


def assert_valid(lm: LinearModel, result, values) -> None:
    assert values is not None and values.shape == (lm.n_cols,)
    assert max_violation(lm, values) <= 1e-5
    assert float(lm.cost() @ values) == pytest.approx(result.objective, rel=1e-6, abs=1e-6)


def _licence_limited(result) -> bool:
    return result.status == "error" and "size-limited licence" in result.message


# --- agreement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OTHERS)
@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_solver_agrees_with_highs(name, path):
    solver = need(name)
    ref, _ = reference(path)
    assert ref.status == "optimal"
    lm = prepared(path).model
    result, values = solver.solve(lm, SolveOptions(time_limit=60, threads=1))
    if _licence_limited(result):
        pytest.skip(result.message)
    assert result.status == "optimal", result.message
    assert result.solver == name and result.solver_version not in ("", "unknown")
    assert result.objective == pytest.approx(ref.objective, rel=1e-6)
    assert result.bound == pytest.approx(ref.objective, rel=1e-6)
    assert result.gap is not None and result.gap <= 1e-6
    assert result.seconds >= 0 and result.transfer_seconds >= 0
    assert_valid(lm, result, values)
    if path.stem == "cap41":
        assert result.objective == pytest.approx(CAP41_OPTIMUM, abs=1e-3)


def _edge_model(kind: str = "ok") -> LinearModel:
    """Free and negative-bounded columns, integers unbounded above, a ranged row, a column in no row."""
    lm = LinearModel("edges")
    lm.add_vars("x", 3, lower=[0, -5, 0], upper=[np.inf, 5, np.inf], integer=[True, False, True])
    lm.add_vars("free", 1, lower=-np.inf, upper=np.inf)
    lower = [2.5, -1.0] if kind == "ok" else [2.5, 20.0]  # "clash": a row with lower > upper
    lm.add_rows("r", 2, np.array([0, 0, 1, 1]), np.array([0, 1, 1, 2]), np.array([1.0, 1, 1, -1]), lower=lower, upper=[np.inf, 3])
    lm.add_cost(np.array([0, 1, 2]), np.array([1.0, 1.0, 0.5]))
    return lm


@pytest.mark.parametrize("name", list(REGISTRY))
def test_edge_cases_of_the_mps_exchange(name):
    solver = need(name)
    lm = _edge_model()
    result, values = solver.solve(lm, SolveOptions(time_limit=30))
    assert result.status == "optimal", result.message
    assert result.objective == pytest.approx(2.5)
    assert_valid(lm, result, values)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_row_with_lower_above_upper_is_infeasible(name):
    # HiGHS's MPS writer turns such a row into a valid range, so the file-based path checks first
    solver = need(name)
    result, values = solver.solve(_edge_model("clash"), SolveOptions(time_limit=30))
    assert result.status == "infeasible"
    assert values is None and result.objective is None


@pytest.mark.parametrize("name", OTHERS)
def test_unbounded(name):
    # (HiGHS reports "infeasible or unbounded" here, which optimizer/solve/highs.py maps to infeasible)
    solver = need(name)
    lm = LinearModel("ray")
    lm.add_vars("x", 2, lower=0, upper=np.inf, integer=[True, False])
    lm.add_rows("r", 1, np.array([0, 0]), np.array([0, 1]), np.array([1.0, -1.0]), upper=3)
    lm.add_cost(np.array([0]), np.array([-1.0]))
    result, values = solver.solve(lm, SolveOptions(time_limit=30))
    assert result.status in ("unbounded", "infeasible"), result.message  # some solvers cannot tell which
    assert values is None and result.objective is None


# --- time limits, licences -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(REGISTRY))
def test_time_limited_run_is_honest(name):
    solver = need(name)
    lm = prepared(UN).model
    result, values = solver.solve(lm, SolveOptions(time_limit=1.0, threads=1))
    if _licence_limited(result):
        assert "variables" in result.message and "install a full licence" in result.message
        assert values is None
        return
    assert result.status in ("optimal", "feasible", "no_solution"), result.message
    assert result.seconds < 1.0 + 20  # program start and file reading on a loaded machine
    if result.status == "no_solution":
        assert values is None and result.objective is None and result.gap is None
    else:  # an incumbent is returned with it
        assert_valid(lm, result, values)
        if result.bound is not None:
            assert result.bound <= result.objective + 1e-6 * abs(result.objective)
            assert result.gap == pytest.approx(gap_of(result.objective, result.bound))
    if result.status == "optimal":
        assert result.objective == pytest.approx(reference(UN)[0].objective, rel=1e-6)


@pytest.mark.parametrize("name", ["gurobi", "cplex", "xpress"])
def test_community_size_limit_is_reported_clearly(name):
    solver = need(name)
    n = 3000  # 6000 rows and columns: over every community limit
    lm = LinearModel("big")
    lm.add_vars("x", n, lower=0, upper=10, integer=True)
    idx = np.arange(n)
    lm.add_rows("least", n, idx, idx, np.ones(n), lower=1.0)
    lm.add_cost(idx, np.ones(n))
    result, values = solver.solve(lm, SolveOptions(time_limit=30))
    if result.status == "optimal":  # a full licence is installed here
        assert result.objective == pytest.approx(n)
        return
    assert result.status == "error"
    assert "too large for the size-limited licence" in result.message
    assert f"{n} variables" in result.message
    assert values is None


# --- registry and CLI --------------------------------------------------------------------------


def test_get_solver_unknown_lists_available():
    with pytest.raises(InputError) as err:
        get_solver("nosuch")
    assert "highs" in str(err.value) and "available here" in str(err.value)


def test_get_solver_unavailable(monkeypatch):
    monkeypatch.setattr(type(REGISTRY["glpk"]), "available", lambda self: (False, "no 'glpsol' program (test)"))
    with pytest.raises(InputError, match="not available on this machine: no 'glpsol' program"):
        get_solver("GLPK")


def test_cli_unknown_solver_exit_2():
    result = CliRunner().invoke(main, ["solve", str(TINY), "--solver", "nosuch"])
    assert result.exit_code == 2, result.output
    assert "unknown solver 'nosuch'" in result.output
    assert "Traceback" not in result.output


def test_cli_unavailable_solver_exit_2(monkeypatch):
    monkeypatch.setattr(type(REGISTRY["cbc"]), "available", lambda self: (False, "no 'cbc' program (test)"))
    result = CliRunner().invoke(main, ["solve", str(TINY), "--solver", "cbc"])
    assert result.exit_code == 2, result.output
    assert "no 'cbc' program (test)" in result.output


def test_cli_solvers_table_and_json():
    result = CliRunner().invoke(main, ["solvers"])
    assert result.exit_code == 0, result.output
    for name in REGISTRY:
        assert name in result.output
    rows = json.loads(CliRunner().invoke(main, ["solvers", "--json"]).stdout)
    assert [r["name"] for r in rows] == list(REGISTRY)
    assert rows[0]["available"] is True
    assert all(r["reason"] for r in rows)


@pytest.mark.parametrize("name", OTHERS)
def test_cli_solve_with_solver(name, tmp_path, monkeypatch):
    need(name)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the MPS folder must be cleaned up
    model = tmp_path / "model.lp"
    result = CliRunner().invoke(main, ["solve", "--json", "--solver", name, "--write-model", str(model), str(TINY)])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["solver"] == name and d["status"] == "optimal"
    assert d["objective"] == pytest.approx(200.0)
    assert d["open_hubs"] == ["H2"]
    assert model.exists() and model.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.lp"]


# --- parsers -------------------------------------------------------------------------------------


def test_parse_cbc_solution_statuses():
    st, obj, vals, _ = parse_cbc_solution("Optimal - objective value 2.5\n      0 x[0]   3   1\n**    1 x[1]  -0.5  0\n")
    assert (st, obj, vals) == ("optimal", 2.5, {"x[0]": 3.0, "x[1]": -0.5})
    st, obj, vals, _ = parse_cbc_solution("Stopped on time - objective value 96479.00000000\n      0 y  1  0\n")
    assert (st, obj, vals) == ("feasible", 96479.0, {"y": 1.0})
    st, obj, vals, _ = parse_cbc_solution(
        "Stopped on time (no integer solution - continuous used) - objective value 12.00000000\n      0 y  0.5  0\n"
    )
    assert (st, obj, vals) == ("no_solution", None, {})
    assert parse_cbc_solution("Infeasible - objective value 4.0\n      0 a   4   0\n")[:2] == ("infeasible", None)
    assert parse_cbc_solution("Integer infeasible - objective value 4.0\n")[0] == "infeasible"
    assert parse_cbc_solution("Unbounded - objective value -3.0\n")[0] == "unbounded"
    assert parse_cbc_solution("")[0] == "error"


def test_parse_cbc_bound():
    assert (
        parse_cbc_bound("Result - Stopped on time limit\n\nNo feasible solution found\nLower bound:   74209787.649\n")
        == 74209787.649
    )
    assert parse_cbc_bound("Cbc0005I Partial search - best objective 1e+50 (best possible 74209788), took 0 ...") == 74209788.0
    assert parse_cbc_bound("Result - Optimal solution found\n") is None


def test_parse_glpk():
    raw = "c Problem:\ns mip 2 3 f 7.5\ni 1 1\ni 2 3\nj 1 1\nj 2 0.5\nj 3 2\ne o f\n"
    assert parse_glpk_raw(raw, mip=True) == ("feasible", 7.5, [1.0, 0.5, 2.0])
    assert parse_glpk_raw("s mip 2 3 u 0\nj 1 0\nj 2 0\nj 3 0\n", mip=True)[:2] == ("no_solution", None)
    lp = "s bas 1 2 f f 3.5\ni 1 b 3.5 0\nj 1 b 1.5 0\nj 2 l 2 0\ne o f\n"
    assert parse_glpk_raw(lp, mip=False) == ("optimal", 3.5, [1.5, 2.0])
    log = (
        "+   941: mip =     not found yet >=              -inf        (1; 0)\n"
        "+  3180: >>>>>   7.868876531e+07 >=   7.654457490e+07   2.7% (27; 1)\n"
        "+  3242: >>>>>   7.656502419e+07 >=   7.654477929e+07 < 0.1% (19; 12)\n"
    )
    assert parse_glpk_bound(log) == 7.654477929e07
    assert parse_glpk_bound("+   941: mip =     not found yet >=              -inf        (1; 0)\n") is None


@pytest.mark.parametrize("name", OTHERS)
def test_names_no_reader_takes_fall_back_to_indices(name):
    solver = need(name)
    lm = LinearModel("names")
    lm.add_vars("x", 3, lower=0, upper=[4, 5, 6], integer=True, keys=["with space", "quote'd", "plain"])
    lm.add_rows("cap", 1, np.zeros(3, dtype=int), np.arange(3), np.array([1.0, 1.0, 1.0]), upper=7)
    lm.add_cost(np.arange(3), np.array([-3.0, -2.0, -1.0]))  # fill x[0] to 4, then x[1] to 3
    result, values = solver.solve(lm, SolveOptions(time_limit=30))
    assert result.status == "optimal", result.message
    assert values.tolist() == pytest.approx([4.0, 3.0, 0.0])
