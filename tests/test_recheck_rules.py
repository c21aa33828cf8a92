"""The independent re-check models the planning rules: engine solutions of the hand-solved rule
instances re-check clean, and corrupted solutions (a dispatch over a closed link, a late unit
beyond the service-level share, a contributor's unit where it will not go, an in-mission reserve
lent while its mission is in crisis) are reported."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from recheck import recheck, unsupported_features

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.schema import Disruption, ServiceLevel
from horizon.optimizer.pipeline import solve
from horizon.optimizer.results.solution import Solution

RULES = Path(__file__).parent / "instances" / "rules"
ROOT = Path(__file__).parent.parent / "instances"


def solved(inst: Instance) -> Solution:
    sol = solve(inst)
    assert sol.status == "optimal", sol.message
    return sol


def load(name: str) -> Instance:
    return load_instance(RULES / f"{name}.yaml")


def scenario(inst: Instance, sid: str, **update: Any) -> Instance:
    return inst.derive(scenarios=[s.model_copy(update=update) if s.id == sid else s for s in inst.spec.scenarios])


def options(inst: Instance, **update: Any) -> Instance:
    return inst.derive(options=inst.options.model_copy(update=update))


def rows(sol: Solution, table: str) -> list[dict[str, Any]]:
    return copy.deepcopy(getattr(sol, table))


def only(violations: list[str], *parts: str) -> None:
    """Exactly one violation, and it mentions every part."""
    assert len(violations) == 1, violations
    for part in parts:
        assert part in violations[0], violations


def some(violations: list[str], *parts: str) -> None:
    """Some violation mentions every part."""
    assert any(all(p in v for p in parts) for v in violations), violations


# --- the engine's solutions re-check clean ------------------------------------------------
@pytest.mark.parametrize("name", ["contributors", "disruption", "mission-reserve", "service-level"])
def test_rule_instances_recheck_clean(name: str) -> None:
    inst = load(name)
    assert unsupported_features(inst.spec) == []
    assert recheck(inst, solved(inst)) == []


def test_rule_variants_recheck_clean() -> None:
    dis = load("disruption")
    for d in (
        Disruption.model_validate({"slow_links": [{"from": "H1", "to": "A", "factor": 6}]}),
        Disruption(closed_nodes=["H1"]),
        Disruption.model_validate({"slow_links": [{"mode": "road", "factor": 1.2}]}),
    ):
        inst = scenario(dis, "rains", disruption=d)
        assert recheck(inst, solved(inst)) == []
    sl = load("service-level")
    for level in (
        ServiceLevel(share=0.4, final_deadline_factor=5.0, scope="scenario"),
        ServiceLevel(share=0.6, final_deadline_hours=20),
    ):
        inst = options(sl, service_level=level)
        assert recheck(inst, solved(inst)) == []
    mr = load("mission-reserve")
    inst = options(mr, lend_mission_reserves=False)
    assert recheck(inst, solved(inst)) == []


# --- disruptions ------------------------------------------------------------------------------
def test_dispatch_over_a_closed_link_is_caught() -> None:
    """The dry-weather plan (H1 serves A by road) is not a plan for the rains, which cut that road."""
    inst = load("disruption")
    dry = solved(scenario(inst, "rains", disruption=None))
    assert dry.open_hubs == ["H1"]
    only(recheck(inst, dry), "cannot reach A from H1", "scenario 'rains'")


def test_dispatch_through_a_closed_node_is_caught(tmp_path: Path) -> None:
    text = (RULES / "disruption.yaml").read_text()
    text = text.replace("  - {id: H2, kind: hub}\n", "  - {id: H2, kind: hub}\n  - {id: X, kind: junction}\n")
    text = text.replace(
        "  - {from: H1, to: A, mode: road, distance_km: 100}\n",
        "  - {from: H1, to: X, mode: road, distance_km: 50}\n  - {from: X, to: A, mode: road, distance_km: 50}\n",
    )
    text = text.replace("closed_links: [{from: H1, to: A, mode: road}]", "closed_nodes: [X]")
    path = tmp_path / "junction.yaml"
    path.write_text(text)
    inst = load_instance(path)
    assert solved(inst).objective == pytest.approx(160.0)  # the junction closed: H2 as before
    dry = solved(scenario(inst, "rains", disruption=None))
    only(recheck(inst, dry), "cannot reach A from H1", "scenario 'rains'")


def test_dispatch_from_a_closed_hub_is_caught() -> None:
    inst = scenario(load("disruption"), "rains", disruption=Disruption(closed_nodes=["H1"]))
    dry = solved(scenario(inst, "rains", disruption=None))
    only(recheck(inst, dry), "hub H1 is at a node closed in scenario 'rains'")


def test_slowed_links_are_recomputed_per_scenario() -> None:
    inst = load("disruption")
    dry = solved(scenario(inst, "rains", disruption=None))
    slow = scenario(inst, "rains", disruption=Disruption.model_validate({"slow_links": [{"from": "A", "factor": 6}]}))
    some(recheck(slow, dry), "rains/H1->A", "misses the deadline 10 h")  # 2 h x 6 = 12 h
    mild = scenario(inst, "rains", disruption=Disruption.model_validate({"slow_links": [{"mode": "road", "factor": 1.2}]}))
    only(recheck(mild, dry), "rains/H1->A", "response_hours 2.0 but recomputed 2.4")
    other_mode = scenario(inst, "rains", disruption=Disruption.model_validate({"slow_links": [{"mode": "air", "factor": 9}]}))
    assert recheck(other_mode, dry) == []


LENT = """
name: lent-lift
modes:
  - {id: air, needs_lift: true, handling_hours: 2}
  - {id: ferry, needs_lift: true, handling_hours: 2}
  - {id: road, speed_kmh: 50}
