"""Planner tools: pooling policies, sweeps (one model re-solved), marginal values, and their CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recheck import recheck

from horizon.models.policies import POLICIES, comparison_spec, policy_mask
from horizon.optimizer.commands.planning import COMMANDS
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.schema import InstanceSpec
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.network.graph import build_network, eligible_arcs
from horizon.optimizer.pipeline import solve
from horizon.optimizer.planning.tools import compare_policies, marginal, pareto_mask, solve_policy, sweep

ROOT = Path(__file__).parent.parent
UN = ROOT / "instances" / "un-2009.yaml"

# Three missions, one central hub. Road 50 km/h, 0.1 per km per unit; one QRF (holding 10)
# demanded at one mission per scenario (p = .4 A, .4 B, .2 C), deadline 10 h.
#   H–A 100 km (2 h, cost 10), H–B 100 km (cost 10), H–C 200 km (4 h, cost 20).
# Comparison base: missions A, B, C become hubs with the cheapest fixed cost (100).
#   pooled     open H: 100 + 10 + .4·10 + .4·10 + .2·20                    = 122
#              (open A instead: 110 + .4·20 + .2·30 = 124)
#   dedicated  A, B, C each with a QRF: 3 · (100 + 10)                      = 330
#   regional   west {H, A, B}: H 110 + 8 = 118; east {C}: C 110             = 228
#   single-hub H                                                            = 122
TINY = yaml.safe_load((Path(__file__).parent / "instances" / "three-missions.yaml").read_text())
EXPECTED = {"pooled": 122.0, "dedicated": 330.0, "regional": 228.0, "single-hub": 122.0}


def tiny(**changes) -> Instance:
    data = json.loads(json.dumps(TINY))
    for k, v in changes.items():
        data[k] = v
    return Instance.from_spec(InstanceSpec.model_validate(data))


@click.group()
def group() -> None:
    """The planner commands, as cli.py wires them."""


for _cmd in COMMANDS:
    group.add_command(_cmd)


def run(*args: object):
    result = CliRunner().invoke(group, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


# --- policies -------------------------------------------------------------------------------
def test_comparison_base_adds_mission_hubs_at_cheapest_cost():
    inst = tiny()
    spec = comparison_spec(inst.spec)
    hubs = {h.node: h for h in spec.hubs}
    assert set(hubs) == {"H", "A", "B", "C"}
    assert all(h.fixed_cost == 100 and h.capacity is None for n, h in hubs.items() if n != "H")
    assert {h.node for h in comparison_spec(inst.spec, mission_hubs=False).hubs} == {"H"}
    assert comparison_spec(inst.spec, mission_hub_cost=7).hubs[-1].fixed_cost == 7


def test_existing_hubs_relaxed_unless_kept():
    data = json.loads(json.dumps(TINY))
    data["hubs"][0]["status"] = "existing"
    inst = tiny(hubs=data["hubs"])
    assert comparison_spec(inst.spec).hubs[0].status == "candidate"
    assert comparison_spec(inst.spec, keep_existing=True).hubs[0].status == "existing"


def test_policy_masks():
    base = Instance.from_spec(comparison_spec(tiny().spec))
    net = build_network(base)
    arcs = eligible_arcs(base, net)
    mission = [base.demands[d].mission for d in arcs.demand]
    hub = [net.hubs[h] for h in arcs.hub]
    ded = policy_mask(base, net, arcs, "dedicated")
    assert all((h == m) == bool(k) for h, m, k in zip(hub, mission, ded))
    reg = policy_mask(base, net, arcs, "regional")
    region = {n.id: n.region for n in base.spec.nodes}
    assert all((region[h] == region[m]) == bool(k) for h, m, k in zip(hub, mission, reg))
    assert policy_mask(base, net, arcs, "pooled").all()


def test_hand_solved_policies():
    comp = compare_policies(tiny())
    ms = comp.metrics()
    for p, cost in EXPECTED.items():
        assert ms[p]["status"] == "optimal"
        assert ms[p]["total_cost"] == pytest.approx(cost, abs=1e-6)
    assert ms["pooled"]["open_hubs"] == ["H"]
    assert sorted(ms["dedicated"]["open_hubs"]) == ["A", "B", "C"]
    assert sorted(ms["regional"]["open_hubs"]) == ["C", "H"]
    assert ms["pooled"]["savings_vs_dedicated"] == pytest.approx(208.0)
    assert ms["pooled"]["savings_vs_dedicated_pct"] == pytest.approx(100 * 208 / 330)
    assert ms["pooled"]["mean_response_hours"] == pytest.approx(0.4 * 2 + 0.4 * 2 + 0.2 * 4)
    assert ms["pooled"]["worst_response_hours"] == pytest.approx(4.0)
    assert ms["dedicated"]["units"] == {"qrf": 3.0}
    # every policy's plan is a valid plan of the comparison instance once the in-mission reserve flags
    # are dropped (the policies set them differently, and mission_reserve only removes arcs)
    plain = comp.base.derive(hubs=[h.model_copy(update={"mission_reserve": False}) for h in comp.base.spec.hubs])
    assert all(h.mission_reserve for h in comp.base.spec.hubs if h.node != "H")
    for o in comp.outcomes:
        assert recheck(plain, o.solution) == []
    # dedicated dispatches only from the mission's own node
    ded = next(o for o in comp.outcomes if o.policy == "dedicated")
    assert all(r["hub"] == r["mission"] for r in ded.solution.dispatch)


def test_infeasible_policy_is_explained_not_fatal(tight):
    data = json.loads(json.dumps(TINY))
    tight(data)
    comp = compare_policies(tiny(scenarios=data["scenarios"]))
    ms = comp.metrics()
    assert ms["pooled"]["status"] == "optimal"
    assert ms["single-hub"]["status"] == "infeasible"
    assert any("no single hub reaches every demand in time" in r for r in ms["single-hub"]["reasons"])
    soft = compare_policies(tiny(scenarios=data["scenarios"]), soft_penalty=1000)
    sm = soft.metrics()["single-hub"]
    # H serves A and B; C is unmet: 110 + .4·10 + .4·10 + .2·1000
    assert sm["total_cost"] == pytest.approx(318.0)
    assert sm["coverage_pct"] == pytest.approx(80.0)


def test_dedicated_fleet_shortfall_explained():
    data = json.loads(json.dumps(TINY))
    data["asset_types"][0]["fleet_limit"] = 2
    out = solve_policy(Instance.from_spec(comparison_spec(tiny(asset_types=data["asset_types"]).spec)), "dedicated")
    assert out.status == "infeasible" and out.solution is None
    assert any("each mission holds its own peak, 3 units" in r and "fleet limit is 2" in r for r in out.reasons)


def test_hub_space_shortfall_explained(tight):
    data = json.loads(json.dumps(TINY))
    data["hubs"] = [{"node": "H", "fixed_cost": 100}, {"node": "C", "fixed_cost": 100, "capacity": 0}]
    tight(data)
    out = solve_policy(Instance.from_spec(comparison_spec(tiny(**data).spec)), "pooled")
    assert out.status == "infeasible"
    assert any(r.startswith("hub C: demands that only it can serve in time need 1 space units") for r in out.reasons)


def _fair(o_cheap, o_dear) -> None:
    """The cheaper policy has a plan whenever the dearer one has, and costs no more."""
    if o_dear.ok and o_dear.solution.status == "optimal":
        assert o_cheap.ok, (o_cheap.policy, o_cheap.reasons)
        tol = 1e-6 * max(1.0, abs(o_dear.solution.objective))
        assert o_cheap.solution.objective <= o_dear.solution.objective + tol, (o_cheap.policy, o_dear.policy)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    missions=st.integers(2, 6),
    hubs=st.integers(1, 3),
    types=st.integers(1, 4),
    scenarios=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    soft=st.booleans(),
    keep_existing=st.booleans(),
    worst_case=st.booleans(),
)
def test_pooled_never_costs_more(missions, hubs, types, scenarios, seed, soft, keep_existing, worst_case):
    """pooled ≤ regional ≤ dedicated and pooled ≤ single-hub on random generated instances."""
    spec = generate_spec(missions, hubs, types, scenarios, seed, deadlines="soft" if soft else "hard")
    first = spec.hubs[0].model_copy(update={"status": "existing"})
    spec = spec.model_copy(update={"hubs": [first, *spec.hubs[1:]]})
    if worst_case:
        spec = spec.model_copy(update={"options": spec.options.model_copy(update={"objective": "worst_case"})})
    comp = compare_policies(Instance.from_spec(spec), keep_existing=keep_existing)
    out = {o.policy: o for o in comp.outcomes}
    assert out["pooled"].ok  # generated instances are feasible by construction
    _fair(out["pooled"], out["dedicated"])
    _fair(out["pooled"], out["regional"])
    _fair(out["regional"], out["dedicated"])
    _fair(out["pooled"], out["single-hub"])


# --- sweeps: one model, bounds changed per point -------------------------------------------------
@pytest.fixture(scope="module")
def gen() -> Instance:
    return Instance.from_spec(generate_spec(7, 3, 3, 5, seed=11))


def _scaled(inst: Instance, scale: float) -> Instance:
    def upd(d):
        return d.model_copy(update={"deadline_hours": None if d.deadline_hours is None else d.deadline_hours * scale})

    return inst.derive(scenarios=[s.model_copy(update={"demands": [upd(d) for d in s.demands]}) for s in inst.spec.scenarios])


def _fresh(inst: Instance) -> float | None:
    from horizon.optimizer.errors import InfeasibleError

    try:
        sol = solve(inst)
    except InfeasibleError:
        return None
    return sol.objective if sol.ok else None


def test_deadline_sweep_matches_fresh_solves(gen):
    res = sweep(gen, "deadline-scale", [0.6, 1.0, 1.5])
    assert res.builds == 1
    for p in res.points:
        fresh = _fresh(_scaled(gen, p.value))
        if fresh is None:
            assert p.status == "infeasible"
        else:
            assert p.metrics["total_cost"] == pytest.approx(fresh, rel=1e-7)
    costs = [p.metrics["total_cost"] for p in res.points if p.status == "optimal"]
    assert costs == sorted(costs, reverse=True)  # looser deadlines never cost more


def test_budget_hub_and_fleet_sweeps_match_fresh_solves(gen):
    soft = gen.derive(options=gen.options.model_copy(update={"deadlines": "soft", "penalty": 5e7}))
    base = solve(soft)
    annual = base.costs["fixed"] + base.costs["holding"]
    res = sweep(soft, "budget", [0.5 * annual, annual])
    for p in res.points:
        fresh = solve(soft.derive(options=soft.options.model_copy(update={"budget": p.value})))
        assert p.metrics["total_cost"] == pytest.approx(fresh.objective, rel=1e-7)
        assert p.metrics["annual_cost"] <= p.value + 1e-6
    assert res.points[0].metrics["coverage_pct"] <= res.points[1].metrics["coverage_pct"] + 1e-9

    res = sweep(gen, "hubs", [1, 2, 3])
    for p in res.points:
        fresh = _fresh(gen.derive(options=gen.options.model_copy(update={"max_hubs": int(p.value)})))
        assert (p.metrics.get("total_cost") is None) == (fresh is None)
        if fresh is not None:
            assert p.metrics["total_cost"] == pytest.approx(fresh, rel=1e-7)
            assert p.metrics["hubs_used"] <= p.value

    t = gen.spec.asset_types[0]
    res = sweep(gen, f"fleet:{t.id}", [1, 3, 6])
    for p in res.points:
        types = [x.model_copy(update={"fleet_limit": p.value}) if x.id == t.id else x for x in gen.spec.asset_types]
        fresh = _fresh(gen.derive(asset_types=types))
        assert (p.metrics.get("total_cost") is None) == (fresh is None)
        if fresh is not None:
            assert p.metrics["total_cost"] == pytest.approx(fresh, rel=1e-7)
            assert p.metrics["units"][t.id] <= p.value + 1e-9


def test_pareto_mask():
    # minimise x, maximise y
    x = [1, 2, 3, 3, 4, None]
    y = [10, 30, 20, 30, 30, 50]
    assert pareto_mask(x, y, "low", "high") == [True, True, False, False, False, False]
    assert pareto_mask([1, 1], [5, 5]) == [True, False]  # equal points: the first is kept


def test_sweep_rejects_unknown_parameter(gen):
    from horizon.optimizer.errors import InputError

    with pytest.raises(InputError, match="unknown asset type"):
        sweep(gen, "fleet:nope", [1])
    with pytest.raises(InputError, match="unknown parameter"):
        sweep(gen, "speed", [1])


# --- marginal values ------------------------------------------------------------------------
def test_marginal_values_match_fresh_solves():
    # Hubs H and A, fleet of 1 QRF (binding: H holds it). +1 changes nothing (one unit serves
    # every scenario); -1 (no unit) leaves everything unmet.
    data = json.loads(json.dumps(TINY))
    data["asset_types"][0]["fleet_limit"] = 1
    hubs = [{"node": "H", "fixed_cost": 100}, {"node": "A", "fixed_cost": 100}]
    inst = tiny(asset_types=data["asset_types"], hubs=hubs, options={"deadlines": "soft", "penalty": 1000})
    res = marginal(inst, hubs=["H"])
    assert res.baseline["total_cost"] == pytest.approx(122.0)
    rows = {(r.item, r.change.split(" (")[0]): r for r in res.rows}
    plus = rows[("asset:qrf", "+1 pledged unit")]
    assert plus.delta_cost == pytest.approx(0.0)
    minus = rows[("asset:qrf", "-1 stationed unit")]
    assert minus.total_cost == pytest.approx(1000.0)  # nothing stationed: all unmet
    assert minus.coverage_pct == pytest.approx(0.0) and minus.delta_coverage_pp == pytest.approx(-100.0)
    closed = rows[("hub:H", "closed")]
    # without H: A, 110 + .4·20 (A→B) + .2·30 (A→C) = 124
    assert closed.total_cost == pytest.approx(124.0) and closed.delta_cost == pytest.approx(2.0)
    more = rows[("hubs", "+1 hub required")]
    assert more.total_cost == pytest.approx(_fresh(inst.derive(options=inst.options.model_copy(update={"min_hubs": 2}))))
    less = rows[("hubs", "-1 hub")]
    assert less.total_cost == pytest.approx(1000.0)  # no hub: everything unmet


def test_marginal_plus_one_when_fleet_binds(tight):
    # Only C reaches C in time, only H reaches A and B. Fleet 1 → H, C unmet (soft: 318);
    # +1 unit: H and C both hold one (228).
    data = tight(json.loads(json.dumps(TINY)))
    data["asset_types"][0]["fleet_limit"] = 1
    hubs = [{"node": "H", "fixed_cost": 100}, {"node": "C", "fixed_cost": 100}]
    inst = tiny(
        asset_types=data["asset_types"], scenarios=data["scenarios"], hubs=hubs, options={"deadlines": "soft", "penalty": 1000}
    )
    res = marginal(inst, ["qrf"])
    assert res.baseline["total_cost"] == pytest.approx(110 + 8 + 0.2 * 1000)
    plus = next(r for r in res.rows if r.change.startswith("+1"))
    assert plus.total_cost == pytest.approx(122 + 100 + 10 - 4)  # H serves A, B; C holds its own: 228
    assert plus.delta_coverage_pp == pytest.approx(20.0)
    assert [r.item for r in res.ranking()] == ["asset:qrf"]


def test_marginal_per_contributor():
    # tests/instances/rules/contributors.yaml with 2 QRF demanded at A, soft (1000 per unit):
    # only PAK (1 unit, at H1) deploys to A, so one unit at A is unmet: 100 + 2·10 + 1000.
    # One more from PAK serves it (130); one more from BGD (who will not go to A) changes nothing.
    inst = load_instance(ROOT / "tests" / "instances" / "rules" / "contributors.yaml")
    scen = inst.spec.scenarios[0]
    dem = [scen.demands[0].model_copy(update={"units": 2.0}), scen.demands[1]]
    inst = inst.derive(
        scenarios=[scen.model_copy(update={"demands": dem})],
        options=inst.options.model_copy(update={"deadlines": "soft", "penalty": 1000}),
    )
    res = marginal(inst, ["qrf"], hub_count_rows=False)
    assert res.baseline["total_cost"] == pytest.approx(1120.0)
    by = {r.contributor: r for r in res.rows if r.change.startswith("+1")}
    assert set(by) == {"PAK", "BGD"}
    assert by["PAK"].total_cost == pytest.approx(130.0) and by["PAK"].delta_coverage_pp == pytest.approx(100 / 3)
    assert by["BGD"].delta_cost == pytest.approx(0.0)
    assert res.ranking()[0].contributor == "PAK"


# --- CLI ------------------------------------------------------------------------------------
def test_cli_compare_tables_consistent(write, tmp_path):
    inst = write(tmp_path, TINY)
    out = tmp_path / "sols"
    r = run("compare", inst, "--csv", tmp_path / "cmp.csv", "--plot", tmp_path / "cmp.png", "--save-solutions", out, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["policies"] == list(POLICIES)
    for p, cost in EXPECTED.items():
        res = data["results"][p]
        assert res["total_cost"] == pytest.approx(cost)
        sol = json.loads((out / p / "solution.json").read_text())
        assert sol["objective"] == pytest.approx(res["total_cost"])
        assert sorted(sol["open_hubs"]) == sorted(res["open_hubs"])
        assert sum(s["units"] for s in sol["stationing"]) == pytest.approx(res["units_total"])
        assert (out / p / "instance.yaml").is_file() and json.loads((out / p / "planning.json").read_text())["policy"] == p
    with open(tmp_path / "cmp.csv", newline="") as fh:
        rows = {r[0]: r[1:] for r in csv.reader(fh)}
    assert rows["metric"] == list(POLICIES)
    assert [float(v) for v in rows["total cost"]] == pytest.approx([EXPECTED[p] for p in POLICIES])
    assert [float(v) for v in rows["savings vs dedicated"]] == pytest.approx([208.0, 0.0, 102.0, 208.0])
    assert _png_size(tmp_path / "cmp.png") == (1200, 500)


def test_cli_compare_terminal_table(write, tmp_path):
    r = run("compare", write(tmp_path, TINY), "--policy", "pooled", "--policy", "dedicated")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert any("pooled" in x and "dedicated" in x for x in lines)
    assert any(x.lstrip("│ ").startswith("total cost") and "122" in x and "330" in x for x in lines)
    assert any(x.lstrip("│ ").startswith("savings vs dedicated") and "208" in x for x in lines)


def test_cli_compare_infeasible_everywhere_exits_3(write, tmp_path):
    data = json.loads(json.dumps(TINY))
    data["asset_types"][0]["fleet_limit"] = 0
    r = run("compare", write(tmp_path, data))
    assert r.exit_code == 3
    assert "fleet limit" in r.output


def test_cli_compare_un2009(tmp_path):
    out = tmp_path / "un"
    r = run(
        "compare",
        UN,
        "--policy",
        "pooled",
        "--policy",
        "dedicated",
        "--policy",
        "single-hub",
        "--time-limit",
        "2",
        "--json",
        "--save-solutions",
        out,
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)["results"]
    assert data["pooled"]["status"] in ("optimal", "feasible")
    assert data["dedicated"]["status"] == "infeasible" and data["dedicated"]["reasons"]
    assert data["single-hub"]["status"] == "infeasible"
    added = json.loads(r.stdout)["settings"]["mission_hubs_added"]
    assert "MINUSTAH" in added and "MONUC" not in added  # MONUC is already a hub
    assert (out / "pooled" / "solution.json").is_file()
    assert not (out / "dedicated").exists()


def test_cli_sweep_generated(tmp_path):
    spec = generate_spec(7, 3, 3, 5, seed=11)
    from horizon.optimizer.data.writer import write_instance

    inst = tmp_path / "gen.yaml"
    write_instance(spec, inst)
    r = run("sweep", inst, "--param", "deadline-scale", "--from", "0.5", "--to", "2", "--steps", "4", "--out", tmp_path / "sw")
    assert r.exit_code == 0, r.output
    assert "model built once, solved" in r.stdout
    with open(tmp_path / "sw" / "sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(x["value"]) for x in rows] == [0.5, 1.0, 1.5, 2.0]
    solved = [x for x in rows if x["status"] == "optimal"]
    assert solved and any(x["pareto"] == "True" for x in solved)
    one = next(x for x in rows if float(x["value"]) == 1.0)
    assert float(one["total_cost"]) == pytest.approx(solve(Instance.from_spec(spec)).objective, rel=1e-7)
    assert _png_size(tmp_path / "sw" / "sweep.png") == (1200, 500)
    j = run("sweep", inst, "--param", "hubs", "--values", "1,3", "--out", tmp_path / "sw2", "--json")
    pts = json.loads(j.stdout)["points"]
    assert [p["value"] for p in pts] == [1.0, 3.0] and json.loads(j.stdout)["builds"] == 1


def test_cli_sweep_un2009(tmp_path):
    r = run(
        "sweep", UN, "--param", "deadline-scale", "--values", "0.25,1", "--time-limit", "2", "--out", tmp_path / "d", "--json"
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    tight, base = d["points"]
    # UN 2009 has a tiered (service-level) demand: every point is built afresh
    assert d["builds"] == d["solves"] == 1 and any("rebuilt" in n for n in d["notes"])  # 0.25: infeasible before building
    assert tight["status"] == "infeasible" and "no hub reaches it in time" in tight["note"]
    assert base["status"] in ("optimal", "feasible") and base["coverage_pct"] == pytest.approx(100.0)
    assert _png_size(tmp_path / "d" / "sweep.png") == (1200, 500)


def test_cli_sweep_budget_soft_coverage(tmp_path):
    spec = generate_spec(7, 3, 3, 5, seed=11)
    from horizon.optimizer.data.writer import write_instance

    inst = tmp_path / "gen.yaml"
    write_instance(spec, inst)
    r = run("sweep", inst, "--param", "budget", "--steps", "3", "--from", "1e7", "--to", "1e8", "--out", tmp_path / "b", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["notes"] and "soft deadlines" in d["notes"][0]
    pts = d["points"]
    assert [p["value"] for p in pts] == [1e7, 5.5e7, 1e8]
    assert all(p["annual_cost"] <= p["value"] + 1e-6 for p in pts)
    cov = [p["coverage_pct"] for p in pts]
    assert cov == sorted(cov) and cov[0] < cov[-1] == pytest.approx(100.0)
    assert next(p for p in pts if p["coverage_pct"] == pytest.approx(100.0))["pareto"]  # first full-coverage plan


def test_cli_sweep_bad_param(write, tmp_path):
    r = run("sweep", write(tmp_path, TINY), "--param", "fleet:zzz", "--values", "1", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "unknown asset type" in r.output


def test_cli_marginal(tight, write, tmp_path):
    data = tight(json.loads(json.dumps(TINY)))
    data["asset_types"][0]["fleet_limit"] = 1
    data["options"] = {"deadlines": "soft", "penalty": 1000}
    data["hubs"] = [{"node": "H", "fixed_cost": 100}, {"node": "C", "fixed_cost": 100}]
    inst = write(tmp_path, data)
    r = run("marginal", inst, "--csv", tmp_path / "m.csv")
    assert r.exit_code == 0, r.output
    assert "Ask contributors first for: qrf" in r.stdout
    with open(tmp_path / "m.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [x["item"] for x in rows] == ["asset:qrf", "asset:qrf", "hubs", "hubs"]
    j = json.loads(run("marginal", inst, "--asset", "qrf", "--json").stdout)
    assert j["ask_first"] == ["asset:qrf"] and len(j["rows"]) == 2
    assert run("marginal", inst, "--asset", "nope").exit_code == 2


def test_cli_marginal_un2009():
    r = run("marginal", UN, "--asset", "c130", "--time-limit", "2", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    rows = {x["change"].split(" (")[0]: x for x in d["rows"]}
    assert set(rows) == {"+1 pledged unit", "-1 stationed unit"}
    assert all(x["item"] == "asset:c130" for x in d["rows"])
    if d["baseline"]["units"]["c130"] == 0:
        assert rows["-1 stationed unit"]["delta_cost"] == 0.0 and "none stationed" in rows["-1 stationed unit"]["detail"]
    assert d["baseline"]["status"] in ("optimal", "feasible") and math.isfinite(d["baseline"]["total_cost"])


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
