"""The logistics network and the response times derived from it.

The network is a networkx `MultiDiGraph` (nodes with their attributes, one edge per link
and direction). Response times are computed per *travel profile* — which modes an asset
may use, at what speed, within what range, and whether air legs need lift — with one
multi-source Dijkstra per distinct profile (scipy's csgraph on the graph's matrix), so a
thousand-node network costs milliseconds, not Python loops.

Route options per asset type:
- aircraft (helicopter, airlift) ``fly``: self-deploy over their modes at their own speed,
  legs no longer than their range (each leg is a fuel stop, handling hours added);
- force packages ``surface``: their modes that need no lift;
- force packages ``air:<lift type>``: all their modes, lift legs at the lift type's speed
  and range; kept only where the path really uses a lift leg (else it is ``surface``);
- ``route``: explicit hub–mission rows of the instance's `routes` table.

The response time of a unit is its start time plus the path's hours; the start time is its
readiness, and for an air move the later of the force's and the aircraft's readiness. When
the aircraft come from another hub g (g ``lends_lift_to`` the force's hub h), they must
first fly g → h: the start is max(force readiness, lift readiness + positioning hours).
The dispatch cost is the cost accumulated along that (fastest) path, plus positioning
flights for lent lift.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace

import networkx as nx
import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.schema import AssetType, Disruption, Link

EARTH_RADIUS_KM = 6371.0088
TIME_TOLERANCE = 1e-9


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def build_graph(instance: Instance) -> nx.MultiDiGraph:
    """Nodes with their attributes; an edge per link direction, plus great-circle air links."""
    g = nx.MultiDiGraph(name=instance.name)
    g.add_nodes_from((n.id, n.model_dump(exclude={"id"})) for n in instance.spec.nodes)

    def directed(link: Link) -> Iterator[tuple[str, str, dict]]:
        attrs = {"mode": link.mode, "distance_km": link.distance_km, "hours": link.hours, "cost": link.cost}
        yield link.source, link.target, attrs
        if link.bidirectional:
            yield link.target, link.source, attrs

    g.add_edges_from(e for link in instance.spec.links for e in directed(link))
    for gc in instance.options.great_circle:
        ids = [n.id for n in instance.spec.nodes] if gc.nodes == "all" else list(dict.fromkeys(gc.nodes))
        lat = np.radians([instance.nodes[i].lat for i in ids])
        lon = np.radians([instance.nodes[i].lon for i in ids])
        a, b = np.triu_indices(len(ids), k=1)
        h = np.sin((lat[b] - lat[a]) / 2) ** 2 + np.cos(lat[a]) * np.cos(lat[b]) * np.sin((lon[b] - lon[a]) / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))) * gc.detour_factor
        keep = np.flatnonzero(km <= (gc.max_km if gc.max_km is not None else np.inf))
        for i, j, d in zip(a[keep].tolist(), b[keep].tolist(), km[keep].tolist()):
            attrs = {"mode": gc.mode, "distance_km": d, "hours": None, "cost": None}
            g.add_edge(ids[i], ids[j], **attrs)
            g.add_edge(ids[j], ids[i], **attrs)
    return g


@dataclass(frozen=True)
class Profile:
    """How one asset moves: allowed modes, speed/range on lift legs, lift cost per hour."""

    modes: frozenset[str]
    lift_speed: float | None
    lift_range: float | None
    lift_cost_per_hour: float | None  # per unit moved; None = the mode's own rates


@dataclass(frozen=True)
class PathTable:
    """Fastest paths from every hub to every node under one profile."""

    hours: np.ndarray  # (hubs, nodes), inf where unreachable
    cost: np.ndarray
    lift_hours: np.ndarray


@dataclass(frozen=True)
class RouteOption:
    """One way of sending a type from any hub to any mission, as (hub × mission) matrices."""

    type_id: str
    name: str  # "fly", "surface", "air:<lift>", "route"
    lift_type: str | None
    sorties: float  # lift sorties one unit needs (0 without lift)
    start: float  # hours before the move starts (readiness; for air moves, of force and lift)
    hours: np.ndarray  # (hubs, missions) response hours incl. start; inf = unreachable
    cost: np.ndarray


@dataclass(frozen=True)
class Network:
    """Graph plus response options for every asset type (hubs × missions)."""

    graph: nx.MultiDiGraph
    hubs: tuple[str, ...]
    missions: tuple[str, ...]
    options: dict[str, tuple[RouteOption, ...]]
    scenario_options: dict[str, dict[str, tuple[RouteOption, ...]]] = field(default_factory=dict)  # disrupted
    # lift type: (hours incl. handling, cost, flight hours) of positioning flights, hubs × hubs
    positioning: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    profiles_solved: int = 0
    _mission_index: dict[str, int] = field(default_factory=dict, repr=False)

    def mission_index(self, mission: str) -> int:
        return self._mission_index[mission]

    def options_for(self, scenario: str | None) -> dict[str, tuple[RouteOption, ...]]:
        """Route options in a scenario (its disrupted network, if any)."""
        return self.scenario_options.get(scenario, self.options) if scenario is not None else self.options

    def fastest(self, type_id: str, mission: str, scenario: str | None = None) -> tuple[float, str | None, str | None]:
        """(hours, hub, option) of the fastest response of a type to a mission (in a scenario)."""
        j = self._mission_index[mission]
        best: tuple[float, str | None, str | None] = (math.inf, None, None)
        for opt in self.options_for(scenario)[type_id]:
            i = int(np.argmin(opt.hours[:, j]))
            if opt.hours[i, j] < best[0]:
                best = (float(opt.hours[i, j]), self.hubs[i], opt.name)
        return best


@dataclass(frozen=True)
class EdgeTable:
    """The graph's edges as arrays (extracted once; each profile masks and prices them)."""

    u: np.ndarray
    v: np.ndarray
    mode: np.ndarray  # index into `modes`
    km: np.ndarray  # nan when not given
    hours: np.ndarray  # nan when not given
    cost: np.ndarray  # nan when not given
    modes: tuple[str, ...]

    @classmethod
    def from_graph(cls, instance: Instance, graph: nx.MultiDiGraph, index: dict[str, int]) -> EdgeTable:
        modes = tuple(instance.modes)
        mode_pos = {m: i for i, m in enumerate(modes)}
        rows = [
            (index[u], index[v], mode_pos[d["mode"]], d["distance_km"], d["hours"], d["cost"])
            for u, v, d in graph.edges(data=True)
        ]
        if not rows:
            empty = np.zeros(0)
            return cls(empty.astype(np.int64), empty.astype(np.int64), empty.astype(np.int64), empty, empty, empty, modes)
        u, v, m, km, hours, cost = zip(*rows)

        def arr(xs: tuple) -> np.ndarray:
            return np.array([np.nan if x is None else x for x in xs], dtype=float)

        return cls(
            np.array(u, dtype=np.int64),
            np.array(v, dtype=np.int64),
            np.array(m, dtype=np.int64),
            arr(km),
            arr(hours),
            arr(cost),
            modes,
        )


