r"""The hubs-only relaxation by Benders decomposition: a master that keeps what it learns.

Hubs first and its hub-set search (`horizon.optimizer.solve.hubsets`) solve the *hubs-only relaxation*
(:math:`y` integral, every stock and dispatch continuous) again and again: once for the
bound, then once per master round with one more hub set excluded. As one HiGHS MIP over
the extensive form every round starts from scratch (100 × 30 × 8 × 200: 150–250 s each).
This module solves it by the multi-cut L-shaped method instead, so the cuts that describe
the scenarios' costs are computed once and kept across rounds.

The columns split into the first stage :math:`v` (``open_hub``, ``stationed``, ``pledged``,
``worst_scenario_cost``) and the rest; the rows that touch the rest split it into
independent *blocks* :math:`j` (connected components: a scenario's demands that share
stock, or a whole scenario). Block :math:`j`'s cost given :math:`v` is the LP

.. math:: Q_j(v) = \min \{ c_j^\top x_j + P\,\mathbf 1^\top e_j :
          L_j \le A_j x_j + B_j v + E_j e_j \le U_j,\; l_j \le x_j \le u_j,\; e_j \ge 0 \}

with elastic columns :math:`e_j` (penalty :math:`P`, 10 × the largest cost coefficient) on
the rows a first stage in its box could leave unmet (the demands): every block is feasible
for every :math:`v`, and :math:`Q_j \le` the true block cost, so bounds stay valid.
:math:`Q_j` is convex; with :math:`\lambda` the block's row duals,
:math:`Q_j(v) \ge Q_j(\hat v) - \lambda^\top B_j (v - \hat v)` (an *optimality cut*). The
master is :math:`\min c_v^\top v + \sum_j \theta_j` over the first-stage rows, the cuts and
the no-good rows of excluded hub sets; its optimum is a valid lower bound on the
relaxation over the hub sets not excluded.

* **LP phase** (once): :math:`y` continuous, Kelley's cutting planes with in-out
  stabilisation (each block is evaluated halfway between the master's point and the best
  point so far); cuts slack for 10 rounds are dropped. It ends at the LP relaxation.
* **Rounds**: :math:`y` binary. Each iteration solves the master MIP (its bound :math:`B`),
  evaluates the blocks at its hub set :math:`\hat Y`, then converges the stocks with
  :math:`y` fixed to :math:`\hat Y` (cheap LP iterations), which gives :math:`R(\hat Y)`, the
  relaxation's optimum within :math:`\hat Y`, up to 1e-6. A round ends when :math:`B` reaches
  the target (closed), when :math:`R(\hat Y)` is below it (a hub set to settle), or, with no
  target, when :math:`R(\hat Y) = B` (the relaxation's optimum). Hub sets with
  :math:`R(\hat Y)` at or above the target are excluded on the spot: no sub is needed.

Costs are scaled (largest coefficient 10) for the masters' numerics; values returned are in
the model's units. Worth it only when the model splits into many blocks (`applies`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import coo_array, csr_array, hstack
from scipy.sparse.csgraph import connected_components

from horizon.models.linear import LinearModel
from horizon.models.stages import first_stage_columns
from horizon.optimizer.errors import SolverError
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.highs import configure, new_highs, stoppable, time_limit_for
from horizon.optimizer.solve.result import SolveOptions

MIN_BLOCKS = 10  # fewer blocks: one HiGHS MIP over the extensive form does better
ALPHA = 0.5  # in-out stabilisation: blocks are evaluated halfway to the best point so far
LP_TOL = 1e-6  # relative gap that ends an LP loop
KEEP_CUTS = 10  # LP phase: a cut slack this many iterations in a row is dropped
# A hub set whose relaxation is this close to the master's bound is handed to the other process
# before step 1 ends (hubs first). Tighter than `horizon.optimizer.solve.hubsets.EARLY_GAP`: a round's first
# master MIPs propose hub sets against a bound still low (100 × 30 × 8 × 200, seed 1: the first
# at a bound of 468.95 M, not the optimal set; the second, optimal, within 5e-6 of its bound,
# about 20 s before the round ends)
EARLY_GAP = 1e-3
INF = highspy.kHighsInf


# master statuses that are an answer, by name (anything else is retried once from a fresh
# start, then called "failed")
_ANSWERS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kTimeLimit: "time",
    highspy.HighsModelStatus.kInterrupt: "stopped",
}


def _ended(status: str) -> str:
    """A round's status for a master run that did not end optimal: "failed", "stopped" or "time"."""
    return status if status in ("failed", "stopped") else "time"


