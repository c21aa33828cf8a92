"""Exact optima of the hand-solved instances (derivations in each file's header comment)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from recheck import recheck, unsupported_features

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.errors import InputError
from horizon.optimizer.pipeline import solve
from horizon.optimizer.solve.result import SolveOptions

HERE = Path(__file__).parent / "instances"
ROOT = Path(__file__).parent.parent / "instances"


def stationing(sol) -> dict[tuple[str, str], float]:
    return {(r["hub"], r["asset_type"]): r["units"] for r in sol.stationing}


def solve_checked(inst: Instance):
    sol = solve(inst)
    assert sol.status == "optimal", sol.message
    assert recheck(inst, sol) == []
    return sol


def with_options(inst: Instance, **updates) -> Instance:
    return inst.derive(options=inst.options.model_copy(update=updates))


CASES = {
    # file: (objective, open hubs, stationing)
    "tiny-two-hubs": (ROOT, 200.0, ["H2"], {("H2", "qrf"): 1}),
    "simultaneous-crises": (HERE, 230.0, ["H2"], {("H2", "qrf"): 2}),
    "airlift": (HERE, 230.0, ["HA"], {("HA", "bn"): 2, ("HA", "c130"): 4}),
    "helicopter-range": (HERE, 175.0, ["H1"], {("H1", "medevac"): 1}),
    "soft-deadlines": (HERE, 196.0, ["H"], {("H", "qrf"): 1}),
    "hub-limits": (HERE, 320.0, ["H0", "H3"], {("H3", "qrf"): 1}),
    "worst-case": (HERE, 190.0, ["H2"], {("H2", "qrf"): 1}),
    "split-loads": (HERE, 370.0, ["H"], {("H", "mech"): 2, ("H", "il76"): 1, ("H", "c130"): 3}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_optimum(name):
    folder, objective, hubs, stock = CASES[name]
    path = folder / f"{name}.yaml"
    inst = load_instance(path)
    sol = solve(path)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(objective, abs=1e-6)
    assert sol.bound == pytest.approx(objective, abs=1e-6)
    assert sorted(sol.open_hubs) == sorted(hubs)
    assert stationing(sol) == stock
    assert recheck(inst, sol) == []


def test_simultaneous_crises_dispatch_both_units_at_once():
    sol = solve_checked(load_instance(HERE / "simultaneous-crises.yaml"))
    both = sorted((r["mission"], r["hub"], r["units"]) for r in sol.dispatch if r["scenario"] == "both")
    assert both == [("A", "H2", 1.0), ("B", "H2", 1.0)]
    assert sol.costs == pytest.approx({"fixed": 150, "holding": 20, "dispatch": 60, "penalty": 0})


def test_airlift_aircraft_count_is_ceil_of_sorties():
    inst = load_instance(HERE / "airlift.yaml")
    sol = solve_checked(inst)
    assert {r["route"] for r in sol.dispatch} == {"air:c130"}
    assert all(r["response_hours"] == pytest.approx(8.0) for r in sol.dispatch)
    # 2 bn x 5 sorties = 10 sorties in the big scenario, 3 per aircraft -> 4 aircraft.
    assert stationing(sol)[("HA", "c130")] == 4
    # With 5 sorties per aircraft two suffice: 100 + 20 + 2*20 + 30 = 190.
    c130 = inst.types["c130"].model_copy(update={"sorties_per_window": 5})
    sol5 = solve_checked(inst.derive(asset_types=[inst.types["bn"], c130]))
    assert stationing(sol5)[("HA", "c130")] == 2
    assert sol5.objective == pytest.approx(190.0)


def test_airlift_without_aircraft_type_falls_back_to_road_hub():
    """Deadline 12 h is only met by air from HA; with 1 sortie per bn...(unchanged); drop the
    lift option and HR (road, 465) is the only way."""
    inst = load_instance(HERE / "airlift.yaml")
    bn = inst.types["bn"].model_copy(update={"modes": ["road"], "lift": {}})
    sol = solve_checked(inst.derive(asset_types=[bn, inst.types["c130"]]))
    assert sol.open_hubs == ["HR"]
    assert sol.objective == pytest.approx(465.0)


def test_helicopter_uses_fuel_stop_and_far_hub_is_ineligible():
    inst = load_instance(HERE / "helicopter-range.yaml")
    sol = solve_checked(inst)
    (row,) = sol.dispatch
    assert (row["hub"], row["route"], row["response_hours"]) == ("H1", "fly", 3.5)
    unlimited = inst.types["medevac"].model_copy(update={"range_km": None})
    free = solve_checked(inst.derive(asset_types=[unlimited]))
    assert free.open_hubs == ["H2"]
    assert free.objective == pytest.approx(97.5)


def test_soft_deadlines_leave_rare_demand_unmet():
    inst = load_instance(HERE / "soft-deadlines.yaml")
    sol = solve_checked(inst)
    assert sol.unmet == [{"scenario": "rare", "mission": "B", "asset_type": "qrf", "units": 1.0}]
    assert sol.costs["penalty"] == pytest.approx(50.0)
    hard = solve_checked(with_options(inst, deadlines="hard"))
    assert hard.objective == pytest.approx(457.0)
    assert sorted(hard.open_hubs) == ["H", "H2"]
    assert hard.unmet == []


def test_hub_limits_without_max_hubs():
    inst = load_instance(HERE / "hub-limits.yaml")
    sol = solve_checked(with_options(inst, max_hubs=None))
    assert sol.objective == pytest.approx(250.0)
    assert sorted(sol.open_hubs) == ["H0", "H1", "H2"]
    assert stationing(sol) == {("H1", "qrf"): 1, ("H2", "qrf"): 1}
    assert "H9" not in sol.open_hubs


def test_worst_case_differs_from_expected_and_budget_binds():
    inst = load_instance(HERE / "worst-case.yaml")
    worst = solve_checked(inst)
    assert worst.costs["worst_scenario"] == pytest.approx(60.0)
    expected = solve_checked(with_options(inst, objective="expected"))
    assert expected.objective == pytest.approx(129.0)
    assert expected.open_hubs == ["H1"]
    budget = solve_checked(with_options(inst, budget=120))
    assert budget.objective == pytest.approx(210.0)
    assert budget.open_hubs == ["H1"]
    assert {r["route"] for r in worst.dispatch} == {"route"}
    assert sorted(r["response_hours"] for r in worst.dispatch) == [6.0, 6.0]


def test_split_loads_fly_one_unit_on_two_lift_types():
    inst = load_instance(HERE / "split-loads.yaml")
    sol = solve_checked(inst)
    units = {r["route"]: r["units"] for r in sol.dispatch}
    assert sum(units.values()) == pytest.approx(2.0)
    assert units["air:il76"] * 6 <= 4 + 1e-6 and units["air:c130"] * 10 <= 18 + 1e-6
    assert 0 < units["air:il76"] < 1  # a share of one company's loads flies on the Il-76
    # Whole units per lift type (the default): 3 Il-76 or 2 + 2, 420.
    whole = solve_checked(with_options(inst, split_loads=False))
    assert whole.objective == pytest.approx(420.0)
    assert all(r["units"] == round(r["units"]) for r in whole.dispatch)


def test_recheck_wants_whole_units_per_hub_with_split_loads():
    inst = load_instance(HERE / "split-loads.yaml")
    sol = solve_checked(inst)
    rows = [dict(r) for r in sol.dispatch]
    rows[0]["units"] -= 0.5  # 1.5 companies arrive in all: the demand is short and a unit is cut
    problems = recheck(inst, replace(sol, dispatch=rows))
    assert any("not whole units" in p for p in problems), problems


def test_bundled_default_instance_rechecks():
    inst = load_instance(ROOT / "un-2009.yaml")
    assert unsupported_features(inst.spec) == []
    from horizon.optimizer.pipeline import prepare, solve_prepared

    sol, _ = solve_prepared(prepare(inst), SolveOptions(time_limit=20))
    assert sol.ok
    assert recheck(inst, sol) == []


LENDING = (Path(__file__).parent / "instances" / "lent-lift.yaml").read_text()


def test_lent_lift_response_time(tmp_path):
    """G lends its C-17 to H: start = max(0, 0 + positioning G->H 1 h + 2 h handling) = 3 h,
    then H -> M 1 h + 2 h handling: response 6 h."""
    path = tmp_path / "lent.yaml"
    path.write_text(LENDING)
    inst = load_instance(path)
    sol = solve(inst)
    (row,) = sol.dispatch
    assert (row["hub"], row["lift_hub"], row["route"]) == ("H", "G", "air:c17")
    assert row["response_hours"] == pytest.approx(6.0)
    assert stationing(sol) == {("H", "inf"): 1, ("G", "c17"): 1}
    assert recheck(inst, sol) == []


def test_lent_lift_positioning_cost(tmp_path):
    """Expected 26 = bn holding 1 + C-17 holding at G 5 + lift H->M 10 × 1 h + positioning G->H 10 × 1 h.
    (A C-17 at H instead costs 1000.)"""
    path = tmp_path / "lent.yaml"
    path.write_text(LENDING)
    inst = load_instance(path)
    sol = solve(inst)
    assert sol.objective == pytest.approx(26.0)
    assert recheck(inst, sol) == []


def test_helicopter_range_applies_on_a_mode_without_needs_lift(tmp_path):
    text = (HERE / "helicopter-range.yaml").read_text()
    path = tmp_path / "heli.yaml"
    path.write_text(text.replace("needs_lift: true, handling_hours: 0.5", "speed_kmh: 200, handling_hours: 0.5"))
    try:
        inst = load_instance(path)
    except InputError as exc:  # aircraft may only fly flown modes: the range cannot be bypassed
        assert "must be flown modes (needs_lift: true)" in str(exc)
        return
    sol = solve(inst)
    assert sol.objective == pytest.approx(175.0)
