"""Planner tools: policy comparisons, parameter sweeps and marginal values, by re-solving.

- `compare_policies`: the same instance under pooling policies (`horizon.models.policies`), side by
  side: cost and its parts, units stationed per type, demand met within deadline, response
  times, hubs used, savings against dedicated reserves.
- `sweep`: re-solve over one parameter (deadline scale, budget, hub count, fleet of a type)
  and mark the Pareto frontier. The model is built and passed to HiGHS **once**; each point
  only changes bounds: arcs that a tighter deadline makes ineligible get upper bound 0 (the
  model is built with the loosest deadlines of the sweep), the budget, hub-count and fleet
  rows get new right-hand sides. Points run from the most restrictive to the loosest, so the
  previous optimum is feasible and is passed to HiGHS as a start.
- `marginal`: what one more (or one fewer) unit of each asset type, or one more / one fewer
  hub, changes in cost and coverage — by re-solving the same HiGHS model with changed bounds
  (duals of a MIP are not meaningful).

Coverage everywhere is the probability-weighted share of demanded units met within their
deadline; mean response is probability- and unit-weighted over dispatched units; worst
response is the longest dispatch of any scenario.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from horizon.models.linear import LinearModel
from horizon.models.policies import (
    POLICIES,
    comparison_spec,
    late_under_policy,
    policy_reasons,
    policy_spec,
    soft_spec,
)
from horizon.models.reserve import ModelData, build_model
from horizon.optimizer.data.edits import scale_deadlines
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.errors import InfeasibleError, InputError
from horizon.optimizer.network.feasibility import (
    hub_count,
    presolve_checks,
    short_fleets,
    unreachable_demands,
)
from horizon.optimizer.network.graph import TIME_TOLERANCE, Arcs, Network, build_network, eligible_arcs
from horizon.optimizer.pipeline import assemble, solve_prepared
from horizon.optimizer.results.metrics import solution_metrics
from horizon.optimizer.results.solution import Solution, Timings, read_solution
from horizon.optimizer.solve.adapters import solve_model
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.highs import configure, highs_bounds, new_highs, pass_model, run_highs
from horizon.optimizer.solve.result import SolveOptions, SolveResult

Progress = Callable[[int, int, str], None]

BIG = 1e12  # placeholder right-hand side of rows whose bound every point sets explicitly


def stopped() -> str | None:
    """Why the user stopped the run (Ctrl-C: `MONITOR`), or None: a loop over points ends
    there, keeping the points solved, the last one with the plan it had when stopped."""
    return (MONITOR.reason or "stopped") if MONITOR.stop_requested() else None


# --- metrics ------------------------------------------------------------------------------


# --- policy comparison --------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyOutcome:
    """One policy's result: a solution, or the reasons it is infeasible."""

    policy: str
    instance: Instance
    solution: Solution | None
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.solution is not None:
            return self.solution.status
        return "infeasible" if self.reasons else "no_solution"

    @property
    def ok(self) -> bool:
        return self.solution is not None and self.solution.ok


def solve_policy(base: Instance, policy: str, options: SolveOptions | None = None) -> PolicyOutcome:
    """Solve `base` (a comparison instance, see `comparison_spec`) under one policy."""
    t0 = time.perf_counter()
    inst = Instance(spec=policy_spec(base.spec, policy), source=base.source)
    network = build_network(inst)
    arcs = eligible_arcs(inst, network)  # the policy's arcs only (`options.policy`)
    reasons = policy_reasons(inst, network, arcs, policy)
    if reasons:
        return PolicyOutcome(policy, inst, None, reasons, time.perf_counter() - t0)
    sol, _ = solve_prepared(assemble(inst, network, arcs), options)
    sol = sol.with_timings(Timings(solve=sol.timings.solve, total=time.perf_counter() - t0))
    if not sol.ok and sol.status != "infeasible":
        reasons = [f"no solution: solver status '{sol.status}' ({sol.message})"]
    if stopped():
        reasons = [*reasons, f"{stopped()}: the best plan found by then"]
    if sol.status == "infeasible":
        reasons = late_under_policy(inst, network, arcs, policy) or [
            f"the solver proved '{policy}' infeasible: every demand has an allowed hub in reach, so the binding "
            "limit is among hub space, fleets, airlift sorties, the budget or the hub count"
        ]
    return PolicyOutcome(policy, inst, sol, reasons, time.perf_counter() - t0)


