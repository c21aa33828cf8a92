"""An independent re-check of a `Solution` against its `Instance`.

Nothing here reuses `horizon.optimizer.network.graph` or the model: response times are recomputed with
networkx on a graph built directly from the instance file's tables (links plus great-circle
links from an own haversine), following the documented semantics:

* response hours = start + Σ per leg (link hours, or distance / speed) + the mode's
  handling hours per leg; the start is the type's readiness, for an air move the later of
  the force's and the lift type's readiness, and with lift lent by hub g to hub h
  max(force readiness, lift readiness + positioning hours g → h) (the lift type's own
  fastest flight g → h);
* ``fly`` (helicopters, airlift): the type's modes; on modes that need lift the aircraft's
  own speed (else the mode's) and its range (longer legs are unusable);
* ``surface`` (forces): only the type's modes that need no lift;
* ``air:<lift>`` (forces): all the type's modes, lift legs at the lift type's speed and
  within its range, and the path must really use a lift leg; lift legs cost
  λ × cost_per_flight_hour × travel hours when the lift type has a flight-hour cost;
* ``route``: the instance's explicit routes table (fastest row; readiness added);
* a dispatch's cost is the cost along a fastest path (link cost, else the mode's per-km and
  per-hour rates), plus for lent lift λ × the cost of the positioning flight g → h. Where
  several fastest paths exist the engine may pick any of them, so costs are carried as a
  [min, max] range and the objective must fall inside it;
* crisis costs (dispatch and penalties) are scaled by options.crises_per_year.

The planning rules (README, "Planning rules"), re-derived from the instance file:

* service levels: with ``options.service_level`` a demand with a deadline T is *tiered* when
  it has a final deadline T' (its own ``final_deadline_hours``, else max(the option's
  ``final_deadline_hours``, T), else the option's ``final_deadline_factor`` × T). Every unit
  of a tiered demand must arrive by T'; units arriving by T (plus, under soft deadlines,
  unmet units) must reach share × units per demand (``scope: demand``) or per scenario over
  its tiered demands (``scope: scenario``). The reported ``service_levels`` rows (per scenario
  and tier: units due, units dispatched within the tier's deadline, share) are recomputed;
* disruptions: a scenario's ``disruption`` is applied to its own copy of the graph: links at
  a closed node are removed and no hub there may dispatch (nor lend its lift); closed links
  (both directions, of the given mode or of any) are removed; slow links (both directions;
  an unset end or mode matches any) multiply a leg's travel hours (not its handling hours)
  and so its per-hour costs by every matching factor. Positioning flights of lent lift use
  the undisrupted network (a documented limitation of the engine). Explicit ``routes`` rows
  bypass the network and are only affected through closed hubs;
* in-mission reserves: a hub with ``mission_reserve`` belongs to the mission at its node. It
  may dispatch (or lend its lift for a dispatch) to another mission only when
  ``options.lend_mission_reserves`` is true and its own mission has no demand in the scenario;
* contributors: a type any contributor pledges has only contributors' units. Each of its
  dispatch rows names a contributor that pledges the type, deploys to the mission (not in
  ``exclude_missions``, region not in ``exclude_regions``) and accepts the hub (``hubs``
  empty or listing it); the ``contributions`` rows split each hub's stock of the type
  exactly, only at hubs the contributor accepts, within its pledge; per scenario a
  contributor dispatches from a hub at most its units there.

`recheck(instance, solution)` returns a list of violation strings (empty = consistent).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import networkx as nx

EARTH_KM = 6371.0088
TOL = 1e-6


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


# --- the network, straight from the file -------------------------------------------------
def raw_graph(spec: Any) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for n in spec.nodes:
        g.add_node(n.id)

    def add(a: str, b: str, mode: str, km: float | None, hours: float | None, cost: float | None, both: bool) -> None:
        g.add_edge(a, b, mode=mode, km=km, hours=hours, cost=cost)
        if both:
            g.add_edge(b, a, mode=mode, km=km, hours=hours, cost=cost)

    for link in spec.links:
        add(link.source, link.target, link.mode, link.distance_km, link.hours, link.cost, link.bidirectional)
    nodes = {n.id: n for n in spec.nodes}
    for gc in spec.options.great_circle:
        members = [n.id for n in spec.nodes] if gc.nodes == "all" else list(gc.nodes)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                km = haversine_km(nodes[a].lat, nodes[a].lon, nodes[b].lat, nodes[b].lon) * gc.detour_factor
                if gc.max_km is None or km <= gc.max_km:
                    add(a, b, gc.mode, km, None, None, True)
    return g


def _link_matches(u: str, v: str, mode: str, a: str | None, b: str | None, want_mode: str | None) -> bool:
    """Whether the edge u -> v of `mode` is one a disruption names (either direction)."""
    if want_mode is not None and mode != want_mode:
        return False
    if a is not None and b is not None:
        return (u, v) in ((a, b), (b, a))
    if a is not None or b is not None:
        return (a if a is not None else b) in (u, v)
    return True


def disrupted_graph(raw: nx.MultiDiGraph, disruption: Any) -> nx.MultiDiGraph:
    """The network of a disrupted scenario: closed nodes and links removed, slow links slowed."""
    closed = set(disruption.closed_nodes)
    g = nx.MultiDiGraph()
    g.add_nodes_from(raw.nodes)
    for u, v, data in raw.edges(data=True):
        if u in closed or v in closed:
            continue
        if any(_link_matches(u, v, data["mode"], c.source, c.target, c.mode) for c in disruption.closed_links):
            continue
        factor = float(data.get("factor", 1.0))
        for slow in disruption.slow_links:
            if _link_matches(u, v, data["mode"], slow.source, slow.target, slow.mode):
                factor *= float(slow.factor)
        g.add_edge(u, v, **{**data, "factor": factor})
    return g


@dataclass(frozen=True)
class Leg:
    hours: float
    cmin: float
    cmax: float
    lifted: bool


@dataclass(frozen=True)
class Travel:
    """How one option moves: which modes, and speed/range/cost per hour on lift legs."""

    modes: frozenset[str]
    lift_speed: float | None
    lift_range: float | None
    lift_cost_per_hour: float | None
    must_lift: bool


def _leg(mode: Any, data: dict[str, Any], tr: Travel) -> tuple[float, float, bool] | None:
    """(hours incl. handling, cost, flew a lift leg) of one link under a travel profile."""
    lifted = bool(mode.needs_lift)
    km, hours, cost = data["km"], data["hours"], data["cost"]
    if lifted and tr.lift_range is not None and km is not None and km > tr.lift_range:
        return None
    if hours is not None:
        travel = float(hours)
    else:
        speed = tr.lift_speed if lifted and tr.lift_speed else mode.speed_kmh
        if not speed or km is None:
            return None
        travel = km / speed
    travel *= float(data.get("factor", 1.0))  # a slowed link (disruption)
    if cost is None:
        if lifted and tr.lift_cost_per_hour is not None:
            cost = tr.lift_cost_per_hour * travel
        else:
            cost = mode.cost_per_km * (km or 0.0) + mode.cost_per_hour * travel
    return travel + mode.handling_hours, float(cost), lifted and travel > 0


def option_graph(raw: nx.MultiDiGraph, modes: dict[str, Any], tr: Travel) -> nx.DiGraph:
    """Parallel links collapsed to the fastest (cost range over the equally fast ones)."""
    best: dict[tuple[str, str], list[tuple[float, float, bool]]] = defaultdict(list)
    for u, v, data in raw.edges(data=True):
        if data["mode"] not in tr.modes:
            continue
        leg = _leg(modes[data["mode"]], data, tr)
        if leg is not None:
            best[(u, v)].append(leg)
    d = nx.DiGraph()
    d.add_nodes_from(raw.nodes)
    for (u, v), legs in best.items():
        fastest = min(h for h, _, _ in legs)
        tied = [leg for leg in legs if leg[0] <= fastest + 1e-12]
        d.add_edge(
            u,
            v,
            w=fastest,
            leg=Leg(fastest, min(c for _, c, _ in tied), max(c for _, c, _ in tied), any(f for _, _, f in tied) and tr.must_lift),
        )
    return d


def fastest(d: nx.DiGraph, source: str, target: str, must_lift: bool) -> tuple[float, float, float] | None:
    """(hours, min cost, max cost) over fastest paths; None if unreachable (or no lift leg)."""
    dist = nx.single_source_dijkstra_path_length(d, source, weight="w")
    if target not in dist:
        return None
    tight = nx.DiGraph()
    for u, v, a in d.edges(data=True):
        if u in dist and v in dist and abs(dist[u] + a["w"] - dist[v]) <= 1e-9 * max(1.0, dist[v]):
            leg: Leg = a["leg"]
            for flag in (False, True):
                tight.add_edge((u, flag), (v, flag or leg.lifted), cmin=leg.cmin, cmax=leg.cmax)
    src, dst = (source, False), (target, must_lift)
    if source == target and not must_lift:
        return dist[target], 0.0, 0.0
    if src not in tight or dst not in tight or not nx.has_path(tight, src, dst):
        return None
    cmin = nx.dijkstra_path_length(tight, src, dst, weight="cmin")
    if nx.is_directed_acyclic_graph(tight):
        longest: dict[Any, float] = {src: 0.0}
        for node in nx.topological_sort(tight):
            if node not in longest:
                continue
            for _, nxt, a in tight.out_edges(node, data=True):
                longest[nxt] = max(longest.get(nxt, -math.inf), longest[node] + a["cmax"])
        cmax = longest[dst]
    else:  # zero-hour cycles: any cost at least the cheapest is possible
        cmax = math.inf
    return dist[target], cmin, cmax


class ResponseTimes:
    """Recomputed (hours, min cost, max cost) per (scenario, type, option, hub, mission), memoised.

    Scenarios without a disruption share the base network; a disrupted scenario has its own.
    """

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.modes = {m.id: m for m in spec.modes}
        self.types = {t.id: t for t in spec.asset_types}
        self.raw = raw_graph(spec)
        self.disruptions = {s.id: s.disruption for s in spec.scenarios if s.disruption is not None}
        self._raws: dict[str | None, nx.MultiDiGraph] = {None: self.raw}
        self._graphs: dict[tuple[str | None, Travel], nx.DiGraph] = {}
        self._memo: dict[tuple[str | None, str, str, str, str], tuple[float, float, float] | None] = {}

    def network(self, scenario: str | None) -> str | None:
        """The key of a scenario's network: the scenario if it is disrupted, else None (base)."""
        return scenario if scenario in self.disruptions else None

    def closed_nodes(self, scenario: str | None) -> frozenset[str]:
        key = self.network(scenario)
        return frozenset() if key is None else frozenset(self.disruptions[key].closed_nodes)

    def raw_for(self, key: str | None) -> nx.MultiDiGraph:
        if key not in self._raws:
            assert key is not None
            self._raws[key] = disrupted_graph(self.raw, self.disruptions[key])
        return self._raws[key]

    def travel(self, type_id: str, option: str) -> Travel | None:
        t = self.types[type_id]
        if option == "fly" and t.category != "force":
            return Travel(frozenset(t.modes), t.speed_kmh, t.range_km, t.cost_per_flight_hour, False)
        if option == "surface" and t.category == "force":
            return Travel(frozenset(m for m in t.modes if not self.modes[m].needs_lift), None, None, None, False)
        if option.startswith("air:") and t.category == "force":
            lift_id = option[4:]
            if lift_id not in t.lift:
                return None
            lt = self.types[lift_id]
            per_hour = None if lt.cost_per_flight_hour is None else t.lift[lift_id] * lt.cost_per_flight_hour
            return Travel(frozenset(t.modes), lt.speed_kmh, lt.range_km, per_hour, True)
        return None

    def response(
        self, type_id: str, option: str, hub: str, mission: str, lift_hub: str | None = None, scenario: str | None = None
    ) -> tuple[float, float, float] | None:
        """(hours, min cost, max cost) of one dispatch in `scenario` (None: the undisrupted network);
        lift_hub: the hub whose lift flies it. None when the hub cannot reach the mission (or
        sits at a node the scenario closes)."""
        net = self.network(scenario)
        if hub in self.closed_nodes(net):
            return None
        key = (net, type_id, option, hub, mission)
        if key not in self._memo:
            self._memo[key] = self._compute(*key)
        found = self._memo[key]
        if found is None or lift_hub is None or lift_hub == hub or not option.startswith("air:"):
            return found
        # Lent lift: the aircraft first fly lift_hub -> hub on their own (on the undisrupted
        # network, as documented).
        t, lt = self.types[type_id], self.types[option[4:]]
        own_start = max(t.readiness_hours, lt.readiness_hours)
        pos = self.response(lt.id, "fly", lift_hub, hub)
        if pos is None:
            return None
        pos_hours = pos[0] - lt.readiness_hours
        lam = t.lift[lt.id]
        hours = found[0] - own_start + max(t.readiness_hours, lt.readiness_hours + pos_hours)
        return hours, found[1] + lam * pos[1], found[2] + lam * pos[2]

    def _compute(self, net: str | None, type_id: str, option: str, hub: str, mission: str) -> tuple[float, float, float] | None:
        ready = self.types[type_id].readiness_hours
        if option.startswith("air:") and option[4:] in self.types:
            ready = max(ready, self.types[option[4:]].readiness_hours)
        if option == "route":
            rows = [
                r for r in self.spec.routes if r.hub == hub and r.mission == mission and (r.type is None or r.type == type_id)
            ]
            if not rows:
                return None
            h = min(r.hours for r in rows)
            costs = [r.cost for r in rows if r.hours == h]
            return self.types[type_id].readiness_hours + h, min(costs), max(costs)
        tr = self.travel(type_id, option)
        if tr is None or not tr.modes:
            return None
        if (net, tr) not in self._graphs:
            self._graphs[(net, tr)] = option_graph(self.raw_for(net), self.modes, tr)
        found = fastest(self._graphs[(net, tr)], hub, mission, tr.must_lift)
        if found is None:
            return None
        return ready + found[0], found[1], found[2]