@dataclass(frozen=True)
class EdgeChange:
    """A scenario's disruption on the edge table: closed edges and travel-hour factors."""

    closed: np.ndarray  # bool per edge
    factor: np.ndarray  # travel-hour multiplier per edge
    closed_nodes: frozenset[str]

    def touches(self, instance: Instance, edges: EdgeTable, prof: Profile) -> bool:
        """Whether the change can alter paths under this profile (else reuse the base paths)."""
        changed = self.closed | (self.factor != 1.0)
        used_modes = {edges.modes[m] for m in np.unique(edges.mode[changed])}
        return bool(used_modes & prof.modes)


def edge_change(instance: Instance, edges: EdgeTable, index: dict[str, int], disruption: Disruption) -> EdgeChange:
    """Which edges a disruption closes or slows."""
    closed = np.zeros(len(edges.u), dtype=bool)
    factor = np.ones(len(edges.u))
    mode_pos = {m: i for i, m in enumerate(edges.modes)}
    for n in disruption.closed_nodes:
        closed |= (edges.u == index[n]) | (edges.v == index[n])

    def match(a: str | None, b: str | None, mode: str | None) -> np.ndarray:
        m = np.ones(len(edges.u), dtype=bool)
        if a is not None and b is not None:
            ia, ib = index[a], index[b]
            m &= ((edges.u == ia) & (edges.v == ib)) | ((edges.u == ib) & (edges.v == ia))
        elif a is not None or b is not None:
            i = index[a if a is not None else b]  # type: ignore[index]
            m &= (edges.u == i) | (edges.v == i)
        if mode is not None:
            m &= edges.mode == mode_pos.get(mode, -1)
        return m

    for link in disruption.closed_links:
        closed |= match(link.source, link.target, link.mode)
    for slow in disruption.slow_links:
        factor = np.where(match(slow.source, slow.target, slow.mode), factor * slow.factor, factor)
    return EdgeChange(closed=closed, factor=factor, closed_nodes=frozenset(disruption.closed_nodes))


