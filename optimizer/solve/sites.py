r"""Exact site choice for p-median, UFLP and p-center on a client × site cost matrix.

The reserve model hands HiGHS the textbook assignment formulation (one column per client and
site), whose LP alone stops being solvable in minutes at 600+ vertices. The site choice
needs far less: each client only cares which is the nearest open site, so these
formulations keep the binaries :math:`y_j` and describe a client's cost by its sorted
distinct costs :math:`D_i^1 < \dots < D_i^K`:

``levels`` (Elloumi 2010 for sums; Elloumi, Labbé & Pochet 2004 for the radius)
    :math:`z_i^k \ge 1` unless a site within :math:`D_i^k` is open,
    :math:`z_i^k + \sum_{j: c_{ij} = D_i^k} y_j \ge z_i^{k-1}`, cost
    :math:`D_i^1 + \sum_k (D_i^{k+1} - D_i^k) z_i^k`; only the levels no choice of sites can
    skip are kept. For p-center one radius ladder is shared by all clients.
``benders`` (Duran-Mateluna, Ales & Elloumi 2023; Fischetti, Ljubić & Sinnl 2017; Gaar &
Sinnl 2022)
    one :math:`\theta_i` per client (p-center: one :math:`z`) and the cuts
    :math:`\theta_i \ge D - \sum_{j: c_{ij} < D} (D - c_{ij}) y_j`, separated by a scan
    over the presorted sites (no LP per client): an LP cut loop to convergence, then
    branch and bound on the binding cuts, re-solved with the integer point's own cuts
    until its true cost meets the master's.

Both start from `local_search`'s incumbent (greedy, then swap/add/drop moves evaluated
exactly), so a run stopped by the time limit still holds a good plan with an honest bound.
All functions take numpy arrays; costs are ``inf`` where a site cannot serve a client.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import highspy
import numpy as np
from scipy.sparse import csr_array

from horizon.optimizer.solve.highs import configure, new_highs, run_highs, set_start, time_limit_for
from horizon.optimizer.solve.result import SolveOptions, gap_of, within_gap

Kind = Literal["sum", "max"]
FORMULATIONS = ("assignment", "levels", "benders")
TOL = 1e-9


@dataclass(frozen=True)
class SiteProblem:
    """Choose open sites to minimise fixed costs plus the clients' nearest-site costs.

    `kind` "sum": :math:`\\sum_j f_j y_j + \\sum_i \\min_{j\\ open} c_{ij}` (p-median, UFLP);
    "max": :math:`\\max_i \\min_{j\\ open} c_{ij}` (p-center; `fixed` is ignored).
    `lower`/`upper` are per-site bounds (1/1: must open, 0/0: may not); the number of open
    sites lies in [`p_min`, `p_max`].
    """

    cost: np.ndarray  # clients × sites
    fixed: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p_min: int = 0
    p_max: int | None = None
    kind: Kind = "sum"

    @property
    def n_sites(self) -> int:
        return int(self.cost.shape[1])

    @property
    def top(self) -> int:
        return self.n_sites if self.p_max is None else min(self.p_max, int(self.upper.sum()))

    def value(self, open_: np.ndarray) -> float:
        """Exact objective of a site choice (inf when a client has no open site)."""
        if not open_.any():
            return math.inf
        near = self.cost[:, open_].min(axis=1)
        if self.kind == "max":
            return float(near.max())
        return float(self.fixed[open_].sum() + near.sum())

    def feasible(self, open_: np.ndarray) -> bool:
        k = int(open_.sum())
        return (
            bool(np.all(open_[self.lower > 0.5]))
            and not bool(np.any(open_[self.upper < 0.5]))
            and self.p_min <= k <= self.top
            and math.isfinite(self.value(open_))
        )


@dataclass
class SiteResult:
    """Outcome of `solve_sites`: the best plan, its exact value, a proven bound."""

    open: np.ndarray | None
    objective: float | None
    bound: float | None
    status: str  # "optimal", "feasible", "no_solution", "infeasible"
    formulation: str
    seconds: float
    heuristic_objective: float | None = None
    heuristic_seconds: float = 0.0
    lp_bound: float | None = None
    rounds: int = 0  # cut-loop rounds (benders) or MIP re-solves
    fixed: int = 0  # sites fixed by reduced cost before branching
    columns: int = 0
    rows: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        return gap_of(self.objective, self.bound)


# --- heuristic -----------------------------------------------------------------------------


def _big(cost: np.ndarray) -> np.ndarray:
    """`cost` with inf replaced by a penalty larger than any finite plan's total."""
    finite = cost[np.isfinite(cost)]
    big = (float(np.abs(finite).sum()) + 1.0) * 10.0 if finite.size else 1.0
    return np.where(np.isfinite(cost), cost, big)


