r"""Hub-set search: the exact end of hubs first, proving a plan hub set by hub set.

On large extensive forms the hard part of the proof is the choice of hubs (see
docs/scale.md, "Where the gap is"): the hubs-only relaxation (y integral, all else
continuous) is solved to optimality in minutes and the full model with those hubs fixed
often is too, but branch and bound on the full model does not close the gap that is left.
This search closes it by splitting the optimum over hub sets. With :math:`Y` a set of open
hubs, :math:`F(Y)` the full model's optimum with the hubs fixed to :math:`Y` and
:math:`R(Y) \le F(Y)` the hubs-only relaxation's, the optimum is :math:`\min_Y F(Y)`.
Given a plan of cost :math:`U` and the hub sets :math:`\mathcal S` already settled
(:math:`F(Y) \ge U(1-\epsilon)` proven, or solved):

* **master**: the hubs-only relaxation with, for every :math:`Y\in\mathcal S`, the no-good
  row :math:`\sum_{h\in Y}(1-y_h) + \sum_{h\notin Y} y_h \ge 1`, run until its first
  solution below :math:`U(1-\epsilon)` (a new hub set :math:`Y`), or until its bound
  reaches :math:`U(1-\epsilon)`: then no other hub set can beat :math:`U` even relaxed, so
  :math:`U` is optimal (within :math:`\epsilon`).
* **sub**: the full model with the hubs fixed to :math:`Y` and the cut
  :math:`c^\top x \le U(1-\epsilon)`. *Infeasible*: :math:`F(Y) \ge U(1-\epsilon)`; a plan
  lowers :math:`U`. Either way :math:`Y` joins :math:`\mathcal S`.
  The sub runs to the run's gap :math:`\epsilon` (``--mip-gap``): a plan :math:`v` within
  :math:`\epsilon` of the sub's bound gives :math:`F(Y) \ge v(1-\epsilon) \ge U(1-\epsilon)`.

The master is the Benders master of `horizon.optimizer.solve.benders` when the model splits into
scenario blocks (hubs first's step 1 hands over the one it solved, cuts and all, so a round
costs a master MIP or two: 100 × 30 × 8 × 200, 25–30 s against 150 s); a round there also
settles, without a sub, every hub set whose relaxation it proves at or above the target,
and a queued set whose relaxation is above the target by the time its sub would start (the
plan got cheaper) is settled the same way. Otherwise (`_HighsMaster`) each round is one
HiGHS MIP over the extensive form from scratch (HiGHS has no lazy constraints), and hub
sets the hubs-only relaxation met on its way to its optimum are settled first (a sub each,
no master round). Neither master carries a cost cut: with one, proving it infeasible took
HiGHS longer than solving it (100 × 30 × 8 × 200: over 450 s against 166 s). The sub's cut
is scaled by :math:`1/U_0` (coefficients of order one rather than the costs' 1e7). A hub
set whose sub ran out of time keeps the sub's bound; the run's bound is the least of those
and of the master's (when it ran out of time), never below the hubs-only relaxation's.

**Two processes** (``--start concurrent`` on large models): the master and the subs need not
wait for each other. A hub set gets its no-good row as soon as it is *to be* settled, so the
master runs on while another process (the helper, `serve`) solves that set's sub; the proof
is complete once the master is closed and every set it excluded is settled. Each sub is cut
at the best plan known when it starts, and the plan only gets cheaper, so a set settled
against an older plan stays settled: :math:`F(Y) \ge U_t(1-\epsilon) \ge U(1-\epsilon)`.
The plan within step 1's hubs (hubs first's step 2) is itself such a sub, handed to the
helper as soon as the relaxation has a solution within `EARLY_GAP` of its bound (on
100 × 30 × 8 × 200: after 83 s of its 187 s), without a cut.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import highspy
import numpy as np

from horizon.models.linear import LinearModel
from horizon.models.stages import hub_columns
from horizon.optimizer.solve.benders import HubsOnlyMaster, Round, master_for
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.exchange import Exchange
from horizon.optimizer.solve.highs import configure, highs_version, new_highs, pass_model, run_highs
from horizon.optimizer.solve.result import SolveOptions, SolveResult, relative_gap, within_gap

CUT_TOL = 1e-9  # ε with no gap tolerance: a hub set must beat the plan by more than round-off
EARLY_GAP = 0.02  # a relaxation solution this close to its bound: its hubs go to the helper at once
WAIT_SECONDS = 0.2  # how long an idle search sleeps before looking at its inbox again
# The helper's subs end this many seconds before the run's time limit, so that their reports
# (with their bounds) reach the search before it ends: a hub set still at the helper at the
# limit otherwise leaves the run only the floor (100 × 30 × 8 × 200, seed 2, 10 minutes:
# 0.49 % with step 1's bound, against the 0.02 % step 2's own bound gives)
REPORT_MARGIN = 2.0


def search(
    lm: LinearModel,
    options: SolveOptions,
    plan: np.ndarray | None,
    objective: float | None,
    floor: float | None,
    share: Exchange | None = None,
    candidates: tuple[np.ndarray, ...] = (),
    master: HubsOnlyMaster | None = None,
) -> tuple[SolveResult, np.ndarray | None, str]:
    """Prove `plan` (cost `objective`, its hub set's fixed-hub model solved) optimal or
    better it, within ``options.time_limit``; `floor` is a valid bound already known.
    `candidates`: hub sets to settle before the master's first round (met by the hubs-only
    relaxation on its way to its optimum; settling one costs a sub, finding it a master round).
    `master`: the Benders master hubs first's step 1 solved (its cuts carry over).
    Without a plan, the best plan the peer sends is the one to beat; hub sets the peer
    already works on (``share.assigned``) are settled by its reports.

    Returns the result (best plan, bound, status), the plan's values and a note."""
    run = _Search(lm, options, floor, share, master)
    if plan is not None and objective is not None:
        run.improve(float(objective), np.asarray(plan, dtype=float))
        run.exclude(plan[run.ys])
        run.settled.add(_key(plan[run.ys]))
    if share is not None:
        for key in share.assigned:
            run.exclude(np.array(key, dtype=float))
    for hubs in candidates:
        if run.exclude(hubs):
            run.queue.append((np.round(np.asarray(hubs, dtype=float)), None))
    return run.run()


