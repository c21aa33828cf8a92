"""Hub-set search (`optimizer.hubsets`): a proof only where the optimum is reached, a better
plan found from a poor one, and a valid bound when it is stopped."""

from __future__ import annotations

import numpy as np
import pytest
from recheck import recheck

from optimizer.generate import generate_spec
from optimizer.hubsets import search
from optimizer.instance import Instance
from optimizer.pipeline import prepare, solve_prepared
from optimizer.solve import SolveOptions, configure, new_highs, pass_model, run_highs

REL = 1e-6


def _prepared(seed: int, scenarios: int = 12):
    return prepare(Instance.from_spec(generate_spec(14, 6, 4, scenarios, seed)))


def _plan_with_hubs(prep, hubs: np.ndarray) -> tuple[np.ndarray, float]:
    """The optimum with the hubs fixed to `hubs` (a plan the search may start from)."""
    h = new_highs()
    configure(h, SolveOptions())
    pass_model(h, prep.model)
    y = prep.model.vars["open_hub"]
    ys = np.arange(y.start, y.start + y.size, dtype=np.int32)
    h.changeColsBounds(len(ys), ys, hubs, hubs)
    result, values = run_highs(h, mip=True)
    assert result.status == "optimal" and values is not None and result.objective is not None
    return values, result.objective


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_hubs_first_ends_with_a_proof_at_the_optimum(seed: int) -> None:
    prep = _prepared(seed)
    optimum = solve_prepared(prep, SolveOptions(start="none"))[0].objective
    sol, result = solve_prepared(prep, SolveOptions(start="hubs-first"))
    assert "hub-set search" in result.message and "proven" in result.message
    assert sol.status == "optimal" and sol.gap == 0.0
    assert sol.objective == pytest.approx(optimum, rel=REL)
    assert sol.bound == pytest.approx(optimum, rel=REL)
    assert recheck(prep.instance, sol) == []


@pytest.mark.parametrize("seed", [2, 3])
def test_a_poor_plan_is_bettered_and_the_optimum_proven(seed: int) -> None:
    """From the plan with every hub open (far from optimal), the master proposes other hub
    sets round after round (the interrupt flag HiGHS keeps between runs must not end them)."""
    prep = _prepared(seed)
    optimum = solve_prepared(prep, SolveOptions(start="none"))[0].objective
    hubs = np.ones(prep.model.vars["open_hub"].size)
    plan, cost = _plan_with_hubs(prep, hubs)
    assert cost > optimum * (1 + 1e-3)
    result, values, note = search(prep.model, SolveOptions(), plan, cost, None)
    assert result.status == "optimal", note
    assert result.objective == pytest.approx(optimum, rel=REL)
    assert prep.model.cost() @ values == pytest.approx(optimum, rel=REL)
    rounds = int(note.split("search: ")[1].split(" master")[0])
    assert rounds >= 2 and "0 better plan" not in note


def test_a_stopped_search_keeps_a_valid_bound_and_its_best_plan() -> None:
    prep = _prepared(5, scenarios=20)
    optimum = solve_prepared(prep, SolveOptions(start="none"))[0].objective
    hubs = np.ones(prep.model.vars["open_hub"].size)
    plan, cost = _plan_with_hubs(prep, hubs)
    floor = 0.5 * optimum  # a valid (weak) bound the caller already had
    result, values, note = search(prep.model, SolveOptions(time_limit=0.6), plan, cost, floor)
    assert result.objective is not None and result.objective >= optimum * (1 - REL)
    assert result.objective <= cost * (1 + REL)
    assert prep.model.cost() @ values == pytest.approx(result.objective, rel=REL)
    assert result.bound is not None and floor <= result.bound <= optimum * (1 + REL)
    if result.status != "optimal":
        assert "time limit reached" in note and result.gap is not None and result.gap > 0