nodes:
  - {id: M, kind: mission}
  - {id: G, kind: mission}
  - {id: H, kind: hub}
links:
  - {from: G, to: H, mode: ferry, distance_km: 600}
  - {from: H, to: M, mode: air, distance_km: 600}
hubs:
  - {node: G, holding_cost: {c17: 5}, lends_lift_to: [H]}
  - {node: H, holding_cost: {c17: 1000}}
asset_types:
  - {id: inf, category: force, holding_cost: 1, modes: [air, road], lift: {c17: 1}}
  - {id: c17, category: airlift, modes: [air, ferry], speed_kmh: 600, sorties_per_window: 1, cost_per_flight_hour: 10}
scenarios:
  - id: s
    demands: [{mission: M, type: inf, units: 1}]
"""


def lent(tmp_path: Path, **hub_g: Any) -> Instance:
    """H's infantry flies to M on C-17s lent by G (a mission node); G's hub row updated by hub_g."""
    path = tmp_path / "lent.yaml"
    path.write_text(LENT)
    inst = load_instance(path)
    g, h = inst.spec.hubs
    return inst.derive(hubs=[g.model_copy(update=hub_g), h])


def test_lift_lent_from_a_closed_node_is_caught(tmp_path: Path) -> None:
    inst = lent(tmp_path)
    sol = solved(inst)
    assert [(r["hub"], r["lift_hub"]) for r in sol.dispatch] == [("H", "G")]
    closed = scenario(inst, "s", disruption=Disruption(closed_nodes=["G"]))
    only(recheck(closed, sol), "lift lent by G, a node closed in scenario 's'")


def test_engine_does_not_lend_lift_from_a_closed_node(tmp_path: Path) -> None:
    inst = scenario(lent(tmp_path), "s", disruption=Disruption(closed_nodes=["G"]))
    assert recheck(inst, solve(inst)) == []


# --- service levels ---------------------------------------------------------------------------
def one_more_unit_late(sol: Solution) -> Solution:
    """Move one unit from the near hub H1 (2 h) to the far hub H2 (18 h), costs kept consistent:
    only 1 of 5 units arrives within 10 h (40% are due)."""
    dispatch = rows(sol, "dispatch")
    for r in dispatch:
        r["units"] += -1.0 if r["hub"] == "H1" else 1.0
    stationing = rows(sol, "stationing")
    for r in stationing:
        r["units"] += -1.0 if r["hub"] == "H1" else 1.0
    levels = rows(sol, "service_levels")
    for r in levels:
        if r["tier"] == "deadline":
            r["units_within"], r["share"] = 1.0, 0.2
    holding = sol.costs["holding"] - 30 + 10
    return replace(
        sol,
        dispatch=dispatch,
        stationing=stationing,
        service_levels=levels,
        costs={**sol.costs, "holding": holding},
        objective=sol.costs["fixed"] + holding,
    )


def test_late_units_beyond_the_share_are_caught() -> None:
    inst = load("service-level")
    sol = solved(inst)
    assert {(r["hub"], r["units"]) for r in sol.dispatch} == {("H1", 2.0), ("H2", 3.0)}
    late = one_more_unit_late(sol)
    only(recheck(inst, late), "service level: 1 of 5 units of demand ('crisis', 'A', 'qrf')", "0.4 × 5 = 2")
    scoped = options(inst, service_level=inst.options.service_level.model_copy(update={"scope": "scenario"}))
    assert recheck(scoped, sol) == []
    only(recheck(scoped, late), "service level: 1 of 5 units of scenario 'crisis'")


def test_units_after_the_final_deadline_are_caught() -> None:
    inst = load("service-level")
    sol = solved(inst)
    early = options(inst, service_level=ServiceLevel(share=0.4, final_deadline_hours=15))
    some(recheck(early, sol), "crisis/H2->A", "misses the final deadline 15 h")
    untiered = options(inst, service_level=None)
    some(recheck(untiered, sol), "crisis/H2->A", "misses the deadline 10 h")


def test_misreported_service_levels_are_caught() -> None:
    inst = load("service-level")
    sol = solved(inst)
    levels = rows(sol, "service_levels")
    levels[0]["share"] = 1.0
    only(recheck(inst, replace(sol, service_levels=levels)), "service_levels row", "recomputed")
    out = recheck(inst, replace(sol, service_levels=[]))
    assert out == [
        "service_levels has no row for scenario 'crisis', tier 'deadline'",
        "service_levels has no row for scenario 'crisis', tier 'final'",
    ]


# --- contributor caveats --------------------------------------------------------------------
def test_contributor_sent_where_it_will_not_go_is_caught() -> None:
    inst = load("contributors")
    sol = solved(inst)
    dispatch = rows(sol, "dispatch")
    for r in dispatch:  # PAK -> B (region east), BGD -> A (mission excluded)
        r["contributor"] = {"PAK": "BGD", "BGD": "PAK"}[r["contributor"]]
    out = recheck(inst, replace(sol, dispatch=dispatch))
    assert len(out) == 2, out
    some(out, "both/H1->A", "BGD will not deploy to mission A")
    some(out, "both/H1->B", "PAK will not deploy to region east (B)")


def test_contributor_stock_and_pledges_are_caught() -> None:
    inst = load("contributors")
    sol = solved(inst)
    # a plan that ignores the caveats: H2 alone, no contributors named
    free = solved(inst.derive(contributors=[]))
    out = recheck(inst, free)
    some(out, "contributor None does not pledge qrf")
    some(out, "stationed at H2 but contributors provide 0")
    # PAK's unit moved to H2, which PAK does not accept
    contributions = rows(sol, "contributions")
    for r in contributions:
        if r["contributor"] == "PAK":
            r["hub"] = "H2"
    some(recheck(inst, replace(sol, contributions=contributions)), "of PAK stationed at H2, which PAK does not accept")
    # BGD credited with more than it pledged
    contributions = rows(sol, "contributions")
    for r in contributions:
        r["units"] = 3.0 if r["contributor"] == "BGD" else 0.0
    out = recheck(inst, replace(sol, contributions=contributions))
    some(out, "BGD provides 3 × qrf but pledged 2")
    some(out, "1 × qrf of PAK dispatched from H1 but PAK has only 0 there")


def test_contributor_caveats_on_the_bundled_instance() -> None:
    inst = load_instance(ROOT / "un-2009.yaml")
    sol = solved(inst)
    assert recheck(inst, sol) == []
    dispatch = rows(sol, "dispatch")
    fpu = next(r for r in dispatch if r["asset_type"] == "fpu" and r["mission"] == "UNAMID")
    fpu["contributor"] = "ctr-europe"  # accepts only BDS and VLC; will not deploy to Darfur
    out = recheck(inst, replace(sol, dispatch=dispatch))
    some(out, "ctr-europe will not deploy to region east_africa_sudan (UNAMID)")
    some(out, "ctr-europe does not accept hub")


# --- in-mission reserves ----------------------------------------------------------------------
def test_reserve_lent_while_its_mission_is_in_crisis_is_caught() -> None:
    inst = load("mission-reserve")
    sol = solved(inst)
    dispatch = rows(sol, "dispatch")
    both = [r for r in dispatch if r["scenario"] == "both"]
    assert {(r["hub"], r["mission"]) for r in both} == {("A", "A"), ("R", "B")}
    for r in both:  # A's reserve to B (4 h), R to A (8 h): in time, within stock
        r["hub"] = {"A": "R", "R": "A"}[r["hub"]]
        r["response_hours"] = 4.0 if r["hub"] == "A" else 8.0
    only(recheck(inst, replace(sol, dispatch=dispatch)), "both/A->B", "A's in-mission reserve, lent while A is in crisis")


def test_reserve_lent_when_lending_is_off_is_caught() -> None:
    inst = load("mission-reserve")
    sol = solved(inst)
    dispatch = rows(sol, "dispatch")
    for r in dispatch:
        if r["scenario"] == "b-alone":  # A is calm: its reserve may serve B
            r["hub"], r["response_hours"] = "A", 4.0
    lent_to_b = replace(sol, dispatch=dispatch)
    assert recheck(inst, lent_to_b) == []
    no_lending = options(inst, lend_mission_reserves=False)
    only(recheck(no_lending, lent_to_b), "b-alone/A->B", "lend_mission_reserves is false")


def test_reserve_lift_lent_while_its_mission_is_in_crisis_is_caught(tmp_path: Path) -> None:
    inst = lent(tmp_path)
    sol = solved(inst)  # G's C-17 flies H's infantry to M
    reserve = lent(tmp_path, mission_reserve=True)
    assert recheck(reserve, sol) == []  # G (a mission) is calm
    demand = reserve.spec.scenarios[0].demands[0]
    g_in_crisis = scenario(reserve, "s", demands=[demand, demand.model_copy(update={"mission": "G"})])
    some(recheck(g_in_crisis, sol), "s/H->M", "lift hub G is G's in-mission reserve, lent while G is in crisis")


def test_engine_does_not_lend_a_reserves_lift_while_its_mission_is_in_crisis(tmp_path: Path) -> None:
    inst = lent(tmp_path, mission_reserve=True)
    demand = inst.spec.scenarios[0].demands[0]
    inst = scenario(inst, "s", demands=[demand, demand.model_copy(update={"mission": "G"})])
    assert recheck(inst, solve(inst)) == []
