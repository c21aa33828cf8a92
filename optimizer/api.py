"""horizon as a library: load, edit, solve, inspect, customise in Pyomo — the CLI's pipeline in code.

The functions here are what ``import horizon`` offers (see docs/python-api.md). They add no
model logic of their own: `solve` is the pipeline `horizon solve` runs, with its options and
its errors; `compare`, `sweep` and `marginal` are the planner tools, returned as the tables
the CLI prints; `build` hands over the model exactly as the solver receives it, so that an
analyst can add a constraint in Pyomo and read the result back as a `Solution`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from horizon.models.classic import classic_instance
from horizon.models.linear import LinearModel
from horizon.models.reserve import ModelData
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.schema import POLICIES, Classic
from horizon.optimizer.errors import InputError
from horizon.optimizer.pipeline import Prepared, prepare, require_plan
from horizon.optimizer.pipeline import solve as run_pipeline
from horizon.optimizer.planning.tools import MARGINAL_COLUMNS, compare_policies
from horizon.optimizer.planning.tools import marginal as run_marginal
from horizon.optimizer.planning.tools import sweep as run_sweep
from horizon.optimizer.results.solution import Solution, Timings, read_solution
from horizon.optimizer.solve.adapters import get_solver
from horizon.optimizer.solve.result import SolveOptions, SolveResult

if TYPE_CHECKING:  # pandas and Pyomo are imported when a table or a Pyomo model is asked for
    import pandas as pd
    import pyomo.environ as pyo

__all__ = ["Model", "build", "compare", "load", "marginal", "read_pyomo", "solve", "sweep"]

Source = Instance | str | Path | None


def load(path: str | Path | None = None) -> Instance:
    """Read and validate an instance file (YAML or JSON); the bundled UN 2009 instance by default."""
    return load_instance(path)


def _instance(source: Source) -> Instance:
    return source if isinstance(source, Instance) else load_instance(source)


def _options(
    *,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    seed: int | None = None,
    solver: str = "highs",
    start: str = "auto",
    verbose: bool = False,
    log_file: str | Path | None = None,
) -> SolveOptions:
    """Solve options as `horizon solve` checks them (an unknown or missing solver: InputError)."""
    if time_limit is not None and not time_limit > 0:
        raise InputError(f"time_limit must be a positive number of seconds (got {time_limit!r})")
    if mip_gap < 0:
        raise InputError(f"mip_gap must not be negative (got {mip_gap!r})")
    name = solver.strip().lower()
    get_solver(name)
    return SolveOptions(
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
        seed=seed,
        log_file=None if log_file is None else str(log_file),
        verbose=verbose,
        solver=name,
        start=start,
    )


def _classic(classic: str | Classic | None, p: int | None, radius: float | None) -> Classic | None:
    """A `Classic` record from a model name such as ``"p-median"`` (as ``--classic``)."""
    if classic is None or isinstance(classic, Classic):
        if p is not None or radius is not None:
            raise InputError("p and radius go with classic=... (a model name)")
        return classic
    name = classic.replace("-", "_")
    if name in ("p_median", "mclp", "p_center") and p is None:
        raise InputError(f"classic={classic!r} needs p (the number of hubs)")
    return Classic.model_validate({"model": name, "p": p, "radius": radius})


def solve(
    instance: Source = None,
    *,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    seed: int | None = None,
    solver: str = "highs",
    start: str = "auto",
    classic: str | Classic | None = None,
    p: int | None = None,
    radius: float | None = None,
    verbose: bool = False,
    log_file: str | Path | None = None,
) -> Solution:
    """Solve an instance (an `Instance` or a file; the bundled one by default) as `horizon solve` does.

    Returns the `Solution` (status ``optimal``, or ``feasible`` at a time limit with the gap);
    raises `InfeasibleError` or `SolverError` where the CLI exits 3 or 4, with its messages.
    ``classic`` solves a classic location model on the instance (``"p-median"`` with ``p``, ...).
    """
    options = _options(
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
        seed=seed,
        solver=solver,
        start=start,
        verbose=verbose,
        log_file=log_file,
    )
    return require_plan(run_pipeline(instance, options, classic=_classic(classic, p, radius)))


# --- the model as the solver receives it ------------------------------------------------------
_TERMINATION = {
    "optimal": "optimal",
    "locallyOptimal": "optimal",
    "globallyOptimal": "optimal",
    "infeasible": "infeasible",
    "infeasibleOrUnbounded": "infeasible",
    "unbounded": "unbounded",
    "error": "error",
    "solverFailure": "error",
    "internalSolverError": "error",
}


@dataclass(frozen=True)
class Model:
    """The model of an instance exactly as the solver receives it: columns, rows, bounds, costs.

    `linear` is the array-built model (the one HiGHS gets), `data` its index data (which hub,
    type, demand and route each column stands for). `to_pyomo` gives the same model in Pyomo
    for customisation; `solution_from_pyomo` reads a Pyomo solve back into a `Solution`.
    """

    prepared: Prepared

    @property
    def instance(self) -> Instance:
        return self.prepared.instance

    @property
    def linear(self) -> LinearModel:
        return self.prepared.model

    @property
    def data(self) -> ModelData:
        return self.prepared.data

    def keys(self, block: str) -> list[Any]:
        """What each position of a variable block stands for, e.g. ``stationed`` → [(hub, type), ...].

        Pyomo components are indexed by position (``pm.stationed[i]``); this says which is which.
        ``dispatch`` positions are the eligible arcs: see `arcs`.
        """
        if block not in self.linear.vars:
            raise InputError(f"unknown variable block '{block}' (blocks: {', '.join(self.linear.vars)})")
        b = self.linear.vars[block]
        return list(b.keys) if b.keys is not None else list(range(b.size))

    def arcs(self) -> pd.DataFrame:
        """One row per ``dispatch`` position: scenario, hub, mission, asset type, route, hours, cost."""
        import pandas as pd

        a, inst = self.data.arcs, self.instance
        demands = [inst.demands[int(i)] for i in a.demand]
        return pd.DataFrame(
            {
                "scenario": [d.scenario for d in demands],
                "hub": [self.data.hubs[int(h)] for h in a.hub],
                "mission": [d.mission for d in demands],
                "asset_type": [d.type for d in demands],
                "route": [a.option_keys[int(o)][1] for o in a.option],
                "response_hours": a.hours,
                "cost_per_unit": a.cost,
            }
        )

    def to_pyomo(self) -> pyo.ConcreteModel:
        """The same model as a Pyomo `ConcreteModel`: one component per block, same names and order."""
        return self.linear.to_pyomo()

    def solution_from_pyomo(self, pm: pyo.ConcreteModel, results: Any = None, *, solver: str = "pyomo") -> Solution:
        """Read the values of a solved Pyomo model (from `to_pyomo`) back into a `Solution`.

        `results` is what ``SolverFactory(...).solve(pm)`` returned: it gives the status and the
        bound (without it, a loaded plan counts as ``feasible``). Only the model's own columns
        are read; variables added in Pyomo only constrain them.
        """
        import pyomo.environ as pyo

        t0 = time.perf_counter()
        columns = pm._columns
        if len(columns) != self.linear.n_cols:
            raise InputError(f"the Pyomo model has {len(columns)} columns, this model {self.linear.n_cols}: not its to_pyomo()")
        raw = [v.value for v in columns]
        values = None if any(x is None for x in raw) else np.array(raw, dtype=float)
        status, bound, seconds = "feasible" if values is not None else "no_solution", None, 0.0
        if results is not None:
            condition = str(results.solver.termination_condition)
            status = _TERMINATION.get(condition, "feasible" if values is not None else "no_solution")
            lower = results.problem.lower_bound
            bound = float(lower) if isinstance(lower, int | float) and math.isfinite(lower) else None
            wall = getattr(results.solver, "wallclock_time", None)
            seconds = float(wall) if isinstance(wall, int | float) else 0.0
        if status not in ("optimal", "feasible"):
            values = None
        objective = None
        if values is not None:
            objective = float(pyo.value(next(pm.component_data_objects(pyo.Objective, active=True))))
        if status == "optimal" and bound is None:
            bound = objective
        result = SolveResult.of(status, objective, bound, solver=solver, solver_version="", seconds=seconds)
        timings = Timings(solve=seconds, total=seconds + time.perf_counter() - t0)
        return read_solution(self.linear, self.data, result, values, timings)


def build(
    instance: Source = None, *, classic: str | Classic | None = None, p: int | None = None, radius: float | None = None
) -> Model:
    """Build the model `solve` would pass to the solver (after the same checks; a classic model
    rewrites the instance first). p-center solves a sequence of models, so it has none to build."""
    inst = _instance(instance)
    chosen = _classic(classic, p, radius) or inst.options.classic
    if chosen is not None and chosen.model == "p_center":
        raise InputError("p-center solves a sequence of covering models; build one with classic='lscp' and a radius")
    return Model(prepare(inst if chosen is None else classic_instance(inst, chosen)))


def read_pyomo(model: Model, pm: pyo.ConcreteModel, results: Any = None) -> Solution:
    """`Model.solution_from_pyomo` as a function."""
    return model.solution_from_pyomo(pm, results)


# --- planner tools as tables ------------------------------------------------------------------
def compare(
    instance: Source = None,
    policies: Sequence[str] = POLICIES,
    *,
    soft_penalty: float | None = None,
    fleet_limits: bool = True,
    mission_hubs: bool = True,
    mission_hub_cost: float | None = None,
    keep_existing: bool = False,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Pooling policies side by side, as `horizon compare` (a metric per row, a policy per column)."""
    import pandas as pd

    chosen = list(dict.fromkeys(policies))
    comp = compare_policies(
        _instance(instance),
        chosen,
        _options(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed),
        mission_hubs=mission_hubs,
        keep_existing=keep_existing,
        mission_hub_cost=mission_hub_cost,
        soft_penalty=soft_penalty,
        fleet_limits=fleet_limits,
    )
    table = comp.table()
    return pd.DataFrame([vals for _, vals in table], index=pd.Index([label for label, _ in table], name="metric"), columns=chosen)


