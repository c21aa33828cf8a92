"""Two searches side by side (`horizon.optimizer.solve.concurrent`): the same optimum, plans and bounds
that travel between them, and a status that follows from the best of both."""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from recheck import recheck

from horizon.cli import main
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.writer import write_instance
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.pipeline import prepare, solve_prepared
from horizon.optimizer.solve.concurrent import Peer, merge
from horizon.optimizer.solve.exchange import Exchange
from horizon.optimizer.solve.highs import configure, new_highs, pass_model, run_highs
from horizon.optimizer.solve.result import SolveOptions, SolveResult
from horizon.optimizer.solve.starts import single_search
from horizon.optimizer.solve.strategy import solve_highs

REL = 1e-6


@pytest.fixture(scope="module")
def prepared():
    return prepare(Instance.from_spec(generate_spec(14, 6, 4, 12, 2)))


@pytest.fixture(scope="module")
def optimum(prepared) -> tuple[float, np.ndarray]:
    result, values = solve_highs(prepared.model, SolveOptions(start="none"))
    assert result.status == "optimal" and values is not None
    return float(result.objective), values


def _exchange(messages: list[tuple] = (), gap: float = 0.0) -> tuple[Exchange, queue.Queue]:
    inbox, outbox = queue.Queue(), queue.Queue()
    for m in messages:
        inbox.put(m)
    return Exchange(inbox, outbox, gap), outbox


def _result(status: str, objective: float | None, bound: float | None, message: str = "HiGHS") -> SolveResult:
    gap = None if objective is None or bound is None else abs(objective - bound) / abs(objective)
    return SolveResult(status, objective, bound, gap, "highs", "1", 1.0, 0.0, objective is not None, message)


def test_concurrent_finds_the_optimum_and_says_so(prepared, optimum) -> None:
    sol, result = solve_prepared(prepared, SolveOptions(start="concurrent", time_limit=120))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(optimum[0], rel=REL)
    assert sol.gap == 0.0
    assert "concurrent: hubs first in a second process" in result.message
    assert recheck(prepared.instance, sol) == []


def test_the_exchange_keeps_the_best_plan_and_bound_and_hears_stop() -> None:
    share, outbox = _exchange(
        [("plan", 10.0, np.ones(2)), ("bound", 7.0), ("plan", 9.0, np.zeros(2)), ("plan", 12.0, np.ones(2)), ("bound", 6.0)]
    )
    share.poll(force=True)
    assert share.plan is not None and share.plan[0] == 9.0 and np.all(share.plan[1] == 0)
    assert share.bound == 7.0 and share.plans_received == 3 and not share.stopped
    assert not share.done(None) and not share.done(9.5)
    assert share.done(7.0) and share.done(9.5, own_bound=9.0)  # own plan or peer's, either bound
    assert not share.done(5.0)  # a plan below the bound: the bound is wrong, nothing is proven
    share.inbox.put(("stop",))
    share.poll(force=True)
    assert share.stopped
    # only improving plans and rising bounds are sent
    for objective in (5.0, 6.0, 4.0):
        share.send_plan(objective, np.ones(2))
    for bound in (1.0, 0.5, float("-inf"), 2.0, None):
        share.send_bound(bound)
    sent = [outbox.get_nowait() for _ in range(outbox.qsize())]
    assert [(m[0], m[1]) for m in sent] == [("plan", 5.0), ("plan", 4.0), ("bound", 1.0), ("bound", 2.0)]


def test_the_gap_tolerance_decides_done() -> None:
    share, _ = _exchange([("bound", 99.0)], gap=0.02)
    share.poll(force=True)
    assert share.done(100.0)
    assert not _exchange([("bound", 99.0)])[0].done(100.0)


def test_a_peer_plan_and_bound_at_it_end_the_run(prepared, optimum) -> None:
    """Handed the optimum and a bound at it, a search stops at once; the merge proves it."""
    objective, values = optimum
    share, _ = _exchange([("plan", objective, values), ("bound", objective)])
    result, got = single_search(prepared.model, SolveOptions(start="none", time_limit=60), share)
    assert result.status != "optimal" and "Interrupted" in result.message
    merged, plan = merge(result, got, share, 0, result.seconds)
    assert merged.status == "optimal" and merged.gap == 0.0 and merged.bound == merged.objective
    assert merged.objective == pytest.approx(objective, rel=REL) and plan is not None