@dataclass(frozen=True)
class Comparison:
    """Policies side by side on one comparison instance."""

    base: Instance
    outcomes: list[PolicyOutcome]
    settings: dict[str, Any]

    def metrics(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for o in self.outcomes:
            if o.ok:
                assert o.solution is not None
                m = solution_metrics(o.instance, o.solution)
            else:
                m = {"status": o.status, "total_cost": None, "costs": {}, "units": {}, "open_hubs": []}
            m["reasons"] = list(o.reasons)
            m["seconds"] = o.seconds
            out[o.policy] = m
        ded = out.get("dedicated", {}).get("total_cost")
        for m in out.values():
            cost = m.get("total_cost")
            ok = ded is not None and cost is not None
            m["savings_vs_dedicated"] = ded - cost if ok else None
            m["savings_vs_dedicated_pct"] = 100.0 * (ded - cost) / ded if ok and ded else None
        return out

    def table(self) -> list[tuple[str, list[Any]]]:
        """(metric label, one value per policy) rows — the side-by-side table."""
        ms = self.metrics()
        cols = [ms[o.policy] for o in self.outcomes]
        types = [t.id for t in self.base.spec.asset_types]
        parts = ("fixed", "holding", "dispatch", "penalty")
        extra = ["worst_scenario"] if any("worst_scenario" in m.get("costs", {}) for m in cols) else []
        rows: list[tuple[str, list[Any]]] = [
            ("status", [m["status"] for m in cols]),
            ("total cost", [m.get("total_cost") for m in cols]),
        ]
        rows += [(f"cost: {p}", [m["costs"].get(p) if m.get("total_cost") is not None else None for m in cols]) for p in parts]
        rows += [(f"cost: {p}", [m["costs"].get(p) for m in cols]) for p in extra]
        rows += [(f"units: {t}", [m["units"].get(t) if m.get("total_cost") is not None else None for m in cols]) for t in types]
        rows += [
            ("units: total", [m.get("units_total") for m in cols]),
            ("demand met within deadline (%)", [m.get("coverage_pct") for m in cols]),
            ("mean response (h)", [m.get("mean_response_hours") for m in cols]),
            ("worst response (h)", [m.get("worst_response_hours") for m in cols]),
            ("hubs used", [m.get("hubs_used") for m in cols]),
            ("open hubs", [" ".join(m.get("open_hubs", [])) or None for m in cols]),
            ("savings vs dedicated", [m.get("savings_vs_dedicated") for m in cols]),
            ("savings vs dedicated (%)", [m.get("savings_vs_dedicated_pct") for m in cols]),
            ("gap", [m.get("gap") for m in cols]),
            ("note", ["; ".join(m["reasons"]) or None for m in cols]),
        ]
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance": self.base.name,
            "policies": [o.policy for o in self.outcomes],
            "settings": self.settings,
            "results": self.metrics(),
        }


def compare_policies(
    instance: Instance,
    policies: Sequence[str] = POLICIES,
    options: SolveOptions | None = None,
    *,
    mission_hubs: bool = True,
    keep_existing: bool = False,
    mission_hub_cost: float | None = None,
    soft_penalty: float | None = None,
    fleet_limits: bool = True,
    progress: Progress | None = None,
) -> Comparison:
    """Solve `instance` under each policy on a common comparison base (`comparison_spec`)."""
    for p in policies:
        if p not in POLICIES:
            raise InputError(f"unknown policy '{p}' (choose from {', '.join(POLICIES)})")
    unreachable = unreachable_demands(instance, build_network(instance))
    if unreachable and instance.options.deadlines == "hard" and soft_penalty is None:
        raise InputError(unreachable, headline=f"{instance.source}: unreachable missions")
    spec = comparison_spec(
        instance.spec,
        mission_hubs=mission_hubs,
        keep_existing=keep_existing,
        mission_hub_cost=mission_hub_cost,
        soft_penalty=soft_penalty,
        fleet_limits=fleet_limits,
    )
    base = Instance(spec=spec, source=instance.source)
    outcomes = []
    skipped: list[str] = []
    for i, p in enumerate(dict.fromkeys(policies)):
        if stopped():
            skipped.append(p)
            continue
        if progress:
            progress(i, len(policies), p)
        outcomes.append(solve_policy(base, p, options))
    if progress:
        progress(len(policies), len(policies), "done")
    added = [h.node for h in spec.hubs if h.node not in {x.node for x in instance.spec.hubs}]
    settings = {
        "mission_hubs": mission_hubs,
        "mission_hubs_added": added,
        "mission_hub_fixed_cost": next((h.fixed_cost for h in spec.hubs if h.node in added), None),
        "keep_existing": keep_existing,
        "deadlines": spec.options.deadlines,
        "soft_penalty": soft_penalty,
        "fleet_limits": fleet_limits,
    }
    if skipped:
        settings["not_solved"] = skipped  # interrupted before these policies
    return Comparison(base=base, outcomes=outcomes, settings=settings)


