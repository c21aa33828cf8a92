"""Planning rules on hand-solved instances: service levels, disruptions, in-mission reserves."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.schema import Disruption, ServiceLevel
from horizon.optimizer.errors import InfeasibleError, InputError
from horizon.optimizer.pipeline import solve

RULES = Path(__file__).parent / "instances" / "rules"


def _scenario(inst: Instance, sid: str, **update) -> Instance:
    scen = [s.model_copy(update=update) if s.id == sid else s for s in inst.spec.scenarios]
    return inst.derive(scenarios=scen)


def test_service_level_splits_stock_between_near_and_far_hub() -> None:
    sol = solve(RULES / "service-level.yaml")
    assert sol.objective == pytest.approx(200.0)
    assert {(r["hub"], r["units"]) for r in sol.stationing} == {("H1", 2.0), ("H2", 3.0)}
    tiers = {r["tier"]: r["share"] for r in sol.service_levels}
    assert tiers == {"deadline": pytest.approx(0.4), "final": pytest.approx(1.0)}
    for row in sol.dispatch:  # every unit arrives by the final deadline, 2 by the first
        assert row["response_hours"] <= 48
    assert sum(r["units"] for r in sol.dispatch if r["response_hours"] <= 10) == pytest.approx(2.0)


def test_without_service_level_all_units_are_due_at_the_deadline() -> None:
    inst = load_instance(RULES / "service-level.yaml")
    hard = inst.derive(options=inst.options.model_copy(update={"service_level": None}))
    assert solve(hard).objective == pytest.approx(250.0)


def test_service_level_scope_scenario_and_factor() -> None:
    inst = load_instance(RULES / "service-level.yaml")
    level = ServiceLevel(share=0.4, final_deadline_factor=5.0, scope="scenario")  # 50 h
    sol = solve(inst.derive(options=inst.options.model_copy(update={"service_level": level})))
    assert sol.objective == pytest.approx(200.0)


def test_unreachable_share_is_explained() -> None:
    inst = load_instance(RULES / "service-level.yaml")
    scen = inst.spec.scenarios[0]
    demand = scen.demands[0].model_copy(update={"deadline_hours": 1.0})
    with pytest.raises(InfeasibleError, match="40% of 5 × qrf at A is due within 1 h"):
        solve(_scenario(inst, "crisis", demands=[demand]))


def test_closed_road_forces_the_far_hub() -> None:
    sol = solve(RULES / "disruption.yaml")
    assert sol.objective == pytest.approx(160.0)
    assert sol.open_hubs == ["H2"]


def test_slowed_road_and_closed_node_have_the_same_effect() -> None:
    inst = load_instance(RULES / "disruption.yaml")
    slow = Disruption.model_validate({"slow_links": [{"from": "H1", "to": "A", "factor": 6}]})  # 2 h -> 12 h
    assert solve(_scenario(inst, "rains", disruption=slow)).objective == pytest.approx(160.0)
    closed = Disruption(closed_nodes=["H1"])
    assert solve(_scenario(inst, "rains", disruption=closed)).objective == pytest.approx(160.0)
    mild = Disruption.model_validate({"slow_links": [{"mode": "road", "factor": 1.2}]})  # 2.4 h: still in time
    assert solve(_scenario(inst, "rains", disruption=mild)).objective == pytest.approx(110.0)


def test_disruption_recomputes_only_affected_profiles() -> None:
    from horizon.optimizer.network.graph import build_network

    inst = load_instance(RULES / "disruption.yaml")
    net = build_network(inst)
    assert set(net.scenario_options) == {"rains"}
    assert net.profiles_solved == 2  # the base road profile and its disrupted variant
    assert net.fastest("qrf", "A", "rains")[1] == "H2"
    assert net.fastest("qrf", "A", "dry")[1] == "H1"


def test_isolated_mission_is_explained() -> None:
    inst = load_instance(RULES / "disruption.yaml")
    cut = Disruption(closed_nodes=["A"])
    with pytest.raises((InfeasibleError, InputError), match="rains"):
        solve(_scenario(inst, "rains", disruption=cut))


def test_in_mission_reserve_is_not_lent_while_its_mission_is_in_crisis() -> None:
    sol = solve(RULES / "mission-reserve.yaml")
    assert sol.objective == pytest.approx(125.0)
    both = [r for r in sol.dispatch if r["scenario"] == "both"]
    assert {(r["hub"], r["mission"]) for r in both} == {("A", "A"), ("R", "B")}
    # Either unit may serve B when A is calm (no dispatch costs): both are in reach.
    assert {r["hub"] for r in sol.dispatch if r["scenario"] == "b-alone"} <= {"A", "R"}


def test_in_mission_reserve_lending_can_be_switched_off() -> None:
    inst = load_instance(RULES / "mission-reserve.yaml")
    alone = inst.derive(scenarios=[s.model_copy(update={"probability": 1.0}) for s in inst.spec.scenarios[:1]])
    assert solve(alone).objective == pytest.approx(10.0)  # A's reserve lent to B
    no_lending = alone.derive(options=alone.options.model_copy(update={"lend_mission_reserves": False}))
    assert solve(no_lending).objective == pytest.approx(115.0)  # R must be opened


def test_rule_references_are_validated(tmp_path: Path) -> None:
    text = (RULES / "disruption.yaml").read_text().replace("closed_links: [{from: H1, to: A, mode: road}]", "closed_nodes: [X9]")
    text = text.replace("- {node: H2, fixed_cost: 150}", "- {node: H2, fixed_cost: 150, mission_reserve: true}")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(InputError) as exc:
        load_instance(bad)
    msg = str(exc.value)
    assert "unknown node 'X9'" in msg
    assert "in-mission reserve sits at a mission node" in msg


def test_contributor_caveats_decide_stationing() -> None:
    sol = solve(RULES / "contributors.yaml")
    assert sol.objective == pytest.approx(120.0)
    assert sol.open_hubs == ["H1"]
    assert {(r["contributor"], r["hub"], r["units"]) for r in sol.contributions} == {("PAK", "H1", 1.0), ("BGD", "H1", 1.0)}
    assert {(r["mission"], r["contributor"]) for r in sol.dispatch} == {("A", "PAK"), ("B", "BGD")}


def test_without_caveats_the_cheap_hub_wins() -> None:
    inst = load_instance(RULES / "contributors.yaml")
    assert solve(inst.derive(contributors=[])).objective == pytest.approx(70.0)


def test_pledges_cap_the_units() -> None:
    inst = load_instance(RULES / "contributors.yaml")
    pak, bgd = inst.spec.contributors
    two_a = [s.model_copy(update={"demands": [s.demands[0].model_copy(update={"units": 2})]}) for s in inst.spec.scenarios]
    with pytest.raises(InfeasibleError, match="needs 2 × qrf at A but only PAK deploy there, with 1 unit"):
        solve(inst.derive(scenarios=two_a))


def test_infeasibility_from_caveats_names_them() -> None:
    inst = load_instance(RULES / "contributors.yaml")
    pak, bgd = inst.spec.contributors
    strict = bgd.model_copy(update={"exclude_regions": ["east"]})
    with pytest.raises(InfeasibleError, match="PAK will not deploy to region east; BGD will not deploy to region east"):
        solve(inst.derive(contributors=[pak, strict]))


def test_contributor_references_are_validated(tmp_path: Path) -> None:
    text = (
        (RULES / "contributors.yaml")
        .read_text()
        .replace("hubs: [H1], exclude_regions: [east]", "hubs: [X], exclude_regions: [north]")
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(InputError) as exc:
        load_instance(bad)
    assert "'X' is not a hub" in str(exc.value)
    assert "no node has region 'north'" in str(exc.value)
