r"""Classic location models as special cases of the reserve model.

Each classic model is a rewrite of an instance (costs zeroed or set, deadlines set to a
radius, hub counts fixed), solved by the same engine — never a separate formulation:

=============  ==============================================================================
model          rewrite of the general model
=============  ==============================================================================
``cflp``       divisible types, no deadlines; fixed, holding and dispatch costs and hub
               capacities as given (OR-Library cap: one type, one scenario, route cost
               :math:`c_{ij}/d_j`)
``uflp``       ``cflp`` without hub capacities
``p_median``   :math:`f = c = 0`, :math:`P_{min} = P_{max} = p`, dispatch cost = response
               hours (demand-weighted time or distance), no capacities, fleets or deadlines
``lscp``       :math:`f_h = 1`, :math:`c = g = 0`, hard deadline = radius: fewest hubs that
               cover every demand
``mclp``       :math:`P_{max} = p`, :math:`f = c = g = 0`, soft deadlines with penalty 1
               per unit: minimising uncovered units = maximising covered demand
``p_center``   smallest radius for which ``lscp`` with :math:`P_{max} = p` is feasible:
               bisection over the sorted distinct response times
``backup``     no hub sends more than half of a demand (``max_share_per_arc = 0.5``), so
               covering it takes two distinct hubs; :math:`f = c = g = 0`; with ``p``:
               :math:`P_{max} = p`, soft, penalty 1 per unit, so the objective is
               :math:`\sum_d D_d \cdot (\text{missing covers})/2` (maximal backup
               coverage, demand-weighted); without ``p``: :math:`f_h = 1`, hard (fewest hubs
               covering everything twice)
=============  ==============================================================================

Coverage models drop capacities, fleet limits and the budget: they ask where hubs must be,
not what the reserve can afford. Types become divisible (the hub choice is what is integer).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.schema import Classic, InstanceSpec, Options
from horizon.optimizer.errors import InfeasibleError, InputError
from horizon.optimizer.network.graph import build_network, eligible_arcs

COVERAGE = ("lscp", "mclp", "p_center", "backup")


def _demands(spec: InstanceSpec, **fields: Any) -> dict[str, Any]:
    """Updates that set demand fields in inline and flat demand tables."""
    return {
        "scenarios": [s.model_copy(update={"demands": [d.model_copy(update=fields) for d in s.demands]}) for s in spec.scenarios],
        "demands": [d.model_copy(update=fields) for d in spec.demands],
    }


def classic_spec(spec: InstanceSpec, classic: Classic, radius: float | None = None) -> InstanceSpec:
    """Rewrite an instance into the classic model `classic` (radius overrides classic.radius)."""
    model, p = classic.model, classic.p
    radius = radius if radius is not None else classic.radius
    if model in ("p_median", "mclp", "p_center") and p is None:
        raise InputError(f"options.classic: model '{model}' needs p (the number of hubs)")
    o: Options = spec.options
    coverage = model in COVERAGE
    hubs = [
        h.model_copy(
            update={
                "fixed_cost": (1.0 if model == "lscp" or (model in ("backup", "p_center") and p is None) else 0.0)
                if coverage or model == "p_median"
                else h.fixed_cost,
                "capacity": None if coverage or model in ("uflp", "p_median") else h.capacity,
                "holding_cost": {} if coverage or model == "p_median" else h.holding_cost,
            }
        )
        for h in spec.hubs
    ]
    types = [
        t.model_copy(
            update={
                "divisible": True,
                "holding_cost": 0.0 if coverage or model == "p_median" else t.holding_cost,
                "fleet_limit": None if coverage or model == "p_median" else t.fleet_limit,
                "penalty": 1.0 if model == "mclp" else t.penalty,
            }
        )
        for t in spec.asset_types
    ]
    update: dict[str, Any] = {"hubs": hubs, "asset_types": types}
    opts: dict[str, Any] = {"classic": None}
    if model in ("cflp", "uflp", "p_median"):
        update |= _demands(spec, deadline_hours=None)
    elif radius is not None:
        update |= _demands(spec, deadline_hours=float(radius))
    if model == "p_median":
        opts |= {"min_hubs": p, "max_hubs": p, "dispatch_cost": "hours", "budget": None, "deadlines": "hard"}
    if coverage:
        opts |= {"dispatch_cost": "none", "budget": None}
    if model in ("lscp", "p_center"):
        opts |= {"deadlines": "hard", "max_hubs": p if model == "p_center" else o.max_hubs}
    if model == "mclp":
        opts |= {"deadlines": "soft", "max_hubs": p, "penalty": 1.0}
    if model == "backup":
        # No hub may send more than half of a demand: covering it needs two distinct hubs.
        opts |= {"max_share_per_arc": 0.5}
        if p is not None:
            opts |= {"deadlines": "soft", "max_hubs": p, "penalty": 1.0}
            update["asset_types"] = [t.model_copy(update={"penalty": 1.0}) for t in update["asset_types"]]
        else:
            opts |= {"deadlines": "hard"}
    update["options"] = o.model_copy(update=opts)
    return spec.model_copy(update=update)


def classic_instance(instance: Instance, classic: Classic, radius: float | None = None) -> Instance:
    return Instance(spec=classic_spec(instance.spec, classic, radius), source=instance.source)


def free_instance(instance: Instance, p: int | None = None) -> Instance:
    """The p-center rewrite (LSCP without p) with no deadlines: every hub–demand arc is
    eligible, so its hours are the response times any radius is chosen from."""
    free = classic_instance(instance, Classic(model="p_center" if p else "lscp", p=p), radius=None)
    return free.derive(**_demands(free.spec, deadline_hours=None))


def candidate_radii(instance: Instance) -> np.ndarray:
    """Sorted distinct response times of all hub–demand pairs (the p-center candidates)."""
    free = free_instance(instance)
    arcs = eligible_arcs(free, build_network(free))
    if not len(arcs):
        return np.zeros(0)
    # No radius below the largest "nearest hub" time can cover every demand.
    best = np.full(len(free.demands), np.inf)
    np.minimum.at(best, arcs.demand, arcs.hours)
    lower = float(best.max())
    values = np.unique(np.round(arcs.hours, 9))
    return values[values >= lower - 1e-9]


def p_center(instance: Instance, p: int, solve_fn: Any) -> tuple[float, Any, int]:
    """Smallest radius r such that p hubs cover every demand within r (bisection).

    `solve_fn(instance) -> Solution` solves one LSCP; returns (radius, its solution, probes).
    Each probe is an LSCP with ``max_hubs = p``: feasible radii form an upper set, so binary
    search over the sorted candidates finds the least feasible one.
    """
    radii = candidate_radii(instance)
    if not len(radii):
        raise InfeasibleError("no hub reaches any demand", headline="p-center is infeasible:")
    cl = Classic(model="p_center", p=p)
    lo, hi = 0, len(radii) - 1
    probes = 0
    best: tuple[float, Any] | None = None

    def feasible(r: float) -> Any:
        nonlocal probes
        probes += 1
        try:
            sol = solve_fn(classic_instance(instance, cl, radius=r))
        except InfeasibleError:
            return None
        return sol if sol.status == "optimal" else None

    top = feasible(float(radii[hi]))
    if top is None:
        fewest = solve_fn(classic_instance(instance, Classic(model="lscp"), radius=float(radii[hi])))
        need = f"; covering every demand at all takes {len(fewest.open_hubs)} hubs" if fewest.ok else ""
        raise InfeasibleError(
            f"even with radius {radii[hi]:g} h, {p} hub(s) cannot cover every demand{need} (existing hubs count towards p)",
            headline="p-center is infeasible:",
        )
    best = (float(radii[hi]), top)
    while lo < hi:
        mid = (lo + hi) // 2
        sol = feasible(float(radii[mid]))
        if sol is not None:
            hi = mid
            best = (float(radii[mid]), sol)
        else:
            lo = mid + 1
    if not math.isclose(best[0], float(radii[lo])):
        best = (float(radii[lo]), feasible(float(radii[lo])))
    radius, sol = best
    sol = replace(sol, objective=radius, bound=radius, gap=0.0)
    return radius, sol, probes