# --- a model re-solved with changed bounds ------------------------------------------------
class ReusableModel:
    """One model, passed to HiGHS once; each `solve` sets some column and row bounds.

    Bounds changed by a solve are restored before the next one, so every point starts from
    the model as built. `start` (column values of a solution feasible for the new bounds)
    is handed to HiGHS as an incumbent.
    """

    def __init__(self, instance: Instance, network: Network, arcs: Arcs, options: SolveOptions | None = None) -> None:
        t0 = time.perf_counter()
        self.instance = instance
        self.lm: LinearModel
        self.data: ModelData
        self.lm, self.data = build_model(instance, network, arcs)
        self.col_lower, self.col_upper, integer = self.lm.col_bounds()
        self.row_lower, self.row_upper = self.lm.row_bounds()
        self.mip = bool(integer.any())
        self.options = options or SolveOptions()
        # HiGHS keeps the model and changes only bounds between points; another solver gets
        # each point's bounds on a copy of the model (`solve_model`)
        self.h = None
        if self.options.solver == "highs":
            self.h = new_highs()
            configure(self.h, self.options)
            pass_model(self.h, self.lm)
        self.build_seconds = time.perf_counter() - t0
        self._cols = np.zeros(0, dtype=np.int64)
        self._rows = np.zeros(0, dtype=np.int64)
        self.solves = 0

    def idle_plan(self) -> np.ndarray | None:
        """Soft deadlines: the plan that stations nothing and leaves every demand unmet (only
        existing hubs open) — feasible unless a budget or hub minimum rules it out; a start."""
        if "unmet" not in self.lm.vars:
            return None
        x = np.clip(np.zeros(self.lm.n_cols), self.col_lower, self.col_upper)
        u = self.lm.vars["unmet"]
        x[u.start : u.start + u.size] = self.data.demand_units
        if "worst_scenario_cost" in self.lm.vars:
            inst = self.instance
            worst: dict[str, float] = {}
            for d in inst.demands:
                worst[d.scenario] = worst.get(d.scenario, 0.0) + inst.penalty(d.type) * d.units
            x[self.lm.vars["worst_scenario_cost"].start] = max(worst.values(), default=0.0)
        return x

    def row(self, family: str) -> int | None:
        block = self.lm.rows.get(family)
        return None if block is None or block.size == 0 else block.start

    def col(self, family: str, position: int) -> int:
        return self.lm.vars[family].start + position

    def _set_cols(self, idx: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        if len(idx):
            self.h.changeColsBounds(len(idx), idx.astype(np.int32), highs_bounds(lower), highs_bounds(upper))

    def _set_rows(self, idx: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        if len(idx):
            self.h.changeRowsBounds(len(idx), idx.astype(np.int32), highs_bounds(lower), highs_bounds(upper))

    def _solve_highs(
        self, cols: dict[int, tuple[float, float]], rows: dict[int, tuple[float, float]], start: np.ndarray | None
    ) -> tuple[SolveResult, np.ndarray | None]:
        """The point on the HiGHS model in place: last point's bounds restored, this one's set."""
        assert self.h is not None
        self._set_cols(self._cols, self.col_lower[self._cols], self.col_upper[self._cols])
        self._set_rows(self._rows, self.row_lower[self._rows], self.row_upper[self._rows])
        self._cols = np.array(sorted(cols), dtype=np.int64)
        self._rows = np.array(sorted(rows), dtype=np.int64)
        self._set_cols(
            self._cols,
            np.array([cols[i][0] for i in self._cols], dtype=float),
            np.array([cols[i][1] for i in self._cols], dtype=float),
        )
        self._set_rows(
            self._rows,
            np.array([rows[i][0] for i in self._rows], dtype=float),
            np.array([rows[i][1] for i in self._rows], dtype=float),
        )
        if start is not None and self.mip:
            self.h.setSolution(len(start), np.arange(len(start), dtype=np.int32), np.asarray(start, dtype=float))
        return run_highs(self.h, self.mip)

    def solve(
        self,
        cols: dict[int, tuple[float, float]] | None = None,
        rows: dict[int, tuple[float, float]] | None = None,
        start: np.ndarray | None = None,
    ) -> tuple[Solution, SolveResult, np.ndarray | None]:
        """Solve with `cols`/`rows` bounds {index: (lower, upper)} on top of the model as built."""
        cols, rows = cols or {}, rows or {}
        t0 = time.perf_counter()
        if self.h is None:
            result, values = solve_model(self.lm.with_bounds(cols, rows), replace(self.options, start="none"))
        else:
            result, values = self._solve_highs(cols, rows, start)
        self.solves += 1
        sol = read_solution(self.lm, self.data, result, values, Timings(solve=time.perf_counter() - t0))
        return sol, result, values


# --- sweeps -------------------------------------------------------------------------------
SWEEP_PARAMS = ("deadline-scale", "budget", "hubs", "fleet:TYPE")


@dataclass(frozen=True)
class SweepPoint:
    value: float
    status: str
    metrics: dict[str, Any]
    reasons: list[str]
    seconds: float
    pareto: bool = False


@dataclass(frozen=True)
class SweepResult:
    """Points of a sweep (ascending parameter) and how the trade-off is read."""

    instance: Instance
    param: str
    points: list[SweepPoint]
    x_metric: str  # the metric on the trade-off plot's x axis
    y_metric: str
    x_better: str  # "low" or "high"
    y_better: str
    notes: list[str]
    builds: int = 1
    solves: int = 0

    def rows(self) -> list[dict[str, Any]]:
        types = [t.id for t in self.instance.spec.asset_types]
        out = []
        for p in self.points:
            m = p.metrics
            costs = m.get("costs", {})
            row = {
                "param": self.param,
                "value": p.value,
                "status": p.status,
                "total_cost": m.get("total_cost"),
                "annual_cost": m.get("annual_cost"),
                "fixed": costs.get("fixed"),
                "holding": costs.get("holding"),
                "dispatch": costs.get("dispatch"),
                "penalty": costs.get("penalty"),
                "coverage_pct": m.get("coverage_pct"),
                "mean_response_hours": m.get("mean_response_hours"),
                "worst_response_hours": m.get("worst_response_hours"),
                "hubs_used": m.get("hubs_used"),
                "open_hubs": " ".join(m.get("open_hubs", [])),
            }
            row |= {f"units_{t}": m.get("units", {}).get(t) for t in types}
            row |= {"gap": m.get("gap"), "pareto": p.pareto, "seconds": round(p.seconds, 4), "note": "; ".join(p.reasons)}
            out.append(row)
        return out


def default_soft_penalty(instance: Instance) -> float:
    """A coverage-first penalty per unmet unit: an unmet unit in the least likely scenario
    costs ten years of the most expensive reserve unit."""
    holding = max([t.holding_cost for t in instance.spec.asset_types] + [1.0])
    p_min = min([p for p in instance.probabilities.values() if p > 0] + [1.0])
    return 10.0 * holding / (p_min * float(instance.options.crises_per_year))


def pareto_mask(x: Sequence[float | None], y: Sequence[float | None], x_better: str = "low", y_better: str = "low") -> list[bool]:
    """Points no other point beats on both axes (ties kept once: the first of equals)."""
    pts = [
        (i, (a if x_better == "low" else -a), (b if y_better == "low" else -b))
        for i, (a, b) in enumerate(zip(x, y))
        if a is not None and b is not None
    ]
    keep = [False] * len(x)
    eps = 1e-9
    for i, a, b in pts:
        dominated = False
        for j, c, d in pts:
            if j == i:
                continue
            no_worse = c <= a + eps * max(1.0, abs(a)) and d <= b + eps * max(1.0, abs(b))
            better = c < a - eps * max(1.0, abs(a)) or d < b - eps * max(1.0, abs(b))
            same = not better and no_worse
            if (no_worse and better) or (same and j < i):
                dominated = True
                break
        keep[i] = not dominated
    return keep


def _tiered(instance: Instance) -> bool:
    return any(getattr(d, "final_deadline", None) is not None for d in instance.demands)


def _deadline_points_rebuilt(
    instance: Instance, values: Sequence[float], options: SolveOptions | None, progress: Progress | None
) -> tuple[list[SweepPoint], int]:
    """Deadline scale with tiered deadlines (service levels): which arcs meet the first tier
    changes the service-level rows, so every point is built afresh. Returns (points, solves)."""
    points: list[SweepPoint] = []
    solves = 0
    for i, v in enumerate(values):
        if stopped():
            break
        if progress:
            progress(i, len(values), f"deadline-scale = {v:g}")
        t0 = time.perf_counter()
        inst = scale_deadlines(instance, v)
        network = build_network(inst)
        arcs = eligible_arcs(inst, network)
        try:
            presolve_checks(inst, network, arcs)
        except (InfeasibleError, InputError) as exc:
            points.append(SweepPoint(v, "infeasible", {"status": "infeasible"}, exc.messages[:3], time.perf_counter() - t0))
            continue
        sol, _ = solve_prepared(assemble(inst, network, arcs), options)
        solves += 1
        if sol.ok:
            why = [stopped()] if stopped() else []
            points.append(SweepPoint(v, sol.status, solution_metrics(inst, sol), why, time.perf_counter() - t0))
        else:
            why = "the solver proved this point infeasible" if sol.status == "infeasible" else f"no solution ({sol.message})"
            points.append(SweepPoint(v, sol.status, {"status": sol.status}, [why], time.perf_counter() - t0))
    return points, solves


def _options(instance: Instance, **updates: Any) -> Instance:
    return instance.derive(options=instance.options.model_copy(update=updates))


def parse_param(instance: Instance, param: str) -> tuple[str, str | None]:
    """('deadline-scale'|'budget'|'hubs'|'fleet', type id for fleet)."""
    if param in ("deadline-scale", "budget", "hubs"):
        return param, None
    if param.startswith("fleet:"):
        t = param.split(":", 1)[1]
        if t not in instance.types:
            raise InputError(f"--param {param}: unknown asset type '{t}' (types: {', '.join(instance.types)})")
        return "fleet", t
    raise InputError(f"--param: unknown parameter '{param}' (use deadline-scale, budget, hubs or fleet:TYPE)")


def sweep(
    instance: Instance,
    param: str,
    values: Sequence[float] | None = None,
    options: SolveOptions | None = None,
    *,
    soft_penalty: float | None = None,
    hard: bool = False,
    progress: Progress | None = None,
) -> SweepResult:
    """Re-solve `instance` over `param` values (see the module docstring for the re-use).

    Parameters: ``deadline-scale`` multiplies every deadline; ``budget`` caps annual fixed +
    holding cost; ``hubs`` caps the number of open hubs; ``fleet:TYPE`` sets a type's fleet
    limit. Default values: deadline scale 0.5–2.0 (7 points); budget 40–120 % of the
    unconstrained optimum's annual cost (9 points); hubs 1..candidates; fleet 0..(limit or
    units stationed at the optimum) + 2. A budget sweep of a hard-deadline instance switches to
    soft deadlines (penalty `soft_penalty`, default `default_soft_penalty`) unless `hard`,
    so that coverage can trade against money.
    """
    kind, type_id = parse_param(instance, param)
    notes: list[str] = []
    if soft_penalty is not None:
        instance = Instance(spec=soft_spec(instance.spec, soft_penalty), source=instance.source)
    elif kind == "budget" and instance.options.deadlines == "hard" and not hard:
        pen = default_soft_penalty(instance)
        instance = Instance(spec=soft_spec(instance.spec, pen), source=instance.source)
        notes.append(f"soft deadlines for the budget sweep: penalty {pen:,.0f} per unmet unit (types' own penalties kept)")
    soft = instance.options.deadlines == "soft"
    network0 = build_network(instance)
    unreachable = unreachable_demands(instance, network0)
    if unreachable and not soft:
        raise InputError(unreachable, headline=f"{instance.source}: unreachable missions")
    values = sorted({float(v) for v in values}) if values else None
    if values is not None and any(v < 0 for v in values):
        raise InputError(f"--values for {param} must not be negative")

    if kind == "hubs" and values is not None and any(not float(v).is_integer() for v in values):
        raise InputError("--values for hubs must be whole numbers")
    if kind == "deadline-scale" and _tiered(instance):
        values = values or [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
        points, solves = _deadline_points_rebuilt(instance, values, options, progress)
        notes.append("tiered deadlines (service levels): the model is rebuilt for every point")
        if stopped():
            notes.append(f"{stopped()}: {len(values) - len(points)} of {len(values)} point(s) not solved")
        if progress:
            progress(len(values), len(values), "done")
        return _finish(instance, param, kind, None, soft, points, notes, builds=solves, solves=solves)

    # The build instance: loosest deadlines / placeholders for rows every point sets.
    build = instance
    if kind == "deadline-scale":
        values = values or [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
        build = scale_deadlines(instance, max(values))
    elif kind == "budget":
        build = _options(instance, budget=BIG)
    elif kind == "hubs":
        values = values or [float(v) for v in range(1, len(instance.hubs) + 1)]
        build = _options(instance, max_hubs=len(instance.hubs))
    network = network0  # response times do not depend on deadlines, budget or counts
    arcs = eligible_arcs(build, network)
    fleet_limit = instance.types[type_id].fleet_limit if type_id else None
    if kind == "fleet":
        assert type_id is not None
        # The fleet row must exist and the stock bounds must allow the largest value.
        top = max(values) if values else BIG
        build = build.derive(
            asset_types=[t.model_copy(update={"fleet_limit": top}) if t.id == type_id else t for t in build.spec.asset_types]
        )
    model = ReusableModel(build, network, arcs, options)
    data = model.data

    def run(
        rows: dict[int, tuple[float, float]], cols: dict[int, tuple[float, float]], start: np.ndarray | None
    ) -> tuple[Solution, np.ndarray | None]:
        sol, _, vals = model.solve(cols=cols, rows=rows, start=start)
        return sol, vals

    budget_row, hub_row = model.row("budget"), model.row("hub_count")
    fleet_row = None
    if kind == "fleet":
        block = model.lm.rows["fleet"]
        fleet_row = block.start + list(block.keys or []).index(type_id)

    # Defaults that need the unconstrained optimum.
    if values is None:
        rows0: dict[int, tuple[float, float]] = {}
        if budget_row is not None:
            rows0[budget_row] = (-math.inf, math.inf)
        if fleet_row is not None:
            rows0[fleet_row] = (-math.inf, math.inf if fleet_limit is None else float(fleet_limit))
        sol0, _ = run(rows0, {}, None)
        if not sol0.ok:
            raise InfeasibleError(
                f"the unconstrained problem is {sol0.status}: no default range for {param} (give --values)",
                headline="Cannot choose sweep values:",
            )
        if kind == "budget":
            b0 = sol0.costs.get("fixed", 0.0) + sol0.costs.get("holding", 0.0)
            values = [round(b0 * f, 2) for f in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2)]
        else:
            used = sum(float(r["units"]) for r in sol0.stationing if r["asset_type"] == type_id)
            top = int(math.ceil(fleet_limit if fleet_limit is not None else used)) + 2
            step = max(1, math.ceil(top / 10))
            values = sorted({float(v) for v in range(0, top + 1, step)} | {float(top)})
    assert values is not None

    # Deadline eligibility per point.
    dl = np.array([np.inf if d.deadline is None else d.deadline for d in instance.demands])
    arc_dl = dl[data.arcs.demand] if len(data.arcs) else np.zeros(0)
    x0 = model.lm.vars["dispatch"].start

    points: list[SweepPoint] = []
    start: np.ndarray | None = model.idle_plan() if soft else None
    for i, v in enumerate(values):
        if stopped():
            notes.append(f"{stopped()}: {len(values) - i} of {len(values)} point(s) not solved")
            break
        if progress:
            progress(i, len(values), f"{param} = {v:g}")
        t0 = time.perf_counter()
        rows: dict[int, tuple[float, float]] = {}
        cols: dict[int, tuple[float, float]] = {}
        reasons: list[str] = []
        if kind == "deadline-scale":
            late = np.flatnonzero(data.arcs.hours > arc_dl * v + TIME_TOLERANCE)
            cols = {int(x0 + a): (0.0, 0.0) for a in late}
            if not soft:
                covered = np.zeros(len(instance.demands), dtype=bool)
                ok = np.ones(len(data.arcs), dtype=bool)
                ok[late] = False
                covered[data.arcs.demand[ok]] = True
                missing = np.flatnonzero(~covered)
                if len(missing):
                    d = instance.demands[int(missing[0])]
                    reasons.append(
                        f"{len(missing)} demand(s) have no hub in reach within {v:g} × their deadline "
                        f"(e.g. {d.units:g} × {d.type} at {d.mission} within {(d.deadline or 0) * v:g} h, "
                        f"scenario '{d.scenario}')"
                    )
        elif kind == "budget":
            assert budget_row is not None
            rows[budget_row] = (-math.inf, v)
            fixed_existing = sum(h.fixed_cost for h in instance.hubs if h.status == "existing")
            if fixed_existing > v + 1e-9:
                reasons.append(f"existing hubs alone cost {fixed_existing:,.0f} a year, above the budget {v:,.0f}")
        elif kind == "hubs":
            assert hub_row is not None
            lo = float(instance.options.min_hubs) if instance.options.min_hubs is not None else -math.inf
            rows[hub_row] = (lo, v)
            reasons += hub_count(_options(instance, max_hubs=int(v)))
        else:
            assert fleet_row is not None and type_id is not None
            rows[fleet_row] = (-math.inf, v)
            if not soft:
                reasons += short_fleets(
                    instance.derive(
                        asset_types=[
                            t.model_copy(update={"fleet_limit": v}) if t.id == type_id else t for t in instance.spec.asset_types
                        ]
                    )
                )
        if reasons:
            points.append(SweepPoint(v, "infeasible", {"status": "infeasible"}, reasons, time.perf_counter() - t0))
            continue
        sol, vals = run(rows, cols, start)
        if sol.ok:
            start = vals
            m = solution_metrics(instance, sol)
            points.append(SweepPoint(v, sol.status, m, [stopped()] if stopped() else [], time.perf_counter() - t0))
        else:
            why = "the solver proved this point infeasible" if sol.status == "infeasible" else f"no solution ({sol.message})"
            points.append(SweepPoint(v, sol.status, {"status": sol.status}, [why], time.perf_counter() - t0))
    if progress:
        progress(len(values), len(values), "done")

    return _finish(instance, param, kind, type_id, soft, points, notes, builds=1, solves=model.solves)


def _finish(
    instance: Instance,
    param: str,
    kind: str,
    type_id: str | None,
    soft: bool,
    points: list[SweepPoint],
    notes: list[str],
    *,
    builds: int,
    solves: int,
) -> SweepResult:
    """Mark the Pareto frontier of a sweep's points (see `SweepResult` for the axes)."""
    x_metric, y_metric, x_better, y_better = {
        "deadline-scale": ("value", "total_cost", "low", "low"),
        "budget": ("annual_cost", "coverage_pct", "low", "high"),
        "hubs": ("hubs_used", "total_cost", "low", "low"),
        "fleet": (f"units_{type_id}", "total_cost", "low", "low"),
    }[kind]
    if kind == "fleet" and soft:
        y_metric, y_better = "coverage_pct", "high"

    def metric(p: SweepPoint, name: str) -> float | None:
        if p.status not in ("optimal", "feasible"):
            return None
        if name == "value":
            return p.value
        if name.startswith("units_"):
            return p.metrics["units"].get(name[6:], 0.0)
        return p.metrics.get(name)

    mask = pareto_mask([metric(p, x_metric) for p in points], [metric(p, y_metric) for p in points], x_better, y_better)
    points = [SweepPoint(p.value, p.status, p.metrics, p.reasons, p.seconds, bool(k)) for p, k in zip(points, mask)]
    return SweepResult(instance, param, points, x_metric, y_metric, x_better, y_better, notes, builds=builds, solves=solves)


# --- marginal values ----------------------------------------------------------------------
#: Columns of the marginal-value table (`horizon marginal --csv`).
MARGINAL_COLUMNS = (
    "item",
    "change",
    "contributor",
    "status",
    "total_cost",
    "delta_cost",
    "coverage_pct",
    "delta_coverage_pp",
    "detail",
)


@dataclass(frozen=True)
class MarginalRow:
    item: str  # "asset:<type>", "hubs", "hub:<id>"
    change: str  # human description
    status: str
    total_cost: float | None
    delta_cost: float | None
    coverage_pct: float | None
    delta_coverage_pp: float | None
    detail: str
    contributor: str | None = None  # "+1 pledged by" rows of types with contributors

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MarginalResult:
    instance: Instance
    baseline: dict[str, Any]
    rows: list[MarginalRow]
    solves: int

    def ranking(self) -> list[MarginalRow]:
        """'+1' asset rows, largest saving (or coverage gain) first: what to ask for first."""
        plus = [r for r in self.rows if r.item.startswith("asset:") and r.change.startswith("+1")]
        return sorted(plus, key=lambda r: (-(r.delta_coverage_pp or 0.0), r.delta_cost if r.delta_cost is not None else math.inf))


def marginal(
    instance: Instance,
    assets: Sequence[str] | None = None,
    hubs: Sequence[str] | None = None,
    options: SolveOptions | None = None,
    *,
    hub_count_rows: bool = True,
    soft_penalty: float | None = None,
    progress: Progress | None = None,
) -> MarginalResult:
    """One more / one fewer unit per asset type, one more / fewer hub, each hub toggled.

    - ``+1 pledged``: the type's fleet limit + 1 (unlimited types: no change, not solved);
    - ``-1 stationed``: at most one unit fewer of the type than the optimum stations;
    - hubs ``+1``: one more hub than the optimum opens (allowed when ``max_hubs`` binds,
      otherwise required; the solver picks which); ``-1``: at most one fewer;
    - each hub in `hubs`: forced closed if the optimum opens it, forced open otherwise.
    """
    if soft_penalty is not None:
        instance = Instance(spec=soft_spec(instance.spec, soft_penalty), source=instance.source)
    types = list(assets) if assets is not None else [t.id for t in instance.spec.asset_types]
    for t in types:
        if t not in instance.types:
            raise InputError(f"--asset: unknown asset type '{t}' (types: {', '.join(instance.types)})")
    hub_ids = [h.node for h in instance.hubs]
    for h in hubs or []:
        if h not in hub_ids:
            raise InputError(f"--hub: unknown or excluded hub '{h}' (hubs: {', '.join(hub_ids)})")
    network = build_network(instance)
    arcs = eligible_arcs(instance, network)
    presolve_checks(instance, network, arcs)
    # Build with every fleet row present and stock bounds wide enough for limit + 1.
    build = instance.derive(
        asset_types=[
            t.model_copy(update={"fleet_limit": BIG if t.fleet_limit is None else t.fleet_limit + 1})
            for t in instance.spec.asset_types
        ],
        options=instance.options.model_copy(update={"max_hubs": len(hub_ids), "min_hubs": instance.options.min_hubs or 0}),
    )
    model = ReusableModel(build, network, arcs, options)
    fleet = model.lm.rows["fleet"]
    fleet_row = {k: fleet.start + i for i, k in enumerate(fleet.keys or [])}
    hub_row = model.row("hub_count")
    assert hub_row is not None
    o = instance.options
    base_rows = {
        **{
            fleet_row[t.id]: (-math.inf, math.inf if t.fleet_limit is None else float(t.fleet_limit))
            for t in instance.spec.asset_types
        },
        hub_row: (-math.inf if o.min_hubs is None else float(o.min_hubs), math.inf if o.max_hubs is None else float(o.max_hubs)),
    }
    n_items = 1 + 2 * len(types) + (2 if hub_count_rows else 0) + len(hubs or [])  # progress only
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        if progress:
            progress(step, n_items, label)
        step += 1

    tick("baseline")
    sol0, _, vals0 = model.solve(rows=base_rows)
    if not sol0.ok:
        if sol0.status == "infeasible":
            raise InfeasibleError("the solver proved the instance infeasible", headline="No baseline for marginal values:")
        raise InfeasibleError(
            f"no baseline solution ({sol0.status}: {sol0.message})", headline="No baseline for marginal values:"
        )
    base = solution_metrics(instance, sol0)
    rows: list[MarginalRow] = []

    def add(
        item: str,
        change: str,
        extra_rows: dict[int, tuple[float, float]],
        cols: dict[int, tuple[float, float]] | None,
        relax: bool,
        contributor: str | None = None,
    ) -> None:
        if stopped():
            rows.append(MarginalRow(item, change, "not_solved", None, None, None, None, f"not solved: {stopped()}", contributor))
            return
        sol, _, _ = model.solve(rows={**base_rows, **extra_rows}, cols=cols, start=vals0 if relax else None)
        if sol.ok:
            m = solution_metrics(instance, sol)
            opened = sorted(set(m["open_hubs"]) - set(base["open_hubs"]))
            closed = sorted(set(base["open_hubs"]) - set(m["open_hubs"]))
            moved = [f"+{h}" for h in opened] + [f"-{h}" for h in closed]
            du = {t: m["units"].get(t, 0.0) - base["units"].get(t, 0.0) for t in m["units"]}
            units = [f"{t} {d:+g}" for t, d in du.items() if abs(d) > 1e-9]
            detail = ", ".join(([f"hubs {' '.join(moved)}"] if moved else []) + units) or "same plan"
            if stopped():
                detail += f" ({stopped()}: the best plan found by then)"
            rows.append(
                MarginalRow(
                    item,
                    change,
                    sol.status,
                    m["total_cost"],
                    m["total_cost"] - base["total_cost"],
                    m["coverage_pct"],
                    m["coverage_pct"] - base["coverage_pct"],
                    detail,
                    contributor,
                )
            )
        else:
            why = "infeasible" if sol.status == "infeasible" else f"no solution ({sol.message})"
            if sol.status == "infeasible" and change.startswith("-1") and instance.options.deadlines == "hard":
                why = "infeasible: hard deadlines need every one of them (--soft-penalty values the loss)"
            rows.append(MarginalRow(item, change, sol.status, None, None, None, None, why, contributor))

    def same(item: str, change: str, why: str) -> None:
        rows.append(MarginalRow(item, change, sol0.status, base["total_cost"], 0.0, base["coverage_pct"], 0.0, why))

    pledge = model.lm.rows.get("pledge")
    pledge_row = {tuple(k): pledge.start + i for i, k in enumerate(pledge.keys or [])} if pledge is not None else {}
    contributors = getattr(instance.spec, "contributors", [])
    for t in types:
        spec = instance.types[t]
        stationed = base["units"].get(t, 0.0)
        tick(f"{t} +1")
        pledgers = [c for c in contributors if t in c.units and (t, c.id) in pledge_row]
        if pledgers:  # the type has only its contributors' units: one more from each of them
            for c in pledgers:
                u = float(c.units[t])
                extra = {pledge_row[(t, c.id)]: (-math.inf, u + 1)}
                if spec.fleet_limit is not None:
                    extra[fleet_row[t]] = (-math.inf, float(spec.fleet_limit) + 1)
                add(f"asset:{t}", f"+1 pledged by {c.id} ({u:g} → {u + 1:g})", extra, None, True, c.id)
        elif spec.fleet_limit is None:
            same(f"asset:{t}", "+1 pledged unit", "fleet unlimited: one more unit changes nothing")
        elif stationed + 1e-9 < float(spec.fleet_limit):
            same(
                f"asset:{t}",
                f"+1 pledged unit ({spec.fleet_limit:g} → {spec.fleet_limit + 1:g})",
                f"limit not binding ({stationed:g} stationed)",
            )
        else:
            add(
                f"asset:{t}",
                f"+1 pledged unit ({spec.fleet_limit:g} → {spec.fleet_limit + 1:g})",
                {fleet_row[t]: (-math.inf, float(spec.fleet_limit) + 1)},
                None,
                True,
            )
        tick(f"{t} -1")
        if stationed < 1 - 1e-9:
            same(f"asset:{t}", "-1 stationed unit", "none stationed: one fewer changes nothing")
        else:
            cap = math.ceil(stationed - 1e-9) - 1
            add(
                f"asset:{t}", f"-1 stationed unit ({stationed:g} → {cap:g})", {fleet_row[t]: (-math.inf, float(cap))}, None, False
            )
    n_open = len(base["open_hubs"])
    lo0, hi0 = base_rows[hub_row]
    if hub_count_rows:
        tick("hubs +1")
        if n_open + 1 > len(hub_ids):
            rows.append(MarginalRow("hubs", "+1 hub", "n/a", None, None, None, None, "every hub is already open"))
        elif o.max_hubs is not None and n_open >= o.max_hubs:
            add(
                "hubs",
                f"+1 hub allowed (max_hubs {o.max_hubs} → {o.max_hubs + 1})",
                {hub_row: (lo0, float(o.max_hubs + 1))},
                None,
                True,
            )
        else:
            add("hubs", f"+1 hub required ({n_open} → {n_open + 1})", {hub_row: (float(n_open + 1), hi0)}, None, False)
        tick("hubs -1")
        if n_open == 0:
            rows.append(MarginalRow("hubs", "-1 hub", "n/a", None, None, None, None, "no hub is open"))
        else:
            add("hubs", f"-1 hub ({n_open} → {n_open - 1} at most)", {hub_row: (lo0, float(n_open - 1))}, None, False)
    for hid in hubs or []:
        tick(f"hub {hid}")
        j = hub_ids.index(hid)
        col = model.col("open_hub", j)
        if hid in base["open_hubs"]:
            existing = instance.hubs[j].status == "existing"
            add(f"hub:{hid}", "closed" + (" (existing hub)" if existing else ""), {}, {col: (0.0, 0.0)}, False)
        else:
            add(f"hub:{hid}", "opened", {}, {col: (1.0, 1.0)}, False)
    if progress:
        progress(n_items, n_items, "done")
    return MarginalResult(instance, base, rows, model.solves)
