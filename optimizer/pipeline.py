"""The solve pipeline, stage by stage: load → network → build → solve → `Solution`.

Each stage is a plain function call with its own timer, so benchmarks and the CLI report
the same figures and a reader sees the whole flow in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from models.classic import classic_instance, p_center
from models.classic_exact import SITE_MODELS, check_formulation, solve_classic_sites
from models.dominance import solve_reduced
from models.linear import LinearModel
from models.reserve import ModelData, build_model
from optimizer.checks import presolve_checks
from optimizer.instance import Instance
from optimizer.loader import load_instance
from optimizer.network import Arcs, Network, build_network, eligible_arcs
from optimizer.schema import Classic
from optimizer.solution import Solution, Timings, read_solution
from optimizer.solve import SolveOptions, SolveResult, resolve_start
from optimizer.solvers import solve_model


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
        presolve_checks(instance, network, arcs)
    t2 = time.perf_counter()
    model, data = build_model(instance, network, arcs)
    t3 = time.perf_counter()
    return Prepared(instance, network, arcs, model, data, Timings(load=t1 - t0, network=t2 - t1, build=t3 - t2))


def solve_prepared(prep: Prepared, options: SolveOptions | None = None) -> tuple[Solution, SolveResult]:
    """Solve a prepared model and read back the `Solution` (timings up to the solve)."""
    options = resolve_start(options or SolveOptions(), prep.model.n_cols, len(prep.instance.spec.scenarios))
    t0 = time.perf_counter()
    result, values = solve_model(prep.model, options)
    solve_s = time.perf_counter() - t0
    t = prep.timings
    timings = Timings(load=t.load, network=t.network, build=t.build, solve=solve_s, total=t.load + t.network + t.build + solve_s)
    return read_solution(prep.model, prep.data, result, values, timings), result


def load(source: str | Path | Instance | None) -> tuple[Instance, float]:
    """The instance and the seconds it took to load."""
    t0 = time.perf_counter()
    instance = source if isinstance(source, Instance) else load_instance(source)
    return instance, time.perf_counter() - t0


def solve(source: str | Path | Instance | None, options: SolveOptions | None = None, classic: Classic | None = None) -> Solution:
    """Load, check, build and solve an instance (the bundled default when `source` is None).

    A classic model (`classic`, or the instance's ``options.classic``) rewrites the instance
    first (`models.classic`); p-center solves a sequence of covering problems.
    """
    instance, load_s = load(source)
    classic = classic or instance.options.classic
    if classic is None:
        return _with_load(solve_prepared(prepare(instance), options)[0], load_s)
    options = options or SolveOptions()
    check_formulation(classic, options.solver)
    if classic.model in SITE_MODELS and classic.formulation != "assignment" and options.solver == "highs":
        fast = solve_classic_sites(instance, classic, options)
        if fast is not None:
            return _with_load(fast, load_s)
    if classic.model in ("lscp", "mclp"):
        reduced = solve_reduced(instance, classic, options)
        if reduced is not None:
            return _with_load(reduced, load_s)
    if classic.model == "p_center":
        assert classic.p is not None
        t0 = time.perf_counter()
        radius, sol, probes = p_center(instance, classic.p, lambda inst: solve_prepared(prepare(inst), options)[0])
        total = time.perf_counter() - t0
        info = {"model": "p_center", "p": classic.p, "radius": radius, "probes": probes, "formulation": "assignment"}
        return replace(sol, classic=info, timings=replace(sol.timings, load=load_s, total=load_s + total))
    rewritten = classic_instance(instance, classic)
    sol = solve_prepared(prepare(rewritten), options)[0]
    info = {"model": classic.model, "p": classic.p, "radius": classic.radius, "formulation": "assignment"}
    return _with_load(replace(sol, classic=info), load_s)


def _with_load(sol: Solution, load_s: float) -> Solution:
    t = sol.timings
    return replace(sol, timings=replace(t, load=load_s, total=t.total - t.load + load_s))