def test_a_run_after_a_yielded_one_on_the_same_highs_is_whole(prepared, optimum) -> None:
    """A run that yields to an assignment is interrupted; HiGHS keeps that request on its
    object, so the next watched run there must clear it rather than stop at once."""
    h = new_highs()
    configure(h, SolveOptions())
    pass_model(h, prepared.model)
    share, _ = _exchange([("assign", (1,), np.ones(1), None, 1.0)])
    share.poll(force=True)
    with share.watch(h, plans=False, inject=False, yield_work=True):
        yielded, _ = run_highs(h, mip=True)
    assert yielded.message.startswith("Interrupted")
    share.assignments.clear()
    with share.watch(h, plans=False, inject=False, yield_work=True):
        whole, _ = run_highs(h, mip=True)
    assert whole.status == "optimal" and whole.objective == pytest.approx(optimum[0], rel=REL)


def test_a_peer_plan_becomes_the_incumbent(prepared, optimum) -> None:
    objective, values = optimum
    share, _ = _exchange([("plan", objective, values)])
    result, got = single_search(prepared.model, SolveOptions(start="none", time_limit=60), share)
    assert share.plans_given == 1
    assert result.status == "optimal" and result.objective == pytest.approx(objective, rel=REL)


@pytest.mark.parametrize("peer_plan", [True, False])
def test_an_untrusted_relaxation_plans_within_the_peer_plans_hubs(prepared, optimum, monkeypatch, peer_plan) -> None:
    import horizon.optimizer.solve.starts as solve

    monkeypatch.setattr(solve, "HUBS_FIRST_MAX_GAP", -1.0)  # no relaxation is trusted
    objective, values = optimum
    share, _ = _exchange([("plan", objective, values)] if peer_plan else [])
    lm = prepared.model
    h = solve.new_highs()
    solve.configure(h, SolveOptions(time_limit=60))
    solve.pass_model(h, lm)
    start = solve.hubs_first_start(h, lm, SolveOptions(time_limit=60), share)
    if peer_plan:  # the optimum's hubs fixed: the optimum again, found by this search
        assert "the other search's plan's" in start.note
        assert start.objective == pytest.approx(objective, rel=REL)
        y = lm.vars["open_hub"]
        assert np.allclose(start.values[y.start : y.start + y.size], values[y.start : y.start + y.size])
    else:  # nothing to plan within: the plans are left to the other search
        assert "hubs not used" in start.note and start.values is None
    assert start.lp_bound is not None and start.lp_bound <= objective * (1 + REL)


def test_merge_takes_the_better_plan_and_the_better_bound() -> None:
    share, _ = _exchange([("plan", 100.0, np.array([2.0])), ("bound", 98.0)])
    share.poll(force=True)
    merged, values = merge(_result("feasible", 105.0, 95.0), np.array([1.0]), share, 0, 3.0)
    assert merged.status == "feasible" and merged.objective == 100.0 and merged.bound == 98.0
    assert merged.gap == pytest.approx(0.02) and values is not None and values[0] == 2.0
    assert "its plan is the best" in merged.message and merged.seconds == 3.0
    # this search's plan meets the peer's bound: optimal, though neither proved it alone
    share, _ = _exchange([("bound", 105.0)])
    share.poll(force=True)
    merged, values = merge(_result("feasible", 105.0, 95.0, "Interrupted by user"), np.array([1.0]), share, 0, 3.0)
    assert merged.status == "optimal" and merged.gap == 0.0 and merged.bound == 105.0
    assert merged.message.startswith("Optimal (the best plan meets the best bound")
    # an infeasible model stays infeasible; a peer that died is named
    share, _ = _exchange()
    merged, values = merge(_result("infeasible", None, None), None, share, 1, 3.0)
    assert merged.status == "infeasible" and values is None and "exit code 1" in merged.message


