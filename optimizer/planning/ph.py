"""Progressive hedging (PH) with mpi-sppy: the reserve model decomposed by scenario.

The extensive form (`horizon.optimizer.pipeline`) holds every scenario in one model and grows with
the scenario count. Here each scenario is its own sub-model, built by horizon's normal model
code from a one-scenario sub-instance, and mpi-sppy's PH makes the sub-models agree on the
first stage:

* first stage (non-anticipative): hub opening ``open_hub`` and stationing ``stationed``;
* second stage (per scenario): ``dispatch`` (and ``unmet`` with soft deadlines).

The seam is `scenario_creator`: the sub-instance keeps one scenario (probability 1 inside,
so its objective is annual cost + crises_per_year × that scenario's crisis cost), its
eligible arcs come from the network computed once for the full instance, and
`horizon.models.reserve.build_model(..., first_stage=...)` gives every sub-model the same
first-stage variables with the same bounds as the extensive form. The Pyomo model
(`LinearModel.to_pyomo`) carries ``_mpisppy_probability`` (the scenario's real probability)
and a root node with the first-stage cost; ``mpisppy.utils.sputils.create_EF`` on the same
creator gives back the extensive form.

What `solve_ph` reports:

* **incumbent** (upper bound): a first stage evaluated on *every* scenario with horizon's
  HiGHS path (per-scenario MIPs with y, z fixed, spread over the ranks), then solved once
  more as the full model with y and z fixed on rank 0, which gives the `Solution`
  (dispatch per scenario, cost breakdown). Candidates start from PH's consensus x̄ and from
  the extensive form's LP relaxation, rounded (and rounded up); each is *repaired* (grown
  scenario by scenario until it serves all of them, then trimmed to what some scenario
  uses) and *improved* by a local search (take a unit away or close a hub; the scenarios
  whose plan breaks re-plan; keep the move if the expected cost falls). The message says
  which start won. On this model PH alone may settle on a consensus a few per cent above
  the optimum (hard deadlines give the scenarios no common slack), which is why the LP start
  and the local search are there;
* **bound** (lower bound, valid): the largest of PH's trivial bound (iteration 0: every
  scenario optimised alone, Σ p_s · bound_s), the Lagrangian bound from PH's final weights W
  (Σ p_s W_s = 0, so Σ p_s min_x f_s(x) + W_s·x ≤ optimum) and the EF's LP relaxation
  (rank 0; ``PHOptions.lp``). The PH terms use each sub-MIP's proven dual bound, not its
  incumbent. On generated instances the first two are weak (each scenario alone stations
  only its own needs: 60–90 % below the optimum); the LP relaxation is within a few per cent;
* **gap** = (incumbent − bound) / |incumbent|.

HiGHS cannot solve PH's quadratic proximal term; it is linearised
(``linearize_proximal_terms``, ``linearize_binary_proximal_terms``). ρ is set per variable
in proportion to its first-stage cost (``rho_factor`` × fixed or holding cost), the usual
cost-proportional choice, so the same factor suits instances of any cost scale.

Across ranks: ``mpiexec -n R horizon solve INSTANCE --method ph --json`` splits the
scenarios over R ranks; only rank 0 returns the `Solution`, prints and writes. mpi-sppy and mpi4py are optional dependencies:
without mpi4py PH runs in one process.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from horizon.models.linear import LinearModel
from horizon.models.reserve import FirstStage, ModelData, annual_cost, build_model, prepare
from horizon.models.stages import first_stage_blocks, first_stage_columns, first_stage_hubs
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.errors import HorizonError, InputError, SolverError
from horizon.optimizer.network.graph import Network, build_network, eligible_arcs
from horizon.optimizer.pipeline import load, solve_prepared
from horizon.optimizer.pipeline import prepare as prepare_full
from horizon.optimizer.results.solution import Solution, Timings
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.highs import (
    configure,
    new_highs,
    pass_model,
    reporting,
    run_highs,
    solve_relaxation,
    stdout_to_stderr,
)
from horizon.optimizer.solve.result import SolveOptions, SolveResult, relative_gap

SOLVER_LABEL = "mpisppy-ph+highs"
ROUND_TOL = 1e-6


@dataclass(frozen=True)
class PHOptions:
    """Progressive hedging settings (mpi-sppy options are derived from these)."""

    max_iterations: int = 10
    convthresh: float = 1e-4  # mpi-sppy's metric: mean |x_s - x̄| over first-stage variables
    rho_factor: float = 1.0  # ρ_j = rho_factor × first-stage cost of j
    solver_name: str = "appsi_highs"
    sub_mip_gap: float = 0.0  # relative gap of the scenario sub-MIPs inside PH
    time_limit: float | None = None  # seconds for the PH iterations (evaluation comes after)
    lagrangian_bound: bool = True  # one more solve pass for the Lagrangian bound
    repair: bool = True  # also try x̄ made feasible for every scenario and trimmed (two more passes)
    improve: bool = True  # local search from each candidate (take away units, close hubs)
    improve_time_limit: float | None = None  # seconds per candidate for the local search
    round_up: bool = True  # also start from x̄ rounded up (one more candidate)
    # Also use the extensive form's LP relaxation (rank 0 builds the full model anyway for the
    # Solution): a bound far tighter than PH's on this model, and a start for the incumbent.
    # Not decomposed, but only an LP.
    lp: bool = True
    verbose: bool = False


@dataclass(frozen=True)
class PHReport:
    """What PH found, for logs and benchmarks (the `Solution` carries the planner's view)."""

    incumbent: float | None
    bound: float | None
    gap: float | None
    trivial_bound: float | None
    lagrangian_bound: float | None
    iterations: int
    convergence: float | None
    candidates: list[float]  # evaluated objective of each candidate first stage (inf: infeasible)
    ranks: int
    scenarios: int
    seconds: dict[str, float]
    lp_bound: float | None = None  # the extensive form's LP relaxation (rank 0), when asked for
    incumbent_from: str = ""  # which start the incumbent came from
    stopped: bool = False  # Ctrl-C ended the iterations early (`StopOnRequest`)


# --- the seam ------------------------------------------------------------------------------
def scenario_instance(instance: Instance, name: str) -> Instance:
    """The instance with only scenario `name`, at probability 1 (its own demands only)."""
    scen = next((s for s in instance.spec.scenarios if s.id == name), None)
    if scen is None:
        raise InputError(f"unknown scenario '{name}'")
    only = scen.model_copy(update={"probability": 1.0, "weight": None})
    flat = [d for d in instance.spec.demands if d.scenario == name]
    return instance.derive(scenarios=[only], demands=flat)


def first_stage_of(instance: Instance, network: Network) -> FirstStage:
    """The first-stage index and bounds of the full instance (what the EF would use)."""
    data = prepare(instance, network, eligible_arcs(instance, network))
    return FirstStage(stocked=data.stocked, stock_bound=data.stock_bound, stock_upper=data.stock_upper)


def build_scenario(instance: Instance, name: str, network: Network, first_stage: FirstStage) -> tuple[LinearModel, ModelData]:
    """Scenario `name`'s sub-model (matrix form) with the shared first-stage variables."""
    sub = scenario_instance(instance, name)
    return build_model(sub, network, eligible_arcs(sub, network), first_stage=first_stage)


def scenario_creator(scenario_name: str, *, instance: Instance, network: Network, first_stage: FirstStage) -> pyo.ConcreteModel:
    """mpi-sppy's scenario creator: scenario `scenario_name` as a Pyomo model with a root node.

    The model is `LinearModel.to_pyomo` of horizon's own sub-model (no second copy of the
    formulation); the matrix form rides along as ``m._horizon`` for evaluating candidates.
    """
    from mpisppy.utils import sputils

    lm, data = build_scenario(instance, scenario_name, network, first_stage)
    m = lm.to_pyomo()
    cols, coefs = annual_cost(lm, data)
    m.first_stage_cost = pyo.Expression(
        expr=LinearExpression(constant=0.0, linear_coefs=coefs.tolist(), linear_vars=[m._columns[j] for j in cols])
    )
    # every first-stage block (hubs, stocks, contributors' pledges): none may differ by scenario
    sputils.attach_root_node(m, m.first_stage_cost, [getattr(m, name) for name in first_stage_blocks(lm)])
    m._mpisppy_probability = float(instance.probabilities[scenario_name])
    m._horizon = (lm, data)
    return m


def _check_supported(instance: Instance) -> None:
    if instance.options.objective != "expected":
        raise InputError("--method ph needs the expected-cost objective (worst_case couples the scenarios)")
    if instance.options.classic is not None:
        raise InputError("--method ph solves the reserve model, not a classic model")


# --- MPI -----------------------------------------------------------------------------------
def world() -> Any | None:
    """mpi4py's COMM_WORLD, or None when mpi4py is not installed (or finds no MPI library)."""
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError):  # mpi4py without libmpi raises RuntimeError
        return None
    return MPI.COMM_WORLD