def _nearest_two(c: np.ndarray, open_: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per client: cost of the nearest open site, its index, cost of the second nearest."""
    idx = np.flatnonzero(open_)
    sub = c[:, idx]
    if len(idx) == 1:
        return sub[:, 0], np.full(len(c), idx[0]), np.full(len(c), np.inf)
    part = np.argpartition(sub, 1, axis=1)[:, :2]
    rows = np.arange(len(c))
    a, b = sub[rows, part[:, 0]], sub[rows, part[:, 1]]
    swap = b < a
    first = np.where(swap, part[:, 1], part[:, 0])
    return np.minimum(a, b), idx[first], np.maximum(a, b)


def _greedy(problem: SiteProblem, c: np.ndarray) -> np.ndarray:
    """Add the site that lowers the objective most until adding no longer pays (or `p_max`)."""
    open_ = problem.lower > 0.5
    allowed = problem.upper > 0.5
    near = c[:, open_].min(axis=1) if open_.any() else np.full(len(c), np.inf)
    while open_.sum() < problem.top:
        cand = np.flatnonzero(allowed & ~open_)
        if not len(cand):
            break
        if problem.kind == "max":
            score = np.minimum(near[:, None], c[:, cand]).max(axis=0)
        else:
            score = np.minimum(near[:, None], c[:, cand]).sum(axis=0) + problem.fixed[cand]
            score = score - (near.sum() if np.isfinite(near).all() else np.inf)
        best = int(np.argmin(score))
        must = open_.sum() < max(problem.p_min, 1)
        if problem.kind == "sum" and not must and np.isfinite(near).all() and score[best] >= -TOL:
            break
        if problem.kind == "max" and not must and np.isfinite(near).all() and score[best] >= near.max():
            break
        open_[cand[best]] = True
        near = np.minimum(near, c[:, cand[best]])
    return open_


def _sum_moves(problem: SiteProblem, c: np.ndarray, open_: np.ndarray) -> tuple[float, int, int]:
    """Best single move for a sum objective: (delta, site in or -1, site out or -1).

    Fast interchange: for candidate j, clients nearer to j than to their nearest open site
    gain; removing r costs its clients the step to min(second nearest, j).
    """
    d1, c1, d2 = _nearest_two(c, open_)
    k = int(open_.sum())
    closed = np.flatnonzero((problem.upper > 0.5) & ~open_)
    removable = open_ & (problem.lower < 0.5)
    best = (0.0, -1, -1)
    # drop r: its clients move to their second nearest
    if k > max(problem.p_min, 1):
        drop = np.bincount(c1, weights=np.where(np.isfinite(d2), d2 - d1, np.inf), minlength=problem.n_sites) - problem.fixed
        drop[~removable] = np.inf
        r = int(np.argmin(drop))
        if drop[r] < best[0]:
            best = (float(drop[r]), -1, r)
    if not len(closed):
        return best
    cj = c[:, closed]
    gain = np.maximum(d1[:, None] - cj, 0.0).sum(axis=0)
    if k < problem.top:
        add = problem.fixed[closed] - gain
        j = int(np.argmin(add))
        if add[j] < best[0]:
            best = (float(add[j]), int(closed[j]), -1)
    # swap j in, r out
    loss = np.where(cj >= d1[:, None], np.minimum(cj, d2[:, None]) - d1[:, None], 0.0)
    owner = csr_array((np.ones(len(c1)), (c1, np.arange(len(c1)))), shape=(problem.n_sites, len(c1)))
    sums = owner @ loss  # per open site r: what its clients lose when r closes and j opens
    swap = sums - gain[None, :] + problem.fixed[closed][None, :] - problem.fixed[:, None]
    swap[~removable] = np.inf
    r, j = np.unravel_index(int(np.argmin(swap)), swap.shape)
    if swap[r, j] < best[0]:
        best = (float(swap[r, j]), int(closed[j]), int(r))
    return best


def _max_swap(problem: SiteProblem, c: np.ndarray, open_: np.ndarray) -> tuple[float, int, int]:
    """Best swap for a max objective (p-center): (delta, site in, site out)."""
    d1, c1, d2 = _nearest_two(c, open_)
    cur = float(d1.max())
    best = (0.0, -1, -1)
    m = problem.n_sites
    removable = np.flatnonzero(open_ & (problem.lower < 0.5))
    for j in np.flatnonzero((problem.upper > 0.5) & ~open_).tolist():
        a = np.minimum(c[:, j], d1)  # every client keeps its nearest
        b = np.minimum(c[:, j], d2)  # clients of the removed site fall back to j or second
        group_a = np.full(m, -np.inf)
        np.maximum.at(group_a, c1, a)
        group_b = np.full(m, -np.inf)
        np.maximum.at(group_b, c1, b)
        top2 = np.partition(group_a, -2)[-2:] if m > 1 else np.array([-np.inf, group_a[0]])
        hi, second = float(top2.max()), float(top2.min())
        for r in removable.tolist():
            others = second if group_a[r] >= hi else hi
            val = max(others, float(group_b[r]))
            if val - cur < best[0] - TOL:
                best = (val - cur, j, r)
    return best


def local_search(problem: SiteProblem, deadline: float | None = None, start: np.ndarray | None = None) -> np.ndarray | None:
    """A good feasible site choice: greedy (or `start`), then best-improving moves.

    Moves are evaluated exactly (nearest and second-nearest open site per client); it stops
    at a local optimum or at `deadline` (a `time.perf_counter()` value). None if the greedy
    cannot serve every client.
    """
    c = _big(problem.cost)
    open_ = _greedy(problem, c) if start is None else start.copy()
    while int(open_.sum()) < max(problem.p_min, 1):
        extra = np.flatnonzero((problem.upper > 0.5) & ~open_)
        if not len(extra):
            return None
        open_[extra[0]] = True
    max_kind = problem.kind == "max"
    while deadline is None or time.perf_counter() < deadline:
        delta, j, r = _max_swap(problem, c, open_) if max_kind else _sum_moves(problem, c, open_)
        if delta >= -1e-9 * max(1.0, abs(problem.value(open_)) if not max_kind else 1.0) or (j < 0 and r < 0):
            break
        if j >= 0:
            open_[j] = True
        if r >= 0:
            open_[r] = False
    return open_ if problem.feasible(open_) else None


# --- shared HiGHS plumbing ----------------------------------------------------------------


def _highs(options: SolveOptions) -> highspy.Highs:
    h = new_highs(options)
    configure(h, replace(options, time_limit=None))
    return h


def _add_rows(h: highspy.Highs, lower: np.ndarray, upper: np.ndarray, rows: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Add rows given as (column indices, values) pairs in one call."""
    if not rows:
        return
    starts = np.cumsum([0] + [len(ix) for ix, _ in rows[:-1]]).astype(np.int32)
    idx = np.concatenate([ix for ix, _ in rows]).astype(np.int32)
    val = np.concatenate([v for _, v in rows]).astype(float)
    h.addRows(len(rows), np.asarray(lower, float), np.asarray(upper, float), len(idx), starts, idx, val)


def _site_rows(h: highspy.Highs, problem: SiteProblem, reach: np.ndarray) -> None:
    """The site count and each client's 'some reachable site opens' row."""
    m = problem.n_sites
    lo, up = float(problem.p_min), float(problem.p_max) if problem.p_max is not None else highspy.kHighsInf
    rows = [(np.arange(m), np.ones(m))]
    lows, ups = [lo], [up]
    for i in np.flatnonzero(~reach.all(axis=1)).tolist():  # rows that every site satisfies are implied
        rows.append((np.flatnonzero(reach[i]), np.ones(int(reach[i].sum()))))
        lows.append(1.0)
        ups.append(highspy.kHighsInf)
    _add_rows(h, np.array(lows), np.array(ups), rows)


def _run(h: highspy.Highs, deadline: float, mip: bool) -> tuple[str, float | None, float | None, np.ndarray | None]:
    """Run with the time left; (status, objective, dual bound, column values)."""
    left = deadline - time.perf_counter()
    if left <= 0:
        return "no_solution", None, None, None
    h.setOptionValue("time_limit", time_limit_for(h, left, mip))
    res, values = run_highs(h, mip)
    return res.status, res.objective, res.bound, values


def _set_integer(h: highspy.Highs, cols: np.ndarray) -> None:
    h.changeColsIntegrality(len(cols), cols.astype(np.int32), np.array([highspy.HighsVarType.kInteger] * len(cols)))


# --- cut separation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sorted:
    """Each client's sites by increasing cost (presorted once for every separation)."""

    order: np.ndarray  # clients × sites
    cost: np.ndarray  # the costs in that order (inf last)

    @classmethod
    def of(cls, cost: np.ndarray) -> Sorted:
        order = np.argsort(cost, axis=1, kind="stable")
        return cls(order, np.take_along_axis(cost, order, axis=1))


def separate(s: Sorted, y: np.ndarray, floor: float = -math.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Deepest cut per client at `y`: (level D, cut value at y, count of sites below D).

    The cut :math:`\theta_i \ge D - \sum_{j: c_{ij} < D} (D - \max(c_{ij}, floor)) y_j` is
    deepest at the level where the open mass of the nearest sites first reaches 1 (its
    right-hand side is concave in D with slope 1 minus that mass). `floor` lifts the cut by
    a known lower bound of the objective (p-center).
    """
    ys = y[s.order]
    cum = np.cumsum(ys, axis=1)
    n, m = s.cost.shape
    t = np.minimum((cum < 1.0 - 1e-9).sum(axis=1), m - 1)
    level = s.cost[np.arange(n), t]
    below = s.cost < level[:, None]
    with np.errstate(invalid="ignore"):
        step = np.where(below, level[:, None] - np.maximum(s.cost, floor), 0.0)
    val = level - (step * ys).sum(axis=1)
    return level, val, below.sum(axis=1)


def cut_rows(s: Sorted, clients: np.ndarray, level: np.ndarray, floor: float = -math.inf) -> list[tuple[np.ndarray, np.ndarray]]:
    """Site parts of the cuts of `clients` at `level`: θ_i + Σ coef_j y_j ≥ D_i."""
    rows = []
    for i, d in zip(clients.tolist(), level.tolist()):
        k = int(np.searchsorted(s.cost[i], d, side="left"))
        rows.append((s.order[i, :k].copy(), d - np.maximum(s.cost[i, :k], floor)))
    return rows


# --- Benders ------------------------------------------------------------------------------


@dataclass
class _Master:
    """Benders master: y (0..m-1) then θ (one per client, or one z for "max")."""

    problem: SiteProblem
    sorted: Sorted
    floor: float
    h: highspy.Highs
    cuts: list[tuple[int, np.ndarray, np.ndarray, float]] = field(default_factory=list)  # (θ col, idx, coef, D)

    @property
    def n_theta(self) -> int:
        return 1 if self.problem.kind == "max" else self.problem.cost.shape[0]

    def theta_col(self, i: np.ndarray) -> np.ndarray:
        m = self.problem.n_sites
        return np.full(len(i), m) if self.problem.kind == "max" else m + i

    def add(self, clients: np.ndarray, level: np.ndarray) -> None:
        rows = cut_rows(self.sorted, clients, level, self.floor)
        cols = self.theta_col(clients)
        full = [(np.concatenate([ix, [tc]]), np.concatenate([v, [1.0]])) for (ix, v), tc in zip(rows, cols.tolist())]
        _add_rows(self.h, level, np.full(len(level), highspy.kHighsInf), full)
        self.cuts += [(int(tc), ix, v, float(d)) for (ix, v), tc, d in zip(rows, cols.tolist(), level.tolist())]

    def violated(self, y: np.ndarray, theta: np.ndarray, rel: float) -> tuple[np.ndarray, np.ndarray]:
        """Clients whose deepest cut at y exceeds their θ (or z) by more than `rel`."""
        level, val, _ = separate(self.sorted, y, self.floor)
        val = np.where(np.isfinite(level), val, -np.inf)  # unreached mass: the cover rows hold it
        th = np.full(len(val), theta[0]) if self.problem.kind == "max" else theta
        bad = val > th + rel * np.maximum(1.0, np.abs(val))
        if self.problem.kind == "max" and bad.any():  # one z: its deepest few cuts suffice
            worst = np.argsort(-val)[: max(1, min(50, int(bad.sum())))]
            bad = np.zeros_like(bad)
            bad[worst] = True
        return np.flatnonzero(bad), level[bad]


def _master(problem: SiteProblem, s: Sorted, floor: float, ub: float, opts: SolveOptions) -> _Master:
    n, m = problem.cost.shape
    h = _highs(opts)
    mx = _Master(problem, s, floor, h)
    k = mx.n_theta
    inf = highspy.kHighsInf
    lo_t = np.full(k, floor if problem.kind == "max" else -inf)
    if problem.kind == "sum":  # θ_i is at least the client's cheapest cost
        lo_t = s.cost[:, 0].copy()
    h.addVars(
        m + k,
        np.concatenate([problem.lower, lo_t]),
        np.concatenate([problem.upper, np.full(k, ub if problem.kind == "max" else inf)]),
    )
    cost = np.concatenate([problem.fixed if problem.kind == "sum" else np.zeros(m), np.ones(k)])
    h.changeColsCost(m + k, np.arange(m + k, dtype=np.int32), cost)
    _site_rows(h, problem, np.isfinite(problem.cost))
    return mx


def _theta_at(problem: SiteProblem, open_: np.ndarray) -> np.ndarray:
    near = problem.cost[:, open_].min(axis=1)
    return np.array([near.max()]) if problem.kind == "max" else near


def benders(
    problem: SiteProblem, start: np.ndarray, deadline: float, mip_gap: float, opts: SolveOptions, result: SiteResult
) -> None:
    """LP cut loop from the incumbent, then MIP rounds on the binding cuts (fills `result`)."""
    n, m = problem.cost.shape
    s = Sorted.of(problem.cost)
    best_open, best = start, problem.value(start)
    floor = float(s.cost[:, 0].max()) if problem.kind == "max" else -math.inf
    mx = _master(problem, s, floor, best, opts)
    mx.add(*_all_cuts(s, start.astype(float), floor))
    # LP phase: in-out stabilisation around the incumbent, then plain separation
    centre = start.astype(float)
    lp_bound = -math.inf
    rounds = 0
    y = centre
    converged = False
    while time.perf_counter() < deadline:
        rounds += 1
        st, obj, _, x = _run(mx.h, deadline, mip=False)
        if st != "optimal" or x is None:
            break
        lp_bound = max(lp_bound, float(obj))
        y, th = x[:m], x[m:]
        if within_gap(gap_of(best, lp_bound), mip_gap):
            break
        probe = 0.5 * y + 0.5 * centre
        clients, level = mx.violated(probe, th, 1e-7)
        if not len(clients):
            clients, level = mx.violated(y, th, 1e-7)
        if not len(clients):
            converged = True
            break
        centre = 0.5 * centre + 0.5 * y
        mx.add(clients, level)
    result.lp_bound = lp_bound if math.isfinite(lp_bound) else None
    if converged:
        # the LP optimum's largest values, improved by local search, often beat the start
        k = int(best_open.sum())
        rounded = np.zeros(m, dtype=bool)
        rounded[np.argsort(-(y + problem.lower))[:k]] = True
        again = local_search(problem, time.perf_counter() + 0.02 * max(deadline - time.perf_counter(), 0.0), rounded)
        if again is not None and problem.value(again) < best:
            best_open, best = again, problem.value(again)
        result.fixed = _fix_by_reduced_cost(mx.h, problem, y, lp_bound, best)
    result.rounds = rounds
    bound = lp_bound
    # MIP phase on the same master: every master solution HiGHS finds is priced exactly;
    # the cuts of those the master underestimates are added and the MIP re-solved (stopping
    # the run at the first such point instead was slower: each restart redoes the root)
    _set_integer(mx.h, np.arange(m))
    mx.h.setOptionValue("mip_rel_gap", float(mip_gap))
    watch = _Watch(problem)
    mx.h.cbMipSolution.subscribe(watch.on_solution)
    try:
        while time.perf_counter() < deadline and not within_gap(gap_of(best, bound), mip_gap):
            watch.pending.clear()
            set_start(mx.h, np.concatenate([best_open.astype(float), _theta_at(problem, best_open)]))
            st, _, mbound, x = _run(mx.h, deadline, mip=True)
            if mbound is not None:  # the master relaxes the problem: its bound is valid
                bound = max(bound, mbound)
            if x is not None:
                watch.see(x)
            if watch.best is not None and watch.best[1] < best:
                best_open, best = watch.best
            result.rounds += 1
            added = 0
            for point in watch.pending:
                clients, level = mx.violated(point[:m], point[m:], 1e-9)
                if len(clients):
                    mx.add(*_ladder(s, clients, point[m:], level, problem.kind))
                    added += len(clients)
            if not added:
                break
    finally:
        mx.h.clearCallbacks()
    result.columns, result.rows = m + mx.n_theta, mx.h.getNumRow()
    result.open, result.objective = best_open, best
    result.bound = min(bound, best) if math.isfinite(bound) else None


class _Watch:
    """Prices each master solution exactly: keeps the best true plan and the points whose
    θ underestimates their true cost (the master's bound stays valid regardless)."""

    def __init__(self, problem: SiteProblem) -> None:
        self.problem = problem
        self.pending: list[np.ndarray] = []
        self.best: tuple[np.ndarray, float] | None = None

    def see(self, x: np.ndarray) -> None:
        p, m = self.problem, self.problem.n_sites
        y = x[:m] > 0.5
        if not p.feasible(y):
            return
        value = p.value(y)
        if self.best is None or value < self.best[1]:
            self.best = (y, value)
        near = _theta_at(p, y)
        if np.any(near > x[m:] + 1e-9 * np.maximum(1.0, np.abs(near))):
            point = x.copy()
            point[:m] = y
            self.pending.append(point)

    def on_solution(self, e: Any) -> None:
        self.see(np.asarray(e.data_out.mip_solution, dtype=float))


def _fix_by_reduced_cost(h: highspy.Highs, problem: SiteProblem, y: np.ndarray, lp_bound: float, best: float) -> int:
    """Fix sites whose LP reduced cost exceeds the gap to the incumbent (they cannot be in
    a better plan: the master's LP bound with y_j flipped already reaches `best`)."""
    m = problem.n_sites
    rc = np.asarray(h.getSolution().col_dual[:m])
    slack = best - lp_bound + 1e-9 * max(1.0, abs(best))
    shut = (y < 1e-9) & (rc > slack) & (problem.lower < 0.5)
    keep = (y > 1 - 1e-9) & (rc < -slack) & (problem.upper > 0.5)
    for mask, value in ((shut, 0.0), (keep, 1.0)):
        idx = np.flatnonzero(mask).astype(np.int32)
        if len(idx):
            h.changeColsBounds(len(idx), idx, np.full(len(idx), value), np.full(len(idx), value))
    return int(shut.sum() + keep.sum())


def _ladder(s: Sorted, clients: np.ndarray, theta: np.ndarray, level: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """For clients the master underestimates at an integer point: every cut level between
    the master's value and the true cost, so nearby integer points are priced exactly too."""
    out_c, out_l = [], []
    for i, d in zip(clients.tolist(), level.tolist()):
        t = float(theta[0] if kind == "max" else theta[i])
        row = s.cost[i]
        lv = np.unique(row[(row > t) & (row <= d)])[-64:]
        out_c.append(np.full(len(lv), i))
        out_l.append(lv)
    return np.concatenate(out_c), np.concatenate(out_l)


def _all_cuts(s: Sorted, y: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    level, _, _ = separate(s, y, floor)
    return np.arange(len(level)), level


# --- levels -------------------------------------------------------------------------------


def _levels_sum(problem: SiteProblem, start: np.ndarray, opts: SolveOptions) -> tuple[highspy.Highs, np.ndarray, int]:
    """Elloumi's levels model for a sum objective; returns (HiGHS, start values, columns).

    A client's levels stop once every feasible choice must open a site within them: after
    the cheapest `available - p_min + 1` sites, or at a site that must open.
    """
    n, m = problem.cost.shape
    s = Sorted.of(problem.cost)
    avail = problem.upper > 0.5
    forced = problem.lower > 0.5
    q = int(avail.sum()) - max(problem.p_min, 1) + 1
    h = _highs(opts)
    inf = highspy.kHighsInf
    h.addVars(m, problem.lower.astype(float), problem.upper.astype(float))
    h.changeColsCost(m, np.arange(m, dtype=np.int32), problem.fixed.astype(float))
    base = 0.0
    z_cost: list[float] = []
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    lows: list[float] = []
    start_z: list[float] = []
    near = problem.cost[:, start].min(axis=1)
    for i in range(n):
        order, cost = s.order[i], s.cost[i]
        ok = avail[order] & np.isfinite(cost)
        order, cost = order[ok], cost[ok]
        stop = min(len(order), q)
        hit = np.flatnonzero(forced[order])
        if len(hit):
            stop = min(stop, int(hit[0]) + 1)
        distinct, first = np.unique(cost[:stop], return_index=True)
        ends = np.append(first[1:], stop)
        base += float(distinct[0])
        prev = -1  # column of z^{k-1} (-1: the constant 1)
        for k in range(len(distinct)):
            idx = order[first[k] : ends[k]]
            if k < len(distinct) - 1:  # the last level has no z: some kept site must open
                col = m + len(z_cost)
                z_cost.append(float(distinct[k + 1] - distinct[k]))
                start_z.append(1.0 if near[i] > distinct[k] + TOL else 0.0)
                idx = np.append(idx, col)
            vals = np.ones(len(idx))
            if prev >= 0:
                idx, vals = np.append(idx, prev), np.append(vals, -1.0)
            rows.append((idx, vals))
            lows.append(0.0 if prev >= 0 else 1.0)
            prev = m + len(z_cost) - 1
    nz = len(z_cost)
    h.addVars(nz, np.zeros(nz), np.ones(nz))
    h.changeColsCost(nz, np.arange(m, m + nz, dtype=np.int32), np.array(z_cost))
    h.changeObjectiveOffset(base)
    _add_rows(h, np.array(lows), np.full(len(lows), inf), rows)
    count_hi = float(problem.p_max) if problem.p_max is not None else inf
    _add_rows(h, np.array([float(problem.p_min)]), np.array([count_hi]), [(np.arange(m), np.ones(m))])
    return h, np.concatenate([start.astype(float), np.array(start_z)]), m + nz


def _levels_max(problem: SiteProblem, start: np.ndarray, opts: SolveOptions) -> tuple[highspy.Highs, np.ndarray, int]:
    """The radius ladder (Elloumi, Labbé & Pochet 2004) between the lower bound and the
    incumbent: u_k = 1 when the radius reaches level k; a client not served below D_k
    forces u_k. Only each client's own distances give rows (the others are implied)."""
    n, m = problem.cost.shape
    c = np.where(problem.upper[None, :] > 0.5, problem.cost, np.inf)
    lb = float(np.min(c, axis=1).max())
    ub = problem.value(start)
    ladder = np.unique(c[(c >= lb) & (c <= ub)])
    h = _highs(opts)
    inf = highspy.kHighsInf
    h.addVars(m, problem.lower.astype(float), problem.upper.astype(float))
    nl = len(ladder) - 1  # u for ladder[1:], radius = ladder[0] + Σ step_k u_k
    h.addVars(nl, np.zeros(nl), np.ones(nl))
    h.changeColsCost(nl, np.arange(m, m + nl, dtype=np.int32), np.diff(ladder))
    h.changeObjectiveOffset(float(ladder[0]))
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    lows: list[float] = []
    for i in range(n):
        # within the incumbent's radius some site must open
        within = np.flatnonzero(c[i] <= ub)
        rows.append((within, np.ones(len(within))))
        lows.append(1.0)
        own = np.unique(c[i][(c[i] > lb) & (c[i] <= ub)])
        for d in own.tolist():
            k = int(np.searchsorted(ladder, d))  # ladder[k] == d: radius below d needs a site < d
            near = np.flatnonzero(c[i] < d)
            rows.append((np.append(near, m + k - 1), np.ones(len(near) + 1)))
            lows.append(1.0)
    for k in range(1, nl):  # u_k ≥ u_{k+1}
        rows.append((np.array([m + k - 1, m + k]), np.array([1.0, -1.0])))
        lows.append(0.0)
    rows.append((np.arange(m), np.ones(m)))
    lows.append(float(problem.p_min))
    ups = np.full(len(lows), inf)
    ups[-1] = float(problem.p_max) if problem.p_max is not None else inf
    _add_rows(h, np.array(lows), ups, rows)
    u0 = (ladder[1:] <= ub + TOL).astype(float)
    return h, np.concatenate([start.astype(float), u0]), m + nl


def levels(
    problem: SiteProblem, start: np.ndarray, deadline: float, mip_gap: float, opts: SolveOptions, result: SiteResult
) -> None:
    """Solve the levels model as one MIP from the incumbent (fills `result`)."""
    m = problem.n_sites
    build = _levels_max if problem.kind == "max" else _levels_sum
    h, x0, ncols = build(problem, start, opts)
    _set_integer(h, np.arange(m))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    set_start(h, x0)
    st, obj, bound, x = _run(h, deadline, mip=True)
    best_open, best = start, problem.value(start)
    if x is not None:
        y = x[:m] > 0.5
        if problem.feasible(y) and problem.value(y) < best:
            best_open, best = y, problem.value(y)
    result.columns, result.rows = ncols, h.getNumRow()
    result.open, result.objective = best_open, best
    if st == "optimal":
        bound = best if bound is None else bound
    result.bound = None if bound is None else min(bound, best)
    result.lp_bound = None


# --- entry point --------------------------------------------------------------------------


def choose(problem: SiteProblem) -> str:
    """The formulation for `problem` when none is forced.

    Levels are compact only when clients keep very few levels (nearly every site open);
    otherwise the cut master is far smaller and faster (pmed1-15: median 0.9 s against
    4.5 s for levels, whose model grows towards clients × sites as p falls).
    """
    n, m = problem.cost.shape
    if problem.kind == "max":
        return "benders"
    kept = n * (int((problem.upper > 0.5).sum()) - max(problem.p_min, 1) + 1)
    return "levels" if kept <= 2 * (n + m) else "benders"


def solve_sites(
    problem: SiteProblem,
    formulation: str = "auto",
    options: SolveOptions | None = None,
    heuristic_share: float = 0.03,
) -> SiteResult:
    """Best site choice by `formulation` ("levels", "benders" or "auto"), within the limit.

    The local search runs first, with at most `heuristic_share` of the time limit; its
    plan is HiGHS's first incumbent, so a stopped run returns it (or better) with the
    best bound the model proved.
    """
    options = options or SolveOptions()
    time_limit, mip_gap = options.time_limit, options.mip_gap
    t0 = time.perf_counter()
    form = choose(problem) if formulation == "auto" else formulation
    if form not in ("levels", "benders"):
        raise ValueError(f"unknown site formulation {form!r}")
    deadline = t0 + (time_limit if time_limit else 1e9)
    h_deadline = t0 + heuristic_share * time_limit if time_limit else None
    start = local_search(problem, h_deadline)
    result = SiteResult(None, None, None, "no_solution", form, 0.0)
    result.heuristic_seconds = time.perf_counter() - t0
    if start is None:
        result.status = "infeasible"
        result.seconds = result.heuristic_seconds
        return result
    result.heuristic_objective = problem.value(start)
    (benders if form == "benders" else levels)(problem, start, deadline, mip_gap, options, result)
    result.seconds = time.perf_counter() - t0
    result.status = "optimal" if within_gap(result.gap, mip_gap) else "feasible"
    return result