@dataclass(frozen=True)
class Round:
    """How a round ended: "found" (a hub set whose relaxation is below the target), "closed"
    (no hub set left below the target), "optimal" (no target: the relaxation's optimum),
    "stopped", "time", or "failed" (HiGHS could not solve the master, even from a fresh
    start). `bound`: valid for every hub set not excluded (model units)."""

    status: str
    bound: float | None
    hubs: np.ndarray | None = None
    value: float | None = None  # a relaxed plan's cost within `hubs`: R(hubs) or a little above
    floor: float | None = None  # a valid lower bound on R(hubs)


Blocks = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def blocks(lm: LinearModel) -> Blocks:
    """The first-stage columns, the other columns and their blocks, the rows that touch the
    other columns and their blocks (numbered from 0)."""
    first = first_stage_columns(lm, linking=True)  # the master prices the worst case's η too
    is_first = np.zeros(lm.n_cols, dtype=bool)
    is_first[first] = True
    second = np.flatnonzero(~is_first)
    a2 = lm.matrix()[:, second].tocsr()
    sub_rows = np.flatnonzero(np.diff(a2.indptr) > 0)
    s = a2[sub_rows].tocoo()
    nr, nc = len(sub_rows), len(second)
    graph = coo_array((np.ones(s.nnz), (s.row, s.col + nr)), shape=(nr + nc, nr + nc)).tocsr()
    _, labels = connected_components(graph, directed=False)
    _, label = np.unique(labels, return_inverse=True)
    return first, second, label[nr:], sub_rows, label[:nr]


def _has_hubs(lm: LinearModel) -> bool:
    return "open_hub" in lm.vars and lm.n_cols > 0


def _many(parts: Blocks) -> bool:
    return len(np.unique(parts[4])) >= MIN_BLOCKS


def applies(lm: LinearModel) -> bool:
    """Many independent blocks (scenarios) and a first stage to price them against."""
    return _has_hubs(lm) and _many(blocks(lm))


def master_for(lm: LinearModel, options: SolveOptions) -> HubsOnlyMaster | None:
    """The Benders master when it applies and every block's cost is bounded below (so is
    the master), else None: one HiGHS MIP over the extensive form does better."""
    if not _has_hubs(lm):
        return None
    parts = blocks(lm)
    if not _many(parts):
        return None
    master = HubsOnlyMaster(lm, options, parts)
    return master if master.bounded else None


def _bounds(b: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(b), b, np.where(b > 0, INF, -INF))


def _lp(cost: np.ndarray, lo: np.ndarray, up: np.ndarray, rlo: np.ndarray, rup: np.ndarray, a: csr_array) -> highspy.HighsLp:
    a = a.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cost), len(rlo)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, _bounds(lo), _bounds(up)
    lp.row_lower_, lp.row_upper_ = _bounds(rlo), _bounds(rup)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(cost), len(rlo)
    return lp


