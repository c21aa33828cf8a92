"""The capacitated facility location start (optimizer/solve/capacitated.py, optimizer/classic.py):
its plans are costed exactly, its bound is valid, and a time-limited solve from it reaches the
same optimum as plain branch and bound."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matrices import write_matrix_instance
from scipy.optimize import linprog

from horizon.optimizer.classic import capacitated_problem, primal_start
from horizon.optimizer.pipeline import prepare, solve_prepared
from horizon.optimizer.solve.capacitated import CapacitatedProblem, lagrangian_start
from horizon.optimizer.solve.result import SolveOptions


def transport(problem: CapacitatedProblem, open_: tuple[int, ...]) -> float:
    """Fixed costs plus scipy's transportation LP over the sites `open_` (inf: infeasible)."""
    sites = list(open_)
    n = len(problem.demand)
    cost = problem.cost[:, sites]
    pairs = [(i, k) for i in range(n) for k in range(len(sites)) if np.isfinite(cost[i, k])]
    if not pairs:
        return np.inf
    c = np.array([cost[i, k] for i, k in pairs])
    a_eq = np.zeros((n, len(pairs)))
    a_ub = np.zeros((len(sites), len(pairs)))
    for col, (i, k) in enumerate(pairs):
        a_eq[i, col] = 1.0
        a_ub[k, col] = 1.0
    caps = np.minimum(problem.capacity[sites], problem.demand.sum())
    res = linprog(c, A_ub=a_ub, b_ub=caps, A_eq=a_eq, b_eq=problem.demand, bounds=(0, None), method="highs")
    return float(res.fun) + float(problem.fixed[sites].sum()) if res.status == 0 else np.inf


def brute(problem: CapacitatedProblem) -> float:
    m = problem.n_sites
    must = set(np.flatnonzero(problem.lower > 0).tolist())
    best = np.inf
    for k in range(1, m + 1):
        for sites in itertools.combinations(range(m), k):
            if must <= set(sites):
                best = min(best, transport(problem, sites))
    return best


def random_problem(seed: int, holes: bool, existing: bool) -> CapacitatedProblem:
    rng = np.random.default_rng(seed)
    n, m = 8, 5
    cost = rng.integers(1, 20, (n, m)).astype(float)
    if holes:
        cost[rng.random((n, m)) < 0.3] = np.inf
        cost[np.arange(n), rng.integers(0, m, n)] = rng.integers(1, 20, n)
    demand = rng.integers(1, 10, n).astype(float)
    capacity = rng.uniform(0.3, 0.8, m) * demand.sum()
    capacity[rng.random(m) < 0.2] = np.inf
    lower = np.zeros(m)
    if existing:
        lower[0] = 1.0
    return CapacitatedProblem(cost, demand, capacity, rng.integers(5, 60, m).astype(float), lower)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.booleans(), st.booleans())
def test_lagrangian_plan_is_costed_exactly_and_its_bound_is_valid(seed, holes, existing):
    problem = random_problem(seed, holes, existing)
    optimum = brute(problem)
    found = lagrangian_start(problem, time.perf_counter() + 2.0, SolveOptions())
    if not np.isfinite(optimum):
        assert found.open is None
        return
    assert found.open is not None and found.objective is not None
    sites = tuple(np.flatnonzero(found.open > 0).tolist())
    assert set(np.flatnonzero(problem.lower > 0).tolist()) <= set(sites)
    assert found.objective == pytest.approx(transport(problem, sites), rel=1e-7)  # an exact cost
    assert found.objective >= optimum - 1e-6
    assert found.bound is not None and found.bound <= optimum + 1e-6


def cflp(tmp_path: Path, seed: int = 3, n: int = 30, m: int = 8) -> Path:
    rng = np.random.default_rng(seed)
    dist = rng.integers(1, 40, (m, n)).astype(float)
    weights = rng.integers(1, 9, n).astype(float)
    capacity = list(rng.uniform(0.2, 0.35, m) * weights.sum())
    fixed = list(rng.integers(50, 200, m).astype(float))
    return write_matrix_instance(tmp_path / "cflp.yaml", dist, weights, fixed=fixed, capacity=capacity)


def test_time_limited_solve_starts_from_the_plan_and_keeps_the_optimum(tmp_path):
    prep = prepare(cflp(tmp_path))
    plain, _ = solve_prepared(prep, SolveOptions(start="none"))
    started, _ = solve_prepared(prep, SolveOptions(time_limit=60))
    assert plain.status == started.status == "optimal"
    assert started.objective == pytest.approx(plain.objective, rel=1e-9)
    assert "Lagrangian heuristic" in started.message
    incumbent = primal_start(prep.instance, prep.arcs, prep.model, SolveOptions(time_limit=60))
    assert incumbent is not None
    assert incumbent.objective >= plain.objective - 1e-6
    assert float(prep.model.cost() @ incumbent.values) == pytest.approx(incumbent.objective, rel=1e-9)


def test_no_start_without_a_limit_or_off_its_structure(tmp_path):
    prep = prepare(cflp(tmp_path))
    assert primal_start(prep.instance, prep.arcs, prep.model, SolveOptions()) is None  # no limit
    assert primal_start(prep.instance, prep.arcs, prep.model, SolveOptions(time_limit=10, solver="cbc")) is None
    reserve = prepare(None)  # the bundled instance: several scenarios and types, not a facility location
    assert capacitated_problem(reserve.instance, reserve.arcs) is None
    assert "Lagrangian" not in solve_prepared(prepare(cflp(tmp_path)), SolveOptions(time_limit=60, start="none"))[0].message
