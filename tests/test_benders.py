"""Benders master of the hubs-only relaxation (`horizon.optimizer.solve.benders`): the same optimum as one
HiGHS MIP over the extensive form, round after round with hub sets excluded, and every cut
a valid lower bound on its block's cost."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.pipeline import prepare
from horizon.optimizer.solve.benders import HubsOnlyMaster, applies, blocks
from horizon.optimizer.solve.hubsets import _HighsMaster, hubs_only_master
from horizon.optimizer.solve.result import SolveOptions

REL = 1e-6


def _prepared(seed: int, scenarios: int = 12, **kw):
    return prepare(Instance.from_spec(generate_spec(14, 6, 4, scenarios, seed, **kw)))


@pytest.mark.parametrize(("seed", "kw"), [(1, {}), (2, {}), (3, {}), (4, {"deadlines": "soft"}), (5, {"split_loads": True})])
def test_rounds_match_one_highs_mip(seed: int, kw: dict) -> None:
    """Three rounds, each excluding the hub set the last one found: the Benders master's
    optimum is the extensive-form MIP's, its bound never above it (soft deadlines: unmet
    units in the blocks; split loads: unit counts)."""
    lm = _prepared(seed, **kw).model
    benders, plain = HubsOnlyMaster(lm, SolveOptions()), _HighsMaster(lm, SolveOptions())
    for _ in range(3):
        mine, theirs = benders.minimise(), plain.minimise()
        if theirs.status == "closed":  # every hub set excluded
            assert mine.status == "closed"
            return
        assert mine.status == theirs.status == "optimal"
        assert mine.hubs is not None and theirs.hubs is not None
        assert mine.bound <= theirs.bound * (1 + 1e-9) + 1e-6
        assert mine.floor is not None and mine.floor <= theirs.bound * (1 + 1e-9) + 1e-6
        assert mine.value == pytest.approx(theirs.bound, rel=REL)
        assert mine.bound == pytest.approx(theirs.bound, rel=REL)
        # ties aside, the same hub set
        if not np.array_equal(np.round(mine.hubs), np.round(theirs.hubs)):
            again = _HighsMaster(lm, SolveOptions())
            again.h.changeColsBounds(len(again.ys), again.ys, mine.hubs, mine.hubs)
            assert again.minimise().bound == pytest.approx(theirs.bound, rel=REL)
        benders.exclude(mine.hubs)
        plain.exclude(mine.hubs)


def test_a_target_closes_the_master_or_names_a_hub_set_below_it() -> None:
    lm = _prepared(2).model
    first = HubsOnlyMaster(lm, SolveOptions()).minimise()
    assert first.status == "optimal" and first.value is not None
    # nothing can be below the relaxation's own optimum
    closed = HubsOnlyMaster(lm, SolveOptions()).minimise(target=first.bound * (1 - 1e-6))
    assert closed.status == "closed"
    # just above it: the optimal hub set (or one as cheap) is found
    found = HubsOnlyMaster(lm, SolveOptions()).minimise(target=first.value * (1 + 1e-4))
    assert found.status == "found" and found.hubs is not None


def test_cuts_are_valid_lower_bounds_on_block_costs() -> None:
    """Every cut row θ_j ≥ q + g·v holds at first-stage points the cuts were not made at:
    random points in the first stage's box, evaluated through the blocks."""
    lm = _prepared(3).model
    m = HubsOnlyMaster(lm, SolveOptions())
    m.minimise()
    lp = m.master.getLp()
    a = lp.a_matrix_
    n_rows, nf = m.master.getNumRow(), m.nf
    dense = np.zeros((n_rows, lp.num_col_))
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    for col in range(lp.num_col_):
        dense[index[start[col] : start[col + 1]], col] = value[start[col] : start[col + 1]]
    cuts = np.flatnonzero(np.isfinite(m.seen))
    assert len(cuts) > 0
    rng = np.random.default_rng(0)
    lower = np.asarray(lp.row_lower_)
    for _ in range(20):
        v = rng.uniform(m.lo, np.where(np.isfinite(m.up), m.up, m.lo + 10.0))
        q, _, _ = m.evaluate(v)
        for r in cuts:
            block = int(np.flatnonzero(dense[r, nf:])[0])
            # row: −g v + θ_j ≥ rhs  ⇒  the cut's value at v is rhs + g v
            cut_at_v = lower[r] - dense[r, :nf] @ v
            assert cut_at_v <= q[block] + 1e-6 * max(1.0, abs(q[block]))


def test_blocks_are_independent() -> None:
    """No row of one block touches another block's columns."""
    lm = _prepared(1).model
    first, second, col_block, sub_rows, row_block = blocks(lm)
    a = lm.matrix()[sub_rows][:, second].tocoo()
    assert np.array_equal(row_block[a.row], col_block[a.col])
    assert len(np.intersect1d(first, second)) == 0


