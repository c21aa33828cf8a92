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
  solution below :math:`U(1-\epsilon)` (a new hub set :math:`Y`) or to optimality. An
  optimum at or above :math:`U(1-\epsilon)`: no other hub set can beat :math:`U` even
  relaxed, so :math:`U` is optimal (within :math:`\epsilon`).
* **sub**: the full model with the hubs fixed to :math:`Y` and the cut
  :math:`c^\top x \le U(1-\epsilon)`. *Infeasible*: :math:`F(Y) \ge U(1-\epsilon)`; a plan
  lowers :math:`U`. Either way :math:`Y` joins :math:`\mathcal S`.

Hub sets the hubs-only relaxation met on its way to its optimum are settled first (a sub
each, no master round). HiGHS has no lazy constraints, so every master round is a new MIP
solve, a small one (only the hub binaries integral). The master carries no cost cut: with
one, proving it infeasible took HiGHS longer than solving it (100 × 30 × 8 × 200: over
450 s against 166 s). The sub's cut is scaled by :math:`1/U_0` (coefficients of order one
rather than the costs' 1e7). A hub set whose sub ran out of time keeps the sub's bound; the
run's bound is the least of those and of the master's (when it ran out of time), never
below the hubs-only relaxation's.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np

from models.linear import LinearModel
from optimizer.solve import (
    SolveOptions,
    SolveResult,
    _highs_version,
    configure,
    hub_columns,
    new_highs,
    pass_model,
    relative_gap,
    run_highs,
)

if TYPE_CHECKING:
    from optimizer.concurrent import Exchange

CUT_TOL = 1e-9  # ε with no gap tolerance: a hub set must beat the plan by more than round-off


def search(
    lm: LinearModel,
    options: SolveOptions,
    plan: np.ndarray,
    objective: float,
    floor: float | None,
    share: Exchange | None = None,
    candidates: tuple[np.ndarray, ...] = (),
) -> tuple[SolveResult, np.ndarray, str]:
    """Prove `plan` (cost `objective`, its hub set's fixed-hub model solved) optimal or
    better it, within ``options.time_limit``; `floor` is a valid bound already known.
    `candidates`: hub sets to settle before the master's first round (met by the hubs-only
    relaxation on its way to its optimum; settling one costs a sub, finding it a master round).

    Returns the result (best plan, bound, status), the plan's values and a note."""
    t0 = time.perf_counter()
    deadline = None if options.time_limit is None else t0 + float(options.time_limit)
    ys, others = hub_columns(lm)
    cost = lm.cost()
    scale = max(abs(objective), 1.0)
    eps = max(float(options.mip_gap), CUT_TOL)

    quiet = SolveOptions(mip_gap=0.0, threads=options.threads, seed=options.seed)
    master, sub = new_highs(), new_highs()
    for h in (master, sub):
        configure(h, quiet)
        pass_model(h, lm)
    master.changeColsIntegrality(len(others), others, [highspy.HighsVarType.kContinuous] * len(others))
    nz = np.flatnonzero(cost).astype(np.int32)
    sub.addRow(-highspy.kHighsInf, 1.0, len(nz), nz, cost[nz] / scale)
    cut_row = lm.n_rows  # the sub's cut is the first row after the model's

    best, best_x = float(objective), np.asarray(plan, dtype=float)
    settled = {_key(best_x[ys])}
    _no_good(master, ys, best_x[ys])
    open_bounds: list[float] = []  # bounds of hub sets whose sub ran out of time
    rest: float | None = None  # bound over the hub sets not yet settled (None: not known)
    closed = False  # the master found no hub set left that could beat the plan
    rounds = better = 0
    queue = [np.round(np.asarray(c, dtype=float)) for c in candidates]
    stopped = False

    while True:
        if share is not None:
            share.poll(force=True)
            stopped = share.stopped
            if share.plan is not None and share.plan[0] < best:
                best, best_x = float(share.plan[0]), np.asarray(share.plan[1], dtype=float)
        left = None if deadline is None else deadline - time.perf_counter()
        if stopped or (left is not None and left <= 0.5):
            break
        target = best * (1.0 - eps)
        sub.changeRowBounds(cut_row, -highspy.kHighsInf, target / scale)
        found: list[np.ndarray] = []
        while queue and not found:
            hubs = queue.pop(0)
            if _key(hubs) not in settled:
                found.append(hubs)
        if not found:
            _limit(master, left)
            with _callbacks(master, ys, settled, found, share, target):
                res, x = run_highs(master, mip=True)
            rounds += 1
            below = res.objective is not None and res.objective < target
            if not found and below and x is not None and _key(x[ys]) not in settled:
                found.append(x[ys])
        if not found:
            low = [v for v in (res.bound, res.objective) if v is not None]
            floor_met = res.status == "optimal" and bool(low) and min(low) >= target
            if res.status == "infeasible" or floor_met:
                closed = True  # no hub set left beats the plan by more than ε, even relaxed
                rest = target
            elif res.bound is not None and not res.message.startswith("Interrupted"):
                rest = min(res.bound, target)
            break
        hubs = found[0]
        _no_good(master, ys, hubs)
        settled.add(_key(hubs))
        left = None if deadline is None else deadline - time.perf_counter()
        _limit(sub, left)
        sub.changeColsBounds(len(ys), ys, hubs, hubs)
        r, v = run_highs(sub, mip=True)
        if v is not None and r.objective is not None and r.objective < best:
            best, best_x, better = float(r.objective), v, better + 1
            if share is not None:
                share.send_plan(best, best_x)
        if r.status not in ("optimal", "infeasible"):
            # its bound holds within the cut: F(Y) ≥ min(bound, cut)
            open_bounds.append(min(r.bound, target) if r.bound is not None else -math.inf)
    proven = closed and not open_bounds  # every hub set settled: optimal within ε
    if proven:
        bound = best if eps <= CUT_TOL else best * (1.0 - eps)
    else:
        bound = min([rest if rest is not None else -math.inf, *open_bounds])
    if floor is not None:
        bound = max(bound, floor)
    bound = min(bound, best) if math.isfinite(bound) else None
    gap = relative_gap(best, bound) if bound is not None else None
    status = "optimal" if proven or (gap is not None and gap <= float(options.mip_gap)) else "feasible"
    seconds = time.perf_counter() - t0
    how = "proven" if status == "optimal" else ("stopped" if stopped else "time limit reached")
    note = (
        f"hub-set search: {rounds} master round(s), {len(settled)} hub set(s) settled, "
        f"{better} better plan(s); {how} in {seconds:.1f} s"
    )
    result = SolveResult(
        status=status,
        objective=best,
        bound=bound,
        gap=gap,
        solver="highs",
        solver_version=_highs_version(master),
        seconds=seconds,
        transfer_seconds=0.0,
        has_solution=True,
        message="Optimal" if status == "optimal" else "Time limit reached",
    )
    return result, best_x, note


