"""The solve pipeline, stage by stage: load → network → build → solve → `Solution`.

Each stage is a plain function call with its own timer, so benchmarks and the CLI report
the same figures and a reader sees the whole flow in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from models.linear import LinearModel
from models.reserve import ModelData, build_model
from optimizer.checks import presolve_checks
from optimizer.instance import Instance
from optimizer.loader import load_instance
from optimizer.network import Arcs, Network, build_network, eligible_arcs
from optimizer.solution import Solution, Timings, read_solution
from optimizer.solve import SolveOptions, SolveResult, solve_highs


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
    options = options or SolveOptions()
    t0 = time.perf_counter()
    result, values = solve_highs(prep.model, options)
    solve_s = time.perf_counter() - t0
    t = prep.timings
    timings = Timings(load=t.load, network=t.network, build=t.build, solve=solve_s, total=t.load + t.network + t.build + solve_s)
    return read_solution(prep.model, prep.data, result, values, timings), result


def solve(source: str | Path | Instance | None, options: SolveOptions | None = None) -> Solution:
    """Load, check, build and solve an instance (the bundled default when `source` is None)."""
    return solve_prepared(prepare(source), options)[0]
