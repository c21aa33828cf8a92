"""The Python API (`import horizon`): the CLI's results, Pyomo round trips, and instance edits."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import horizon
from horizon.cli import main
from horizon.optimizer.data.writer import write_instance

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"


@pytest.fixture(scope="module")
def inst() -> horizon.Instance:
    return horizon.load()


@pytest.fixture(scope="module")
def sol(inst: horizon.Instance) -> horizon.Solution:
    return horizon.solve(inst)


@pytest.fixture(scope="module")
def soft(inst: horizon.Instance) -> horizon.Instance:
    return horizon.edit.soften_deadlines(inst, 1e9)


def appsi_highs() -> pyo.SolverFactory:
    solver = pyo.SolverFactory("appsi_highs")
    if not solver.available():
        pytest.skip("appsi_highs unavailable")
    solver.config.mip_gap = 0.0
    return solver


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 3), result.output
    return result.stdout


# --- the public surface -----------------------------------------------------------------------
def test_public_names_resolve():
    from horizon.optimizer import errors
    from horizon.optimizer.data.instance import Instance

    for name in horizon.__all__:
        assert getattr(horizon, name) is not None, name
    assert horizon.Instance is Instance
    assert horizon.InputError is errors.InputError and issubclass(horizon.InputError, horizon.HorizonError)
    assert issubclass(horizon.InfeasibleError, horizon.HorizonError) and issubclass(horizon.SolverError, horizon.HorizonError)


# --- the CLI's results ------------------------------------------------------------------------
def test_solve_gives_the_cli_solution(sol: horizon.Solution):
    out = json.loads(cli("solve", "--json"))
    assert sol.status == out["status"] == "optimal"
    assert sol.objective == pytest.approx(out["objective"], rel=1e-9)
    assert sol.bound == pytest.approx(out["bound"], rel=1e-9)
    assert sorted(sol.open_hubs) == sorted(out["open_hubs"])
    assert sol.costs == pytest.approx(out["costs"], rel=1e-9)


def test_frames_are_the_plan(sol: horizon.Solution):
    f = sol.frames
    assert list(f.stationing.columns) == ["hub", "asset_type", "units"]
    assert f.stationing["units"].sum() == pytest.approx(sum(r["units"] for r in sol.stationing))
    assert len(f.dispatch) == len(sol.dispatch) and len(f.unmet) == len(sol.unmet) == 0
    assert isinstance(f.costs, pd.Series)
    assert f.costs[["fixed", "holding", "dispatch", "penalty"]].sum() == pytest.approx(sol.objective, rel=1e-9)


def test_to_dir_writes_what_solve_out_writes(sol: horizon.Solution, tmp_path: Path):
    cli("solve", "--out", str(tmp_path / "cli"))
    assert sol.to_dir(tmp_path / "api") == tmp_path / "api"
    names = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "api").iterdir())
    for name in names:
        if name.endswith(".csv"):
            assert (tmp_path / "api" / name).read_text() == (tmp_path / "cli" / name).read_text(), name
    ours, theirs = (json.loads((tmp_path / d / "solution.json").read_text()) for d in ("api", "cli"))
    assert {k: v for k, v in ours.items() if k != "timings"} == {k: v for k, v in theirs.items() if k != "timings"}


def test_errors_carry_the_cli_messages(inst: horizon.Instance, tmp_path: Path):
    broke = horizon.edit.set_budget(inst, 50e6)  # hard deadlines: no plan fits
    path = tmp_path / "broke.yaml"
    write_instance(broke.spec, path, csv_threshold=None)
    out = json.loads(cli("solve", str(path), "--json"))
    with pytest.raises(horizon.InfeasibleError) as info:
        horizon.solve(broke)
    assert out["status"] == "infeasible" and info.value.messages == out["errors"]


def test_solve_options_are_checked(inst: horizon.Instance):
    with pytest.raises(horizon.InputError, match="solver"):
        horizon.solve(inst, solver="no-such-solver")
    with pytest.raises(horizon.InputError, match="needs p"):
        horizon.solve(inst, classic="p-median")


def test_classic_model_as_the_cli_solves_it(inst: horizon.Instance):
    out = json.loads(cli("solve", str(TINY), "--json", "--classic", "p-median", "--p", "1"))
    sol = horizon.solve(horizon.load(TINY), classic="p-median", p=1)
    assert sol.objective == pytest.approx(out["objective"], rel=1e-9) and sol.classic == out["classic"]


# --- planner tools as tables -------------------------------------------------------------------
def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_sweep_table_is_sweep_csv(soft: horizon.Instance, tmp_path: Path):
    table = horizon.sweep(soft, "budget", [80e6, 90e6])
    path = tmp_path / "soft.yaml"
    write_instance(soft.spec, path, csv_threshold=None)
    cli("sweep", str(path), "--param", "budget", "--values", "80000000,90000000", "-o", str(tmp_path / "sw"), "--no-progress")
    rows = read_csv(tmp_path / "sw" / "sweep.csv")
    assert list(table.columns) == list(rows[0])
    assert table["total_cost"].tolist() == pytest.approx([float(r["total_cost"]) for r in rows], rel=1e-9)
    assert table["total_cost"].iloc[0] > table["total_cost"].iloc[1]  # the tighter budget leaves units unmet


def test_marginal_table_is_marginal_csv(inst: horizon.Instance, tmp_path: Path):
    table = horizon.marginal(inst, assets=["uh", "ah"], hub_count=False)
    cli("marginal", "--asset", "uh", "--asset", "ah", "--csv", str(tmp_path / "m.csv"), "--no-progress")
    rows = read_csv(tmp_path / "m.csv")
    assert list(table.columns) == list(rows[0])
    assert table["change"].tolist() == [r["change"] for r in rows]
    assert table["status"].tolist() == [r["status"] for r in rows]


def test_compare_table_and_set_policy_agree(soft: horizon.Instance, tmp_path: Path):
    # Without mission hubs and with existing hubs kept, the comparison base is the instance itself.
    table = horizon.compare(soft, ["pooled", "single-hub"], mission_hubs=False, keep_existing=True)
    assert list(table.columns) == ["pooled", "single-hub"] and table.index.name == "metric"
    single = horizon.solve(horizon.edit.set_policy(soft, "single-hub"))
    assert table.loc["total cost", "single-hub"] == pytest.approx(single.objective, rel=1e-9)
    assert len(single.open_hubs) == 1
    path = tmp_path / "soft.yaml"
    write_instance(soft.spec, path, csv_threshold=None)
    cli(
        "compare", str(path), "--policy", "pooled", "--policy", "single-hub", "--no-mission-hubs", "--keep-existing",
        "--csv", str(tmp_path / "c.csv"),
    )  # fmt: skip
    rows = {r["metric"]: r for r in read_csv(tmp_path / "c.csv")}
    assert list(table.index) == list(rows)
    assert float(rows["total cost"]["pooled"]) == pytest.approx(table.loc["total cost", "pooled"], rel=1e-9)


def test_set_policy_explains_infeasibility_in_its_terms(inst: horizon.Instance):
    with pytest.raises(horizon.InfeasibleError) as info:
        horizon.solve(horizon.edit.set_policy(inst, "regional"))
    assert "'regional'" in str(info.value) and any("allowed under 'regional'" in m for m in info.value.messages)


# --- Pyomo ------------------------------------------------------------------------------------
def test_pyomo_model_gives_the_same_optimum(inst: horizon.Instance, sol: horizon.Solution):
    model = horizon.build(inst)
    assert model.linear.n_cols == len(model.linear.column_names())
    pm = model.to_pyomo()
    results = appsi_highs().solve(pm)
    back = model.solution_from_pyomo(pm, results)
    assert back.status == "optimal" and back.gap == pytest.approx(0.0, abs=1e-9)
    assert back.objective == pytest.approx(sol.objective, rel=1e-9)
    assert back.costs == pytest.approx(sol.costs, rel=1e-6, abs=1e-6)


def test_model_keys_and_arcs_name_the_columns(inst: horizon.Instance, sol: horizon.Solution):
    model = horizon.build(inst)
    assert model.keys("open_hub") == [h.node for h in inst.hubs]
    assert len(model.keys("stationed")) == model.linear.vars["stationed"].size
    arcs = model.arcs()
    assert len(arcs) == model.linear.vars["dispatch"].size
    served = {(r["scenario"], r["hub"], r["mission"], r["asset_type"], r["route"]) for r in sol.dispatch}
    listed = set(arcs[["scenario", "hub", "mission", "asset_type", "route"]].itertuples(index=False, name=None))
    assert served <= listed
    with pytest.raises(horizon.InputError, match="unknown variable block"):
        model.keys("nonsense")


def helicopter_cap(model: horizon.Model, pm: pyo.ConcreteModel, cap: float) -> set[str]:
    heli = {t.id for t in model.instance.spec.asset_types if t.category == "helicopter"}
    keys = model.keys("stationed")
    pm.cap = pyo.ConstraintList()
    for hub in {h for h, _ in keys}:
        cols = [i for i, (h, k) in enumerate(keys) if h == hub and k in heli]
        if cols:
            pm.cap.add(sum(pm.stationed[i] for i in cols) <= cap)
    return heli


def helicopters_per_hub(sol: horizon.Solution, heli: set[str]) -> pd.Series:
    s = sol.frames.stationing
    return s[s.asset_type.isin(heli)].groupby("hub")["units"].sum()


def test_custom_constraint_changes_the_plan(soft: horizon.Instance):
    before = horizon.solve(soft)
    model = horizon.build(soft)
    pm = model.to_pyomo()
    heli = helicopter_cap(model, pm, 2)
    assert helicopters_per_hub(before, heli).max() > 2  # the cap binds
    after = horizon.read_pyomo(model, pm, appsi_highs().solve(pm))
    assert after.status == "optimal"
    assert helicopters_per_hub(after, heli).max() <= 2
    assert after.objective >= before.objective - 1e-6 * abs(before.objective)
    assert after.frames.stationing.equals(before.frames.stationing) is False


def test_plot_and_report_read_a_plan_solved_in_pyomo(soft: horizon.Instance, tmp_path: Path):
    model = horizon.build(soft)
    pm = model.to_pyomo()
    helicopter_cap(model, pm, 2)
    capped = model.solution_from_pyomo(pm, appsi_highs().solve(pm))
    plan = capped.to_dir(tmp_path / "plan", instance=soft)
    assert horizon.load(plan / "instance.yaml").options.deadlines == "soft"  # the edited instance, not its source
    for args in (["report", str(plan), "-o", str(tmp_path / "report.md")], ["plot", str(plan), "-o", str(tmp_path / "map.png")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    assert "soft" in (tmp_path / "report.md").read_text() and (tmp_path / "map.png").stat().st_size > 0


def test_custom_constraint_infeasible_under_hard_deadlines(inst: horizon.Instance):
    model = horizon.build(inst)
    pm = model.to_pyomo()
    helicopter_cap(model, pm, 2)
    results = appsi_highs().solve(pm, load_solutions=False)
    back = model.solution_from_pyomo(pm, results)
    assert back.status == "infeasible" and back.objective is None and back.stationing == []


def test_read_pyomo_rejects_another_model(inst: horizon.Instance):
    other = horizon.build(horizon.load(TINY)).to_pyomo()
    with pytest.raises(horizon.InputError, match="columns"):
        horizon.build(inst).solution_from_pyomo(other)


# --- edits ------------------------------------------------------------------------------------
def hub_of(inst: horizon.Instance, node: str) -> tuple[float, float | None]:
    hub = next(h for h in inst.spec.hubs if h.node == node)
    return hub.fixed_cost, hub.capacity


EDITS = [
    ("set_hub", ("KWI",), {"status": "excluded"}, lambda i: "KWI" not in [h.node for h in i.hubs]),
    ("set_hub", ("EBB",), {"fixed_cost": 1.0, "capacity": math.inf}, lambda i: hub_of(i, "EBB") == (1.0, None)),
    ("set_fleet_limit", ("uh", 3), {}, lambda i: i.types["uh"].fleet_limit == 3),
    ("set_fleet_limit", ("uh", None), {}, lambda i: i.types["uh"].fleet_limit is None),
    ("set_holding_cost", ("qrf", 1.0), {}, lambda i: i.types["qrf"].holding_cost == 1.0),
    ("set_budget", (9e7,), {}, lambda i: i.options.budget == 9e7),
    ("set_hub_count", (), {"min_hubs": 2, "max_hubs": 4}, lambda i: (i.options.min_hubs, i.options.max_hubs) == (2, 4)),
    ("set_crises_per_year", (2.5,), {}, lambda i: i.options.crises_per_year == 2.5),
    ("scale_deadlines", (2.0,), {}, lambda i: i.demands[0].deadline == 2 * horizon.load().demands[0].deadline),
    ("keep_scenarios", (["sudan-wide"],), {}, lambda i: [s.id for s in i.spec.scenarios] == ["sudan-wide"]),
    ("set_policy", ("single-hub",), {}, lambda i: (i.options.policy, i.options.max_hubs) == ("single-hub", 1)),
    ("soften_deadlines", (5e6,), {}, lambda i: (i.options.deadlines, i.options.penalty) == ("soft", 5e6)),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "applied"), EDITS, ids=[e[0] for e in EDITS])
def test_edit_returns_a_new_instance(inst: horizon.Instance, name, args, kwargs, applied):
    before = inst.spec.model_dump()
    edited = getattr(horizon.edit, name)(inst, *args, **kwargs)
    assert edited is not inst and isinstance(edited, horizon.Instance)
    assert applied(edited)
    assert edited.spec != inst.spec
    assert inst.spec.model_dump() == before  # the original is unchanged


def test_soften_deadlines_none_restores_hard(inst: horizon.Instance, soft: horizon.Instance):
    hard = horizon.edit.soften_deadlines(soft, None)
    assert (hard.options.deadlines, hard.options.penalty) == ("hard", None)
    assert hard.spec == inst.spec


BAD_EDITS = [
    ("set_hub", ("ATLANTIS",), {"fixed_cost": 1.0}, "unknown hub 'ATLANTIS'"),
    ("set_hub", ("EBB",), {"fixed_cost": -1.0}, "hubs[2] (id 'EBB').fixed_cost: Input should be greater than or equal to 0"),
    ("set_hub", ("EBB",), {"status": "closed"}, "hubs[2] (id 'EBB').status"),
    ("set_fleet_limit", ("tank", 3), {}, "unknown asset type 'tank'"),
    ("set_fleet_limit", ("uh", 2.5), {}, "fleet_limit of an indivisible type must be a whole number"),
    ("set_holding_cost", ("qrf", -5.0), {}, "holding_cost: Input should be greater than or equal to 0"),
    ("set_budget", (-1.0,), {}, "options.budget"),
    ("set_hub_count", (), {"min_hubs": 5, "max_hubs": 2}, "min_hubs 5 > max_hubs 2"),
    ("set_crises_per_year", (0.0,), {}, "options.crises_per_year: Input should be greater than 0"),
    ("scale_deadlines", (-1.0,), {}, "deadline scale must be a finite number"),
    ("keep_scenarios", (["sudan-wide", "martian-invasion"],), {}, "unknown scenario 'martian-invasion'"),
    ("keep_scenarios", ([],), {}, "at least one scenario"),
    ("set_policy", ("anarchy",), {}, "unknown policy 'anarchy'"),
    ("soften_deadlines", (-3.0,), {}, "options.penalty"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "message"), BAD_EDITS, ids=[f"{e[0]}-{e[3][:20]}" for e in BAD_EDITS])
def test_bad_edit_raises_the_loaders_message(inst: horizon.Instance, name, args, kwargs, message):
    with pytest.raises(horizon.InputError) as info:
        getattr(horizon.edit, name)(inst, *args, **kwargs)
    assert any(message in m for m in info.value.messages), info.value.messages


def test_single_hub_keeps_one_hub(inst: horizon.Instance):
    single = horizon.edit.set_policy(inst, "single-hub")
    with pytest.raises(horizon.InputError) as info:
        horizon.edit.set_hub_count(single, max_hubs=3)
    assert any("options.policy: the single-hub policy needs max_hubs: 1 (max_hubs is 3)" in m for m in info.value.messages)


def test_edit_names_the_file_like_the_loader(inst: horizon.Instance):
    with pytest.raises(horizon.InputError) as info:
        horizon.edit.set_holding_cost(inst, "qrf", -5.0)
    assert str(info.value).startswith(f"{inst.source}: invalid instance (1 problem(s))")
    assert info.value.messages[0].startswith("un-2009.yaml: asset_types[0] (id 'qrf').holding_cost")


SCENARIOS = [s.id for s in horizon.load().spec.scenarios]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SCENARIOS), min_size=1, unique=True))
def test_keep_scenarios_renormalises(inst: horizon.Instance, ids: list[str]):
    kept = horizon.edit.keep_scenarios(inst, ids)
    assert [s.id for s in kept.spec.scenarios] == [s for s in SCENARIOS if s in ids]
    assert math.fsum(kept.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
    ratio = {s: kept.probabilities[s] / inst.probabilities[s] for s in ids if inst.probabilities[s] > 0}
    assert max(ratio.values()) == pytest.approx(min(ratio.values()), rel=1e-9)  # relative weights kept
    assert {d.scenario for d in kept.demands} <= set(ids)


factors = st.floats(min_value=0.05, max_value=20.0, allow_nan=False)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(factors, factors)
def test_scale_deadlines_composes(inst: horizon.Instance, a: float, b: float):
    twice = horizon.edit.scale_deadlines(horizon.edit.scale_deadlines(inst, a), b)
    once = horizon.edit.scale_deadlines(inst, a * b)
    for x, y, d in zip(twice.demands, once.demands, inst.demands):
        if d.deadline is None:
            assert x.deadline is None and y.deadline is None
        else:
            assert x.deadline == pytest.approx(y.deadline, rel=1e-12)
            assert x.deadline == pytest.approx(d.deadline * a * b, rel=1e-12)