class _Search:
    """The state of one hub-set search: the best plan, the hub sets excluded from the master
    (settled, queued for a sub here or there, or at the helper) and what is still open."""

    def __init__(
        self,
        lm: LinearModel,
        options: SolveOptions,
        floor: float | None,
        share: Exchange | None,
        master: HubsOnlyMaster | _HighsMaster | None = None,
    ) -> None:
        self.t0 = time.perf_counter()
        self.deadline = None if options.time_limit is None else self.t0 + float(options.time_limit)
        self.options, self.floor, self.share = options, floor, share
        self.ys, _ = hub_columns(lm)
        self.eps = max(float(options.mip_gap), CUT_TOL)
        self.best, self.best_x = math.inf, None
        self.scale = max(abs(floor), 1.0) if floor is not None else None  # set by the first plan otherwise
        self.master: HubsOnlyMaster | _HighsMaster = master if master is not None else hubs_only_master(lm, options)
        self.sub = _Sub(lm, options)
        self.excluded: set[tuple[int, ...]] = set()  # every hub set with a no-good row in the master
        self.settled: set[tuple[int, ...]] = set()
        self.queue: list[tuple[np.ndarray, float | None]] = []  # excluded, its sub not started; a bound on R(Y)
        self.open_bounds: list[float] = []  # bounds of hub sets whose sub ended unfinished (time, or stopped)
        self.rest: float | None = None  # bound over the hub sets not excluded (None: not known)
        self.closed = False  # the master found no hub set left that could beat the plan
        self.stopped = False
        self.failed = False  # HiGHS could not solve the master (see `HubsOnlyMaster._solve_master`)
        self.rounds = self.better = self.helped = self.by_relaxation = 0
        self.master_s = 0.0

    # --- state ---------------------------------------------------------------------------
    def improve(self, objective: float, values: np.ndarray) -> None:
        if objective < self.best:
            self.best, self.best_x = float(objective), np.asarray(values, dtype=float)
            if self.scale is None:
                self.scale = max(abs(objective), 1.0)

    def exclude(self, hubs: np.ndarray) -> bool:
        """A no-good row for `hubs` in the master (False: it has one already)."""
        key = _key(hubs)
        if key in self.excluded:
            return False
        self.excluded.add(key)
        self.master.exclude(np.asarray(hubs, dtype=float))
        return True

    @property
    def target(self) -> float:
        return self.best * (1.0 - self.eps)

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def timed_out(self) -> bool:
        """The time limit has come (the loop stops half a second before it)."""
        left = self.left()
        return left is not None and left <= 1.0

    def settle(self, key: tuple[int, ...], status: str, bound: float | None, cut: float | None) -> None:
        """A sub's end: solved or infeasible under its cut settles the set; otherwise its
        bound holds within the cut, F(Y) ≥ min(bound, cut)."""
        self.settled.add(key)
        if status not in ("optimal", "infeasible"):
            low = -math.inf if bound is None else bound
            self.open_bounds.append(low if cut is None else min(low, cut))

    def tick(self, force: bool = False) -> None:
        """Read the peer's plans and reports; give an idle helper the next queued hub set."""
        share = self.share
        if share is None:
            return
        self.read(force)
        if self.next_queued() and share.idle_helper() and self.scale is not None:
            hubs, _ = self.queue.pop(0)
            share.assign(hubs, self.target if math.isfinite(self.best) else None, self.scale)

    def read(self, force: bool = False) -> None:
        """The peer's plans and reports: a reported hub set is settled, or keeps its bound."""
        share = self.share
        if share is None:
            return
        share.poll(force=force)
        self.stopped = self.stopped or share.stopped
        if share.plan is not None:
            self.improve(*share.plan)
        while share.reports:
            key, status, bound = share.reports.pop(0)
            cut = share.assigned.pop(key, None)
            self.settle(key, status, bound, cut)
            self.helped += status in ("optimal", "infeasible")

    def next_queued(self) -> bool:
        """Whether a queued hub set needs a sub; sets whose relaxation R(Y) is proven at or
        above the target by now (the plan got cheaper since they were queued) are settled here."""
        while self.queue and self.queue[0][1] is not None and self.queue[0][1] >= self.target:
            self.settle(_key(self.queue.pop(0)[0]), "optimal", None, None)
            self.by_relaxation += 1
        return bool(self.queue)

    def pending(self) -> bool:
        return self.share is not None and bool(self.share.assigned) and not self.share.peer_gone()

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> tuple[SolveResult, np.ndarray | None, str]:
        """Subs of queued sets here first when alone; beside a helper, master rounds here
        while the helper takes the queue, and subs here once the master is closed."""
        helped = self.share is not None and self.share.helper
        while True:
            self.tick(force=True)
            left = self.left()
            if self.stopped or MONITOR.stop_requested() or (left is not None and left <= 0.5):
                break
            if self.next_queued() and not helped:
                self.local_sub(self.queue.pop(0)[0])
            elif not self.closed:
                if not self.master_round():
                    break
            elif self.next_queued():
                self.local_sub(self.queue.pop(0)[0])
            elif self.pending():
                time.sleep(WAIT_SECONDS)
            else:
                break
        self.last_reports()
        return self.result()

    def last_reports(self) -> None:
        """At the time limit, wait for the helper's last reports: its subs end
        `REPORT_MARGIN` seconds earlier, and each bound they report keeps the run's bound
        honest where an unsettled hub set would leave only the floor."""
        left = self.left()
        if left is None or not self.timed_out() or self.share is None:
            return
        end = time.perf_counter() + left + REPORT_MARGIN
        while self.pending() and time.perf_counter() < end:
            time.sleep(WAIT_SECONDS / 4)
            self.read(force=True)

    def master_round(self) -> bool:
        """One master run: a new hub set to settle (queued), or closed. False: it ran out
        of time or was stopped (its bound, if any, is kept)."""
        t1 = time.perf_counter()
        target = self.target

        def tick() -> bool:
            self.tick()
            return self.stopped or MONITOR.stop_requested()

        r = self.master.minimise(target, self.deadline, tick)
        self.rounds += 1
        self.master_s += time.perf_counter() - t1
        if r.status in ("found", "optimal") and r.hubs is not None and _key(r.hubs) not in self.excluded:
            self.exclude(r.hubs)  # "optimal": no plan to beat yet, the relaxation's optimum
            self.queue.append((np.round(r.hubs), r.floor))
            return True
        if r.status == "closed":
            self.closed = True  # no hub set left beats the plan by more than ε, even relaxed
            self.rest = target
            return True
        self.failed = r.status == "failed"
        if r.bound is not None:
            self.rest = min(r.bound, target)
        return False

    def local_sub(self, hubs: np.ndarray) -> None:
        cut = self.target if math.isfinite(self.best) else None
        r, v = self.sub.solve(hubs, cut, self.scale or 1.0, self.left())
        if v is not None and r.objective is not None and r.objective < self.best:
            self.improve(float(r.objective), v)
            self.better += 1
            if self.share is not None:
                self.share.send_plan(self.best, self.best_x)
        self.settle(_key(hubs), r.status, r.bound, cut)

    def result(self) -> tuple[SolveResult, np.ndarray | None, str]:
        unsettled = bool(self.queue) or self.pending()
        proven = self.closed and not self.open_bounds and not unsettled  # every hub set settled
        if proven:
            bound = self.best if self.eps <= CUT_TOL else self.target
        else:
            bound = -math.inf if unsettled else min([self.rest if self.rest is not None else -math.inf, *self.open_bounds])
        if self.floor is not None:
            bound = max(bound, self.floor)
        bound = min(bound, self.best) if math.isfinite(bound) else None
        has = self.best_x is not None
        gap = relative_gap(self.best, bound) if bound is not None and has else None
        status = "optimal" if has and (proven or within_gap(gap, self.options.mip_gap)) else "feasible"
        seconds = time.perf_counter() - self.t0
        stopped = self.stopped and not self.timed_out()  # the peer's stop at the limit is no other reason
        if status == "optimal":
            how = "proven"
        elif stopped:
            how = "stopped"
        else:
            how = "HiGHS failed on the master" if self.failed else "time limit reached"
        helper = f", {self.helped} by the other process" if self.helped else ""
        relaxed = self.by_relaxation + self.master.dropped
        helper += f", {relaxed} by their relaxation alone" if relaxed else ""
        kind = "Benders " if isinstance(self.master, HubsOnlyMaster) else ""
        n_settled = len(self.settled) - len(self.open_bounds) + self.master.dropped
        still = (
            f", {len(self.open_bounds)} left open by unfinished subs (least bound {min(self.open_bounds):.6g})"
            if self.open_bounds
            else ""
        )
        note = (
            f"hub-set search: {self.rounds} {kind}master round(s) ({self.master_s:.0f} s), {n_settled} hub set(s) "
            f"settled{helper}{still} (subs here {self.sub.seconds:.0f} s), {self.better} better plan(s); {how} in {seconds:.1f} s"
        )
        result = SolveResult.of(
            status if has else "no_solution",
            self.best if has else None,
            bound,
            solver="highs",
            solver_version=highs_version(self.sub.h),
            seconds=seconds,
            message="Optimal" if status == "optimal" and has else "Time limit reached",
        )
        return result, self.best_x, note