class HubsOnlyMaster:
    """The L-shaped master of the hubs-only relaxation, with its blocks (one LP holds them
    all: block-diagonal, solved warm after each change of the first stage)."""

    def __init__(self, lm: LinearModel, options: SolveOptions, parts: Blocks | None = None) -> None:
        a = lm.matrix().tocsr()
        cost = lm.cost()
        self.scale = max(float(np.abs(cost).max()) / 10.0, 1e-12) if lm.n_cols else 1.0
        c = cost / self.scale
        lo, up, _ = lm.col_bounds()
        rlo, rup = lm.row_bounds()
        first, second, col_block, sub_rows, row_block = parts if parts is not None else blocks(lm)
        self.n_blocks = int(max(col_block.max(initial=-1), row_block.max(initial=-1)) + 1)
        y = lm.vars["open_hub"]
        self.ys = np.searchsorted(first, np.arange(y.start, y.start + y.size)).astype(np.int32)  # y within v
        self.lo, self.up, self.cf = lo[first], up[first], c[first]
        self.b = a[sub_rows][:, first].tocsr()
        self.rlo, self.rup, self.row_block = rlo[sub_rows], rup[sub_rows], row_block
        s = a[sub_rows][:, second]
        # elastic columns on rows that the first stage could leave unmet at x = clip(0)
        x0 = np.clip(0.0, lo[second], up[second])
        a0 = s @ x0
        bpos, bneg = self.b.maximum(0), self.b.minimum(0)
        vmin = bpos @ np.where(np.isfinite(self.lo), self.lo, 0.0) + bneg @ np.where(np.isfinite(self.up), self.up, 1e30)
        vmax = bpos @ np.where(np.isfinite(self.up), self.up, 1e30) + bneg @ np.where(np.isfinite(self.lo), self.lo, 0.0)
        need_up = np.flatnonzero(self.rlo > a0 + vmin + 1e-9)
        need_down = np.flatnonzero(self.rup < a0 + vmax - 1e-9)
        rows = np.concatenate([need_up, need_down])
        signs = np.concatenate([np.ones(len(need_up)), -np.ones(len(need_down))])
        penalty = 10.0 * float(np.abs(c).max(initial=1.0))
        e = csr_array((signs, (rows, np.arange(len(rows)))), shape=(len(sub_rows), len(rows)))
        self.c2 = np.concatenate([c[second], np.full(len(rows), penalty)])
        self.col_block = np.concatenate([col_block, row_block[rows]])
        self.elastic = np.arange(len(second), len(second) + len(rows))
        self.sub = new_highs()
        configure(self.sub, SolveOptions(threads=options.threads, seed=options.seed))
        lo2 = np.concatenate([lo[second], np.zeros(len(rows))])
        up2 = np.concatenate([up[second], np.full(len(rows), np.inf)])
        self.sub.passModel(_lp(self.c2, lo2, up2, self.rlo, self.rup, hstack([s, e]).tocsr()))
        # θ_j ≥ the least block j could cost
        with np.errstate(invalid="ignore"):
            least = np.where(self.c2 > 0, self.c2 * lo2, np.where(self.c2 < 0, self.c2 * up2, 0.0))
        theta_lo = np.bincount(self.col_block, weights=least, minlength=self.n_blocks)
        self.bounded = bool(np.isfinite(theta_lo).all())
        master_rows = np.setdiff1d(np.arange(lm.n_rows), sub_rows)
        nf = len(first)
        am = hstack([a[master_rows][:, first], csr_array((len(master_rows), self.n_blocks))]).tocsr()
        self.master = new_highs()
        configure(self.master, SolveOptions(mip_gap=0.0, threads=options.threads, seed=options.seed))
        self.master.passModel(
            _lp(
                np.concatenate([self.cf, np.ones(self.n_blocks)]),
                np.concatenate([self.lo, theta_lo]),
                np.concatenate([self.up, np.full(self.n_blocks, np.inf)]),
                rlo[master_rows],
                rup[master_rows],
                am,
            )
        )
        self.nf = nf
        self.seen = np.full(len(master_rows), np.inf)  # per master row: last iteration binding (inf: never dropped)
        self.iteration = 0  # master solves so far (a cut's age counts in them)
        self.lp_done = False
        self.integral = False
        self.seconds = 0.0
        self.dropped = 0  # hub sets a round excluded itself: R(Y) at or above its target
        self.restarts = 0  # master runs repeated without their basis (see `_solve_master`)

    # --- pieces ----------------------------------------------------------------------------
    def evaluate(self, v: np.ndarray) -> tuple[np.ndarray, csr_array, bool]:
        """Block costs Q_j(v), their gradients (blocks × first stage), and whether no
        elastic column is used (the point is feasible for the relaxation)."""
        bv = self.b @ v
        n = len(self.rlo)
        self.sub.changeRowsBounds(n, np.arange(n, dtype=np.int32), _bounds(self.rlo - bv), _bounds(self.rup - bv))
        self.sub.run()
        if self.sub.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"HiGHS on the Benders blocks: {self.sub.modelStatusToString(self.sub.getModelStatus())}")
        sol = self.sub.getSolution()
        x, lam = np.asarray(sol.col_value), np.asarray(sol.row_dual)
        q = np.bincount(self.col_block, weights=self.c2 * x, minlength=self.n_blocks)
        g = -(csr_array((lam, (self.row_block, np.arange(n))), shape=(self.n_blocks, n)) @ self.b)
        return q, csr_array(g), bool(x[self.elastic].sum() <= 1e-7) if len(self.elastic) else True

    def _cuts(self, v: np.ndarray, q: np.ndarray, g: csr_array, vm: np.ndarray, theta: np.ndarray) -> int:
        """Cuts at v, kept only where they cut the master's point (vm, θ)."""
        rhs = q - g @ v
        at_master = rhs + g @ vm
        want = np.flatnonzero(at_master > theta + 1e-7 * (1.0 + np.abs(at_master)))
        if not len(want):
            return 0
        gw = g[want].tocsr()
        gw.data[np.abs(gw.data) <= 1e-12] = 0.0
        gw.eliminate_zeros()
        counts = np.diff(gw.indptr) + 1
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
        index = np.empty(int(counts.sum()), dtype=np.int32)
        value = np.empty(int(counts.sum()))
        for i, j in enumerate(want):  # row i: −g_j v + θ_j ≥ rhs_j
            s, e = gw.indptr[i], gw.indptr[i + 1]
            index[starts[i] : starts[i] + e - s] = gw.indices[s:e]
            value[starts[i] : starts[i] + e - s] = -gw.data[s:e]
            index[starts[i] + e - s] = self.nf + j
            value[starts[i] + e - s] = 1.0
        self.master.addRows(len(want), _bounds(rhs[want]), np.full(len(want), INF), len(index), starts, index, value)
        self.seen = np.concatenate([self.seen, np.full(len(want), float(self.iteration))])
        return len(want)

    def _prune(self) -> None:
        """Drop the cuts slack for `KEEP_CUTS` iterations in a row (LP phase only: a cut slack
        at fractional hubs may be what prices an integral hub set)."""
        rv = np.asarray(self.master.getSolution().row_value)
        lo = np.asarray(self.master.getLp().row_lower_)
        binding = (rv - lo <= 1e-6 * (1.0 + np.abs(lo))) & np.isfinite(self.seen)
        self.seen[binding] = self.iteration
        drop = np.flatnonzero(self.iteration - self.seen > KEEP_CUTS)
        if len(drop):
            self.master.deleteRows(len(drop), drop.astype(np.int32))
            self.seen = np.delete(self.seen, drop)

    def _solve_master(self, left: float | None) -> tuple[str, float, np.ndarray, np.ndarray]:
        t1 = time.perf_counter()
        for attempt in range(2):
            if attempt:
                # HiGHS's simplex can end "Unknown" from a warm start on these LPs (100 × 30
                # × 8 × 400, iteration 79 of the hubs-only relaxation); from a fresh start the
                # same LP solved in 0.3 s, so once more without the basis before calling it failed
                self.restarts += 1
                self.master.clearSolver()
            limit = INF if left is None else max(0.1, float(left) - (time.perf_counter() - t1))
            # shifted for an LP: without it, a round's LP iterations stopped once the master
            # had run as long as the time left (100 × 30 × 8 × 200, seed 1, 10 minutes: the
            # search gave up at 313 s)
            self.master.setOptionValue("time_limit", time_limit_for(self.master, limit, self.integral))
            with stoppable(self.master):
                self.master.run()
            status = self.master.getModelStatus()
            if status in _ANSWERS:
                break
        name = _ANSWERS.get(status, "failed")
        if name == "infeasible":
            return name, math.inf, np.zeros(0), np.zeros(0)
        info = self.master.getInfo()
        sol = np.asarray(self.master.getSolution().col_value)
        if name != "optimal":
            bound = float(info.mip_dual_bound) if self.integral else -math.inf
            return name, bound, np.zeros(0), np.zeros(0)
        bound = float(info.mip_dual_bound) if self.integral else float(info.objective_function_value)
        return "optimal", bound, np.clip(sol[: self.nf], self.lo, self.up), sol[self.nf :]

    def _converge(self, deadline: float | None, prune: bool) -> tuple[str, float, float, bool]:
        """Kelley's cutting planes with in-out stabilisation on the master as it stands
        (y relaxed, or fixed): (status, lower, upper, upper feasible), scaled units."""
        best_v, upper, feasible = None, math.inf, False
        while True:
            self.iteration += 1
            left = None if deadline is None else deadline - time.perf_counter()
            if MONITOR.stop_requested():
                return "stopped", -math.inf, upper, feasible
            if left is not None and left <= 0:
                return "time", -math.inf, upper, feasible
            status, lower, v, theta = self._solve_master(left)
            if status != "optimal":
                return status, lower, upper, feasible
            points = [v] if best_v is None else [ALPHA * v + (1 - ALPHA) * best_v, v]
            added = 0
            for p in points:
                q, g, ok = self.evaluate(p)
                value = float(self.cf @ p + q.sum())
                if value <= upper:
                    best_v, upper, feasible = p, value, ok
                added = self._cuts(p, q, g, v, theta)
                if added:
                    break
            if prune:
                self._prune()
            if not added or (upper - lower) <= LP_TOL * max(abs(upper), 1.0):
                return "optimal", lower, upper, feasible

    # --- what the search asks for ----------------------------------------------------------
    def exclude(self, hubs: np.ndarray) -> None:
        """Σ_{open}(1 − y) + Σ_{shut} y ≥ 1: this hub set no more (a row never dropped)."""
        open_ = np.round(hubs) > 0.5
        self.master.addRow(1.0 - float(open_.sum()), INF, len(self.ys), self.ys, np.where(open_, -1.0, 1.0))
        self.seen = np.append(self.seen, np.inf)

    def minimise(
        self,
        target: float = math.inf,
        deadline: float | None = None,
        tick: Callable[[], bool] | None = None,
        seen: Callable[[np.ndarray, float, float], None] | None = None,
    ) -> Round:
        """One round (see the module's docstring). `target` in model units; `tick()` is called
        between iterations and returns True to stop; `deadline`: a `time.perf_counter` value;
        `seen(hubs, R(hubs), bound)` after each hub set's relaxation is known (model units)."""
        t0 = time.perf_counter()
        try:
            return self._round(target / self.scale, deadline, tick, seen)
        finally:
            self.seconds += time.perf_counter() - t0

    def _round(
        self,
        target: float,
        deadline: float | None,
        tick: Callable[[], bool] | None,
        seen: Callable[[np.ndarray, float, float], None] | None,
    ) -> Round:
        def out(
            status: str,
            bound: float | None,
            hubs: np.ndarray | None = None,
            value: float | None = None,
            floor: float | None = None,
        ) -> Round:
            scaled = None if bound is None or bound == -math.inf else bound * self.scale
            value, floor = (None if f is None else f * self.scale for f in (value, floor))
            return Round(status, scaled, hubs, value, floor)

        if not self.lp_done:
            status, lower, _, _ = self._converge(deadline, prune=True)
            if status == "infeasible":
                return out("closed", math.inf)
            if status != "optimal":
                return out(_ended(status), None)
            self.lp_done = True
        ys = self.ys
        kinds = [highspy.HighsVarType.kInteger] * len(ys)
        lo, up = self.lo[ys], self.up[ys]
        bound = -math.inf
        last: np.ndarray | None = None
        while True:
            if (tick is not None and tick()) or MONITOR.stop_requested():
                return out("stopped", bound)
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                return out("time", bound)
            self.master.changeColsIntegrality(len(ys), ys, kinds)
            self.integral = True
            self.iteration += 1
            status, bound_now, v, theta = self._solve_master(left)
            if status == "infeasible":
                return out("closed", math.inf)
            bound = max(bound, bound_now)
            if status != "optimal":
                return out(_ended(status), bound)
            if bound_now >= target:
                return out("closed", bound_now)
            hubs = np.round(v[ys])
            q, g, ok = self.evaluate(v)
            value = float(self.cf @ v + q.sum())
            self._cuts(v, q, g, v, theta)
            if ok and value < target < math.inf:
                return out("found", bound_now, hubs, value, bound_now)
            # R(hubs): the stocks converged with the hubs fixed
            self.master.changeColsIntegrality(len(ys), ys, [highspy.HighsVarType.kContinuous] * len(ys))
            self.integral = False
            self.master.changeColsBounds(len(ys), ys, hubs, hubs)
            try:
                status, low, high, ok = self._converge(deadline, prune=False)
            finally:
                self.master.changeColsBounds(len(ys), ys, _bounds(lo), _bounds(up))
            if status != "optimal":
                return out(_ended(status), bound)
            if seen is not None and ok:
                seen(hubs, high * self.scale, bound_now * self.scale)
            if math.isfinite(target):
                if low >= target:
                    self.exclude(hubs)  # R(hubs) ≥ target: settled by the relaxation alone
                    self.dropped += 1
                    continue
                return out("found", bound_now, hubs, high if ok else None, low)
            same = last is not None and np.array_equal(hubs, last)
            if ok and (high - bound_now <= LP_TOL * max(abs(high), 1.0) or same):
                return out("optimal", bound_now, hubs, high, low)  # `same`: no cut left to add there
            last = hubs