# --- the re-check ------------------------------------------------------------------------
def probabilities(spec: Any) -> dict[str, float]:
    scen = spec.scenarios
    if all(s.probability is not None for s in scen):
        return {s.id: float(s.probability) for s in scen}
    w = {s.id: (1.0 if s.weight is None else float(s.weight)) for s in scen}
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


@dataclass(frozen=True)
class DemandSpec:
    """One demand as the file defines it: units, deadline and (tiered) final deadline."""

    units: float
    deadline: float | None
    final: float | None  # service levels: every unit by then, a share by `deadline`

    @property
    def reach(self) -> float | None:
        """The latest any unit may arrive."""
        return self.final if self.final is not None else self.deadline


def final_deadline(level: Any, d: Any) -> float | None:
    """A demand's final deadline under `options.service_level` (None: not tiered)."""
    if level is None or d.deadline_hours is None:
        return None
    if d.final_deadline_hours is not None:
        return float(d.final_deadline_hours)
    if level.final_deadline_hours is not None:
        return max(float(level.final_deadline_hours), float(d.deadline_hours))
    if level.final_deadline_factor is not None:
        return float(level.final_deadline_factor) * float(d.deadline_hours)
    return None


def demand_rows(spec: Any) -> dict[tuple[str, str, str], DemandSpec]:
    level = spec.options.service_level
    rows: dict[tuple[str, str, str], DemandSpec] = {}
    pairs = [(s.id, d) for s in spec.scenarios for d in s.demands] + [(d.scenario, d) for d in spec.demands]
    for sid, d in pairs:
        rows[(sid, d.mission, d.type)] = DemandSpec(float(d.units), d.deadline_hours, final_deadline(level, d))
    return rows