def _key(hubs: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in np.round(hubs))


def _no_good(h: highspy.Highs, ys: np.ndarray, hubs: np.ndarray) -> None:
    """Σ_{open}(1 − y) + Σ_{shut} y ≥ 1: this hub set no more."""
    open_ = np.round(hubs) > 0.5
    h.addRow(1.0 - float(open_.sum()), highspy.kHighsInf, len(ys), ys, np.where(open_, -1.0, 1.0))


def _limit(h: highspy.Highs, left: float | None) -> None:
    h.setOptionValue("time_limit", highspy.kHighsInf if left is None else max(0.5, float(left)))


class _callbacks:
    """For one master run: record the first solution with a new hub set below `target` and
    stop there; stop when the peer asks to.

    HiGHS reads the interrupt flag only at its interrupt callback, and keeps it from one run
    to the next: so the flag is set there, to exactly what this run wants, every time."""

    def __init__(
        self, h: highspy.Highs, ys: np.ndarray, settled: set, found: list, share: Exchange | None, target: float
    ) -> None:
        self.h, self.ys, self.settled, self.found, self.share, self.target = h, ys, settled, found, share, target

    def __enter__(self) -> None:
        def on_solution(e: Any) -> None:
            with contextlib.suppress(Exception):  # an exception inside HiGHS ends its run in error
                hubs = np.asarray(e.data_out.mip_solution, dtype=float)[self.ys]
                cheap = float(e.data_out.objective_function_value) < self.target
                if cheap and _key(hubs) not in self.settled and not self.found:
                    self.found.append(hubs)

        def on_interrupt(e: Any) -> None:
            stop = bool(self.found)
            if self.share is not None:
                with contextlib.suppress(Exception):
                    self.share.poll()
                    stop = stop or self.share.stopped
            e.data_in.user_interrupt = stop

        self.h.cbMipSolution.subscribe(on_solution)
        self.h.cbMipInterrupt.subscribe(on_interrupt)

    def __exit__(self, *exc: object) -> None:
        self.h.clearCallbacks()
