"""Synthetic instances of any size, plausible in geography and cost, feasible by construction.

`generate_spec(missions, hubs, types, scenarios, seed)` returns an `InstanceSpec`;
`horizon.optimizer.data.writer.write_instance(spec, path)` writes it as YAML, moving big tables to CSV files beside it.
Everything is drawn from one `numpy.random.Generator` seeded with `seed`, in a fixed
order, so the same arguments always give the same instance.

Design
------
Geography. Missions come in *clusters* (about one per six missions, at most one per hub),
each centred in a box shaped like a real theatre of operations (West Africa, Great Lakes,
Darfur/Chad, Horn of Africa, Levant, Sahel, Southern Africa, Western Sahara). Missions
scatter around their cluster centre (sigma about 130 km). Each cluster gets one *forward
hub* near its centre; the remaining hubs are *staging hubs* between two clusters. Every
node has an airfield: air links come from ``options.great_circle`` (mode ``air``,
``needs_lift``, up to the longest aircraft range). Road links join the nodes of a cluster
(a minimum spanning tree plus each mission's two nearest neighbours, 1.2–1.5 × the
great-circle distance); a staging hub gets a road to its nearest node when one is within
500 km.

Asset types cycle through the categories force, airlift, helicopter, force, force,
helicopter, airlift, force, helicopter (``types=3`` gives one of each), each drawn from a
template with figures from the facts file (`docs/un-peacekeeping-facts.md`):

* force packages (rifle-company QRF, formed police unit, engineer company, mechanised
  company): holding $2.2–4.5 M a year per unit (reimbursement × headcount × 1.25),
  readiness 24–96 h, road at 40 km/h or air when carried by the airlift types
  (``lift``: 2–10 sorties per unit);
* helicopters (Mi-17 at 230 km/h, Mi-35 at 265 km/h; range 450 km, so they hop between
  airfields with 3 h per leg): holding $2.5–5 M a year, $2,900–3,500 per flight hour;
* airlift (Il-76 at 800 km/h, C-130 at 540 km/h; 4–6 sorties per crisis window): holding
  $3.5–5 M a year, $6,500–10,000 per flight hour.

Hubs cost $5–30 M a year to keep open (forward hubs $5–20 M, staging hubs $10–30 M).

Scenarios. About 65 % are single-mission crises, the rest simultaneous crises at 2–3
missions (half of them within one cluster). Each mission has a risk weight (log-normal);
a scenario's weight is the mean risk of its missions, times 0.3 per extra mission, and
the weights are normalised to probabilities that sum to 1. A crisis demands 1–3 asset
types at its mission (airlift rarely: it is mostly the means that carries forces): 1–2
units of a force or airlift type, 1–4 helicopters. Single crises visit the missions in a
risk-weighted order before any mission gets a second one.

Deadlines and feasibility. Deadlines are **hard** by default (``deadlines="soft"`` gives
soft deadlines with penalties of 10 × a year's holding cost per unmet unit instead;
``split_loads=True`` sets ``options.split_loads``, which only relaxes the plan). Each
deadline is the type's nominal target (24 h–14 days: e.g. helicopters 24–72 h, formed
police 7–14 days) or, when the network cannot meet that, 1.1–1.6 × the fastest response
any hub achieves — computed with `horizon.optimizer.network.graph.build_network` on the drafted
network — rounded up to a whole hour. Types that cannot reach a mission at all (a
helicopter with no chain of legs within range) are not demanded there. This leaves a
*witness plan*: every hub open, every demand served from its fastest hub and option.
Fleet limits are set to 1.25 × the units that plan stations (lift included), and hub
capacities to at least the space it uses at each hub, so every generated instance with
hard deadlines is feasible.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.schema import InstanceSpec
from horizon.optimizer.network.graph import build_network, great_circle_km

#: Theatre boxes (lat_min, lat_max, lon_min, lon_max) that cluster centres are drawn in.
REGIONS: tuple[tuple[str, tuple[float, float, float, float]], ...] = (
    ("West Africa", (5.0, 11.0, -12.0, 0.0)),
    ("Great Lakes", (-5.0, 3.0, 17.0, 30.0)),
    ("Darfur-Chad", (10.0, 15.0, 16.0, 27.0)),
    ("Horn of Africa", (0.0, 10.0, 36.0, 46.0)),
    ("Levant", (31.0, 35.5, 34.5, 37.5)),
    ("Sahel", (13.0, 18.0, -6.0, 10.0)),
    ("Southern Africa", (-15.0, -8.0, 22.0, 34.0)),
    ("Western Sahara", (23.0, 28.0, -15.0, -9.0)),
)

#: Category of the i-th asset type (cycled).
CATEGORY_CYCLE = ("force", "airlift", "helicopter", "force", "force", "helicopter", "airlift", "force", "helicopter")

# Templates per category. holding in $/year per unit, deadlines (lo, hi) in hours,
# lift = sorties per unit of each airlift template (by template id).
FORCE_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "id": "qrf",
        "name": "Rifle company quick-reaction force (~150)",
        "holding": 2.3e6,
        "readiness": 24.0,
        "deadline": (48.0, 96.0),
        "space": 1.0,
        "lift": {"il76": 2.0, "c130": 2.0},
    },
    {
        "id": "fpu",
        "name": "Formed police unit (140)",
        "holding": 2.2e6,
        "readiness": 72.0,
        "deadline": (168.0, 336.0),
        "space": 1.0,
        "lift": {"il76": 2.0, "c130": 2.0},
    },
    {
        "id": "eng",
        "name": "Engineer company (~200)",
        "holding": 3.1e6,
        "readiness": 96.0,
        "deadline": (120.0, 336.0),
        "space": 2.0,
        "lift": {"il76": 4.0, "c130": 6.0},
    },
    {
        "id": "mech",
        "name": "Mechanised infantry company (~180, APCs)",
        "holding": 4.5e6,
        "readiness": 48.0,
        "deadline": (72.0, 168.0),
        "space": 2.0,
        "lift": {"il76": 6.0, "c130": 10.0},
    },
)
HELICOPTER_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "id": "mi17",
        "name": "Mi-17 utility helicopter",
        "holding": 5.0e6,
        "readiness": 12.0,
        "deadline": (24.0, 72.0),
        "space": 0.5,
        "speed": 230.0,
        "range": 450.0,
        "cph": 3500.0,
    },
    {
        "id": "mi35",
        "name": "Mi-35 attack helicopter",
        "holding": 2.5e6,
        "readiness": 12.0,
        "deadline": (24.0, 48.0),
        "space": 0.5,
        "speed": 265.0,
        "range": 450.0,
        "cph": 2900.0,
    },
)
AIRLIFT_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "id": "il76",
        "name": "Il-76 strategic airlift",
        "holding": 5.0e6,
        "readiness": 24.0,
        "deadline": (48.0, 120.0),
        "space": 1.0,
        "speed": 800.0,
        "range": 4500.0,
        "cph": 10000.0,
        "sorties": 4.0,
    },
    {
        "id": "c130",
        "name": "C-130 tactical airlift",
        "holding": 3.5e6,
        "readiness": 24.0,
        "deadline": (48.0, 96.0),
        "space": 1.0,
        "speed": 540.0,
        "range": 3800.0,
        "cph": 6500.0,
        "sorties": 6.0,
    },
)
TEMPLATES = {"force": FORCE_TEMPLATES, "helicopter": HELICOPTER_TEMPLATES, "airlift": AIRLIFT_TEMPLATES}

ROAD_SPEED_KMH = 40.0
ROAD_HANDLING_H = 2.0
ROAD_COST_PER_KM = 60.0  # $ per km per unit moved
AIR_HANDLING_H = 3.0
MISSIONS_PER_CLUSTER = 6
CLUSTER_SIGMA_DEG = 1.2
SIMULTANEOUS_SHARE = 0.35
#: Relative chance that a crisis asks for a type of each category (airlift is mostly a means).
CATEGORY_SHARE = {"force": 1.0, "helicopter": 0.8, "airlift": 0.25}
FLEET_MARGIN = 1.25
PENALTY_YEARS = 10.0  # soft deadlines: penalty per unmet unit = this × annual holding


def _asset_types(n: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, template) of `n` asset types, cycling through categories and templates."""
    used: dict[str, int] = defaultdict(int)
    chosen: list[tuple[str, dict[str, Any], str]] = []
    for i in range(n):
        cat = CATEGORY_CYCLE[i % len(CATEGORY_CYCLE)]
        temps = TEMPLATES[cat]
        k = used[cat]
        used[cat] += 1
        tmpl = temps[k % len(temps)]
        round_ = k // len(temps)
        tid = tmpl["id"] if round_ == 0 else f"{tmpl['id']}{round_ + 1}"
        chosen.append((cat, tmpl, tid))
    airlift = [(tmpl, tid) for cat, tmpl, tid in chosen if cat == "airlift"]
    out = []
    for cat, tmpl, tid in chosen:
        rec: dict[str, Any] = {
            "id": tid,
            "category": cat,
            "name": tmpl["name"],
            "holding_cost": tmpl["holding"],
            "readiness_hours": tmpl["readiness"],
            "space": tmpl["space"],
        }
        if cat == "force":
            rec["modes"] = ["road", "air"] if airlift else ["road"]
            if airlift:
                rec["lift"] = {lid: float(tmpl["lift"][lt["id"]]) for lt, lid in airlift}
        else:
            rec["modes"] = ["air"]
            rec["speed_kmh"] = tmpl["speed"]
            rec["range_km"] = tmpl["range"]
            rec["cost_per_flight_hour"] = tmpl["cph"]
            if cat == "airlift":
                rec["sorties_per_window"] = tmpl["sorties"]
        out.append((rec, tmpl))
    return out


