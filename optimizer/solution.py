"""The `Solution` value: what a solve produced, in planner terms, and how it is written.

Rows are read back generically from the model's structured components (`open_hub`,
`stationed`, `dispatch`, `unmet`) through the index data the model was built from. JSON key
names are part of the public interface (`horizon solve --json`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from models.reserve import ModelData
from optimizer.solve import SolveResult

VALUE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Timings:
    load: float = 0.0
    network: float = 0.0
    build: float = 0.0
    solve: float = 0.0
    write: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class Solution:
    """A solve's outcome. Rows are plain dicts so they serialise and tabulate directly."""

    instance: str
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solver: str
    solver_version: str
    timings: Timings
    open_hubs: list[str] = field(default_factory=list)
    stationing: list[dict[str, Any]] = field(default_factory=list)
    dispatch: list[dict[str, Any]] = field(default_factory=list)
    unmet: list[dict[str, Any]] = field(default_factory=list)
    costs: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "feasible")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["timings"] = {k: round(v, 6) for k, v in d["timings"].items()}
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=_json_default)

    def with_timings(self, timings: Timings) -> Solution:
        return Solution(**{**self.__dict__, "timings": timings})

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "stationing": pd.DataFrame(self.stationing, columns=["hub", "asset_type", "units"]),
            "dispatch": pd.DataFrame(
                self.dispatch,
                columns=["scenario", "hub", "mission", "asset_type", "route", "units", "response_hours", "deadline_hours"],
            ),
            "unmet": pd.DataFrame(self.unmet, columns=["scenario", "mission", "asset_type", "units"]),
        }


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _val(v: pyo.Var) -> float:
    x = v.value
    return 0.0 if x is None else float(x)


def _clean(x: float) -> float:
    r = round(x)
    return float(r) if abs(x - r) < VALUE_TOLERANCE else float(x)


def read_solution(model: pyo.ConcreteModel, data: ModelData, result: SolveResult, timings: Timings) -> Solution:
    """Turn solved model values into a `Solution` (empty rows when there is no solution)."""
    inst = data.instance
    base = dict(
        instance=inst.name,
        status=result.status,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        solver=result.solver,
        solver_version=result.solver_version,
        timings=timings,
        message=result.message,
    )
    if not result.has_solution:
        return Solution(**base)

    open_hubs = [data.hubs[i] for i in range(len(data.hubs)) if _val(model.open_hub[i]) > 0.5]
    stationing = []
    for h, k in data.stocked:
        units = _val(model.stationed[h, k])
        if units > VALUE_TOLERANCE:
            stationing.append({"hub": data.hubs[h], "asset_type": data.types[k], "units": _clean(units)})

    arcs = data.arcs
    values = np.array([_val(model.dispatch[a]) for a in range(len(arcs))])
    demands = inst.demands
    dispatch = []
    for a in np.flatnonzero(values > VALUE_TOLERANCE).tolist():
        d = demands[int(arcs.demand[a])]
        dispatch.append(
            {
                "scenario": d.scenario,
                "hub": data.hubs[int(arcs.hub[a])],
                "mission": d.mission,
                "asset_type": d.type,
                "route": arcs.option_keys[int(arcs.option[a])][1],
                "units": _clean(values[a]),
                "response_hours": round(float(arcs.hours[a]), 4),
                "deadline_hours": d.deadline,
            }
        )
    unmet = []
    probs = inst.probabilities
    penalty = 0.0
    if hasattr(model, "unmet"):
        for i, d in enumerate(demands):
            u = _val(model.unmet[i])
            if u > VALUE_TOLERANCE:
                unmet.append({"scenario": d.scenario, "mission": d.mission, "asset_type": d.type, "units": _clean(u)})
                penalty += probs[d.scenario] * inst.penalty(d.type) * u
    fixed = sum(float(h.fixed_cost) for i, h in enumerate(inst.hubs) if data.hubs[i] in set(open_hubs))
    holding = sum(inst.holding_cost(inst.hubs[h], data.types[k]) * _val(model.stationed[h, k]) for h, k in data.stocked)
    s_pos = {s: i for i, s in enumerate(data.scenarios)}
    scen_pos = np.array([s_pos[d.scenario] for d in demands], dtype=np.int64)
    p = np.array([probs[s] for s in data.scenarios])
    dispatch_cost = float(np.sum(values * arcs.cost * p[scen_pos[arcs.demand]])) if len(arcs) else 0.0
    costs = {"fixed": fixed, "holding": holding, "dispatch": dispatch_cost, "penalty": penalty}
    if inst.options.objective == "worst_case":
        costs["worst_scenario"] = _val(model.worst_scenario_cost)
    costs = {k: (0.0 if math.isclose(v, 0.0, abs_tol=1e-9) else v) for k, v in costs.items()}
    return Solution(**base, open_hubs=open_hubs, stationing=stationing, dispatch=dispatch, unmet=unmet, costs=costs)


def write_solution_dir(solution: Solution, out: Path) -> None:
    """Write solution.json and CSV tables to `out` atomically (all files or none)."""
    out = Path(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        (tmp / "solution.json").write_text(solution.to_json() + "\n", encoding="utf-8")
        for name, df in solution.tables().items():
            df.to_csv(tmp / f"{name}.csv", index=False)
        pd.DataFrame([{"hub": h} for h in solution.open_hubs], columns=["hub"]).to_csv(tmp / "open_hubs.csv", index=False)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