def test_which_master() -> None:
    """Many scenarios: Benders; one scenario: one HiGHS MIP."""
    many = _prepared(1).model
    one = _prepared(1, scenarios=1).model
    assert applies(many) and isinstance(hubs_only_master(many, SolveOptions()), HubsOnlyMaster)
    assert not applies(one) and isinstance(hubs_only_master(one, SolveOptions()), _HighsMaster)


def test_time_limit_gives_a_valid_bound_or_none() -> None:
    lm = _prepared(4).model
    optimum = _HighsMaster(lm, SolveOptions()).minimise().bound
    r = HubsOnlyMaster(lm, SolveOptions()).minimise(deadline=0.0)
    assert r.status == "time"
    assert r.bound is None or r.bound <= optimum * (1 + 1e-9)


def test_seen_reports_hub_sets_with_their_relaxation() -> None:
    """`seen` gets each hub set a round prices, with R(Y) (what one HiGHS MIP with the hubs
    fixed gives) and the master's bound then, never above it: what hubs first hands over."""
    lm = _prepared(2).model
    calls: list[tuple[np.ndarray, float, float]] = []
    r = HubsOnlyMaster(lm, SolveOptions()).minimise(seen=lambda hubs, value, bound: calls.append((hubs.copy(), value, bound)))
    assert r.status == "optimal" and calls
    assert np.array_equal(calls[-1][0], r.hubs)
    for hubs, value, bound in calls:
        assert bound <= value * (1 + 1e-9)
        fixed = _HighsMaster(lm, SolveOptions())
        fixed.h.changeColsBounds(len(fixed.ys), fixed.ys, hubs, hubs)
        assert value == pytest.approx(fixed.minimise().bound, rel=REL)


def test_an_lp_master_keeps_the_time_left_after_long_runs() -> None:
    """HiGHS holds an LP's time limit against the object's run clock, which counts every
    earlier run: a round's LP iterations (hubs fixed) must still get the time left, not
    stop once the master has run that long in all."""
    lm = _prepared(2).model
    m = HubsOnlyMaster(lm, SolveOptions())
    r = m.minimise()
    assert r.status == "optimal" and r.hubs is not None
    ys = m.ys
    m.master.changeColsIntegrality(len(ys), ys, [highspy.HighsVarType.kContinuous] * len(ys))
    m.integral = False
    for _ in range(20_000):  # re-solved from scratch until the clock reads well past the limit
        if m.master.getRunTime() > 0.5:
            break
        m.master.clearSolver()
        m.master.run()
    assert m.master.getRunTime() > 0.5
    m.master.changeColsBounds(len(ys), ys, r.hubs, r.hubs)  # a change: this run has work to do
    m.master.clearSolver()
    status, bound, _, _ = m._solve_master(0.2)
    assert status == "optimal" and np.isfinite(bound)


def _faulty_runs(
    m: HubsOnlyMaster, faults: int, fault: highspy.HighsModelStatus = highspy.HighsModelStatus.kUnknown
) -> list[bool]:
    """The master's first `faults` runs end with the model status `fault` ("Unknown", as one
    did at 400 scenarios, iteration 79 of the hubs-only relaxation); later runs are normal."""
    real_run, real_status, runs = m.master.run, m.master.getModelStatus, []

    def run() -> object:
        runs.append(len(runs) < faults)
        return real_run()

    def status() -> highspy.HighsModelStatus:
        return fault if runs and runs[-1] else real_status()

    m.master.run = run  # type: ignore[method-assign]
    m.master.getModelStatus = status  # type: ignore[method-assign]
    return runs


def test_a_master_run_that_fails_is_repeated_from_a_fresh_start() -> None:
    """A master LP that ends with no usable answer is run once more without its basis; the
    relaxation's optimum is then the same as without the fault."""
    lm = _prepared(2).model
    clean = HubsOnlyMaster(lm, SolveOptions()).minimise()
    m = HubsOnlyMaster(lm, SolveOptions())
    runs = _faulty_runs(m, 1)
    r = m.minimise()
    assert len(runs) > 2 and m.restarts == 1
    assert r.status == clean.status == "optimal"
    assert r.bound == pytest.approx(clean.bound, rel=REL) and np.array_equal(r.hubs, clean.hubs)


def test_a_master_that_fails_twice_says_so() -> None:
    """Failing from a fresh start too, the round ends "failed", not as out of time."""
    m = HubsOnlyMaster(_prepared(2).model, SolveOptions())
    _faulty_runs(m, 2)
    assert m.minimise().status == "failed" and m.restarts == 1


def test_an_interrupted_master_run_stops_the_round_without_a_retry() -> None:
    """An interrupt is an answer, not a failure: the round ends "stopped", nothing repeated."""
    m = HubsOnlyMaster(_prepared(2).model, SolveOptions())
    runs = _faulty_runs(m, 1, highspy.HighsModelStatus.kInterrupt)
    assert m.minimise().status == "stopped" and m.restarts == 0 and len(runs) == 1