def _clip(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


def _minimum_spanning_edges(points: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Prim's algorithm on great-circle distances (clusters are small)."""
    n = len(points)
    if n < 2:
        return []
    in_tree = [False] * n
    best = [math.inf] * n
    parent = [-1] * n
    best[0] = 0.0
    edges = []
    for _ in range(n):
        i = min((j for j in range(n) if not in_tree[j]), key=lambda j: (best[j], j))
        in_tree[i] = True
        if parent[i] >= 0:
            edges.append((parent[i], i))
        for j in range(n):
            if not in_tree[j]:
                d = great_circle_km(*points[i], *points[j])
                if d < best[j]:
                    best[j], parent[j] = d, i
    return edges


def _geography(rng: np.random.Generator, missions: int, hubs: int) -> tuple[list[dict], list[dict], list[dict], list[int]]:
    """Nodes, road links and hub records; also each mission's cluster index."""
    n_clusters = max(1, min(hubs, math.ceil(missions / MISSIONS_PER_CLUSTER)))
    region_order = rng.permutation(len(REGIONS))
    centres = []
    for c in range(n_clusters):
        name, (la0, la1, lo0, lo1) = REGIONS[int(region_order[c % len(REGIONS)])]
        centres.append((name, float(rng.uniform(la0, la1)), float(rng.uniform(lo0, lo1))))
    # Missions: round-robin over clusters, scattered around the centre (clipped at 2.5 sigma).
    width = len(str(max(missions, hubs)))
    nodes: list[dict] = []
    mission_cluster: list[int] = []
    cluster_members: dict[int, list[int]] = defaultdict(list)  # node positions
    for i in range(missions):
        c = i % n_clusters
        name, la, lo = centres[c]
        d_la, d_lo = rng.normal(0.0, CLUSTER_SIGMA_DEG, size=2)
        lim = 2.5 * CLUSTER_SIGMA_DEG
        lat = round(_clip(la + _clip(d_la, -lim, lim), -35.0, 37.0), 4)
        lon = round(_clip(lo + _clip(d_lo, -lim, lim), -18.0, 50.0), 4)
        nid = f"M{i + 1:0{width}d}"
        nodes.append({"id": nid, "kind": "mission", "name": f"Mission {i + 1}", "region": name, "lat": lat, "lon": lon})
        mission_cluster.append(c)
        cluster_members[c].append(len(nodes) - 1)
    # Hubs: one forward hub per cluster near its centre, the rest staging hubs between clusters.
    hub_recs: list[dict] = []
    staging: list[int] = []
    for h in range(hubs):
        nid = f"H{h + 1:0{width}d}"
        if h < n_clusters:
            name, la, lo = centres[h]
            lat, lon = la + rng.normal(0.0, 0.3), lo + rng.normal(0.0, 0.3)
            label, region, fixed = f"Forward hub {name}", name, rng.uniform(5e6, 20e6)
            cluster_members[h].append(len(nodes))
        else:
            a, b = rng.choice(n_clusters, size=2, replace=False) if n_clusters > 1 else (0, 0)
            t = rng.uniform(0.3, 0.7)
            (_, la_a, lo_a), (_, la_b, lo_b) = centres[int(a)], centres[int(b)]
            lat = la_a + t * (la_b - la_a) + rng.normal(0.0, 1.0)
            lon = lo_a + t * (lo_b - lo_a) + rng.normal(0.0, 1.0)
            label, region, fixed = f"Staging hub {h + 1}", "staging", rng.uniform(10e6, 30e6)
            staging.append(len(nodes))
        nodes.append(
            {
                "id": nid,
                "kind": "hub",
                "name": label,
                "region": region,
                "lat": round(_clip(lat, -35.0, 37.0), 4),
                "lon": round(_clip(lon, -18.0, 50.0), 4),
            }
        )
        hub_recs.append({"node": nid, "fixed_cost": float(round(fixed, -5)), "capacity": float(rng.integers(8, 31))})

    def pt(i: int) -> tuple[float, float]:
        return nodes[i]["lat"], nodes[i]["lon"]

    def road(i: int, j: int) -> dict:
        km = great_circle_km(*pt(i), *pt(j)) * rng.uniform(1.2, 1.5)
        return {"from": nodes[i]["id"], "to": nodes[j]["id"], "mode": "road", "distance_km": float(round(km, 1))}

    links: list[dict] = []
    seen: set[tuple[int, int]] = set()

    def add(i: int, j: int) -> None:
        key = (min(i, j), max(i, j))
        if i != j and key not in seen:
            seen.add(key)
            links.append(road(*key))

    for c in range(n_clusters):
        members = cluster_members[c]
        for a, b in _minimum_spanning_edges([pt(i) for i in members]):
            add(members[a], members[b])
        for i in members:
            if nodes[i]["kind"] != "mission":
                continue
            near = sorted((great_circle_km(*pt(i), *pt(j)), j) for j in members if j != i)
            for _, j in near[:2]:
                add(i, j)
    anchored = [j for j in range(len(nodes)) if j not in set(staging)]
    for s in staging:
        near = min(((great_circle_km(*pt(s), *pt(j)), j) for j in anchored), default=None)
        if near is not None and near[0] * 1.35 <= 500.0:
            add(s, near[1])
    return nodes, links, hub_recs, mission_cluster


def generate_spec(
    missions: int,
    hubs: int,
    types: int,
    scenarios: int,
    seed: int,
    *,
    deadlines: str = "hard",
    split_loads: bool = False,
) -> InstanceSpec:
    """A plausible synthetic instance, deterministic for `seed`; see the module docstring."""
    if missions < 1 or hubs < 1 or types < 1 or scenarios < 1:
        raise ValueError("missions, hubs, types and scenarios must all be at least 1")
    if deadlines not in ("hard", "soft"):
        raise ValueError("deadlines must be 'hard' or 'soft'")
    rng = np.random.default_rng(seed)
    nodes, links, hub_recs, mission_cluster = _geography(rng, missions, hubs)
    typed = _asset_types(types)
    type_recs, templates = [t for t, _ in typed], [tmpl for _, tmpl in typed]
    max_range = max([t.get("range_km", 0.0) for t in type_recs] + [450.0])
    draft = InstanceSpec.model_validate(
        {
            "name": f"generated-m{missions}-h{hubs}-k{types}-s{scenarios}-seed{seed}",
            "description": (
                f"Synthetic instance from horizon.optimizer.network.generate.generate_spec(missions={missions}, hubs={hubs}, "
                f"types={types}, scenarios={scenarios}, seed={seed}, deadlines={deadlines!r}"
                f"{', split_loads=True' if split_loads else ''}). Illustrative figures only."
            ),
            "options": {
                "deadlines": deadlines,
                "split_loads": split_loads,
                "great_circle": [{"mode": "air", "nodes": "all", "max_km": float(max_range)}],
            },
            "modes": [
                {
                    "id": "road",
                    "speed_kmh": ROAD_SPEED_KMH,
                    "handling_hours": ROAD_HANDLING_H,
                    "cost_per_km": ROAD_COST_PER_KM,
                },
                {"id": "air", "handling_hours": AIR_HANDLING_H, "needs_lift": True},
            ],
            "nodes": nodes,
            "links": links,
            "hubs": hub_recs,
            "asset_types": type_recs,
            "scenarios": [],
        }
    )
    network = build_network(Instance.from_spec(draft))
    mission_ids = [n["id"] for n in nodes if n["kind"] == "mission"]
    fastest = {(t["id"], m): network.fastest(t["id"], m) for t in type_recs for m in mission_ids}
    reachable = {m: [t["id"] for t in type_recs if math.isfinite(fastest[(t["id"], m)][0])] for m in mission_ids}
    tmpl_of = {t["id"]: t for t in type_recs}
    deadline_range = {t["id"]: tmpl["deadline"] for t, tmpl in zip(type_recs, templates)}

    # Scenarios: single crises and simultaneous ones, weighted by mission risk.
    risk = rng.lognormal(0.0, 0.6, size=missions)
    p_risk = risk / risk.sum()
    by_cluster: dict[int, list[int]] = defaultdict(list)
    for j, c in enumerate(mission_cluster):
        by_cluster[c].append(j)
    width = len(str(scenarios))
    scen_recs: list[dict] = []
    single_order: list[int] = []
    weights: list[float] = []
    for s in range(scenarios):
        k = 1
        if missions >= 2 and rng.random() < SIMULTANEOUS_SHARE:
            k = int(rng.integers(2, min(3, missions) + 1))
        if k == 1:  # singles walk a risk-weighted order of the missions before repeating one
            if not single_order:
                single_order = rng.choice(missions, size=missions, replace=False, p=p_risk).tolist()[::-1]
            first = int(single_order.pop())
        else:
            first = int(rng.choice(missions, p=p_risk))
        chosen = [first]
        pool = by_cluster[mission_cluster[first]] if rng.random() < 0.5 else list(range(missions))
        pool = [j for j in pool if j != first] or [j for j in range(missions) if j != first]
        if k > 1:
            sub = risk[pool] / risk[pool].sum()
            extra = rng.choice(len(pool), size=min(k - 1, len(pool)), replace=False, p=sub)
            chosen += [pool[int(e)] for e in extra]
        demands = []
        for j in chosen:
            m = mission_ids[j]
            cands = reachable[m]
            if not cands:
                continue
            n_types = int(rng.integers(1, min(3, len(cands)) + 1))
            share = np.array([CATEGORY_SHARE[tmpl_of[t]["category"]] for t in cands])
            picks = sorted(rng.choice(len(cands), size=n_types, replace=False, p=share / share.sum()).tolist())
            for p in picks:
                tid = cands[p]
                cat = tmpl_of[tid]["category"]
                units = int(rng.integers(1, 5 if cat == "helicopter" else 3))
                lo, hi = deadline_range[tid]
                nominal = float(rng.uniform(lo, hi))
                fast = fastest[(tid, m)][0] * float(rng.uniform(1.1, 1.6))
                demands.append(
                    {"mission": m, "type": tid, "units": float(units), "deadline_hours": float(math.ceil(max(nominal, fast)))}
                )
        names = [mission_ids[j] for j in chosen]
        if len(chosen) == 1:
            title, desc = f"Crisis at {names[0]}", f"Single-mission crisis at {names[0]}."
        else:
            title = f"Simultaneous crises at {', '.join(names)}"
            desc = f"{len(chosen)} simultaneous crises ({', '.join(names)})."
        weights.append(float(np.mean(risk[chosen])) * 0.3 ** (len(chosen) - 1))
        scen_recs.append({"id": f"S{s + 1:0{width}d}", "name": title, "description": desc, "demands": demands})
    total = math.fsum(weights)
    probs = [w / total for w in weights]
    probs[-1] = max(0.0, 1.0 - math.fsum(probs[:-1]))
    for rec, p in zip(scen_recs, probs):
        rec["probability"] = p

    # Witness plan: each demand from its fastest hub and option; fleets and capacities fit it.
    lift_sigma = {t["id"]: t.get("sorties_per_window") for t in type_recs if t["category"] == "airlift"}
    need: dict[tuple[int, str, str], float] = defaultdict(float)  # (scenario, hub, type) -> units
    for s, rec in enumerate(scen_recs):
        sorties: dict[tuple[str, str], float] = defaultdict(float)
        for d in rec["demands"]:
            _, hub, option = fastest[(d["type"], d["mission"])]
            need[(s, hub, d["type"])] += d["units"]
            if option and option.startswith("air:"):
                lt = option.split(":", 1)[1]
                sorties[(hub, lt)] += d["units"] * tmpl_of[d["type"]]["lift"][lt]
        for (hub, lt), n in sorties.items():
            need[(s, hub, lt)] += n / lift_sigma[lt]
    stock: dict[tuple[str, str], float] = defaultdict(float)
    for (_, hub, t), units in need.items():
        stock[(hub, t)] = max(stock[(hub, t)], math.ceil(units - 1e-9))
    per_type: dict[str, float] = defaultdict(float)
    per_hub_space: dict[str, float] = defaultdict(float)
    for (hub, t), units in stock.items():
        per_type[t] += units
        per_hub_space[hub] += units * tmpl_of[t]["space"]
    for t in type_recs:
        t["fleet_limit"] = float(max(2, math.ceil(FLEET_MARGIN * per_type[t["id"]])))
        if deadlines == "soft":
            t["penalty"] = PENALTY_YEARS * t["holding_cost"]
    for h in hub_recs:
        h["capacity"] = float(max(h["capacity"], math.ceil(per_hub_space[h["node"]])))

    data = draft.model_dump(by_alias=True, exclude_none=True)
    data["asset_types"] = type_recs
    data["hubs"] = hub_recs
    data["scenarios"] = scen_recs
    return InstanceSpec.model_validate(data)
