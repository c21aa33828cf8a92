"""Pre-solve checks: explain infeasibility in the planner's terms before the solver runs.

A MIP solver only says "infeasible". These checks name the cause instead: the crisis demand
no hub can reach in time (with the fastest hub and its hours), the scenario that needs more
units than the fleet has, the hubs whose space cannot hold the reserves any scenario needs.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.errors import InfeasibleError, InputError
from horizon.optimizer.network.graph import Arcs, Network


def _fmt(x: float) -> str:
    return f"{x:g}"


def unreachable_demands(instance: Instance, network: Network) -> list[str]:
    """Demands whose mission no hub reaches at all with the type's modes (an input error)."""
    out = []
    reported: set[tuple[str, str]] = set()
    for d in instance.demands:
        if (d.type, d.mission) in reported:
            continue
        hours, _, _ = network.fastest(d.type, d.mission, d.scenario)
        if not math.isfinite(hours):
            reported.add((d.type, d.mission))
            modes = ", ".join(instance.types[d.type].modes) or "none"
            out.append(
                f"mission '{d.mission}' cannot be reached by '{d.type}' from any open-able hub "
                f"(no path over its modes: {modes}); first needed in scenario '{d.scenario}'"
            )
    return out


def late_demands(instance: Instance, network: Network, arcs: Arcs) -> list[str]:
    """Hard-deadline demands with no eligible arc, with the fastest response that exists."""
    if instance.options.deadlines == "soft":
        return []
    covered = np.zeros(len(instance.demands), dtype=bool)
    covered[np.unique(arcs.demand)] = True
    out = []
    for i in np.flatnonzero(~covered):
        d = instance.demands[i]
        hours, hub, option = network.fastest(d.type, d.mission, d.scenario)
        caveat = _caveat(instance, d.type, d.mission, hub)
        if caveat and (d.reach is None or hours <= d.reach + 1e-9):
            out.append(f"scenario '{d.scenario}': {_fmt(d.units)} × {d.type} at {d.mission}: {caveat}")
        elif math.isfinite(hours):
            note = ""
            if hours <= (d.reach if d.reach is not None else math.inf) + 1e-9:
                note = f", but {hub}'s in-mission reserve is not lent while {hub} is in crisis"
            out.append(
                f"scenario '{d.scenario}': {_fmt(d.units)} × {d.type} at {d.mission} within "
                f"{_fmt(d.reach or 0)} h — no hub reaches it in time; fastest is {hub} "
                f"at {hours:.1f} h ({option}){note}"
            )
        elif d.scenario in network.scenario_options:
            out.append(
                f"scenario '{d.scenario}': {d.mission} cannot be reached by {d.type} at all "
                "once the scenario's disruption closes links or nodes"
            )
    level = instance.options.service_level
    if level is not None and level.scope == "demand":
        deadline = np.array([np.inf if d.deadline is None else d.deadline for d in instance.demands])
        on_time = np.zeros(len(instance.demands), dtype=bool)
        hit = arcs.hours <= deadline[arcs.demand] + 1e-9
        on_time[np.unique(arcs.demand[hit])] = True
        for i in np.flatnonzero(covered & ~on_time):
            d = instance.demands[i]
            if d.final_deadline is None:
                continue
            hours, hub, option = network.fastest(d.type, d.mission, d.scenario)
            out.append(
                f"scenario '{d.scenario}': {100 * level.share:g}% of {_fmt(d.units)} × {d.type} at {d.mission} "
                f"is due within {_fmt(d.deadline or 0)} h but the fastest hub, {hub}, needs {hours:.1f} h ({option})"
            )
    return out


def _caveat(instance: Instance, type_id: str, mission: str, hub: str | None) -> str:
    """Why no contributor of a type can serve a mission (empty when caveats are not the cause)."""
    contribs = instance.contributors_of.get(type_id)
    if contribs is None:
        return ""
    reasons = []
    for c in contribs:
        spec = instance.spec.contributors[c]
        if mission in spec.exclude_missions:
            reasons.append(f"{spec.id} will not deploy to {mission}")
        elif instance.nodes[mission].region in spec.exclude_regions:
            reasons.append(f"{spec.id} will not deploy to region {instance.nodes[mission].region}")
        elif hub is not None and not instance.accepts_hub(c, hub):
            reasons.append(f"{spec.id} accepts only hubs {', '.join(spec.hubs)}, none in reach in time")
        else:
            return ""
    return "no contributor can serve it — " + "; ".join(reasons)


