r"""Pooling policies: who may serve whom, as instance rewrites plus eligibility restrictions.

A policy never changes the formulation. It is the instance's ``options.policy`` (set by
`policy_spec`, which for single-hub also caps the hub count), and the eligible arcs
(`horizon.optimizer.network.graph.eligible_arcs`) keep only those the policy allows:

==============  ================================================================================
policy          eligible arcs :math:`a = (d, h, o[, g])` kept (:math:`m` = mission of demand
                :math:`d`, :math:`g` = hub whose airlift flies the sorties)
==============  ================================================================================
``pooled``      all: any open hub serves any mission it reaches in time (the model as is)
``dedicated``   :math:`h = m` and :math:`g \in \{h, -\}`: each mission holds its own reserve at
                its own node and serves only itself; no hub serves another mission
``regional``    :math:`region(h) = region(m)` and, for lent lift, :math:`region(g) = region(m)`
                (node attribute ``region``; a node without one is a region of its own)
``single-hub``  all arcs whose lift is the hub's own (:math:`g \in \{h, -\}`), with
                :math:`P_{max} = 1` (``min_hubs`` dropped): the best single hub serves everything
==============  ================================================================================

The comparison base (`comparison_spec`) makes the policies comparable:

- **Mission hubs.** Every mission with demands is also a candidate hub, under every policy (a
  hub at the mission's own node). Missions that are already hubs keep their record; new ones
  get ``fixed_cost`` = the cheapest candidate hub's fixed cost (or ``mission_hub_cost``), no
  capacity limit, the types' own holding costs, and are in-mission reserves
  (``mission_reserve``: lent to other missions only while their own mission is calm). A mission whose hub is ``excluded`` stays
  excluded (it then cannot hold a dedicated reserve). Because dedicated and regional only
  remove arcs that pooled has (and add none), **pooled never costs more than regional, and
  regional never more than dedicated**; single-hub only adds a hub-count limit, so pooled
  never costs more than single-hub either. Without mission hubs (``mission_hubs=False``)
  pooled, regional and single-hub use the instance's own hubs and these guarantees lapse.
- **Existing hubs** are relaxed to candidates (policies are compared from a clean slate:
  dedicated has no shared hub to pay for); with ``keep_existing=True`` they stay forced open
  and paid under every policy (under dedicated they then serve nothing unless they are
  mission nodes, and single-hub is the existing hub).
- **Fleet limits** apply to every policy; ``fleet_limits=False`` lifts them, to compare what
  each policy would need (dedicated reserves usually need far more units than are pledged).
- **Soft deadlines** (``soft_penalty``): unmet units cost the penalty (types' own penalties
  take precedence), so that every policy gets a cost and a coverage instead of "infeasible".

All other data and options (budget, hub count limits, fleets, capacities) apply to every policy
as given.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from horizon.optimizer.data.edits import check_policy, policy_spec, soft_spec
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.schema import POLICIES, Hub, InstanceSpec
from horizon.optimizer.network.feasibility import hub_count, short_capacity, short_fleets, short_pledges
from horizon.optimizer.network.graph import Arcs, Network, eligible_arcs, policy_mask, region_of, restrict_arcs

# Written once in the layers below (the instance edits and the network's eligible arcs); named here
# too because this module is where the policies are explained.
__all__ = [
    "POLICIES",
    "check_policy",
    "comparison_spec",
    "coverage_share",
    "forced_space",
    "group_shortfalls",
    "late_under_policy",
    "policy_mask",
    "policy_reasons",
    "policy_spec",
    "region_of",
    "restrict_arcs",
    "soft_spec",
]


def _demand_updates(spec: InstanceSpec, **fields: Any) -> dict[str, Any]:
    """Spec updates that set demand fields in the inline and flat demand tables."""
    return {
        "scenarios": [s.model_copy(update={"demands": [d.model_copy(update=fields) for d in s.demands]}) for s in spec.scenarios],
        "demands": [d.model_copy(update=fields) for d in spec.demands],
    }


def comparison_spec(
    spec: InstanceSpec,
    *,
    mission_hubs: bool = True,
    keep_existing: bool = False,
    mission_hub_cost: float | None = None,
    soft_penalty: float | None = None,
    fleet_limits: bool = True,
) -> InstanceSpec:
    """The instance every policy of a comparison starts from (see the module docstring)."""
    hubs = list(spec.hubs)
    if mission_hubs:
        present = {h.node for h in hubs}
        candidates = [h.fixed_cost for h in hubs if h.status != "excluded"]
        cost = float(mission_hub_cost) if mission_hub_cost is not None else float(min(candidates, default=0.0))
        kinds = {n.id: n.kind for n in spec.nodes}
        demanded = dict.fromkeys([d.mission for s in spec.scenarios for d in s.demands] + [d.mission for d in spec.demands])
        hubs += [
            Hub(node=m, fixed_cost=cost, mission_reserve=True) for m in demanded if m not in present and kinds.get(m) == "mission"
        ]
    if not keep_existing:
        hubs = [h.model_copy(update={"status": "candidate"}) if h.status == "existing" else h for h in hubs]
    out = spec.model_copy(update={"hubs": hubs})
    if not fleet_limits:
        out = out.model_copy(update={"asset_types": [t.model_copy(update={"fleet_limit": None}) for t in out.asset_types]})
    if soft_penalty is not None:
        out = soft_spec(out, soft_penalty)
    return out


def _no_deadlines(instance: Instance) -> Instance:
    return instance.derive(**_demand_updates(instance.spec, deadline_hours=None))


def late_under_policy(instance: Instance, network: Network, arcs: Arcs, policy: str, limit: int = 8) -> list[str]:
    """Explain hard-deadline demands that no arc allowed by `policy` serves in time.

    For each such demand: the fastest response the policy allows (hub and hours), or that no
    allowed hub reaches the mission at all. For single-hub: the hub that reaches the most
    demands in time and what it misses.
    """
    if instance.options.deadlines == "soft" or not instance.demands:
        return []
    covered = np.zeros(len(instance.demands), dtype=bool)
    covered[arcs.demand] = True
    free = eligible_arcs(_no_deadlines(instance), network)
    free = restrict_arcs(free, policy_mask(instance, network, free, policy))
    out: list[str] = []
    missing = np.flatnonzero(~covered)
    for i in missing[:limit].tolist():
        d = instance.demands[i]
        sel = np.flatnonzero(free.demand == i)
        head = f"scenario '{d.scenario}': {d.units:g} × {d.type} at {d.mission} within {d.deadline or 0:g} h"
        if len(sel) == 0:
            out.append(f"{head} — no hub allowed under '{policy}' reaches {d.mission} at all")
        else:
            best = sel[int(np.argmin(free.hours[sel]))]
            out.append(
                f"{head} — no hub allowed under '{policy}' reaches it in time; "
                f"fastest allowed is {network.hubs[int(free.hub[best])]} at {free.hours[best]:.1f} h"
            )
    if len(missing) > limit:
        out.append(f"... and {len(missing) - limit} more demand(s)")
    if policy == "single-hub" and not len(missing) and len(network.hubs):
        hub_dem: dict[int, set[int]] = defaultdict(set)
        for h, dd in zip(arcs.hub.tolist(), arcs.demand.tolist()):
            hub_dem[h].add(dd)
        total = len(instance.demands)
        best_hub, served = max(((h, len(s)) for h, s in hub_dem.items()), key=lambda t: t[1], default=(0, 0))
        if served < total:
            miss = sorted(set(range(total)) - hub_dem.get(best_hub, set()))
            shown = ", ".join(
                f"{instance.demands[i].type}@{instance.demands[i].mission} ({instance.demands[i].scenario})" for i in miss[:4]
            )
            more = f" and {len(miss) - 4} more" if len(miss) > 4 else ""
            out.append(
                f"no single hub reaches every demand in time: the best, {network.hubs[best_hub]}, reaches "
                f"{served} of {total}; it misses {shown}{more}"
            )
    return out


def group_shortfalls(instance: Instance, policy: str) -> list[str]:
    """Fleet and hub-space shortfalls of policies that split missions into groups that cannot
    share reserves (dedicated: each mission; regional: each region), hard deadlines only.

    Every group must station at least its own peak: :math:`\\sum_g \\max_s \\sum_{m \\in g} D_{smk}`
    units of type k (a lower bound: lift sorties are not counted), which must fit the fleet
    limit. Hub space is checked by `forced_space`.
    """
    if policy not in ("dedicated", "regional") or instance.options.deadlines == "soft":
        return []

    def group(m: str) -> str:
        return m if policy == "dedicated" else region_of(instance, m)

    peak: dict[tuple[str, str], float] = defaultdict(float)  # (group, type) -> peak units
    per: dict[tuple[str, str, str], float] = defaultdict(float)
    for d in instance.demands:
        per[(d.scenario, group(d.mission), d.type)] += d.units
    for (_, g, k), u in per.items():
        peak[(g, k)] = max(peak[(g, k)], u)
    out = []
    for t in instance.spec.asset_types:
        limit = t.fleet_limit
        pledged = [c.units[t.id] for c in instance.spec.contributors if t.id in c.units]
        if pledged:  # a type with contributors has only their units
            limit = math.fsum(pledged) if limit is None else min(limit, math.fsum(pledged))
        if limit is None:
            continue
        groups = sorted(((g, u) for (g, k), u in peak.items() if k == t.id), key=lambda x: (-x[1], x[0]))
        need = math.fsum(u for _, u in groups)
        if need > limit + 1e-9:
            shown = ", ".join(f"{g.lstrip('@')} {u:g}" for g, u in groups[:6]) + (" ..." if len(groups) > 6 else "")
            what = "each mission holds its own peak" if policy == "dedicated" else "each region holds its own peak"
            by_pledge = bool(pledged) and (t.fleet_limit is None or math.fsum(pledged) < t.fleet_limit)
            which = f"contributors pledge only {limit:g}" if by_pledge else f"the fleet limit is {limit:g}"
            out.append(f"{t.id}: {what}, {need:g} units in all ({shown}), but {which}")
    if policy == "dedicated":
        hubs = {h.node for h in instance.hubs}
        for m in sorted({g for g, _ in peak} - hubs):
            out.append(
                f"mission {m} is not a candidate hub (excluded, or mission hubs are off): it cannot hold a dedicated reserve"
            )
    return out


def forced_space(instance: Instance, network: Network, arcs: Arcs) -> list[str]:
    """Hubs too small for the demands only they can serve in time (hard deadlines).

    A demand whose eligible arcs all leave from one hub h must be stationed at h: h needs at
    least :math:`\\sum_k a_k \\max_s (\\text{such units of k in s})` space.
    """
    if instance.options.deadlines == "soft" or not len(arcs):
        return []
    n_dem = len(instance.demands)
    first = np.full(n_dem, -1, dtype=np.int64)
    first[arcs.demand[::-1]] = arcs.hub[::-1]
    single = np.ones(n_dem, dtype=bool)
    single[arcs.demand[arcs.hub != first[arcs.demand]]] = False
    per: dict[tuple[int, str, str], float] = defaultdict(float)
    for i in np.flatnonzero(single & (first >= 0)).tolist():
        d = instance.demands[i]
        per[(int(first[i]), d.scenario, d.type)] += d.units
    peak: dict[tuple[int, str], float] = defaultdict(float)
    for (h, _, k), u in per.items():
        peak[(h, k)] = max(peak[(h, k)], u)
    out = []
    for j, hub in enumerate(instance.hubs):
        if hub.capacity is None:
            continue
        parts = {k: u for (h, k), u in peak.items() if h == j}
        need = math.fsum(instance.types[k].space * u for k, u in parts.items())
        if need > hub.capacity + 1e-9:
            shown = ", ".join(f"{k} {u:g}" for k, u in parts.items())
            out.append(
                f"hub {hub.node}: demands that only it can serve in time need {need:g} space units ({shown}) "
                f"but it holds {hub.capacity:g}"
            )
    return out


def policy_reasons(inst: Instance, network: Network, arcs: Arcs, policy: str) -> list[str]:
    """Provable infeasibility of a policy before solving (hard deadlines), in planner terms."""
    reasons = [] if policy == "single-hub" else late_under_policy(inst, network, arcs, policy)
    reasons += group_shortfalls(inst, policy) + forced_space(inst, network, arcs)
    return reasons + short_fleets(inst) + short_pledges(inst) + short_capacity(inst) + hub_count(inst)


def coverage_share(instance: Instance, unmet: list[dict[str, Any]]) -> float:
    """Probability-weighted share of demanded units met within their deadline (0..1)."""
    probs = instance.probabilities
    total = math.fsum(probs[d.scenario] * d.units for d in instance.demands)
    if total <= 0:
        return 1.0
    lost = math.fsum(probs[r["scenario"]] * float(r["units"]) for r in unmet)
    return max(0.0, 1.0 - lost / total)