def sweep(
    instance: Source,
    param: str,
    values: Sequence[float] | None = None,
    *,
    soft_penalty: float | None = None,
    hard: bool = False,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Re-solve over ``deadline-scale``, ``budget``, ``hubs`` or ``fleet:TYPE`` (the rows of sweep.csv).

    The model is built once and each point only changes bounds; default values as `horizon sweep`.
    """
    import pandas as pd

    result = run_sweep(
        _instance(instance),
        param,
        values,
        _options(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed),
        soft_penalty=soft_penalty,
        hard=hard,
    )
    return pd.DataFrame(result.rows())


def marginal(
    instance: Source = None,
    assets: Sequence[str] | None = None,
    hubs: Sequence[str] | None = None,
    *,
    hub_count: bool = True,
    soft_penalty: float | None = None,
    time_limit: float | None = None,
    mip_gap: float = 0.0,
    threads: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """What one more / one fewer unit of each asset type (or hub) changes, as `horizon marginal --csv`.

    ``assets``: types to value (default all); ``hubs``: hubs to toggle open/closed; ``hub_count``:
    also one more / one fewer hub.
    """
    import pandas as pd

    res = run_marginal(
        _instance(instance),
        assets,
        hubs,
        _options(time_limit=time_limit, mip_gap=mip_gap, threads=threads, seed=seed),
        hub_count_rows=hub_count,
        soft_penalty=soft_penalty,
    )
    return pd.DataFrame([r.to_dict() for r in res.rows], columns=list(MARGINAL_COLUMNS))