def serve(
    lm: LinearModel, options: SolveOptions, share: Exchange, result: SolveResult, values: np.ndarray | None, t0: float
) -> tuple[SolveResult, np.ndarray | None]:
    """The helper's side: solve the fixed-hub models the peer's search assigns (`share`),
    one at a time, reporting each, until the run is proven, stopped, the peer has gone or
    ``options.time_limit`` (counted from `t0`) is reached. `result`, `values`: this search's
    own result so far (its full solve, given up for this); returned with any better plan."""
    # the subs end early enough for their reports to reach the search before its own end
    deadline = None if options.time_limit is None else t0 + float(options.time_limit) - REPORT_MARGIN
    sub = _Sub(lm, options)
    best = result.objective if values is not None and result.objective is not None else math.inf
    served = 0
    while True:
        share.poll(force=True)
        left = None if deadline is None else deadline - time.perf_counter()
        stop = share.stopped or MONITOR.stop_requested()
        if stop or (left is not None and left <= 0.5) or share.done(best if math.isfinite(best) else None):
            break
        if not share.assignments:
            if share.peer_gone():
                break
            time.sleep(WAIT_SECONDS)
            continue
        key, hubs, cut, scale = share.assignments.pop(0)
        r, v = sub.solve(hubs, cut, scale, left, share)
        served += 1
        if v is not None and r.objective is not None and r.objective < best:
            best, values = float(r.objective), v
            share.send_plan(best, v)
        share.report(key, "stopped" if r.message.startswith("Interrupted") else r.status, r.bound)
    note = f"; then solved {served} fixed-hub model(s) for the other search's hub-set search ({sub.seconds:.0f} s)"
    if values is None or not math.isfinite(best):
        return replace(result, message=result.message + note), values
    if result.objective is None or best < result.objective:
        result = replace(result, status="feasible", objective=best, has_solution=True)
        if result.bound is not None:
            result = replace(result, gap=relative_gap(best, min(result.bound, best)))
    return replace(result, message=result.message + note), values