def rank_and_size(comm: Any | None) -> tuple[int, int]:
    return (0, 1) if comm is None else (int(comm.Get_rank()), int(comm.Get_size()))


def idle_until_all_arrive(comm: Any, poll_seconds: float = 0.05) -> None:
    """A barrier that sleeps: Open MPI's blocking collectives spin, so ranks waiting for rank 0
    would take the cores its work (the full model, its LP relaxation) needs."""
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(poll_seconds)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Everything printed meanwhile (mpi-sppy's progress lines, solver banners) goes to stderr."""
    with stdout_to_stderr(), contextlib.redirect_stdout(sys.stderr):
        yield


# --- evaluating and repairing first stages (decomposed, spread over the ranks) ---------------
class LocalScenarios:
    """This rank's scenario sub-models in HiGHS, kept loaded: a pass only changes the
    first-stage bounds and re-runs (horizon's HiGHS path, no Pyomo)."""

    def __init__(self, models: Sequence[tuple[float, LinearModel]], options: SolveOptions, comm: Any | None) -> None:
        self.comm = comm
        self.options = options
        self.prob = np.array([p for p, _ in models], dtype=float)
        self.models = [lm for _, lm in models]
        # each sub-model's first-stage columns (pledges come after its own dispatch columns);
        # position j means the same variable in every sub-model
        self.cols_of = [first_stage_columns(lm) for lm in self.models]
        self.cols = self.cols_of[0] if self.models else np.zeros(0, dtype=np.int64)
        lower, upper, integer = self.models[0].col_bounds()
        self.lower, self.upper, self.integer = lower[self.cols], upper[self.cols], integer[self.cols]
        self._highs: list[highspy.Highs | None] = [None] * len(self.models)
        self.solves = 0
        self.cost = self.models[0].cost()[self.cols]  # first-stage cost of each first-stage variable
        self._row_cache: dict[int, tuple[Any, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.hub_of = first_stage_hubs(self.models[0]) if self.models else np.zeros(0, dtype=np.int64)

    def _solve(self, i: int, lower: np.ndarray, upper: np.ndarray) -> tuple[SolveResult, np.ndarray | None]:
        h = self._highs[i]
        if h is None:
            h = new_highs(self.options)
            configure(h, self.options)
            h.setOptionValue("mip_heuristic_run_feasibility_jump", False)  # small MIPs: costs more than it saves
            pass_model(h, self.models[i])
            self._highs[i] = h
        idx = self.cols_of[i].astype(np.int32)
        h.changeColsBounds(len(idx), idx, lower.astype(float), upper.astype(float))
        self.solves += 1
        with reporting(plans=False, bounds=False):  # one scenario's model: neither a plan nor a bound of the whole
            return run_highs(h, mip=True)

    def _pass(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray | None, float]:
        """Solve every scenario within first-stage bounds: (max over scenarios of the first
        stage each chose, Σ p_s · objective_s); (None, inf) if some scenario is infeasible."""
        chosen = np.zeros(len(self.cols))
        total, failed = 0.0, 0.0
        for i in range(len(self.models)):
            result, values = self._solve(i, lower, upper)
            if result.status != "optimal" or values is None or result.objective is None:
                failed = 1.0
                break
            x = values[self.cols_of[i]]
            chosen = np.maximum(chosen, np.where(self.integer, np.round(x), x))
            total += self.prob[i] * result.objective
        failed_all = float(_allreduce_sum(self.comm, np.array([failed]))[0])
        total_all = float(_allreduce_sum(self.comm, np.array([total]))[0])
        chosen_all = _allreduce_max(self.comm, chosen)
        if failed_all > 0:
            return None, math.inf
        return chosen_all, total_all

    def evaluate(self, x: np.ndarray) -> float:
        """Σ p_s · objective_s with the first stage fixed to `x` (the EF objective of `x`;
        inf if some scenario cannot be served)."""
        return self._pass(x, x)[1]

    def grow(self, floor: np.ndarray, attempts: int = 5) -> np.ndarray | None:
        """A first stage ≥ `floor` that serves every scenario, or None.

        Scenario by scenario (rank by rank), each one adds what it needs on top of the
        first stage so far. Each answer satisfies the first-stage rows (fleet, space, budget,
        hub count: they are in every sub-model) and more stock or more open hubs never break
        a dispatch plan, so the last answer serves every scenario. Sequential, hence one
        rank at a time: one solve per scenario in all. When a scenario cannot be served on
        top of the others' choices (a fleet or a hub's space used up), start again from
        scratch with the scenarios that failed first (their rank first), a few times.
        """
        rank, size = rank_and_size(self.comm)
        priority: list[int] = []  # local scenarios that failed, hardest first
        first_rank = 0
        start = np.maximum(floor, self.lower)
        for _ in range(attempts):
            x, failed, owner = start.copy(), False, -1
            for r in [first_rank] + [q for q in range(size) if q != first_rank]:
                if r == rank and not failed:
                    order = priority + [i for i in range(len(self.models)) if i not in priority]
                    for i in order:
                        result, values = self._solve(i, x, self.upper)
                        if result.status != "optimal" or values is None:
                            failed, owner = True, r
                            if i not in priority:
                                priority.insert(0, i)
                            break
                        v = values[self.cols_of[i]]
                        x = np.maximum(x, np.where(self.integer, np.round(v), v))
                if size > 1:
                    x, failed, owner = self.comm.bcast((x, failed, owner), root=r)
            if not failed:
                return x
            first_rank, start = owner, self.lower.copy()
        return None

    def shrink(self, x: np.ndarray) -> np.ndarray | None:
        """Every scenario keeps only what it uses of `x`; the union (max) still serves them
        all and still satisfies the first-stage rows (it is ≤ x, and each part satisfies them)."""
        chosen, _ = self._pass(self.lower, np.minimum(x, self.upper))
        return chosen

    def repair(self, x: np.ndarray) -> np.ndarray | None:
        """`x` grown until it serves every scenario (from scratch if `x` is a dead end: it
        may use up a fleet or a hub's space where no scenario needs it), then trimmed."""
        grown = self.grow(x)
        if grown is None:
            grown = self.grow(self.lower)
        return None if grown is None else self.shrink(grown)

    def improve(self, x: np.ndarray, max_sweeps: int = 3, time_limit: float | None = None) -> tuple[np.ndarray, float]:
        """Local search from a feasible first stage `x`; return (first stage, its objective).

        Moves: take one unit away from a stationing, or close a hub with all its stock. The
        scenarios whose current dispatch plan the move breaks re-plan with the rest of the
        first stage as a floor (they may add stock elsewhere: the union of what they add is
        kept) and are re-solved with the new first stage fixed; every other scenario keeps
        its plan and just saves (or pays) the first-stage cost difference. A move is kept if
        the expected total cost falls. Which plans break is read from the row activities of
        the current solutions (any row holding a changed column), so the search knows
        nothing of the model's families. Every rank takes the same decisions (all sums and
        maxima are all-reduced), so the first stage stays the same on every rank.
        """
        start = time.perf_counter()
        states = [self._state(i, x, x) for i in range(len(self.models))]
        failed = float(any(st is None for st in states))
        if float(_allreduce_sum(self.comm, np.array([failed]))[0]) > 0:
            return x, math.inf
        x = x.copy()
        n_hubs = self.models[0].vars["open_hub"].size
        hub_of = self.hub_of
        stock_order = [j for j in np.argsort(-self.cost, kind="stable").tolist() if j >= n_hubs]
        hub_order = [j for j in np.argsort(-self.cost, kind="stable").tolist() if j < n_hubs]
        for _ in range(max_sweeps):
            improved = False
            for j in stock_order + hub_order:
                while True:
                    if time_limit is not None and self._out_of_time(start, time_limit):
                        return x, self._total(states)
                    if x[j] - 1.0 < self.lower[j] - ROUND_TOL or self.cost[j] <= 0:
                        break
                    new, frozen = x.copy(), np.zeros(len(x), dtype=bool)
                    if j < n_hubs:  # close the hub: its stock goes too
                        at_hub = hub_of == j  # its opening, stocks and pledges
                        new[at_hub], frozen[at_hub] = 0.0, True
                    else:
                        new[j] -= 1.0
                        frozen[j] = True
                    if not self._try_move(x, new, frozen, states):
                        break
                    improved = True
                    if j < n_hubs:
                        break
            if not improved:
                break
        return x, self._total(states)

    def _out_of_time(self, start: float, limit: float) -> bool:
        late = float(time.perf_counter() - start > limit)
        return float(_allreduce_max(self.comm, np.array([late]))[0]) > 0

    def _total(self, states: list) -> float:
        local_total = sum(p * st[0] for p, st in zip(self.prob, states))
        return float(_allreduce_sum(self.comm, np.array([local_total]))[0])

    def _state(self, i: int, lower: np.ndarray, upper: np.ndarray) -> tuple[float, np.ndarray] | None:
        """(objective, row activities) of scenario i solved within first-stage bounds."""
        result, _ = self._solve(i, lower, upper)
        if result.status != "optimal" or result.objective is None:
            return None
        h = self._highs[i]
        assert h is not None
        return float(result.objective), np.asarray(h.getSolution().row_value, dtype=float)

    def _rows_of(self, i: int) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
        """Scenario i's first-stage columns (rows × first-stage vars), row bounds, and which
        rows hold only first-stage columns."""
        if i not in self._row_cache:
            lm = self.models[i]
            lo, up = lm.row_bounds()
            csr = lm.matrix()
            is_first = np.zeros(lm.n_cols, dtype=bool)
            is_first[self.cols_of[i]] = True
            nnz = np.diff(csr.indptr)
            per_row = np.bincount(np.repeat(np.arange(lm.n_rows), nnz), weights=is_first[csr.indices], minlength=lm.n_rows)
            fs_only = (nnz > 0) & (per_row == nnz)
            self._row_cache[i] = (csr.tocsc()[:, self.cols_of[i]].tocsr(), lo, up, fs_only)
        return self._row_cache[i]

    def _try_move(self, x: np.ndarray, new: np.ndarray, frozen: np.ndarray, states: list) -> bool:
        """Try first stage `new` (variables in `frozen` may not grow back); keep it if cheaper."""
        tol = 1e-6
        step = new - x
        broken: list[int] = []
        fs_violated = 0.0
        for i, st in enumerate(states):
            a, lo, up, fs_only = self._rows_of(i)
            act = st[1] + a @ step
            bad = (act > up + tol) | (act < lo - tol)
            if np.any(bad & fs_only):  # a first-stage row (hub count, ...): no scenario can mend it
                fs_violated = 1.0
                break
            if np.any(bad):
                broken.append(i)
        if float(_allreduce_max(self.comm, np.array([fs_violated]))[0]) > 0:
            return False
        # The broken scenarios re-plan on top of `new`; the union of what they add is kept.
        upper = np.where(frozen, new, self.upper)
        grown, infeasible = new.copy(), 0.0
        for i in broken:
            result, values = self._solve(i, new, upper)
            if result.status != "optimal" or values is None:
                infeasible = 1.0
                break
            v = values[self.cols_of[i]]
            grown = np.maximum(grown, np.where(self.integer, np.round(v), v))
        grown = _allreduce_max(self.comm, grown)
        if float(_allreduce_max(self.comm, np.array([infeasible]))[0]) > 0:
            return False
        step = grown - x
        first_cost = float(self.cost @ step)
        resolved: dict[int, tuple[float, np.ndarray] | None] = {}
        delta = 0.0
        for i in range(len(states)):
            if i in broken:
                st = self._state(i, grown, grown)
                resolved[i] = st
                if st is None:
                    infeasible = 1.0
                    break
                delta += self.prob[i] * (st[0] - states[i][0])
            else:
                delta += self.prob[i] * first_cost
        if float(_allreduce_max(self.comm, np.array([infeasible]))[0]) > 0:
            return False
        delta_all = float(_allreduce_sum(self.comm, np.array([delta]))[0])
        if delta_all >= -1e-9 * max(1.0, abs(first_cost)):
            return False
        x[:] = grown
        for i, st in enumerate(states):
            if i in resolved:
                states[i] = resolved[i]
            else:
                a = self._rows_of(i)[0]
                states[i] = (st[0] + first_cost, st[1] + a @ step)
        return True


def _allreduce(comm: Any | None, values: np.ndarray, op: str) -> np.ndarray:
    """`values` combined over the ranks (op "SUM" or "MAX"); as they are without MPI."""
    if comm is None or comm.Get_size() == 1:
        return values
    from mpi4py import MPI  # optional dependency: only runs under MPI

    out = np.zeros_like(values)
    comm.Allreduce(values, out, op=getattr(MPI, op))
    return out


def _allreduce_sum(comm: Any | None, values: np.ndarray) -> np.ndarray:
    return _allreduce(comm, values, "SUM")


def _allreduce_max(comm: Any | None, values: np.ndarray) -> np.ndarray:
    return _allreduce(comm, values, "MAX")


def lp_relaxation(lm: LinearModel, options: SolveOptions) -> tuple[float | None, np.ndarray | None]:
    """`lm`'s LP relaxation: (optimum, a valid lower bound; first-stage values), or Nones."""
    h = new_highs(options)
    configure(h, options)
    pass_model(h, lm)
    result, values = solve_relaxation(h, lm)
    if result.status != "optimal" or values is None:
        return None, None
    return result.objective, values[first_stage_columns(lm)]


def rounded(xbar: np.ndarray, integer: np.ndarray, upper: np.ndarray, up: bool) -> np.ndarray:
    """x̄ rounded to the nearest (or next, `up`) whole unit where the variable is integer."""
    r = np.ceil(xbar - 0.05) if up else np.round(xbar)
    return np.clip(np.where(integer, r, xbar), 0.0, upper)


# --- PH ------------------------------------------------------------------------------------
class StopOnRequest:
    """mpi-sppy converger: ends PH's iterations once the run was asked to stop (Ctrl-C or
    SIGTERM: `MONITOR`), agreed by every rank (an MPI "or", at a point all ranks reach each
    iteration), so that x̄ so far still goes to the incumbent search and the run reports a plan."""

    def __init__(self, ph: Any) -> None:
        self.ph = ph
        self.stopped = False

    def convergence_value(self) -> float | None:
        return None

    def is_converged(self) -> bool:
        self.stopped = bool(self.ph.allreduce_or(MONITOR.stop_requested()))
        return self.stopped


def _mpisppy_options(opts: PHOptions, threads: int | None = None) -> dict[str, Any]:
    # Scenario sub-MIPs are small: HiGHS's feasibility-jump heuristic costs more than it saves.
    sub: dict[str, Any] = {"mipgap": float(opts.sub_mip_gap), "mip_heuristic_run_feasibility_jump": False}
    if threads is not None:
        sub["threads"] = int(threads)
    return {
        "solver_name": opts.solver_name,
        "PHIterLimit": int(opts.max_iterations),
        "defaultPHrho": 1.0,  # replaced per variable by the rho setter
        "convthresh": float(opts.convthresh),
        "verbose": False,
        "display_progress": bool(opts.verbose),
        "display_timing": False,
        # iteration 0 (the trivial bound) to optimality; later iterations at `sub_mip_gap`
        "solver_options_layers": [{"when": "iter0", "options": dict(sub, mipgap=0.0)}, {"when": "iterk", "options": sub}],
        "linearize_proximal_terms": True,
        "linearize_binary_proximal_terms": True,
        "time_limit": opts.time_limit,
    }


def _rho_setter(factor: float) -> Any:
    def setter(m: pyo.ConcreteModel) -> list[tuple[int, float]]:
        lm, data = m._horizon
        cols, coefs = annual_cost(lm, data)
        cost = np.zeros(lm.n_cols)
        np.add.at(cost, cols, coefs)
        out = []
        for j in first_stage_columns(lm).tolist():
            out.append((id(m._columns[j]), factor * max(float(cost[j]), 1.0)))
        return out

    return setter


def _first_stage_values(m: pyo.ConcreteModel) -> np.ndarray:
    lm, _ = m._horizon
    return np.array([m._columns[j].value or 0.0 for j in first_stage_columns(lm).tolist()], dtype=float)


def _xbar(m: pyo.ConcreteModel) -> np.ndarray:
    xb = m._mpisppy_model.xbars
    lm, _ = m._horizon
    n = len(first_stage_columns(lm))
    return np.array([float(pyo.value(xb[("ROOT", i)])) for i in range(n)], dtype=float)


def run_ph(
    instance: Instance,
    network: Network,
    ph_options: PHOptions | None = None,
    solve_options: SolveOptions | None = None,
    comm: Any | None = None,
    extra_starts: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray | None, PHReport]:
    """Run PH, then find the incumbent; return its first stage (the same on every rank).

    Starts for the incumbent search: PH's x̄ rounded (and rounded up), plus `extra_starts`
    (fractional first stages, e.g. the EF's LP relaxation, rounded the same way)."""
    ph_options = ph_options or PHOptions()
    solve_options = solve_options or SolveOptions()
    _check_supported(instance)
    _, size = rank_and_size(comm)
    names = [s.id for s in instance.spec.scenarios]
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    first_stage = first_stage_of(instance, network)
    with quiet_stdout():
        try:
            from mpisppy.opt.ph import PH
        except (ImportError, RuntimeError) as exc:
            raise InputError("--method ph needs mpi-sppy (pip install mpi-sppy; mpi4py for several ranks)") from exc

        ph = PH(
            _mpisppy_options(ph_options, solve_options.threads),
            names,
            scenario_creator,
            scenario_creator_kwargs={"instance": instance, "network": network, "first_stage": first_stage},
            mpicomm=comm,
            rho_setter=_rho_setter(ph_options.rho_factor),
            ph_converger=StopOnRequest,
        )
        seconds["build"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conv, _, trivial = ph.ph_main(finalize=False)
        seconds["ph"] = time.perf_counter() - t0
        stopped = bool(ph.convobject is not None and ph.convobject.stopped)
        iterations = int(ph._PHIter)
        local = list(ph.local_scenarios.values())
        xbar = _xbar(local[0])
        lagrangian = None
        if ph_options.lagrangian_bound and not stopped:
            t0 = time.perf_counter()
            lagrangian = float(ph.post_solve_bound(solver_options=ph._effective_solver_options(1)))
            seconds["lagrangian"] = time.perf_counter() - t0
    bounds = [float(b) for b in (trivial, lagrangian) if b is not None and math.isfinite(b)]
    bound = max(bounds) if bounds else None

    # Incumbent: x̄ rounded (down/up), as is and repaired, each evaluated on every scenario.
    t0 = time.perf_counter()
    eval_options = SolveOptions(mip_gap=0.0, seed=solve_options.seed, threads=solve_options.threads)
    n_hubs = local[0]._horizon[0].vars["open_hub"].size
    scen = LocalScenarios([(float(m._mpisppy_probability), m._horizon[0]) for m in local], eval_options, comm)
    fractional = {"PH x̄": xbar, **(extra_starts or {})}
    starts: list[tuple[str, np.ndarray]] = []
    for label, frac in fractional.items():
        for up in (False, True) if ph_options.round_up else (False,):
            x = _open_where_stocked(rounded(frac, scen.integer, scen.upper, up), n_hubs, scen.hub_of)
            if not any(np.array_equal(x, o) for _, o in starts):
                starts.append((f"{label} rounded{' up' if up else ''}", x))
    cands: list[np.ndarray] = []
    labels: list[str] = []
    totals: list[float] = []
    for label, x in starts:
        tries = [(label, x)]
        if ph_options.repair:
            fixed = scen.repair(x)
            if fixed is not None and not np.array_equal(fixed, x):
                tries.append((f"{label}, repaired", fixed))
        for name, c in tries:
            if any(np.array_equal(c, o) for o in cands):
                continue
            if ph_options.improve and not stopped:
                c, value = scen.improve(c, time_limit=ph_options.improve_time_limit)
                name += ", improved"
            else:
                value = scen.evaluate(c)
            cands.append(c)
            labels.append(name)
            totals.append(value)
    seconds["incumbent"] = time.perf_counter() - t0
    best = int(np.argmin(totals)) if totals else -1
    incumbent = float(totals[best]) if totals and math.isfinite(totals[best]) else None
    gap = None if incumbent is None or bound is None else relative_gap(incumbent, min(bound, incumbent))
    report = PHReport(
        incumbent=incumbent,
        bound=bound,
        gap=gap,
        trivial_bound=float(trivial) if trivial is not None else None,
        lagrangian_bound=lagrangian,
        iterations=iterations,
        convergence=float(conv) if conv is not None else None,
        candidates=[float(v) for v in totals],
        incumbent_from=labels[best] if incumbent is not None else "",
        stopped=stopped,
        ranks=size,
        scenarios=len(names),
        seconds=seconds,
    )
    return (cands[best] if incumbent is not None else None), report


def _open_where_stocked(x: np.ndarray, n_hubs: int, hub_of: np.ndarray) -> np.ndarray:
    """A hub that stations (or is pledged) something must be open."""
    x = x.copy()
    x[hub_of[n_hubs:][x[n_hubs:] > ROUND_TOL]] = 1.0
    return x


def solve_ph(
    source: str | Path | Instance | None,
    ph_options: PHOptions | None = None,
    solve_options: SolveOptions | None = None,
    comm: Any | None = None,
) -> tuple[Solution | None, PHReport]:
    """Load, run PH, and (on rank 0) solve the full model with PH's first stage fixed.

    Returns ``(solution, report)`` on rank 0 and ``(None, report)`` on the other ranks.
    """
    solve_options = solve_options or SolveOptions()
    ph_options = ph_options or PHOptions()
    comm = comm if comm is not None else world()
    rank, size = rank_and_size(comm)
    instance, load_s = load(source)
    _check_supported(instance)
    t0 = time.perf_counter()
    network = build_network(instance)
    network_s = time.perf_counter() - t0
    # --threads holds for every HiGHS run of this rank (sub-problems, LP relaxation, final solve)
    # the final solve has every hub fixed: no start strategy has anything to choose
    final_options = replace(solve_options, mip_gap=0.0, time_limit=None, write_model=None, start="none")
    # Rank 0 builds the full model (for the Solution) and, if asked, solves its LP relaxation.
    t0 = time.perf_counter()
    prep, error, lp_bound, lp_x = None, None, None, None
    if rank == 0:
        try:
            prep = prepare_full(instance)
        except HorizonError as exc:
            error = exc
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if rank == 0 and prep is not None and ph_options.lp:
        lp_bound, lp_x = lp_relaxation(prep.model, final_options)
    lp_s = time.perf_counter() - t0
    if size > 1:
        idle_until_all_arrive(comm)  # rank 0's build and LP take minutes at scale
        error, lp_bound, lp_x = comm.bcast((error, lp_bound, lp_x), root=0)
    if error is not None:
        raise error
    t0 = time.perf_counter()
    starts = {"EF LP relaxation": lp_x} if lp_x is not None else None
    first, report = run_ph(instance, network, ph_options, solve_options, comm, extra_starts=starts)
    report = replace(report, lp_bound=lp_bound)
    if ph_options.lp:
        report.seconds["lp"] = lp_s
    ph_s = time.perf_counter() - t0
    if rank != 0:
        return None, report
    if first is None and report.stopped:
        raise SolverError(
            f"progressive hedging was stopped after {report.iterations} iteration(s), before its candidates "
            "gave a feasible first stage: no plan to report"
        )
    if first is None:
        raise SolverError(
            "progressive hedging found no feasible first stage: every candidate left some scenario infeasible "
            "(try more iterations, a larger --ph-rho, or the extensive form)"
        )
    assert prep is not None
    t0 = time.perf_counter()
    fixed, result = solve_prepared(prep, final_options, fixed=(first_stage_columns(prep.model), first))
    final_s = time.perf_counter() - t0
    if result.status != "optimal" or not fixed.ok:
        raise SolverError(f"the full model with PH's first stage fixed did not solve: {result.status} ({result.message})")
    objective = float(result.objective)  # type: ignore[arg-type]
    bounds = [b for b in (report.bound, report.lp_bound) if b is not None]
    bound = max(bounds) if bounds else None
    if bound is not None and objective < bound <= objective + 1e-9 * max(1.0, abs(objective)):
        bound = objective  # equal up to round-off
    gap = None if bound is None else relative_gap(objective, min(bound, objective))
    status = "optimal" if gap == 0.0 else "feasible"
    message = ("Interrupted by user; " if report.stopped else "") + (
        f"progressive hedging: {report.iterations} iterations on {report.ranks} rank(s), convergence "
        f"{_fmt(report.convergence)}; incumbent from {report.incumbent_from}, evaluated on all {report.scenarios} scenarios; "
        f"bound = max(trivial {_fmt(report.trivial_bound)}, Lagrangian {_fmt(report.lagrangian_bound)}, "
        f"EF LP relaxation {_fmt(report.lp_bound)})"
    )
    ph_result = SolveResult.of(
        status,
        objective,
        bound,
        solver=SOLVER_LABEL,
        solver_version=_versions(result.solver_version),
        seconds=ph_s + final_s,
        message=message,
    )
    build = report.seconds.get("build", 0.0) + build_s
    solve_s = ph_s - report.seconds.get("build", 0.0) + lp_s + final_s
    timings = Timings(load=load_s, network=network_s, build=build, solve=solve_s, total=load_s + network_s + build + solve_s)
    return fixed.with_result(ph_result, timings), report


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.6g}"


def _versions(highs: str) -> str:
    try:
        from importlib.metadata import version

        return f"mpi-sppy {version('mpi-sppy')}, HiGHS {highs}"
    except Exception:  # noqa: BLE001 - informative only
        return f"HiGHS {highs}"


def available() -> bool:
    """Whether mpi-sppy can be imported (PH needs it; mpi4py is optional). mpi4py installed
    without an MPI library makes the import raise RuntimeError: PH is then unavailable."""
    try:
        with quiet_stdout():
            import mpisppy.opt.ph  # noqa: F401
    except (ImportError, RuntimeError):
        return False
    return True