def _near(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def unsupported_features(spec: Any) -> list[str]:
    """Instance features this re-check does not model (a test should skip rather than re-check)."""
    o = spec.options
    found = []
    if getattr(o, "dispatch_cost", "network") != "network":
        found.append(f"options.dispatch_cost={o.dispatch_cost}")
    for name in ("max_share_per_arc", "classic"):
        if getattr(o, name, None) is not None:
            found.append(f"options.{name}")
    return found


def recheck(instance: Any, solution: Any) -> list[str]:
    """Every way `solution` violates `instance` (empty list when it is a valid optimum candidate)."""
    spec = instance.spec
    out: list[str] = []
    bad = out.append
    unknown = unsupported_features(spec)
    if unknown:
        return [f"re-check does not model: {', '.join(unknown)}"]
    if solution.status not in ("optimal", "feasible"):
        return [f"status is {solution.status!r}, not a solution"]

    types = {t.id: t for t in spec.asset_types}
    hubs = {h.node: h for h in spec.hubs}
    usable_hubs = {h.node for h in spec.hubs if h.status != "excluded"}
    probs = probabilities(spec)
    demands = demand_rows(spec)
    soft = spec.options.deadlines == "soft"
    times = ResponseTimes(spec)
    open_hubs = set(solution.open_hubs)
    level = spec.options.service_level
    # In-mission reserves: hub -> the mission it belongs to; missions in crisis per scenario.
    reserve_of = {h.node: h.node for h in spec.hubs if h.mission_reserve and h.status != "excluded"}
    lend_reserves = bool(spec.options.lend_mission_reserves)
    in_crisis: dict[str, set[str]] = defaultdict(set)
    for s_id, m_id, _ in demands:
        in_crisis[s_id].add(m_id)
    # Contributors
    contributors = {c.id: c for c in spec.contributors}
    contributed = {k for c in spec.contributors for k in c.units}
    region = {n.id: n.region for n in spec.nodes}

    def refuses(c: Any, mission: str) -> str | None:
        """Why contributor c will not deploy to `mission` (None: it will)."""
        if mission in c.exclude_missions:
            return f"{c.id} will not deploy to mission {mission}"
        if region.get(mission) is not None and region[mission] in c.exclude_regions:
            return f"{c.id} will not deploy to region {region[mission]} ({mission})"
        return None

    def accepts(c: Any, hub: str) -> bool:
        return not c.hubs or hub in c.hubs

    # Hubs
    if len(open_hubs) != len(solution.open_hubs):
        bad(f"open_hubs lists a hub twice: {solution.open_hubs}")
    for h in open_hubs - usable_hubs:
        bad(f"hub {h!r} is open but is not an openable hub (unknown or excluded)")
    for h in spec.hubs:
        if h.status == "existing" and h.node not in open_hubs:
            bad(f"existing hub {h.node!r} is not open")
    o = spec.options
    if o.min_hubs is not None and len(open_hubs) < o.min_hubs:
        bad(f"{len(open_hubs)} hubs open < min_hubs {o.min_hubs}")
    if o.max_hubs is not None and len(open_hubs) > o.max_hubs:
        bad(f"{len(open_hubs)} hubs open > max_hubs {o.max_hubs}")

    # Stationing
    stationed: dict[tuple[str, str], float] = defaultdict(float)
    for r in solution.stationing:
        h, k, u = r["hub"], r["asset_type"], float(r["units"])
        if k not in types:
            bad(f"stationing of unknown type {k!r}")
            continue
        if u < -TOL:
            bad(f"negative stationing {r}")
        if not types[k].divisible and not _near(u, round(u)):
            bad(f"fractional stationing of indivisible type: {r}")
        if h not in open_hubs:
            bad(f"{u:g} × {k} stationed at {h!r}, which is not open")
        stationed[(h, k)] += u
    space: dict[str, float] = defaultdict(float)
    for (h, k), u in stationed.items():
        space[h] += types[k].space * u
    for h, used_space in space.items():
        cap = hubs[h].capacity if h in hubs else None
        if cap is not None and used_space > cap + TOL * max(1.0, cap):
            bad(f"hub {h!r} holds {used_space:g} space units > capacity {cap:g}")
    per_type: dict[str, float] = defaultdict(float)
    for (_, k), u in stationed.items():
        per_type[k] += u
    for k, total in per_type.items():
        lim = types[k].fleet_limit
        if lim is not None and total > lim + TOL:
            bad(f"{total:g} × {k} stationed > fleet_limit {lim:g}")

    # Contributions: each contributed type's stock split by contributor, within caveats and pledges
    pledged: dict[tuple[str, str, str], float] = defaultdict(float)  # (hub, type, contributor)
    for r in solution.contributions:
        h, k, cid, u = r["hub"], r["asset_type"], r["contributor"], float(r["units"])
        c = contributors.get(cid)
        if c is None or k not in c.units:
            bad(f"contribution by {cid!r}, which pledges no {k}: {r}")
            continue
        if u < -TOL:
            bad(f"negative contribution {r}")
        if not types[k].divisible and not _near(u, round(u)):
            bad(f"fractional contribution of indivisible type: {r}")
        if not accepts(c, h):
            bad(f"{u:g} × {k} of {cid} stationed at {h}, which {cid} does not accept (only {c.hubs})")
        pledged[(h, k, cid)] += u
    split: dict[tuple[str, str], float] = defaultdict(float)
    for (h, k, _), u in pledged.items():
        split[(h, k)] += u
    for h, k in sorted(set(split) | {hk for hk in stationed if hk[1] in contributed}):
        if not _near(split.get((h, k), 0.0), stationed.get((h, k), 0.0)):
            bad(
                f"{stationed.get((h, k), 0.0):g} × {k} stationed at {h} but contributors provide "
                f"{split.get((h, k), 0.0):g} there (a contributed type has only contributors' units)"
            )
    per_pledge: dict[tuple[str, str], float] = defaultdict(float)
    for (_, k, cid), u in pledged.items():
        per_pledge[(cid, k)] += u
    for (cid, k), u in sorted(per_pledge.items()):
        limit = float(contributors[cid].units[k])
        if u > limit + TOL:
            bad(f"{cid} provides {u:g} × {k} but pledged {limit:g}")

    # Dispatch: response times, deadlines, stock per scenario
    met: dict[tuple[str, str, str], float] = defaultdict(float)
    on_time: dict[tuple[str, str, str], float] = defaultdict(float)  # tiered: units within the first deadline
    used: dict[tuple[str, str, str], float] = defaultdict(float)  # (s, hub, type) units sent
    by_contributor: dict[tuple[str, str, str, str], float] = defaultdict(float)  # (s, hub, type, contributor)
    sorties: dict[tuple[str, str, str], float] = defaultdict(float)  # (s, lift hub, lift) sorties flown
    lends = {h.node: set(h.lends_lift_to) for h in spec.hubs}
    whole: dict[tuple, float] = defaultdict(float)  # split loads: units per (s, hub, mission, type, contributor)
    cost_lo: dict[str, float] = defaultdict(float)
    cost_hi: dict[str, float] = defaultdict(float)
    for r in solution.dispatch:
        s, h, m, k, opt, u = r["scenario"], r["hub"], r["mission"], r["asset_type"], r["route"], float(r["units"])
        key = (s, m, k)
        if key not in demands:
            bad(f"dispatch for a demand that does not exist: {r}")
            continue
        dem = demands[key]
        if r.get("deadline_hours") != dem.deadline:
            bad(f"dispatch row deadline {r.get('deadline_hours')} != demand deadline {dem.deadline}: {r}")
        if u <= 0:
            bad(f"non-positive dispatch row {r}")
        if not types[k].divisible:
            if spec.options.split_loads:  # loads may split across a hub's options; units may not
                whole[(s, h, m, k, r.get("contributor"))] += u
            elif not _near(u, round(u)):
                bad(f"fractional dispatch of indivisible type: {r}")
        if h not in usable_hubs:
            bad(f"dispatch from {h!r}, which is not an openable hub: {r}")
        lift_hub = r.get("lift_hub") or (h if opt.startswith("air:") else None)
        if opt.startswith("air:"):
            if lift_hub != h and h not in lends.get(lift_hub, set()):
                bad(f"dispatch {r}: lift from {lift_hub!r}, which does not lend lift to {h!r}")
        elif r.get("lift_hub") is not None:
            bad(f"dispatch {r}: a lift hub on a move that needs no lift")
        where = f"dispatch {s}/{h}->{m} {k} via {opt}"
        # Disruption: no dispatch from (nor lift lent by) a hub at a closed node
        closed = times.closed_nodes(s)
        if h in closed:
            bad(f"{where}: hub {h} is at a node closed in scenario {s!r}")
        if lift_hub is not None and lift_hub != h and lift_hub in closed:
            bad(f"{where}: lift lent by {lift_hub}, a node closed in scenario {s!r}")
        # In-mission reserves: lent to other missions only while their own mission is calm
        for role, g in (("hub", h), ("lift hub", lift_hub)):
            owner = reserve_of.get(g) if g is not None else None
            if owner is None or owner == m or (role == "lift hub" and g == h):
                continue
            if not lend_reserves:
                bad(f"{where}: {role} {g} is {owner}'s in-mission reserve and lend_mission_reserves is false")
            elif owner in in_crisis[s]:
                bad(f"{where}: {role} {g} is {owner}'s in-mission reserve, lent while {owner} is in crisis in {s!r}")
        # Contributor caveats
        cid = r.get("contributor")
        if k in contributed:
            c = contributors.get(cid) if cid is not None else None
            if c is None or k not in c.units:
                bad(f"{where}: contributor {cid!r} does not pledge {k} (a contributed type)")
            else:
                why = refuses(c, m)
                if why is not None:
                    bad(f"{where}: {why}")
                if not accepts(c, h):
                    bad(f"{where}: {cid} does not accept hub {h} (only {c.hubs})")
                by_contributor[(s, h, k, cid)] += u
        elif cid is not None:
            bad(f"{where}: contributor {cid!r} named for {k}, which no contributor pledges")
        # The units count as sent (so that one bad row is reported once, not again as unmet demand).
        met[key] += u
        used[(s, h, k)] += u
        if opt.startswith("air:"):
            lift = opt[4:]
            sorties[(s, lift_hub, lift)] += types[k].lift.get(lift, 0.0) * u
        resp = None if h in closed else times.response(k, opt, h, m, lift_hub, scenario=s)
        if resp is None:
            if h not in closed:
                bad(f"dispatch {r}: option {opt!r} cannot reach {m} from {h} (recomputed, scenario {s!r})")
            # already reported: take the row's own cost so the objective is not reported again
            shown_cost = float(r.get("cost_per_unit") or 0.0)
            cost_lo[s] += shown_cost * u
            cost_hi[s] += shown_cost * u
            continue
        hours, cmin, cmax = resp
        shown = float(r["response_hours"])
        if not (abs(shown - hours) <= TOL or abs(shown - round(hours, 4)) <= 1e-9):
            bad(f"{where}: response_hours {shown} but recomputed {hours:.9g}")
        if dem.final is not None:
            if hours > dem.final + TOL:
                bad(f"{where}: {hours:.6g} h misses the final deadline {dem.final:g} h")
            assert dem.deadline is not None
            if hours <= dem.deadline + TOL:
                on_time[key] += u
        elif dem.deadline is not None and hours > dem.deadline + TOL:
            bad(f"{where}: {hours:.6g} h misses the deadline {dem.deadline:g} h")
        cost_lo[s] += cmin * u
        cost_hi[s] += cmax * u
    for (s, h, m, k, cid), u in whole.items():
        if not _near(u, round(u)):
            bad(f"scenario {s!r}: {u:g} × {k} from {h} to {m}{f' ({cid})' if cid else ''}: split loads, but not whole units")
    for (s, h, k), u in used.items():
        if u > stationed.get((h, k), 0.0) + TOL:
            bad(f"scenario {s!r}: {u:g} × {k} dispatched from {h} but only {stationed.get((h, k), 0.0):g} stationed")
    for (s, h, k, cid), u in by_contributor.items():
        have = pledged.get((h, k, cid), 0.0)
        if u > have + TOL:
            bad(f"scenario {s!r}: {u:g} × {k} of {cid} dispatched from {h} but {cid} has only {have:g} there")

    # Lift sorties: σ × aircraft sent + Σ λ × forces its aircraft fly ≤ σ × aircraft stationed.
    scen_ids = [sc.id for sc in spec.scenarios]
    for lt in (t for t in spec.asset_types if t.category == "airlift"):
        sigma = float(lt.sorties_per_window or 1.0)
        for s in scen_ids:
            for h in sorted(usable_hubs):
                need = sigma * used.get((s, h, lt.id), 0.0) + sorties.get((s, h, lt.id), 0.0)
                have = sigma * stationed.get((h, lt.id), 0.0)
                if need > have + TOL * max(1.0, need):
                    bad(f"scenario {s!r}: hub {h} needs {need:g} {lt.id} sorties but its aircraft fly {have:g} (σ={sigma:g})")

    # Demand met or recorded unmet
    unmet: dict[tuple[str, str, str], float] = defaultdict(float)
    for r in solution.unmet:
        key = (r["scenario"], r["mission"], r["asset_type"])
        if not soft:
            bad(f"unmet row under hard deadlines: {r}")
        if key not in demands:
            bad(f"unmet row for a demand that does not exist: {r}")
            continue
        unmet[key] += float(r["units"])
    penalty: dict[str, float] = defaultdict(float)
    for key, dem in demands.items():
        got = met.get(key, 0.0) + unmet.get(key, 0.0)
        if not _near(got, dem.units):
            bad(f"demand {key}: {dem.units:g} units needed, {met.get(key, 0.0):g} dispatched + {unmet.get(key, 0.0):g} unmet")
        if key in unmet:
            t = types[key[2]]
            pen = t.penalty if t.penalty is not None else (spec.options.penalty or 0.0)
            penalty[key[0]] += pen * unmet[key]

    # Service levels: the share within the first deadline, per demand or per scenario
    tiered = {key: dem for key, dem in demands.items() if dem.final is not None}
    if level is not None and tiered:
        due: dict[Any, float] = defaultdict(float)
        within: dict[Any, float] = defaultdict(float)
        for key, dem in tiered.items():
            group: Any = key if level.scope == "demand" else key[0]
            due[group] += dem.units
            within[group] += on_time.get(key, 0.0) + unmet.get(key, 0.0)
        for group, units in due.items():
            need = float(level.share) * units
            if within[group] < need - TOL * max(1.0, need):
                what = f"demand {group}" if level.scope == "demand" else f"scenario {group!r}"
                bad(
                    f"service level: {within[group]:g} of {units:g} units of {what} arrive within the deadline, "
                    f"{level.share:g} × {units:g} = {need:g} are due by then"
                )
    want: dict[tuple[str, str], tuple[float, float]] = {}
    if level is not None:
        for s in scen_ids:
            keys = [key for key in tiered if key[0] == s]
            if not keys:
                continue
            total = sum(tiered[key].units for key in keys)
            want[(s, "deadline")] = (total, sum(on_time.get(key, 0.0) for key in keys))
            want[(s, "final")] = (total, sum(met.get(key, 0.0) for key in keys))
    shown_levels = {(r["scenario"], r["tier"]): r for r in solution.service_levels}
    if len(shown_levels) != len(solution.service_levels):
        bad("service_levels lists a (scenario, tier) twice")
    for sk in sorted(set(want) | set(shown_levels)):
        if sk not in shown_levels:
            bad(f"service_levels has no row for scenario {sk[0]!r}, tier {sk[1]!r}")
            continue
        if sk not in want:
            bad(f"service_levels row for scenario {sk[0]!r}, tier {sk[1]!r}, which has no tiered demand")
            continue
        r, (total, got) = shown_levels[sk], want[sk]
        shown_row = (float(r["units_due"]), float(r["units_within"]), float(r["share"]))
        if not all(_near(a, b) for a, b in zip(shown_row, (total, got, got / total))):
            bad(f"service_levels row {r} but recomputed units_due {total:g}, units_within {got:g}, share {got / total:.6g}")

    # Costs and objective
    fixed = sum(hubs[h].fixed_cost for h in open_hubs if h in hubs)
    holding = sum(
        (hubs[h].holding_cost.get(k, types[k].holding_cost) if h in hubs else 0.0) * u for (h, k), u in stationed.items()
    )
    if spec.options.budget is not None and fixed + holding > spec.options.budget + TOL * max(1.0, spec.options.budget):
        bad(f"annual cost {fixed + holding:g} exceeds the budget {spec.options.budget:g}")
    rate = float(getattr(spec.options, "crises_per_year", 1.0))
    exp_lo = rate * sum(probs[s] * cost_lo[s] for s in scen_ids)
    exp_hi = rate * sum(probs[s] * cost_hi[s] for s in scen_ids)
    exp_pen = rate * sum(probs[s] * penalty[s] for s in scen_ids)
    if spec.options.objective == "worst_case":
        lo = fixed + holding + rate * max(cost_lo[s] + penalty[s] for s in scen_ids)
        hi = fixed + holding + rate * max(cost_hi[s] + penalty[s] for s in scen_ids)
    else:
        lo = fixed + holding + exp_lo + exp_pen
        hi = fixed + holding + exp_hi + exp_pen
    obj = solution.objective
    tol = TOL * max(1.0, abs(lo), abs(hi))
    if obj is None or not (lo - tol <= obj <= hi + tol):
        rng = f"{lo:.9g}" if _near(lo, hi) else f"[{lo:.9g}, {hi:.9g}]"
        bad(f"objective {obj} but recomputed {rng} (fixed {fixed:g}, holding {holding:g})")
    c = solution.costs
    for name, want_cost in (("fixed", fixed), ("holding", holding), ("penalty", exp_pen)):
        if not _near(float(c.get(name, 0.0)), want_cost):
            bad(f"costs[{name!r}] = {c.get(name)} but recomputed {want_cost:.9g}")
    disp = float(c.get("dispatch", 0.0))
    if not (exp_lo - tol <= disp <= exp_hi + tol):
        bad(f"costs['dispatch'] = {disp} but recomputed [{exp_lo:.9g}, {exp_hi:.9g}]")
    return out