def _key(hubs: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in np.round(hubs))


class _HighsMaster:
    """The master as one HiGHS MIP over the extensive form (`open_hub` integral, the rest
    relaxed), for models that do not split into blocks (`horizon.optimizer.solve.benders.master_for`): the
    same `exclude` / `minimise` as `HubsOnlyMaster`, each round from scratch."""

    def __init__(self, lm: LinearModel, options: SolveOptions) -> None:
        self.h = new_highs()
        configure(self.h, SolveOptions(mip_gap=0.0, threads=options.threads, seed=options.seed))
        pass_model(self.h, lm)
        self.ys, others = hub_columns(lm)
        self.h.changeColsIntegrality(len(others), others, [highspy.HighsVarType.kContinuous] * len(others))
        self.excluded: set[tuple[int, ...]] = set()
        self.dropped = 0  # hub sets it settled itself (none: every set it finds goes to a sub)

    def exclude(self, hubs: np.ndarray) -> None:
        """Σ_{open}(1 − y) + Σ_{shut} y ≥ 1: this hub set no more."""
        self.excluded.add(_key(hubs))
        open_ = np.round(hubs) > 0.5
        self.h.addRow(1.0 - float(open_.sum()), highspy.kHighsInf, len(self.ys), self.ys, np.where(open_, -1.0, 1.0))

    def minimise(self, target: float = math.inf, deadline: float | None = None, tick: Callable[[], bool] | None = None) -> Round:
        """Run until a solution below `target` with a new hub set ("found"), or until the
        bound reaches it ("closed"); without a target, to the optimum ("optimal")."""
        _limit(self.h, None if deadline is None else deadline - time.perf_counter())
        found: list[np.ndarray] = []
        watch = _callbacks(self.h, self.ys, self.excluded, found, tick or (lambda: False), target)
        with watch:
            res, x = run_highs(self.h, mip=True)
        below = res.objective is not None and res.objective < target
        if not found and res.status == "optimal" and below and x is not None and _key(x[self.ys]) not in self.excluded:
            found.append(x[self.ys])
        if found:
            return Round("found" if math.isfinite(target) else "optimal", res.bound, found[0], None)
        low = [v for v in (res.bound, res.objective) if v is not None]
        if watch.closing or res.status == "infeasible" or (res.status == "optimal" and bool(low) and min(low) >= target):
            return Round("closed", target)
        interrupted = res.message.startswith("Interrupted")
        return Round("stopped" if interrupted else "time", None if interrupted else res.bound)


