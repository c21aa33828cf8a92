"""Classic models solved beyond the plain rewrite: site choice and covering reductions.

p-median, UFLP and p-center by site choice (`horizon.optimizer.solve.sites`), read back as
a `Solution`. The rewritten instance (`horizon.models.classic`) gives the eligible arcs; each client (demand) and
site (hub) pair becomes one cost, the cheapest arc between them. The site choice is solved
on that matrix; the plan is then completed by the reserve model restricted to the chosen
hubs' arcs with the hubs fixed (a small LP), so the `Solution` has the same open hubs,
stationing and dispatch rows as the assignment formulation's, and its objective is checked
against the site problem's.

Capacitated facility location (the reserve model of one scenario whose only coupling is hub
capacity) gets a primal start for time-limited runs: a Lagrangian heuristic on its site
problem (`horizon.optimizer.solve.capacitated`), its sites' plan evaluated exactly by the
model with those hubs fixed and handed to the full solve as its incumbent.

LSCP and MCLP with dominance reductions before the solve. Column dominance: a hub that
covers a subset of what another hub covers, at no lower fixed cost, is never needed (swap it
for the other: LSCP stays covered, MCLP covers at least as much) — its arcs are dropped.
Row dominance (LSCP only): a demand whose covering hubs include all of another demand's is
covered whenever that one is — it is dropped from the model and served afterwards by the
same completion on the chosen hubs. MCLP keeps every row: its objective counts each
uncovered demand.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from horizon.models.classic import classic_instance, free_instance
from horizon.models.linear import LinearModel
from horizon.models.reserve import build_model
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.schema import Classic
from horizon.optimizer.errors import InfeasibleError, InputError, SolverError
from horizon.optimizer.network.feasibility import presolve_checks
from horizon.optimizer.network.graph import Arcs, Network, build_network, eligible_arcs
from horizon.optimizer.results.solution import Solution, Timings, read_solution
from horizon.optimizer.solve.adapters import solve_model
from horizon.optimizer.solve.capacitated import CapacitatedProblem, lagrangian_start
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.result import Incumbent, SolveOptions
from horizon.optimizer.solve.sites import FORMULATIONS, SiteProblem, SiteResult, solve_sites

START_SHARE = 0.05  # of the time limit, at most, for the capacitated primal start
START_MAX_SECONDS = 5.0  # and no more than this: on 100 × 1,000 its plan is within 0.2 % by then
MAX_PAIRS = 25_000_000  # skip a dominance reduction whose pairwise subset test would exceed this

#: Models whose site choice `horizon.optimizer.solve.sites` solves; the others take only "assignment".
SITE_MODELS = ("p_median", "uflp", "p_center")


def formulations_for(model: str) -> tuple[str, ...]:
    return FORMULATIONS if model in SITE_MODELS else ("assignment",)


def check_formulation(classic: Classic, solver: str) -> None:
    """InputError when `classic.formulation` cannot solve `classic.model` (or not with `solver`)."""
    allowed, formulation = formulations_for(classic.model), classic.formulation
    if formulation != "auto" and formulation not in allowed:
        shown = classic.model.replace("_", "-")
        raise InputError(f"--formulation {formulation} does not apply to {shown}; it takes: {', '.join(allowed)}")
    if formulation in ("levels", "benders") and solver != "highs":
        raise InputError(f"--formulation {formulation} runs on HiGHS; with --solver {solver} use --formulation assignment")


def _unsupported(instance: Instance, arcs: Arcs, kind: str, *, capacities: bool = False) -> str | None:
    """Why the rewritten instance is not a pure site choice (None when it is); `capacities`:
    hub capacities allowed (capacitated facility location's site problem)."""
    o = instance.options
    if o.objective != "expected":
        return "the worst-case objective couples scenarios"
    if instance.spec.contributors:
        return "contributors split the stock"
    if kind == "sum" and o.deadlines == "soft":
        return "soft deadlines let demand go unmet"
    if o.budget is not None or o.service_level is not None or o.max_share_per_arc is not None:
        return "budget, service levels or shares per arc constrain the dispatch"
    if not capacities and any(h.capacity is not None for h in instance.hubs):
        return "hub capacities bind the assignment"
    if any(t.fleet_limit is not None for t in instance.spec.asset_types):
        return "fleet limits bind the assignment"
    if len(arcs) and np.any((arcs.lift_hub >= 0) & (arcs.lift_hub != arcs.hub)):
        return "airlift from other hubs serves some routes"
    holding = any(instance.holding_cost(h, t.id) for h in instance.hubs for t in instance.spec.asset_types)
    if kind == "sum" and holding and len(instance.spec.scenarios) > 1:
        return "holding costs over several scenarios are not per client"
    return None


def site_matrix(instance: Instance, arcs: Arcs, kind: str) -> np.ndarray:
    """Clients (demands) × sites (hubs): the cheapest arc's annual cost of serving the whole
    demand (kind "sum", holding cost included) or its response hours (kind "max")."""
    demands = instance.demands
    cost = np.full((len(demands), len(instance.hubs)), np.inf)
    if not len(arcs):
        return cost
    if kind == "max":
        value = arcs.hours
    else:
        probs = instance.probabilities
        rate = float(instance.options.crises_per_year)
        units = np.array([d.units for d in demands], dtype=float)
        weight = np.array([rate * probs[d.scenario] for d in demands]) * units
        hold = np.array([[instance.holding_cost(h, d.type) for h in instance.hubs] for d in demands]) if len(demands) else cost
        value = arcs.cost * weight[arcs.demand] + hold[arcs.demand, arcs.hub] * units[arcs.demand]
    np.minimum.at(cost, (arcs.demand, arcs.hub), value)
    return cost


def site_problem(instance: Instance, arcs: Arcs, kind: str) -> SiteProblem:
    o = instance.options
    hubs = instance.hubs
    return SiteProblem(
        cost=site_matrix(instance, arcs, kind),
        fixed=np.array([h.fixed_cost for h in hubs], dtype=float) if kind == "sum" else np.zeros(len(hubs)),
        lower=np.array([h.status == "existing" for h in hubs], dtype=float),
        upper=np.ones(len(hubs)),
        p_min=int(o.min_hubs or 0),
        p_max=o.max_hubs,
        kind=kind,  # type: ignore[arg-type]
    )


def capacitated_problem(instance: Instance, arcs: Arcs) -> CapacitatedProblem | None:
    """The instance as capacitated facility location, or None when it is not one: one
    scenario, one asset type, some hub capacity, and none of the rules `_unsupported` names
    (hub capacity aside) nor a hub count."""
    o = instance.options
    types = {d.type for d in instance.demands}
    if len(instance.spec.scenarios) != 1 or len(types) != 1 or o.min_hubs or o.max_hubs is not None:
        return None
    if o.deadlines != "hard" or all(h.capacity is None for h in instance.hubs):
        return None
    if _unsupported(instance, arcs, "sum", capacities=True) is not None:
        return None
    (kind,) = types
    space = float(instance.types[kind].space)
    units = np.array([d.units for d in instance.demands], dtype=float)
    if not len(units) or space <= 0 or (units <= 0).any():
        return None
    return CapacitatedProblem(
        cost=site_matrix(instance, arcs, "sum") / units[:, None],
        demand=units,
        capacity=np.array([np.inf if h.capacity is None else float(h.capacity) / space for h in instance.hubs]),
        fixed=np.array([h.fixed_cost for h in instance.hubs], dtype=float),
        lower=np.array([h.status == "existing" for h in instance.hubs], dtype=float),
    )


def primal_start(instance: Instance, arcs: Arcs, lm: LinearModel, options: SolveOptions) -> Incumbent | None:
    """A plan to start a time-limited HiGHS solve from, when the instance is capacitated
    facility location: the Lagrangian heuristic's sites, their plan solved on `lm` with the
    hubs fixed; within `START_SHARE` of the limit. None when it does not apply or found none."""
    if options.time_limit is None or options.solver != "highs":
        return None
    problem = capacitated_problem(instance, arcs)
    if problem is None or "open_hub" not in lm.vars or lm.vars["open_hub"].size != problem.n_sites:
        return None
    t0 = time.perf_counter()
    budget = min(START_SHARE * float(options.time_limit), START_MAX_SECONDS)
    MONITOR.report("primal start: Lagrangian heuristic")
    found = lagrangian_start(problem, t0 + 0.6 * budget, options)
    if found.open is None:
        return None
    y = lm.vars["open_hub"]
    fixed = lm.with_bounds({int(y.start + j): (float(v), float(v)) for j, v in enumerate(found.open)})
    left = budget - (time.perf_counter() - t0)
    if left <= 0:
        return None
    plan_options = SolveOptions(time_limit=left, threads=options.threads, seed=options.seed, start="none")
    result, values = solve_model(fixed, plan_options)
    if values is None or result.objective is None or not result.has_solution:
        return None
    note = f"start: {found.note()}; its plan {result.objective:.6g} in {time.perf_counter() - t0:.1f} s"
    # the Lagrangian bound holds for the model too: the site problem is its exact rewrite
    bound = None if found.bound is None else min(found.bound, float(result.objective))
    MONITOR.report(incumbent=float(result.objective), bound=bound)
    return Incumbent(values, float(result.objective), note, bound, time.perf_counter() - t0)


def filter_arcs(arcs: Arcs, keep: np.ndarray, demand_map: np.ndarray | None = None) -> Arcs:
    """The arcs where `keep` holds (demands renumbered by `demand_map` when given)."""
    c = arcs.contributor
    return Arcs(
        demand=arcs.demand[keep] if demand_map is None else demand_map[arcs.demand[keep]],
        hub=arcs.hub[keep],
        option=arcs.option[keep],
        lift_hub=arcs.lift_hub[keep],
        hours=arcs.hours[keep],
        cost=arcs.cost[keep],
        option_keys=arcs.option_keys,
        contributor=c[keep] if c is not None else None,
    )


def solve_on(
    instance: Instance, network: Network, arcs: Arcs, options: SolveOptions, open_: np.ndarray | None = None
) -> tuple[Solution, float]:
    """The reserve model over `arcs` (hubs fixed to `open_` when given), solved and read
    back; with the hubs fixed and only their arcs, the completion of a chosen plan."""
    t0 = time.perf_counter()
    lm, data = build_model(instance, network, arcs)
    if open_ is not None:
        y = lm.vars["open_hub"]
        lm = lm.with_bounds({int(y.start + j): (float(v), float(v)) for j, v in enumerate(open_)})
        options = SolveOptions(threads=options.threads, seed=options.seed, solver="highs", start="none")
    result, values = solve_model(lm, options)
    if open_ is not None and result.status != "optimal":
        raise SolverError(f"completing the chosen hubs' plan ended '{result.status}': {result.message}")
    seconds = time.perf_counter() - t0
    return read_solution(lm, data, result, values, Timings(build=seconds, total=seconds)), seconds


def complete_plan(
    instance: Instance, network: Network, arcs: Arcs, open_: np.ndarray, options: SolveOptions
) -> tuple[Solution, float]:
    """The chosen hubs' plan: the reserve model on their arcs with the hubs fixed."""
    return solve_on(instance, network, filter_arcs(arcs, open_[arcs.hub]), options, open_)


def solve_classic_sites(instance: Instance, classic: Classic, options: SolveOptions) -> Solution | None:
    """Solve a p-median, UFLP or p-center by site choice; None when `auto` should keep the
    assignment formulation (the instance is not a pure site choice).

    Raises InputError when a site formulation is forced on an instance it cannot express.
    """
    formulation = classic.formulation
    kind = "max" if classic.model == "p_center" else "sum"
    t0 = time.perf_counter()
    rewritten = free_instance(instance, classic.p) if kind == "max" else classic_instance(instance, classic)
    network = build_network(rewritten)
    arcs = eligible_arcs(rewritten, network)
    if kind == "sum":
        presolve_checks(rewritten, network, arcs)
    why = _unsupported(rewritten, arcs, kind)
    if why is not None:
        if formulation in ("levels", "benders"):
            raise InputError(f"--formulation {formulation} needs a pure site choice, but {why}; use --formulation assignment")
        return None
    problem = site_problem(rewritten, arcs, kind)
    t1 = time.perf_counter()
    res = solve_sites(problem, formulation, options)
    t2 = time.perf_counter()
    if res.status == "infeasible" or res.open is None:
        _infeasible(classic, problem)
    assert res.open is not None and res.objective is not None
    if kind == "max":
        target = classic_instance(instance, Classic(model="p_center", p=classic.p), radius=res.objective)
        network = build_network(target)
        arcs = eligible_arcs(target, network)
    else:
        target = rewritten
    sol, complete_s = complete_plan(target, network, arcs, res.open, options)
    if kind == "sum" and not np.isclose(sol.objective or 0.0, res.objective, rtol=1e-6, atol=1e-6):
        raise SolverError(f"the plan's cost {sol.objective} differs from the site choice's {res.objective}")
    info: dict[str, Any] = {"model": classic.model, "p": classic.p, "radius": res.objective if kind == "max" else classic.radius}
    info |= _report(res)
    timings = Timings(network=t1 - t0, solve=t2 - t1, build=complete_s, total=time.perf_counter() - t0)
    return replace(
        sol,
        status=res.status,
        objective=res.objective,
        bound=res.bound,
        gap=res.gap,
        classic=info,
        timings=timings,
        message="" if res.status == "optimal" else f"stopped at the limit: {res.formulation} bound {res.bound}",
    )


def _report(res: SiteResult) -> dict[str, Any]:
    """The site solve's figures for the JSON `classic` block."""
    return {
        "formulation": res.formulation,
        "heuristic_objective": res.heuristic_objective,
        "lp_bound": res.lp_bound,
        "rounds": res.rounds,
        "columns": res.columns,
        "rows": res.rows,
    }


def _infeasible(classic: Classic, problem: SiteProblem) -> None:
    reach = np.isfinite(problem.cost)
    if not reach.any(axis=1).all():
        raise InfeasibleError("some demand is reached by no hub", headline=f"{classic.model.replace('_', '-')} is infeasible:")
    raise InfeasibleError(
        f"no choice of at most {problem.top} hub(s) serves every demand (existing hubs count towards p)",
        headline=f"{classic.model.replace('_', '-')} is infeasible:",
    )


# --- covering models: dominance reductions --------------------------------------------------


def coverage(arcs: Arcs, n_demands: int, n_hubs: int) -> np.ndarray:
    """demands × hubs: True where some eligible arc joins them."""
    cover = np.zeros((n_demands, n_hubs), dtype=bool)
    cover[arcs.demand, arcs.hub] = True
    return cover


def _subsets(sets: np.ndarray) -> np.ndarray:
    """sub[a, b]: set a ⊆ set b (rows of a boolean matrix)."""
    s = sets.astype(np.float32)
    inter = s @ s.T
    return inter >= s.sum(axis=1)[:, None] - 0.5


def dominated_hubs(cover: np.ndarray, fixed: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Hubs whose cover is within another kept hub's at no lower fixed cost (of two equal
    hubs the later goes); `keep` marks hubs that may not go (existing ones)."""
    m = cover.shape[1]
    if m * m > MAX_PAIRS:
        return np.zeros(m, dtype=bool)
    sub = _subsets(cover.T)
    np.fill_diagonal(sub, False)
    cheaper = fixed[None, :] <= fixed[:, None] + 1e-12
    later = np.arange(m)[:, None] > np.arange(m)[None, :]
    same = sub & sub.T & (np.abs(fixed[None, :] - fixed[:, None]) <= 1e-12)
    strict = sub & ~sub.T & cheaper
    out = (strict | (same & later)).any(axis=1)
    out &= ~keep
    return out


def dominated_demands(cover: np.ndarray) -> np.ndarray:
    """Demands whose covering hubs include all of another's (covered whenever it is)."""
    n = cover.shape[0]
    if n * n > MAX_PAIRS:
        return np.zeros(n, dtype=bool)
    sub = _subsets(cover)  # sub[i, k]: hubs of i ⊆ hubs of k → k is implied by i
    np.fill_diagonal(sub, False)
    equal = sub & sub.T
    later = np.arange(n)[None, :] > np.arange(n)[:, None]
    implied = (sub & ~equal) | (equal & later)
    return implied.any(axis=0)


def _without_demands(instance: Instance, drop: np.ndarray) -> Instance:
    """The instance without the dropped demands (in `Instance.demands` order)."""
    keep = iter((~drop).tolist())
    spec = instance.spec
    scenarios = [s.model_copy(update={"demands": [d for d in s.demands if next(keep)]}) for s in spec.scenarios]
    flat = [d for d in spec.demands if next(keep)]
    return instance.derive(scenarios=scenarios, demands=flat)


def solve_reduced(instance: Instance, classic: Classic, options: SolveOptions) -> Solution | None:
    """LSCP or MCLP with dominated hubs (and, for LSCP, implied demands) removed; None when
    nothing is dominated (the plain path is then as good) or a reduction does not apply."""
    t0 = time.perf_counter()
    rewritten = classic_instance(instance, classic)
    if rewritten.options.max_share_per_arc is not None or rewritten.spec.contributors:
        return None
    network = build_network(rewritten)
    arcs = eligible_arcs(rewritten, network)
    presolve_checks(rewritten, network, arcs)
    hubs = rewritten.hubs
    cover = coverage(arcs, len(rewritten.demands), len(hubs))
    fixed = np.array([h.fixed_cost for h in hubs], dtype=float)
    existing = np.array([h.status == "existing" for h in hubs], dtype=bool)
    gone_hubs = dominated_hubs(cover, fixed, existing)
    lscp = classic.model == "lscp" and rewritten.options.deadlines == "hard"
    gone_rows = dominated_demands(cover[:, ~gone_hubs]) if lscp else np.zeros(len(cover), dtype=bool)
    if not gone_hubs.any() and not gone_rows.any():
        return None
    reduced = _without_demands(rewritten, gone_rows) if gone_rows.any() else rewritten
    renumber = np.cumsum(~gone_rows) - 1
    keep = ~gone_hubs[arcs.hub] & ~gone_rows[arcs.demand]
    sub = filter_arcs(arcs, keep, renumber)
    t1 = time.perf_counter()
    sol, seconds = solve_on(reduced, network, sub, options)
    sol = replace(sol, timings=replace(sol.timings, network=t1 - t0, build=0.0, solve=seconds, total=time.perf_counter() - t0))
    info = {
        "model": classic.model,
        "p": classic.p,
        "radius": classic.radius,
        "formulation": "assignment",
        "dominated_hubs": int(gone_hubs.sum()),
        "dominated_demands": int(gone_rows.sum()),
    }
    if not sol.ok or not gone_rows.any():
        return replace(sol, classic=info)
    open_ = np.array([h.node in set(sol.open_hubs) for h in hubs], dtype=bool)
    full, complete_s = complete_plan(rewritten, network, arcs, open_, options)
    timings = replace(sol.timings, build=sol.timings.build + complete_s, total=time.perf_counter() - t0)
    return replace(full, status=sol.status, objective=sol.objective, bound=sol.bound, gap=sol.gap, classic=info, timings=timings)