def _edge_arrays(instance: Instance, edges: EdgeTable, prof: Profile, change: EdgeChange | None = None) -> tuple[np.ndarray, ...]:
    """(u, v, hours, cost, lift_hours) of usable edges under a profile, fastest of parallel edges."""
    modes = [instance.modes[m] for m in edges.modes]
    allowed = np.array([m.id in prof.modes for m in modes], dtype=bool)
    lifted_mode = np.array([m.needs_lift for m in modes], dtype=bool)
    speed = np.array([m.speed_kmh or np.nan for m in modes], dtype=float)
    handling = np.array([m.handling_hours for m in modes], dtype=float)
    per_km = np.array([m.cost_per_km for m in modes], dtype=float)
    per_hour = np.array([m.cost_per_hour for m in modes], dtype=float)
    if len(modes) == 0:
        allowed = lifted_mode = np.zeros(0, dtype=bool)
    mi = edges.mode
    lifted = lifted_mode[mi] if len(mi) else np.zeros(0, dtype=bool)
    use = allowed[mi] if len(mi) else np.zeros(0, dtype=bool)
    if prof.lift_range is not None:
        use &= ~(lifted & ~np.isnan(edges.km) & (edges.km > prof.lift_range))
    edge_speed = speed[mi] if len(mi) else np.zeros(0)
    if prof.lift_speed:
        edge_speed = np.where(lifted, prof.lift_speed, edge_speed)
    travel = np.where(np.isnan(edges.hours), edges.km / edge_speed, edges.hours)
    use &= np.isfinite(travel)
    if change is not None:
        use &= ~change.closed
        travel = travel * change.factor
    mode_cost = per_km[mi] * np.nan_to_num(edges.km) + per_hour[mi] * travel if len(mi) else np.zeros(0)
    if prof.lift_cost_per_hour is not None:
        mode_cost = np.where(lifted, prof.lift_cost_per_hour * travel, mode_cost)
    cost = np.where(np.isnan(edges.cost), mode_cost, edges.cost)
    u, v = edges.u[use], edges.v[use]
    h = (travel + (handling[mi] if len(mi) else 0.0))[use]
    c, lift = cost[use], np.where(lifted, travel, 0.0)[use]
    if len(u):
        order = np.lexsort((c, h, v, u))  # per (u, v): fastest, then cheapest first
        u, v, h, c, lift = u[order], v[order], h[order], c[order], lift[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, h, c, lift = u[first], v[first], h[first], c[first], lift[first]
    return u, v, h, c, lift


def _shortest_paths(
    instance: Instance, edges: EdgeTable, n: int, sources: np.ndarray, prof: Profile, change: EdgeChange | None = None
) -> PathTable:
    u, v, h, c, lift = _edge_arrays(instance, edges, prof, change)
    matrix = csr_array((h, (u, v)), shape=(n, n))
    hours, pred = dijkstra(matrix, directed=True, indices=sources, return_predecessors=True)
    # Accumulate cost and lift hours along each predecessor tree: a fixed-point pass per
    # tree depth, vectorised over all sources at once.
    keys = u * n + v  # sorted by construction (lexsort on u, v)
    valid = pred >= 0
    cols = np.broadcast_to(np.arange(n), pred.shape)
    pos = np.searchsorted(keys, np.where(valid, pred * n + cols, 0))
    pos = np.clip(pos, 0, max(len(keys) - 1, 0))
    edge_cost = np.where(valid, c[pos] if len(c) else 0.0, 0.0)
    edge_lift = np.where(valid, lift[pos] if len(lift) else 0.0, 0.0)
    rows = np.arange(pred.shape[0])[:, None]
    safe_pred = np.where(valid, pred, 0)
    cost = np.zeros_like(hours)
    lifted = np.zeros_like(hours)
    for _ in range(n + 1):
        new_cost = np.where(valid, cost[rows, safe_pred] + edge_cost, 0.0)
        new_lift = np.where(valid, lifted[rows, safe_pred] + edge_lift, 0.0)
        if np.array_equal(new_cost, cost) and np.array_equal(new_lift, lifted):
            break
        cost, lifted = new_cost, new_lift
    cost[~np.isfinite(hours)] = np.inf
    return PathTable(hours=hours, cost=cost, lift_hours=lifted)


def _profiles(instance: Instance, t: AssetType) -> list[tuple[str, str | None, float, Profile]]:
    """(option name, lift type, sorties per unit, profile) for one asset type."""
    modes = instance.modes
    if t.category != "force":
        return [("fly", None, 0.0, Profile(frozenset(t.modes), t.speed_kmh, t.range_km, t.cost_per_flight_hour))]
    surface = frozenset(m for m in t.modes if not modes[m].needs_lift)
    out: list[tuple[str, str | None, float, Profile]] = []
    if surface:
        out.append(("surface", None, 0.0, Profile(surface, None, None, None)))
    for lift_id, sorties in t.lift.items():
        lt = instance.types[lift_id]
        per_hour = sorties * lt.cost_per_flight_hour if lt.cost_per_flight_hour is not None else None
        out.append((f"air:{lift_id}", lift_id, float(sorties), Profile(frozenset(t.modes), lt.speed_kmh, lt.range_km, per_hour)))
    return out


def _type_options(
    instance: Instance,
    t: AssetType,
    table_of: Callable[[Profile], PathTable],
    mis_idx: np.ndarray,
    hub_pos: dict[str, int],
    mis_pos: dict[str, int],
) -> tuple[RouteOption, ...]:
    """Route options of one asset type, given the path table of each travel profile."""
    opts: list[RouteOption] = []
    for name, lift_id, sorties, prof in _profiles(instance, t):
        if not prof.modes:
            continue
        table = table_of(prof)
        start = t.readiness_hours
        if lift_id is not None:
            start = max(start, instance.types[lift_id].readiness_hours)
        hours = table.hours[:, mis_idx] + start
        cost = table.cost[:, mis_idx].copy()
        if lift_id is not None:
            # A lifted option that never flies is just the surface route (needing lift).
            no_lift = table.lift_hours[:, mis_idx] <= 0
            hours[no_lift] = np.inf
            cost[no_lift] = np.inf
        opts.append(RouteOption(t.id, name, lift_id, sorties, start, hours, cost))
    routes = [r for r in instance.spec.routes if r.type in (None, t.id)]
    if routes:
        hours = np.full((len(hub_pos), len(mis_pos)), np.inf)
        cost = np.full_like(hours, np.inf)
        for r in routes:
            if r.hub not in hub_pos:  # an excluded hub
                continue
            i, j = hub_pos[r.hub], mis_pos[r.mission]
            if r.hours + t.readiness_hours < hours[i, j]:
                hours[i, j] = r.hours + t.readiness_hours
                cost[i, j] = r.cost
        opts.append(RouteOption(t.id, "route", None, 0.0, t.readiness_hours, hours, cost))
    return tuple(opts)


def _close_hubs(opts: tuple[RouteOption, ...], rows: list[int]) -> tuple[RouteOption, ...]:
    """Options with the given hubs unable to dispatch (their node is closed)."""
    if not rows:
        return opts
    out = []
    for o in opts:
        hours, cost = o.hours.copy(), o.cost.copy()
        hours[rows, :] = np.inf
        cost[rows, :] = np.inf
        out.append(replace(o, hours=hours, cost=cost))
    return tuple(out)


def build_network(instance: Instance, graph: nx.MultiDiGraph | None = None) -> Network:
    """Response options (hours and cost, hubs × missions) for every asset type.

    Scenarios with a disruption get their own options; only the travel profiles whose modes
    the disruption touches are recomputed, the others reuse the undisrupted paths.
    """
    graph = graph if graph is not None else build_graph(instance)
    nodes = list(graph.nodes)
    index = {nid: i for i, nid in enumerate(nodes)}
    hubs = tuple(h.node for h in instance.hubs)
    missions = instance.missions
    hub_idx = np.array([index[h] for h in hubs], dtype=np.int64)
    mis_idx = np.array([index[m] for m in missions], dtype=np.int64)
    edges = EdgeTable.from_graph(instance, graph, index)
    hub_pos = {h: i for i, h in enumerate(hubs)}
    mis_pos = {m: j for j, m in enumerate(missions)}
    cache: dict[tuple[Profile, str], PathTable] = {}

    def table_of(change: EdgeChange | None, key: str) -> Callable[[Profile], PathTable]:
        def get(prof: Profile) -> PathTable:
            effective = key if change is not None and change.touches(instance, edges, prof) else ""
            if (prof, effective) not in cache:
                cache[(prof, effective)] = _shortest_paths(
                    instance, edges, len(index), hub_idx, prof, change if effective else None
                )
            return cache[(prof, effective)]

        return get

    base = table_of(None, "")
    options = {t.id: _type_options(instance, t, base, mis_idx, hub_pos, mis_pos) for t in instance.spec.asset_types}
    scenario_options: dict[str, dict[str, tuple[RouteOption, ...]]] = {}
    for sc in instance.spec.scenarios:
        if sc.disruption is None:
            continue
        key = sc.disruption.model_dump_json()
        change = edge_change(instance, edges, index, sc.disruption)
        closed_rows = [hub_pos[n] for n in change.closed_nodes if n in hub_pos]
        get = table_of(change, key)
        scenario_options[sc.id] = {
            t.id: _close_hubs(_type_options(instance, t, get, mis_idx, hub_pos, mis_pos), closed_rows)
            for t in instance.spec.asset_types
        }

    # Positioning flights of lent lift (lender hub -> borrower hub), per lift type.
    positioning: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    if any(h.lends_lift_to for h in instance.hubs):
        for lift_id in instance.lift_types():
            (_, _, _, prof), *_ = _profiles(instance, instance.types[lift_id])
            table = base(prof)
            positioning[lift_id] = (table.hours[:, hub_idx], table.cost[:, hub_idx], table.lift_hours[:, hub_idx])
    return Network(
        graph=graph,
        hubs=hubs,
        missions=missions,
        options=options,
        scenario_options=scenario_options,
        positioning=positioning,
        profiles_solved=len(cache),
        _mission_index=mis_pos,
    )


@dataclass(frozen=True)
class Arcs:
    """Eligible dispatch arcs, columnar: the model creates one variable per row.

    An arc (demand d, hub h, option o) exists only if o reaches d's mission from h within
    d's deadline — the model's sparsity.
    """

    demand: np.ndarray  # index into instance.demands
    hub: np.ndarray  # index into instance.hubs
    option: np.ndarray  # index into option_keys
    lift_hub: np.ndarray  # hub whose airlift flies the sorties (-1: no lift needed)
    hours: np.ndarray
    cost: np.ndarray
    option_keys: tuple[tuple[str, str], ...]  # (type id, option name)
    contributor: np.ndarray | None = None  # whose units (-1: the type has no contributors)

    def __post_init__(self) -> None:
        if self.contributor is None:
            object.__setattr__(self, "contributor", np.full(len(self.demand), -1, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.demand)


def _lenders(instance: Instance) -> list[tuple[int, int]]:
    """(lender g, borrower h) hub positions from `lends_lift_to`."""
    pos = {h.node: i for i, h in enumerate(instance.hubs)}
    return [(pos[h.node], pos[other]) for h in instance.hubs for other in h.lends_lift_to if other in pos and other != h.node]


def _option_arcs(
    instance: Instance, network: Network, o: RouteOption, j: int, deadline: float | None, lenders: list[tuple[int, int]]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(hubs, lift hubs, hours, cost) of one option's eligible arcs to mission j."""
    limit = np.inf if deadline is None else deadline + TIME_TOLERANCE
    col_h, col_c = o.hours[:, j], o.cost[:, j]
    ok = np.flatnonzero(np.isfinite(col_h) & (col_h <= limit))
    own = np.full(len(ok), -1 if o.lift_type is None else 0, dtype=np.int64)
    out = [(ok, np.where(own < 0, -1, ok), col_h[ok], col_c[ok])]
    if o.lift_type is not None and lenders and o.lift_type in network.positioning:
        pos_h, pos_c, pos_flight = network.positioning[o.lift_type]
        lift = instance.types[o.lift_type]
        per_hour = o.sorties * (lift.cost_per_flight_hour or 0.0)
        g = np.array([p[0] for p in lenders], dtype=np.int64)
        h = np.array([p[1] for p in lenders], dtype=np.int64)
        travel = col_h[h] - o.start
        start = np.maximum(o.start, lift.readiness_hours + pos_h[g, h])
        hours = start + travel
        keep = np.isfinite(hours) & (hours <= limit)
        # positioning flights are paid per flight hour (handling on the ground is not flown)
        cost = col_c[h] + (per_hour * pos_flight[g, h] if per_hour else o.sorties * pos_c[g, h])
        out.append((h[keep], g[keep], hours[keep], cost[keep]))
    return out


def eligible_arcs(instance: Instance, network: Network) -> Arcs:
    """All (demand, hub, option[, lending hub]) whose response time meets the deadline."""
    keys: list[tuple[str, str]] = []
    key_index: dict[tuple[str, str], int] = {}
    for t, opts in network.options.items():
        for o in opts:
            key_index[(t, o.name)] = len(keys)
            keys.append((t, o.name))
    lenders = _lenders(instance)
    names = ("demand", "hub", "option", "lift_hub", "contributor", "hours", "cost")
    accepts = [
        np.array([instance.accepts_hub(c, h.node) for h in instance.hubs], dtype=bool)
        for c in range(len(instance.spec.contributors))
    ]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    memo: dict[tuple, list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
    # In-mission reserves: the mission whose node hosts the hub (None for ordinary hubs).
    reserve_of = np.array([h.node if h.mission_reserve else "" for h in instance.hubs], dtype=object)
    lend_reserves = instance.options.lend_mission_reserves
    hub_pos = {h.node: i for i, h in enumerate(instance.hubs)}
    # Hubs at a node a scenario closes: they neither dispatch (see the disrupted options) nor lend lift.
    closed_hubs = {
        sc.id: np.array(sorted(hub_pos[n] for n in sc.disruption.closed_nodes if n in hub_pos), dtype=np.int64)
        for sc in instance.spec.scenarios
        if sc.disruption is not None and sc.disruption.closed_nodes
    }

    def withheld(owner: np.ndarray, mission: str, scenario: str) -> np.ndarray:
        """In-mission reserves kept home: another mission's reserve, unless lending is on and it is calm."""
        lent = (owner != "") & (owner != mission)
        if not lent.any():
            return lent
        return lent & np.isin(owner, list(instance.in_crisis[scenario])) if lend_reserves else lent

    for d_idx, d in enumerate(instance.demands):
        j = network.mission_index(d.mission)
        disrupted = d.scenario if d.scenario in network.scenario_options else None
        mk = (d.type, j, d.reach, disrupted)
        if mk not in memo:
            memo[mk] = [
                (key_index[(d.type, o.name)], hubs, lift_hubs, hrs, cst)
                for o in network.options_for(disrupted)[d.type]
                for hubs, lift_hubs, hrs, cst in _option_arcs(instance, network, o, j, d.reach, lenders)
                if len(hubs)
            ]
        for o_idx, hubs, lift_hubs, hrs, cst in memo[mk]:
            borrowed = (lift_hubs >= 0) & (lift_hubs != hubs)
            blocked = np.zeros(len(hubs), dtype=bool)
            if instance.has_mission_reserves:
                blocked |= withheld(reserve_of[hubs], d.mission, d.scenario)
                if borrowed.any():
                    blocked |= borrowed & withheld(reserve_of[np.maximum(lift_hubs, 0)], d.mission, d.scenario)
            if d.scenario in closed_hubs and borrowed.any():
                blocked |= borrowed & np.isin(lift_hubs, closed_hubs[d.scenario])
            if blocked.any():
                keep = ~blocked
                hubs, lift_hubs, hrs, cst = hubs[keep], lift_hubs[keep], hrs[keep], cst[keep]
                if not len(hubs):
                    continue
            contribs = instance.contributors_of.get(d.type)
            if contribs is None:
                groups = [(np.arange(len(hubs)), -1)]
            else:  # one arc per contributor that deploys there from a hub it accepts
                groups = [(np.flatnonzero(accepts[c][hubs]), c) for c in contribs if instance.will_deploy(c, d.mission)]
            for sel, c in groups:
                if not len(sel):
                    continue
                parts["demand"].append(np.full(len(sel), d_idx, dtype=np.int64))
                parts["hub"].append(hubs[sel].astype(np.int64))
                parts["option"].append(np.full(len(sel), o_idx, dtype=np.int64))
                parts["lift_hub"].append(lift_hubs[sel].astype(np.int64))
                parts["contributor"].append(np.full(len(sel), c, dtype=np.int64))
                parts["hours"].append(hrs[sel])
                parts["cost"].append(cst[sel])

    def cat(name: str, dtype: type) -> np.ndarray:
        return np.concatenate(parts[name]).astype(dtype) if parts[name] else np.zeros(0, dtype=dtype)

    hours = cat("hours", float)
    basis = instance.options.dispatch_cost
    cost = cat("cost", float) if basis == "network" else hours.copy() if basis == "hours" else np.zeros(len(hours))
    arcs = Arcs(
        demand=cat("demand", np.int64),
        hub=cat("hub", np.int64),
        option=cat("option", np.int64),
        lift_hub=cat("lift_hub", np.int64),
        contributor=cat("contributor", np.int64),
        hours=hours,
        cost=cost,
        option_keys=tuple(keys),
    )
    policy = instance.options.policy
    return arcs if policy == "pooled" else restrict_arcs(arcs, policy_mask(instance, network, arcs, policy))


# --- pooling policies: who may serve whom (`horizon.models.policies` explains them) ---------
def region_of(instance: Instance, node: str) -> str:
    """A node's region; a node without one is a region of its own."""
    n = instance.nodes.get(node)
    return n.region if n is not None and n.region else f"@{node}"


def policy_mask(instance: Instance, network: Network, arcs: Arcs, policy: str) -> np.ndarray:
    """Which eligible arcs a policy keeps (boolean array over `arcs`); applying it twice is harmless."""
    n = len(arcs)
    if policy == "pooled" or n == 0:
        return np.ones(n, dtype=bool)
    own_lift = (arcs.lift_hub < 0) | (arcs.lift_hub == arcs.hub)
    if policy == "single-hub":
        return own_lift
    missions = np.array([d.mission for d in instance.demands], dtype=object)[arcs.demand]
    hub_nodes = np.array(network.hubs, dtype=object)
    if policy == "dedicated":
        return (hub_nodes[arcs.hub] == missions) & own_lift
    # regional
    hub_region = np.array([region_of(instance, h) for h in network.hubs], dtype=object)
    mission_region = np.array([region_of(instance, m) for m in missions], dtype=object)
    ok = hub_region[arcs.hub] == mission_region
    lent = arcs.lift_hub >= 0
    ok[lent] &= hub_region[arcs.lift_hub[lent]] == mission_region[lent]
    return ok


def restrict_arcs(arcs: Arcs, keep: np.ndarray) -> Arcs:
    """The arcs where `keep` is true: every per-arc array column filtered, the rest kept."""
    n = len(arcs)
    columns = {}
    for f in fields(arcs):
        value = getattr(arcs, f.name)
        if isinstance(value, np.ndarray) and value.shape[:1] == (n,):
            columns[f.name] = value[keep]
    return replace(arcs, **columns)