def hubs_only_master(lm: LinearModel, options: SolveOptions) -> HubsOnlyMaster | _HighsMaster:
    """The Benders master when the model splits into blocks, else one HiGHS MIP."""
    return master_for(lm, options) or _HighsMaster(lm, options)


class _Sub:
    """The full model with the hubs fixed to one set and the cost cut ``c x ≤ cut``: one hub
    set settled per run. The cut row is added at the first run, scaled by that run's
    `scale` (coefficients of order one rather than the costs' 1e7)."""

    def __init__(self, lm: LinearModel, options: SolveOptions) -> None:
        self.h = new_highs()
        # the run's own tolerance: a set solved within ε of its plan v has F(Y) ≥ v(1 − ε)
        configure(self.h, SolveOptions(mip_gap=options.mip_gap, threads=options.threads, seed=options.seed))
        pass_model(self.h, lm)
        self.ys, _ = hub_columns(lm)
        self.cost, self.row = lm.cost(), lm.n_rows
        self.scale: float | None = None
        self.seconds = 0.0

    def solve(
        self, hubs: np.ndarray, cut: float | None, scale: float, left: float | None, share: Exchange | None = None
    ) -> tuple[SolveResult, np.ndarray | None]:
        """`cut` None: no cut. `share`: the run sends its plans and stops when told to."""
        t1 = time.perf_counter()
        if self.scale is None:
            self.scale = float(scale)
            nz = np.flatnonzero(self.cost).astype(np.int32)
            self.h.addRow(-highspy.kHighsInf, highspy.kHighsInf, len(nz), nz, self.cost[nz] / self.scale)
        self.h.changeRowBounds(self.row, -highspy.kHighsInf, highspy.kHighsInf if cut is None else cut / self.scale)
        _limit(self.h, left)
        self.h.changeColsBounds(len(self.ys), self.ys, hubs, hubs)
        with share.watch(self.h, plans=True, inject=False) if share is not None else contextlib.nullcontext():
            r, v = run_highs(self.h, mip=True)
        self.seconds += time.perf_counter() - t1
        return r, v