def test_merge_ignores_a_peer_bound_above_a_feasible_plan() -> None:
    share, _ = _exchange([("bound", 101.0)])
    share.poll(force=True)
    merged, _ = merge(_result("feasible", 100.0, 90.0), np.array([1.0]), share, 0, 1.0)
    assert merged.bound == 90.0 and merged.status == "feasible" and "is ignored" in merged.message
    # within round-off it is the proof it seems
    share, _ = _exchange([("bound", 100.0 + 1e-7)])
    share.poll(force=True)
    merged, _ = merge(_result("feasible", 100.0, 90.0), np.array([1.0]), share, 0, 1.0)
    assert merged.bound == 100.0 and merged.status == "optimal"


def test_cli_concurrent(prepared, optimum, tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    write_instance(prepared.instance.spec, path)
    res = CliRunner().invoke(main, ["solve", str(path), "--start", "concurrent", "--time-limit", "120", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["status"] == "optimal"
    assert data["objective"] == pytest.approx(optimum[0], rel=REL)


def test_a_search_whose_parent_has_gone_stops() -> None:
    share, _ = _exchange()
    share.poll(force=True)
    assert not share.stopped
    share._parent = -1  # as if the process that started this one had exited
    share.poll(force=True)
    assert share.stopped


@pytest.mark.parametrize("seed", [1, 3])
def test_every_plan_and_bound_a_search_sends_is_valid(seed: int) -> None:
    """What hubs first streams to its peer: plans feasible row by row and no better than the
    optimum, bounds no higher than it."""
    prep = prepare(Instance.from_spec(generate_spec(14, 6, 4, 12, seed)))
    optimum = solve_highs(prep.model, SolveOptions(start="none"))[0].objective
    share, outbox = _exchange()
    single_search(prep.model, SolveOptions(start="hubs-first"), share)
    sent = [outbox.get_nowait() for _ in range(outbox.qsize())]
    plans = [m for m in sent if m[0] == "plan"]
    bounds = [m[1] for m in sent if m[0] == "bound"]
    assert plans and bounds
    assert all(b <= optimum * (1 + REL) for b in bounds)
    lower, upper, integer = prep.model.col_bounds()
    lo, up = prep.model.row_bounds()
    for _, objective, v in plans:
        assert objective >= optimum * (1 - REL)
        assert np.all(v >= lower - 1e-6) and np.all(v <= upper + 1e-6)
        assert np.allclose(v[integer], np.round(v[integer]), atol=1e-6)
        act = prep.model.matrix() @ v
        assert np.all(act >= lo - 1e-6) and np.all(act <= up + 1e-6)
        assert prep.model.cost() @ v == pytest.approx(objective, rel=1e-6)


def test_a_delayed_second_search_starts_from_the_running_search(prepared, optimum) -> None:
    """`second_after`: the second process starts from the first search's HiGHS callback."""
    result, values = solve_highs(prepared.model, SolveOptions(start="concurrent", second_after=1e-3, time_limit=120))
    assert result.status == "optimal" and values is not None
    assert result.objective == pytest.approx(optimum[0], rel=REL)
    assert "concurrent: hubs first in a second process" in result.message


def test_a_search_done_before_the_second_is_due_runs_alone(prepared, optimum) -> None:
    result, values = solve_highs(prepared.model, SolveOptions(start="concurrent", second_after=1e9, time_limit=120))
    assert result.status == "optimal" and values is not None
    assert result.objective == pytest.approx(optimum[0], rel=REL)
    assert result.message == "Optimal"


def test_the_peer_starts_once_when_due() -> None:
    class Process:
        starts = 0

        def start(self) -> None:
            self.starts += 1

    process = Process()
    later = Peer(process, time.monotonic() + 3600)  # type: ignore[arg-type]
    later.due()
    assert not later.started and process.starts == 0
    now = Peer(process, time.monotonic())  # type: ignore[arg-type]
    now.due()
    now.due()
    assert now.started and process.starts == 1