def short_fleets(instance: Instance) -> list[str]:
    """Scenarios whose demand for a type exceeds its fleet limit (hard deadlines)."""
    if instance.options.deadlines == "soft":
        return []
    need: dict[tuple[str, str], float] = defaultdict(float)
    for d in instance.demands:
        need[(d.scenario, d.type)] += d.units
    out = []
    for (s, k), units in need.items():
        limit = instance.types[k].fleet_limit
        if k in instance.contributors_of:
            pledged = sum(instance.spec.contributors[c].units[k] for c in instance.contributors_of[k])
            limit = pledged if limit is None else min(limit, pledged)
        if limit is not None and units > limit + 1e-9:
            what = "fleet limit (or contributors' pledges)" if k in instance.contributors_of else "fleet limit"
            out.append(f"scenario '{s}' needs {_fmt(units)} × {k} at once but the {what} is {_fmt(limit)}")
    return out


def short_pledges(instance: Instance) -> list[str]:
    """Missions needing more units of a type at once than the contributors who go there pledged."""
    if instance.options.deadlines == "soft" or not instance.spec.contributors:
        return []
    need: dict[tuple[str, str, str], float] = defaultdict(float)
    for d in instance.demands:
        if d.type in instance.contributors_of:
            need[(d.scenario, d.mission, d.type)] += d.units
    out = []
    for (s, m, k), units in need.items():
        willing = [c for c in instance.contributors_of[k] if instance.will_deploy(c, m)]
        pledged = sum(instance.spec.contributors[c].units[k] for c in willing)
        if units > pledged + 1e-9:
            who = ", ".join(instance.spec.contributors[c].id for c in willing) or "no contributor"
            out.append(
                f"scenario '{s}' needs {_fmt(units)} × {k} at {m} but only {who} deploy there, "
                f"with {_fmt(pledged)} unit(s) pledged"
            )
    return out


def short_capacity(instance: Instance) -> list[str]:
    """Total hub space below what the most demanding scenario of each type must station."""
    if instance.options.deadlines == "soft" or any(h.capacity is None for h in instance.hubs):
        return []
    need: dict[tuple[str, str], float] = defaultdict(float)
    for d in instance.demands:
        need[(d.scenario, d.type)] += d.units
    peak: dict[str, float] = defaultdict(float)
    for (_, k), units in need.items():
        peak[k] = max(peak[k], units)
    space = sum(instance.types[k].space * u for k, u in peak.items())
    total = sum(float(h.capacity or 0) for h in instance.hubs)
    if space > total + 1e-9:
        return [
            f"reserves need at least {_fmt(space)} space units (peak scenario demand per type) "
            f"but all hubs together hold {_fmt(total)}"
        ]
    return []


def hub_count(instance: Instance) -> list[str]:
    o = instance.options
    existing = sum(1 for h in instance.hubs if h.status == "existing")
    out = []
    if o.max_hubs is not None and existing > o.max_hubs:
        out.append(f"{existing} hubs are existing (forced open) but max_hubs is {o.max_hubs}")
    if o.min_hubs is not None and o.min_hubs > len(instance.hubs):
        out.append(f"min_hubs is {o.min_hubs} but only {len(instance.hubs)} hubs may be opened")
    if o.max_hubs == 0 and instance.demands and o.deadlines == "hard":
        out.append("max_hubs is 0 but there are demands to serve")
    return out


def presolve_checks(instance: Instance, network: Network, arcs: Arcs) -> None:
    """Raise `InputError` for unreachable missions, `InfeasibleError` for provable infeasibility."""
    if instance.options.deadlines == "hard":
        unreachable = unreachable_demands(instance, network)
        if unreachable:
            raise InputError(unreachable, headline=f"{instance.source}: unreachable missions")
    reasons = (
        late_demands(instance, network, arcs)
        + short_fleets(instance)
        + short_pledges(instance)
        + short_capacity(instance)
        + hub_count(instance)
    )
    if reasons:
        raise InfeasibleError(reasons, headline="The problem is infeasible:")
