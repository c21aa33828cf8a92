"""The `Solution` value: what a solve produced, in planner terms, and how it is written.

Rows are read back generically from the model's structured components (`open_hub`,
`stationed`, `dispatch`, `unmet`) through the index data the model was built from. JSON key
names are part of the public interface (`horizon solve --json`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from horizon.models.linear import LinearModel
from horizon.models.reserve import ModelData
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.writer import write_instance
from horizon.optimizer.files import replacing_dir
from horizon.optimizer.solve.result import SolveResult

if TYPE_CHECKING:  # pandas only when tables are asked for: it is slow to import
    import pandas as pd

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
    classic: dict[str, Any] | None = None  # the classic model solved, when not the reserve model
    service_levels: list[dict[str, Any]] = field(default_factory=list)  # per scenario and tier
    contributions: list[dict[str, Any]] = field(default_factory=list)  # units per hub, type and contributor
    source: str = ""  # the instance file solved

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

    @property
    def frames(self) -> SolutionFrames:
        """The plan as pandas tables (the CSV files of `to_dir`) and the costs as a Series."""
        import pandas as pd

        t = self.tables()
        costs = pd.Series(self.costs, name="cost", dtype=float)
        return SolutionFrames(costs=costs, **t)

    def to_dir(self, out: str | Path, instance: Instance | None = None) -> Path:
        """Write solution.json and the CSV tables to `out`, as `horizon solve --out` does (atomically).

        Pass the `instance` solved when it was edited in memory: it is written as instance.yaml,
        so that `horizon plot` and `horizon report` describe it rather than the file it came from.
        """
        write_solution_dir(self, Path(out), instance)
        return Path(out)

    def with_result(self, result: SolveResult, timings: Timings | None = None) -> Solution:
        """The same plan under another run's verdict (status, bound, gap, solver, message): a
        decomposition's plan evaluated on the full model, reported as the decomposition's."""
        verdict = {f: getattr(result, f) for f in ("status", "bound", "gap", "solver", "solver_version", "message")}
        return Solution(**{**self.__dict__, **verdict, "timings": timings or self.timings})

    def tables(self) -> dict[str, pd.DataFrame]:
        import pandas as pd  # only when tables are asked for: pandas is slow to import

        return {
            "open_hubs": pd.DataFrame({"hub": self.open_hubs}, columns=["hub"]),
            "stationing": pd.DataFrame(self.stationing, columns=["hub", "asset_type", "units"]),
            "dispatch": pd.DataFrame(
                self.dispatch,
                columns=[
                    "scenario",
                    "hub",
                    "mission",
                    "asset_type",
                    "route",
                    "lift_hub",
                    "contributor",
                    "units",
                    "cost_per_unit",
                    "response_hours",
                    "deadline_hours",
                ],
            ),
            "unmet": pd.DataFrame(self.unmet, columns=["scenario", "mission", "asset_type", "units"]),
            "contributions": pd.DataFrame(self.contributions, columns=["hub", "asset_type", "contributor", "units"]),
            "service_levels": pd.DataFrame(
                self.service_levels, columns=["scenario", "tier", "units_due", "units_within", "share"]
            ),
        }


@dataclass(frozen=True)
class SolutionFrames:
    """A solution's rows as DataFrames (columns as in the CSV files and the JSON keys)."""

    open_hubs: pd.DataFrame
    stationing: pd.DataFrame
    dispatch: pd.DataFrame
    unmet: pd.DataFrame
    contributions: pd.DataFrame
    service_levels: pd.DataFrame
    costs: pd.Series  # fixed, holding, dispatch, penalty (and worst_scenario)


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(x: float) -> float:
    r = round(x)
    return float(r) if abs(x - r) < VALUE_TOLERANCE else float(x)


