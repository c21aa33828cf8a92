"""Checks that relate several tables of an instance: references, duplicates, probabilities.

Every check appends to one list so that the user sees all problems in one run. Locations
are given as the loader's `Locator` renders them (file, table, row, id).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from horizon.optimizer.data.schema import InstanceSpec

Locate = Callable[[tuple[object, ...]], str]

PROBABILITY_TOLERANCE = 1e-6


def _duplicates(ids: Iterable[str]) -> list[str]:
    return [i for i, n in Counter(ids).items() if n > 1]


def cross_check(spec: InstanceSpec, where: Locate, incomplete: Mapping[str, set[str] | None] | None = None) -> list[str]:
    """Return every cross-table problem of `spec` (empty when consistent).

    `incomplete` names tables (and `options`) some rows of which could not be read (schema
    errors, a missing CSV file), each with the ids of those rows (None: ids unknown). Those
    problems are reported already, so references to such ids and whole-table checks (e.g.
    probabilities summing to 1) are skipped rather than reported as consequential errors.
    """
    errors: list[str] = []
    err = errors.append
    partial = dict(incomplete or {})

    def lost(table: str, ref: str | None = None) -> bool:
        """True when `table` is incomplete (and `ref` may be one of its unreadable rows)."""
        if table not in partial:
            return False
        ids = partial[table]
        return ref is None or ids is None or ref in ids

    for table, ids in (
        ("nodes", [n.id for n in spec.nodes]),
        ("modes", [m.id for m in spec.modes]),
        ("asset_types", [t.id for t in spec.asset_types]),
        ("scenarios", [s.id for s in spec.scenarios]),
        ("hubs", [h.node for h in spec.hubs]),
    ):
        for dup in _duplicates(ids):
            err(f"{where((table,))}: duplicate id '{dup}'")

    nodes = {n.id: n for n in spec.nodes}
    modes = {m.id: m for m in spec.modes}
    types = {t.id: t for t in spec.asset_types}
    scenarios = {s.id for s in spec.scenarios}
    hub_nodes = {h.node for h in spec.hubs}
    missions = {n.id for n in spec.nodes if n.kind == "mission"}

    def node_ref(loc: tuple[object, ...], ref: str, what: str = "node") -> None:
        if ref not in nodes and not lost("nodes", ref):
            err(f"{where(loc)}: unknown {what} '{ref}'")

    def mission_ref(loc: tuple[object, ...], ref: str) -> None:
        if ref not in nodes:
            if not lost("nodes", ref):
                err(f"{where(loc)}: unknown mission '{ref}'")
        elif ref not in missions:
            err(f"{where(loc)}: '{ref}' is a node of kind '{nodes[ref].kind}', not a mission")

    def type_ref(loc: tuple[object, ...], ref: str) -> None:
        if ref not in types and not lost("asset_types", ref):
            err(f"{where(loc)}: unknown asset type '{ref}'")

    def mode_ref(loc: tuple[object, ...], ref: str) -> bool:
        """True when the mode is known; reports it unless its row was unreadable."""
        if ref in modes:
            return True
        if not lost("modes", ref):
            err(f"{where(loc)}: unknown mode '{ref}'")
        return False

    for i, link in enumerate(spec.links):
        node_ref(("links", i, "from"), link.source)
        node_ref(("links", i, "to"), link.target)
        if mode_ref(("links", i, "mode"), link.mode) and link.hours is None:
            if link.distance_km is None:
                err(f"{where(('links', i))}: give distance_km or hours")
            elif modes[link.mode].speed_kmh is None and not modes[link.mode].needs_lift:
                err(f"{where(('links', i))}: no hours given and mode '{link.mode}' has no speed_kmh")

    for i, gc in enumerate(spec.options.great_circle):
        loc = ("options", "great_circle", i)
        mode_ref(loc + ("mode",), gc.mode)
        members = [n.id for n in spec.nodes] if gc.nodes == "all" else gc.nodes
        for ref in members:
            if ref not in nodes:
                node_ref(loc + ("nodes",), ref)
            elif nodes[ref].lat is None or nodes[ref].lon is None:
                err(f"{where(loc + ('nodes',))}: node '{ref}' has no lat/lon for great-circle links")

    for i, hub in enumerate(spec.hubs):
        node_ref(("hubs", i, "node"), hub.node)
        for t in hub.holding_cost:
            type_ref(("hubs", i, "holding_cost"), t)
        for other in hub.lends_lift_to:
            if other not in hub_nodes and not lost("hubs", other):
                err(f"{where(('hubs', i, 'lends_lift_to'))}: '{other}' is not a hub")

    for i, t in enumerate(spec.asset_types):
        loc = ("asset_types", i)
        for m in t.modes:
            mode_ref(loc + ("modes",), m)
        for lt, _ in t.lift.items():
            if lt not in types:
                if not lost("asset_types", lt):
                    err(f"{where(loc + ('lift',))}: unknown lift type '{lt}'")
            elif types[lt].category != "airlift":
                err(f"{where(loc + ('lift',))}: '{lt}' is a {types[lt].category}, not an airlift type")
            elif types[lt].sorties_per_window is None:
                err(f"{where(loc + ('lift',))}: airlift type '{lt}' needs sorties_per_window to carry forces")
        if t.category == "force":
            lift_modes = [m for m in t.modes if m in modes and modes[m].needs_lift]
            if lift_modes and not t.lift:
                err(f"{where(loc)}: force type '{t.id}' may use mode '{lift_modes[0]}', which needs lift, but lists no lift")
            for fld in ("sorties_per_window", "speed_kmh", "range_km", "cost_per_flight_hour"):
                if getattr(t, fld) is not None:
                    err(f"{where(loc + (fld,))}: only aircraft have {fld}; '{t.id}' is a force package")
        else:
            if t.lift:
                err(f"{where(loc + ('lift',))}: only force packages need lift; '{t.id}' is a {t.category}")
            for m in t.modes:
                if m in modes and not modes[m].needs_lift:
                    err(
                        f"{where(loc + ('modes',))}: aircraft '{t.id}' flies, so its modes must be flown modes "
                        f"(needs_lift: true); '{m}' is not"
                    )
                if m in modes and modes[m].needs_lift and t.speed_kmh is None and modes[m].speed_kmh is None:
                    err(f"{where(loc)}: aircraft '{t.id}' flies mode '{m}' but neither it nor the mode has speed_kmh")
        if not t.modes and not spec.routes and not lost("routes"):
            err(f"{where(loc + ('modes',))}: asset type '{t.id}' has no modes and no routes are given, so it cannot move")
        if not t.divisible and t.fleet_limit is not None and not float(t.fleet_limit).is_integer():
            err(f"{where(loc + ('fleet_limit',))}: fleet_limit of an indivisible type must be a whole number")

    # Scenarios and probabilities (whole-table checks: skipped when rows are unreadable)
    probs = [s.probability for s in spec.scenarios]
    weights = [s.weight for s in spec.scenarios]
    if lost("scenarios"):
        pass  # some scenario rows are unreadable (already reported): their sums are unknown
    elif any(p is not None for p in probs) and any(w is not None for w in weights):
        err(f"{where(('scenarios',))}: give each scenario a probability or a weight, not a mix of both")
    elif all(p is not None for p in probs) and spec.scenarios:
        total = math.fsum(p for p in probs if p is not None)
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            err(f"{where(('scenarios',))}: probabilities sum to {total:.6g}, not 1 (use weight to give relative weights)")
    elif any(p is not None for p in probs):
        missing = [s.id for s in spec.scenarios if s.probability is None]
        err(f"{where(('scenarios',))}: scenarios {missing} have no probability while others do")
    if (
        not lost("scenarios")
        and spec.scenarios
        and all(w == 0 for w in weights if w is not None)
        and all(w is not None for w in weights)
    ):
        err(f"{where(('scenarios',))}: all scenario weights are zero")

    def demand_checks(loc: tuple[object, ...], mission: str, type_id: str, units: float) -> None:
        mission_ref(loc + ("mission",), mission)
        type_ref(loc + ("type",), type_id)
        if type_id in types and not types[type_id].divisible and not float(units).is_integer():
            err(f"{where(loc + ('units',))}: {units} units of indivisible type '{type_id}' (must be whole)")

    for i, s in enumerate(spec.scenarios):
        for j, d in enumerate(s.demands):
            demand_checks(("scenarios", i, "demands", j), d.mission, d.type, d.units)
    for i, d in enumerate(spec.demands):
        loc = ("demands", i)
        if d.scenario not in scenarios and not lost("scenarios", d.scenario):
            err(f"{where(loc + ('scenario',))}: unknown scenario '{d.scenario}'")
        demand_checks(loc, d.mission, d.type, d.units)
    seen: Counter[tuple[str, str, str]] = Counter(
        [(s.id, d.mission, d.type) for s in spec.scenarios for d in s.demands]
        + [(d.scenario, d.mission, d.type) for d in spec.demands]
    )
    for (s_id, m, t), n in seen.items():
        if n > 1:
            err(f"{where(('scenarios',))}: scenario '{s_id}' lists {n} demands for {t} at {m}; give one row per mission and type")

    for i, r in enumerate(spec.routes):
        loc = ("routes", i)
        if r.hub not in hub_nodes and not lost("hubs", r.hub):
            err(f"{where(loc + ('hub',))}: '{r.hub}' is not a hub")
        mission_ref(loc + ("mission",), r.mission)
        if r.type is not None:
            type_ref(loc + ("type",), r.type)

    o = spec.options
    if o.min_hubs is not None and o.max_hubs is not None and o.min_hubs > o.max_hubs:
        err(f"{where(('options', 'min_hubs'))}: min_hubs {o.min_hubs} > max_hubs {o.max_hubs}")
    if o.policy == "single-hub" and o.max_hubs != 1:
        err(f"{where(('options', 'policy'))}: the single-hub policy needs max_hubs: 1 (max_hubs is {o.max_hubs})")
    if o.deadlines == "soft" and not lost("options"):
        for i, t in enumerate(spec.asset_types):
            if t.penalty is None and o.penalty is None:
                err(f"{where(('asset_types', i, 'penalty'))}: soft deadlines need a penalty for '{t.id}' (or options.penalty)")
    errors += _planning_rule_checks(spec, where, nodes, modes)
    errors += _contributor_checks(spec, where, nodes, types, hub_nodes)
    if not spec.scenarios and not lost("scenarios"):
        err(f"{where(('scenarios',))}: at least one scenario is needed")
    if not [h for h in spec.hubs if h.status != "excluded"] and not lost("hubs"):
        err(f"{where(('hubs',))}: no hub may be opened (all are excluded or none are listed)")
    return errors


def _planning_rule_checks(spec: InstanceSpec, where: Locate, nodes: dict, modes: dict) -> list[str]:
    """References and consistency of disruptions, service levels and in-mission reserves."""
    errors: list[str] = []
    err = errors.append
    for i, sc in enumerate(spec.scenarios):
        d = sc.disruption
        if d is None:
            continue
        loc = ("scenarios", i, "disruption")
        for n in d.closed_nodes:
            if n not in nodes:
                err(f"{where(loc + ('closed_nodes',))}: unknown node '{n}'")
        for j, link in enumerate([*d.closed_links, *d.slow_links]):
            field = "closed_links" if j < len(d.closed_links) else "slow_links"
            for ref in (link.source, link.target):
                if ref is not None and ref not in nodes:
                    err(f"{where(loc + (field,))}: unknown node '{ref}'")
            if link.mode is not None and link.mode not in modes:
                err(f"{where(loc + (field,))}: unknown mode '{link.mode}'")
    level = spec.options.service_level
    all_demands = [(("scenarios", i, "demands", j), dm) for i, s in enumerate(spec.scenarios) for j, dm in enumerate(s.demands)]
    all_demands += [(("demands", i), dm) for i, dm in enumerate(spec.demands)]
    for loc, dm in all_demands:
        if dm.final_deadline_hours is None:
            continue
        if level is None:
            err(f"{where(loc + ('final_deadline_hours',))}: a final deadline needs options.service_level")
        elif dm.deadline_hours is not None and dm.final_deadline_hours < dm.deadline_hours:
            err(f"{where(loc + ('final_deadline_hours',))}: {dm.final_deadline_hours:g} h is before the deadline")
    for i, h in enumerate(spec.hubs):
        if h.mission_reserve and h.node in nodes and nodes[h.node].kind != "mission":
            err(f"{where(('hubs', i, 'mission_reserve'))}: an in-mission reserve sits at a mission node; '{h.node}' is not one")
    return errors


def _contributor_checks(spec: InstanceSpec, where: Locate, nodes: dict, types: dict, hub_nodes: set) -> list[str]:
    """References of the contributors table."""
    errors: list[str] = []
    err = errors.append
    regions = {n.region for n in spec.nodes if n.region is not None}
    for dup in _duplicates(c.id for c in spec.contributors):
        err(f"{where(('contributors',))}: duplicate id '{dup}'")
    for i, c in enumerate(spec.contributors):
        loc = ("contributors", i)
        for t, units in c.units.items():
            if t not in types:
                err(f"{where(loc + ('units',))}: unknown asset type '{t}'")
            elif types[t].category == "airlift":
                err(f"{where(loc + ('units',))}: caveats on airlift ('{t}') are not supported: lift sorties are pooled per hub")
            elif not types[t].divisible and not float(units).is_integer():
                err(f"{where(loc + ('units',))}: {units:g} units of indivisible type '{t}' (must be whole)")
        for h in c.hubs:
            if h not in hub_nodes:
                err(f"{where(loc + ('hubs',))}: '{h}' is not a hub")
        for m in c.exclude_missions:
            if m not in nodes or nodes[m].kind != "mission":
                err(f"{where(loc + ('exclude_missions',))}: '{m}' is not a mission")
        for r in c.exclude_regions:
            if r not in regions:
                err(f"{where(loc + ('exclude_regions',))}: no node has region '{r}'")
    return errors
