"""Planner figures of a solution: cost parts, coverage, response times, per scenario.

Shared by the planner tools (compare, sweep, marginal), the report and the API, so that a
figure means the same wherever it is shown.
"""

from __future__ import annotations

import math
from typing import Any

from horizon.models.policies import coverage_share
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.results.solution import Solution


def solution_metrics(instance: Instance, solution: Solution) -> dict[str, Any]:
    """Planner figures of a solution (see the module docstring for the definitions)."""
    probs = instance.probabilities
    units: dict[str, float] = {t.id: 0.0 for t in instance.spec.asset_types}
    for r in solution.stationing:
        units[r["asset_type"]] = units.get(r["asset_type"], 0.0) + float(r["units"])
    num = den = 0.0
    worst: float | None = None
    for r in solution.dispatch:
        p = probs.get(r["scenario"], 0.0)
        num += p * float(r["units"]) * float(r["response_hours"])
        den += p * float(r["units"])
        if p > 0:
            worst = max(worst or 0.0, float(r["response_hours"]))
    costs = dict(solution.costs)
    return {
        "status": solution.status,
        "total_cost": solution.objective,
        "gap": solution.gap,
        "costs": costs,
        "annual_cost": (costs.get("fixed", 0.0) + costs.get("holding", 0.0)) if solution.ok else None,
        "units": units,
        "units_total": math.fsum(units.values()),
        "coverage_pct": 100.0 * coverage_share(instance, solution.unmet) if solution.ok else None,
        "mean_response_hours": num / den if den > 0 else None,
        "worst_response_hours": worst,
        "hubs_used": len(solution.open_hubs),
        "open_hubs": list(solution.open_hubs),
    }


def scenario_coverage(instance: Instance, solution: Solution) -> list[dict[str, Any]]:
    """Per scenario: probability, demanded and unmet units, coverage, response times, cost."""
    rows = []
    probs = instance.probabilities
    rate = float(instance.options.crises_per_year)
    for s in instance.spec.scenarios:
        dem = [d for d in instance.demands if d.scenario == s.id]
        demanded = math.fsum(d.units for d in dem)
        unmet = math.fsum(float(r["units"]) for r in solution.unmet if r["scenario"] == s.id)
        disp = [r for r in solution.dispatch if r["scenario"] == s.id]
        sent = math.fsum(float(r["units"]) for r in disp)
        hours = [float(r["response_hours"]) for r in disp]
        mean = math.fsum(float(r["units"]) * float(r["response_hours"]) for r in disp) / sent if sent > 0 else None
        penalty = math.fsum(
            instance.penalty(r["asset_type"]) * float(r["units"]) for r in solution.unmet if r["scenario"] == s.id
        )
        rows.append(
            {
                "scenario": s.id,
                "name": s.name or "",
                "probability": probs[s.id],
                "demanded": demanded,
                "unmet": unmet,
                "coverage_pct": 100.0 * (demanded - unmet) / demanded if demanded > 0 else 100.0,
                "mean_response_hours": mean,
                "worst_response_hours": max(hours) if hours else None,
                "missions": sorted({d.mission for d in dem}),
                "hubs": sorted({r["hub"] for r in disp}),
                "penalty": rate * penalty,
            }
        )
    return rows
