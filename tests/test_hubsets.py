"""Hub-set search (`horizon.optimizer.solve.hubsets`): a proof only where the optimum is reached, a better
plan found from a poor one, and a valid bound when it is stopped."""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time

import numpy as np
import pytest
from recheck import recheck

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.pipeline import prepare, solve_prepared
from horizon.optimizer.solve.exchange import Exchange
from horizon.optimizer.solve.highs import configure, new_highs, pass_model, run_highs
from horizon.optimizer.solve.hubsets import search, serve
from horizon.optimizer.solve.result import SolveOptions, SolveResult

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
    rounds = int(note.split("search: ")[1].split(" ")[0])
    assert rounds >= 2 and "0 better plan" not in note


@pytest.mark.parametrize("seed", [2, 3])
def test_a_search_within_a_gap_tolerance_keeps_its_promise(seed: int) -> None:
    """With ``mip_gap`` ε the subs stop within ε and the master once its bound reaches the
    plan less ε: the plan is within ε of the optimum and the bound never above it."""
    eps = 0.01
    prep = _prepared(seed)
    optimum = solve_prepared(prep, SolveOptions(start="none"))[0].objective
    hubs = np.ones(prep.model.vars["open_hub"].size)
    plan, cost = _plan_with_hubs(prep, hubs)
    result, values, note = search(prep.model, SolveOptions(mip_gap=eps), plan, cost, None)
    assert result.status == "optimal", note
    assert optimum * (1 - REL) <= result.objective <= optimum * (1 + eps)
    assert result.bound is not None and result.objective * (1 - eps) * (1 - REL) <= result.bound <= optimum * (1 + REL)
    assert prep.model.cost() @ values == pytest.approx(result.objective, rel=REL)


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


def _helper(lm, inbox, outbox) -> None:  # noqa: ANN001 - runs in a spawned process
    """The helper's side, as the first process of a concurrent run plays it."""
    share = Exchange(inbox, outbox, 0.0)
    share.offer_help()
    own = SolveResult("no_solution", None, None, None, "highs", "1", 0.0, 0.0, False, "stopped")
    serve(lm, SolveOptions(time_limit=120.0), share, own, None, time.perf_counter())


@pytest.mark.parametrize("seed", [2, 3])
def test_a_search_beside_a_helper_process_proves_the_optimum(seed: int) -> None:
    """Master rounds here, fixed-hub models in a real second process (`serve`): the same
    optimum as branch and bound, with sets settled by the helper's reports, and the
    helper's plans taken."""
    prep = _prepared(seed)
    optimum = solve_prepared(prep, SolveOptions(start="none"))[0].objective
    hubs = np.ones(prep.model.vars["open_hub"].size)
    plan, cost = _plan_with_hubs(prep, hubs)
    ctx = mp.get_context("spawn")
    to_helper, from_helper = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_helper, args=(prep.model, to_helper, from_helper), daemon=True)
    proc.start()
    share = Exchange(from_helper, to_helper, 0.0)
    share.peer_gone = lambda: not proc.is_alive()
    try:
        end = time.monotonic() + 60
        while not share.helper and time.monotonic() < end:
            share.poll(force=True)
            time.sleep(0.05)
        assert share.helper, "the helper never said it was ready"
        # the first candidate is worked on by the helper already, as hubs first's step 2
        first = share.assign(np.zeros_like(hubs) + (np.arange(len(hubs)) % 2), None, cost)
        result, values, note = search(prep.model, SolveOptions(time_limit=120), plan, cost, None, share)
    finally:
        share.stop_peer()
        proc.join(30)
        if proc.is_alive():
            proc.terminate()
    assert result.status == "optimal", note
    assert result.objective == pytest.approx(optimum, rel=REL)
    assert prep.model.cost() @ values == pytest.approx(optimum, rel=REL)
    assert "by the other process" in note and first not in share.assigned


def test_a_search_at_its_time_limit_waits_for_the_helpers_last_bound() -> None:
    """A hub set still at the helper when time runs out: its report, sent as the helper's
    sub ends at the limit, still reaches the search, and its bound (not the floor) holds."""
    prep = _prepared(5, scenarios=20)
    optimum = solve_prepared(prep, SolveOptions(start="none"))[0].objective
    hubs = np.ones(prep.model.vars["open_hub"].size)
    plan, cost = _plan_with_hubs(prep, hubs)
    inbox, outbox = queue.Queue(), queue.Queue()
    share = Exchange(inbox, outbox, 0.0)
    inbox.put(("ready",))
    share.poll(force=True)
    key = share.assign(np.arange(len(hubs)) % 2, None, cost)
    reported = 0.9 * optimum  # the helper's sub's bound at the limit
    limit = 2.0
    timer = threading.Timer(limit + 0.3, lambda: inbox.put(("report", key, "feasible", reported)))
    timer.start()
    floor = 0.5 * optimum
    try:
        result, _, note = search(prep.model, SolveOptions(time_limit=limit), plan, cost, floor, share)
    finally:
        timer.cancel()
    assert "1 left open by unfinished subs" in note and "time limit reached" in note
    assert key not in share.assigned
    assert result.bound is not None and floor < result.bound <= reported * (1 + REL)


def test_the_exchange_tracks_assignments_until_reported() -> None:
    inbox, outbox = queue.Queue(), queue.Queue()
    share = Exchange(inbox, outbox, 0.0)
    assert not share.idle_helper()  # the peer has not offered help
    inbox.put(("ready",))
    share.poll(force=True)
    assert share.idle_helper()
    key = share.assign(np.array([1.0, 0.0, 1.0]), 100.0, 50.0)
    assert key == (1, 0, 1) and share.assigned == {key: 100.0} and not share.idle_helper()
    kind, sent_key, hubs, cut, scale = outbox.get_nowait()
    assert (kind, sent_key, list(hubs), cut, scale) == ("assign", key, [1.0, 0.0, 1.0], 100.0, 50.0)
    # the helper's side of the same messages
    helper = Exchange(queue.Queue(), queue.Queue(), 0.0)
    helper.inbox.put((kind, sent_key, hubs, cut, scale))
    helper.poll(force=True)
    assert helper.assignments[0][0] == key and helper.assignments[0][2:] == (100.0, 50.0)
    helper.report(key, "infeasible", None)
    inbox.put(helper.outbox.get_nowait())
    share.poll(force=True)
    assert share.reports == [(key, "infeasible", None)]


@pytest.mark.parametrize("cost", [1.0, 417_681_036.19, 474_284_503.77, 3.3e12])
def test_a_bound_proven_at_the_tolerance_meets_it(cost: float) -> None:
    """The search proves U(1 − ε); its gap is ε only to the last bits and must count as met."""
    from horizon.optimizer.solve.result import relative_gap, within_gap

    for eps in (1e-4, 1e-3, 0.01):
        assert within_gap(relative_gap(cost, cost * (1 - eps)), eps)
        assert not within_gap(relative_gap(cost, cost * (1 - 2 * eps)), eps)
    assert within_gap(relative_gap(cost, cost), 0.0)