def read_solution(lm: LinearModel, data: ModelData, result: SolveResult, values: np.ndarray | None, timings: Timings) -> Solution:
    """Turn the solver's column values into a `Solution` (no rows when there is none)."""
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
        source=inst.source,
    )
    if values is None:
        return Solution(**base)

    y = lm.vars["open_hub"].values(values)
    z = lm.vars["stationed"].values(values)
    x = lm.vars["dispatch"].values(values)
    is_open = y > 0.5
    open_hubs = [data.hubs[i] for i in np.flatnonzero(is_open)]
    stationing = [
        {"hub": data.hubs[h], "asset_type": data.types[k], "units": _clean(float(z[i]))}
        for i, (h, k) in enumerate(data.stocked)
        if z[i] > VALUE_TOLERANCE
    ]
    arcs, demands = data.arcs, inst.demands
    dispatch = []
    for a in np.flatnonzero(x > VALUE_TOLERANCE).tolist():
        d = demands[int(arcs.demand[a])]
        dispatch.append(
            {
                "scenario": d.scenario,
                "hub": data.hubs[int(arcs.hub[a])],
                "mission": d.mission,
                "asset_type": d.type,
                "route": arcs.option_keys[int(arcs.option[a])][1],
                "lift_hub": data.hubs[int(arcs.lift_hub[a])] if arcs.lift_hub[a] >= 0 else None,
                "contributor": inst.spec.contributors[int(arcs.contributor[a])].id if arcs.contributor[a] >= 0 else None,
                "units": _clean(float(x[a])),
                "cost_per_unit": float(arcs.cost[a]),
                "response_hours": round(float(arcs.hours[a]), 4),
                "deadline_hours": d.deadline,
            }
        )
    probs = inst.probabilities
    rate = float(inst.options.crises_per_year)
    p = np.array([probs[s] for s in data.scenarios])
    unmet, penalty = [], 0.0
    if "unmet" in lm.vars:
        u = lm.vars["unmet"].values(values)
        for i in np.flatnonzero(u > VALUE_TOLERANCE).tolist():
            d = demands[i]
            unmet.append({"scenario": d.scenario, "mission": d.mission, "asset_type": d.type, "units": _clean(float(u[i]))})
            penalty += rate * probs[d.scenario] * inst.penalty(d.type) * float(u[i])
    fixed = float(sum(h.fixed_cost for h, o in zip(inst.hubs, is_open) if o))
    holding = float(sum(inst.holding_cost(inst.hubs[h], data.types[k]) * z[i] for i, (h, k) in enumerate(data.stocked)))
    dispatch_cost = rate * float(np.sum(x * arcs.cost * p[data.arc_scenario])) if len(arcs) else 0.0
    costs = {"fixed": fixed, "holding": holding, "dispatch": dispatch_cost, "penalty": penalty}
    if "worst_scenario_cost" in lm.vars:
        costs["worst_scenario"] = float(lm.vars["worst_scenario_cost"].values(values)[0])
    costs = {k: (0.0 if math.isclose(v, 0.0, abs_tol=1e-9) else v) for k, v in costs.items()}
    return Solution(
        **base,
        open_hubs=open_hubs,
        stationing=stationing,
        dispatch=dispatch,
        unmet=unmet,
        costs=costs,
        service_levels=_service_levels(data, x),
        contributions=_contributions(lm, data, values),
    )


def _contributions(lm: LinearModel, data: ModelData, values: np.ndarray) -> list[dict[str, Any]]:
    if "pledged" not in lm.vars:
        return []
    w = lm.vars["pledged"].values(values)
    names = [c.id for c in data.instance.spec.contributors]
    return [
        {"hub": data.hubs[h], "asset_type": data.types[k], "contributor": names[c], "units": _clean(float(w[i]))}
        for i, (h, k, c) in enumerate(data.pledges)
        if w[i] > VALUE_TOLERANCE
    ]


def _service_levels(data: ModelData, x: np.ndarray) -> list[dict[str, Any]]:
    """Share of tiered demand reached per scenario and tier (empty without service levels)."""
    demands = data.instance.demands
    if data.instance.options.service_level is None or not any(d.final_deadline is not None for d in demands):
        return []
    arcs = data.arcs
    deadline = np.array([np.inf if d.deadline is None else d.deadline for d in demands])
    on_time = arcs.hours <= deadline[arcs.demand] + 1e-9
    sent_on_time = np.bincount(arcs.demand, weights=x * on_time, minlength=len(demands))
    sent = np.bincount(arcs.demand, weights=x, minlength=len(demands))
    by_scenario: dict[str, list[int]] = {}
    for i, d in enumerate(demands):
        if d.final_deadline is not None:
            by_scenario.setdefault(d.scenario, []).append(i)
    rows = []
    for s, idx in by_scenario.items():
        due = float(sum(demands[i].units for i in idx))
        for tier, got in (("deadline", sent_on_time), ("final", sent)):
            within = float(got[idx].sum())
            rows.append({"scenario": s, "tier": tier, "units_due": due, "units_within": _clean(within), "share": within / due})
    return rows


def write_solution_dir(solution: Solution, out: Path, instance: Instance | None = None) -> None:
    """Write solution.json and CSV tables to `out` atomically (all files or none); with the
    `instance` solved, also instance.yaml, which plot and report read before the source file
    (an instance edited or rewritten in memory is not its source file)."""
    with replacing_dir(out) as tmp:
        (tmp / "solution.json").write_text(solution.to_json() + "\n", encoding="utf-8")
        for name, df in solution.tables().items():
            df.to_csv(tmp / f"{name}.csv", index=False)
        if instance is not None:
            write_instance(instance.spec, tmp / "instance.yaml", csv_threshold=None)
