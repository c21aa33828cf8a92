"""The solve pipeline, stage by stage: load → network → build → solve → `Solution`.

Each stage is a plain function call with its own timer, so benchmarks and the CLI report
the same figures and a reader sees the whole flow in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from horizon.models.classic import classic_instance, p_center
from horizon.models.linear import MAX_ABS_HINT, LinearModel, check_numbers
from horizon.models.policies import policy_reasons
from horizon.models.reserve import ModelData, build_model
from horizon.optimizer.classic import SITE_MODELS, check_formulation, primal_start, solve_classic_sites, solve_reduced
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.schema import Classic
from horizon.optimizer.errors import InfeasibleError, InputError, SolverError
from horizon.optimizer.network.feasibility import presolve_checks
from horizon.optimizer.network.graph import Arcs, Network, build_network, eligible_arcs
from horizon.optimizer.results.solution import Solution, Timings, read_solution
from horizon.optimizer.solve.adapters import solve_model
from horizon.optimizer.solve.result import SolveOptions, SolveResult
from horizon.optimizer.solve.starts import resolve_start


@dataclass(frozen=True)
class Prepared:
    """An instance with its network, eligible arcs and built model, ready to solve."""

    instance: Instance
    network: Network
    arcs: Arcs
    model: LinearModel
    data: ModelData
    timings: Timings


def prepare(source: str | Path | Instance | None, *, check: bool = True) -> Prepared:
    """Load (unless given an `Instance`), derive response times, run checks, build the model."""
    t0 = time.perf_counter()
    instance = source if isinstance(source, Instance) else load_instance(source)
    t1 = time.perf_counter()
    network = build_network(instance)
    arcs = eligible_arcs(instance, network)
    if check:
        policy = instance.options.policy
        if policy != "pooled" and instance.options.deadlines == "hard":
            reasons = policy_reasons(instance, network, arcs, policy)
            if reasons:  # in the policy's terms: which allowed hub is fastest, which group is short
                raise InfeasibleError(reasons, headline=f"The problem is infeasible under the '{policy}' policy:")
        presolve_checks(instance, network, arcs)
    prep = assemble(instance, network, arcs)
    if check:
        problems = check_numbers(prep.model)
        if problems:
            raise InputError(
                [*problems, MAX_ABS_HINT],
                headline=f"{instance.source}: numbers too large for the solver ({len(problems)} problem(s))",
            )
    return replace(prep, timings=replace(prep.timings, load=t1 - t0, network=time.perf_counter() - t1 - prep.timings.build))


def assemble(instance: Instance, network: Network, arcs: Arcs) -> Prepared:
    """Build the model over given arcs: the stage a caller enters when it chose the arcs
    itself (a pooling policy restricts them)."""
    t0 = time.perf_counter()
    model, data = build_model(instance, network, arcs)
    return Prepared(instance, network, arcs, model, data, Timings(build=time.perf_counter() - t0))


def solve_prepared(
    prep: Prepared, options: SolveOptions | None = None, *, fixed: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[Solution, SolveResult]:
    """Solve a prepared model with the solver `options` name and read back the `Solution`
    (timings up to the solve). `fixed`: (columns, values) held fixed, e.g. a decomposition's
    first stage evaluated on the full model. A time-limited HiGHS run of capacitated
    facility location starts from the primal heuristic's plan (`primal_start`), whose time
    counts in the limit, unless ``start="none"`` asks for plain branch and bound."""
    model = prep.model
    if fixed is not None:
        model = model.with_bounds({int(c): (float(v), float(v)) for c, v in zip(*fixed)})
    options = options or SolveOptions()
    heuristic = fixed is None and options.start != "none"
    options = resolve_start(options, model.n_cols, len(prep.instance.spec.scenarios))
    t0 = time.perf_counter()
    incumbent = primal_start(prep.instance, prep.arcs, model, options) if heuristic else None
    if incumbent is not None and options.time_limit is not None:
        options = replace(options, time_limit=max(0.1, float(options.time_limit) - (time.perf_counter() - t0)))
    result, values = solve_model(model, options, incumbent)
    solve_s = time.perf_counter() - t0
    t = prep.timings
    timings = Timings(load=t.load, network=t.network, build=t.build, solve=solve_s, total=t.load + t.network + t.build + solve_s)
    return read_solution(model, prep.data, result, values, timings), result


def load(source: str | Path | Instance | None) -> tuple[Instance, float]:
    """The instance and the seconds it took to load."""
    t0 = time.perf_counter()
    instance = source if isinstance(source, Instance) else load_instance(source)
    return instance, time.perf_counter() - t0


def solve(source: str | Path | Instance | None, options: SolveOptions | None = None, classic: Classic | None = None) -> Solution:
    """Load, check, build and solve an instance (the bundled default when `source` is None).

    A classic model (`classic`, or the instance's ``options.classic``) rewrites the instance
    first (`horizon.models.classic`). p-median, UFLP and p-center are solved by site choice
    (`horizon.optimizer.classic`) unless the assignment form is asked for or needed; LSCP and
    MCLP drop dominated hubs (and implied LSCP demands) first.
    A time limit counts from here: loading and building come out of the solver's share.
    """
    t0 = time.perf_counter()
    instance, load_s = load(source)
    classic = classic or instance.options.classic
    if classic is None:
        prep = prepare(instance)
        return _with_load(solve_prepared(prep, _time_left(options, t0))[0], load_s)
    options = options or SolveOptions()
    check_formulation(classic, options.solver)
    if classic.model in SITE_MODELS and classic.formulation != "assignment" and options.solver == "highs":
        fast = solve_classic_sites(instance, classic, _time_left(options, t0) or options)
        if fast is not None:
            return _with_load(fast, load_s)
    if classic.model in ("lscp", "mclp"):
        reduced = solve_reduced(instance, classic, _time_left(options, t0) or options)
        if reduced is not None:
            return _with_load(reduced, load_s)
    if classic.model == "p_center":
        assert classic.p is not None
        t0 = time.perf_counter()
        radius, sol, probes = p_center(instance, classic.p, lambda inst: solve_prepared(prepare(inst), options)[0])
        total = time.perf_counter() - t0
        info = {"model": "p_center", "p": classic.p, "radius": radius, "probes": probes, "formulation": "assignment"}
        return replace(sol, classic=info, timings=replace(sol.timings, load=load_s, total=load_s + total))
    sol = solve_prepared(prepare(classic_instance(instance, classic)), options)[0]
    info = {"model": classic.model, "p": classic.p, "radius": classic.radius, "formulation": "assignment"}
    return _with_load(replace(sol, classic=info), load_s)


def _time_left(options: SolveOptions | None, t0: float) -> SolveOptions | None:
    """`options` with the time limit less the seconds spent since `t0` (at least 0.1 s)."""
    if options is None or options.time_limit is None:
        return options
    return replace(options, time_limit=max(0.1, float(options.time_limit) - (time.perf_counter() - t0)))


def _with_load(sol: Solution, load_s: float) -> Solution:
    t = sol.timings
    return replace(sol, timings=replace(t, load=load_s, total=t.total - t.load + load_s))


def require_plan(solution: Solution) -> Solution:
    """The solution when it has a plan; else the error `horizon solve` reports (exit 3 or 4).

    Before solving, `presolve_checks` explains most infeasibility in planner terms; what is
    left here is what the solver alone found.
    """
    if solution.status == "infeasible":
        raise InfeasibleError(
            [
                "the solver proved the model infeasible, although every demand has a hub in reach, "
                "each scenario fits the fleet limits and total hub space suffices;",
                "the binding combination is among: airlift sorties for air-moved forces, per-hub space, "
                "the budget, the hub count limits, or units of one type needed at several missions at once",
            ],
            headline="The problem is infeasible:",
        )
    if not solution.ok:
        raise SolverError(f"no solution: solver status '{solution.status}' ({solution.message})")
    return solution