def _limit(h: highspy.Highs, left: float | None) -> None:
    h.setOptionValue("time_limit", highspy.kHighsInf if left is None else max(0.5, float(left)))


class _callbacks:
    """For one master run: record the first solution with a new hub set below `target` and
    stop there; stop when the peer asks to; hand the helper work meanwhile.

    HiGHS reads the interrupt flag only at its interrupt callback, and keeps it from one run
    to the next: so the flag is set there, to exactly what this run wants, every time."""

    def __init__(
        self, h: highspy.Highs, ys: np.ndarray, excluded: set, found: list, tick: Callable[[], bool], target: float
    ) -> None:
        self.h, self.ys, self.excluded, self.found, self.tick, self.target = h, ys, excluded, found, tick, target
        self.closing: list[float] = []  # the master's bound when it reached the target

    def __enter__(self) -> None:
        def on_solution(e: Any) -> None:
            with contextlib.suppress(Exception):  # an exception inside HiGHS ends its run in error
                hubs = np.asarray(e.data_out.mip_solution, dtype=float)[self.ys]
                # without a plan to beat (target ∞) the master runs to its optimum instead
                cheap = math.isfinite(self.target) and float(e.data_out.objective_function_value) < self.target
                if cheap and _key(hubs) not in self.excluded and not self.found:
                    self.found.append(hubs)

        def on_interrupt(e: Any) -> None:
            stop = bool(self.found)
            with contextlib.suppress(Exception):
                # a bound at the target closes the master: the rest of its run would only
                # prove how far above the plan the next hub set is
                if math.isfinite(self.target) and float(e.data_out.mip_dual_bound) >= self.target:
                    self.closing.append(float(e.data_out.mip_dual_bound))
                stop = self.tick() or stop or bool(self.closing)
            e.data_in.user_interrupt = stop

        self.h.cbMipSolution.subscribe(on_solution)
        self.h.cbMipInterrupt.subscribe(on_interrupt)

    def __exit__(self, *exc: object) -> None:
        self.h.clearCallbacks()
