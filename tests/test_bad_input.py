"""Bad input: clear messages naming file and field/row, all at once, exit 2, no traceback.

Provably infeasible instances exit 3 with an explanation in the planner's terms.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from horizon.cli import main
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.errors import InfeasibleError, InputError

TINY = Path(__file__).parent.parent / "instances" / "tiny-two-hubs.yaml"


@pytest.fixture
def base() -> dict:
    return yaml.safe_load(TINY.read_text())


def write(tmp_path: Path, data: dict, name: str = "bad.yaml") -> Path:
    p = tmp_path / name
    if name.endswith(".json"):
        p.write_text(json.dumps(data))
    else:
        p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def run(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def invalid(path: Path, *needles: str, command: str = "validate") -> str:
    """Run the CLI on `path`; expect exit 2 and every needle in the error output."""
    result = run(command, path)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # undo rich's line wrapping
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{result.output}"
    return text


# --- files that cannot be read -------------------------------------------------------------
def test_missing_file(tmp_path):
    invalid(tmp_path / "nope.yaml", "nope.yaml", "not found")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.yaml"
    p.write_text("")
    invalid(p, "empty.yaml", "empty")


def test_comment_only_file(tmp_path):
    p = tmp_path / "comments.yaml"
    p.write_text("# nothing here yet\n")
    text = invalid(p, "comments.yaml")
    assert "NoneType" not in text


def test_directory_instead_of_file(tmp_path):
    invalid(tmp_path, str(tmp_path.name), command="validate")


def test_yaml_syntax_error_names_line(tmp_path):
    p = tmp_path / "syntax.yaml"
    p.write_text("name: x\nnodes:\n  - {id: A, kind: mission\nhubs: []\n")
    text = invalid(p, "syntax.yaml", "YAML syntax error")
    assert re.search(r"line [34]\b", text), text


def test_yaml_tab_indentation(tmp_path):
    p = tmp_path / "tabs.yaml"
    p.write_text("name: x\n\tnodes: []\n")
    invalid(p, "tabs.yaml", "YAML syntax error", "line 2")


def test_json_syntax_error_names_line(tmp_path):
    p = tmp_path / "syntax.json"
    p.write_text('{"name": "x",\n "nodes": [}\n')
    invalid(p, "syntax.json", "JSON syntax error", "line 2")


def test_yaml_duplicate_section_is_an_error(tmp_path):
    """PyYAML keeps the last of two equal keys; a second `hubs:` must not silently win."""
    text = TINY.read_text() + "hubs:\n  - {node: H1, fixed_cost: 1}\n"
    p = tmp_path / "dup.yaml"
    p.write_text(text)
    invalid(p, "dup.yaml", "duplicate key 'hubs'", f"line {len(text.splitlines()) - 1}")


def test_yaml_duplicate_field_in_a_row_is_an_error(tmp_path):
    p = tmp_path / "dup.yaml"
    p.write_text(TINY.read_text().replace("fixed_cost: 100}", "fixed_cost: 100, fixed_cost: 5}"))
    invalid(p, "duplicate key 'fixed_cost'")


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    text = (
        TINY.read_text()
        .replace("hubs:\n  - {node: H1, fixed_cost: 100}", "hubs:\n  - &h1 {node: H1, fixed_cost: 100}")
        .replace("  - {node: H2, fixed_cost: 150}", "  - {<<: *h1, node: H2, fixed_cost: 150}")
    )
    p = tmp_path / "merge.yaml"
    p.write_text(text)
    assert [h.fixed_cost for h in load_instance(p).hubs] == [100, 150]


def test_json_duplicate_key_is_an_error(tmp_path):
    p = tmp_path / "dup.json"
    p.write_text('{"name": "x", "hubs": [], "hubs": [{"node": "H1"}]}')
    invalid(p, "dup.json", "duplicate key 'hubs'")


def test_json_with_byte_order_mark_loads(tmp_path):
    p = tmp_path / "bom.json"
    p.write_text("\ufeff" + json.dumps(yaml.safe_load(TINY.read_text())), encoding="utf-8")
    assert load_instance(p).name == "tiny-two-hubs"


@pytest.mark.parametrize("text,kind", [("- a\n- b\n", "a list"), ("just a string\n", "a string"), ("42\n", "a number")])
def test_top_level_not_a_mapping(tmp_path, text, kind):
    p = tmp_path / "top.yaml"
    p.write_text(text)
    invalid(p, "top.yaml", "must be a mapping", f"got {kind}")


# --- schema: field-level ------------------------------------------------------------------
def test_negative_quantity(tmp_path, base):
    base["hubs"][0]["fixed_cost"] = -5
    invalid(write(tmp_path, base), "bad.yaml", "hubs[0] (id 'H1').fixed_cost", "greater than or equal to 0", "-5")


def test_negative_demand_units(tmp_path, base):
    base["scenarios"][1]["demands"][0]["units"] = -1
    invalid(write(tmp_path, base), "scenarios[1] (id 'crisis-B').demands[0].units", "greater than 0")


def test_non_numeric_quantity(tmp_path, base):
    base["links"][2]["distance_km"] = "far"
    invalid(write(tmp_path, base), "links[2].distance_km", "valid number", "'far'")


def test_nan_and_inf_rejected(tmp_path, base):
    p = tmp_path / "nan.yaml"
    text = TINY.read_text().replace("fixed_cost: 100", "fixed_cost: .nan").replace("speed_kmh: 50", "speed_kmh: .inf")
    p.write_text(text)
    invalid(p, "hubs[0] (id 'H1').fixed_cost", "modes[0] (id 'road').speed_kmh")


def test_unknown_field_typo(tmp_path, base):
    base["hubs"][1]["fixd_cost"] = base["hubs"][1].pop("fixed_cost")
    invalid(write(tmp_path, base), "hubs[1] (id 'H2').fixd_cost", "unknown field", "fixed_cost")


def test_unknown_top_level_section(tmp_path, base):
    base["scenario"] = base.pop("scenarios")
    invalid(write(tmp_path, base), "bad.yaml: scenario: unknown field", "bad.yaml: scenarios: required field is missing")


def test_wrong_enum_value(tmp_path, base):
    base["asset_types"][0]["category"] = "infantry"
    invalid(write(tmp_path, base), "asset_types[0] (id 'qrf').category", "'force'", "'infantry'")


# --- cross-table references -----------------------------------------------------------------
def test_unknown_node_reference(tmp_path, base):
    base["links"][0]["to"] = "Z"
    invalid(write(tmp_path, base), "bad.yaml: links[0].to: unknown node 'Z'")


def test_unknown_hub_node(tmp_path, base):
    base["hubs"].append({"node": "H7"})
    invalid(write(tmp_path, base), "hubs[2] (id 'H7').node: unknown node 'H7'")


def test_unknown_type_reference(tmp_path, base):
    base["scenarios"][0]["demands"][0]["type"] = "qrff"
    invalid(write(tmp_path, base), "scenarios[0] (id 'crisis-A').demands[0].type: unknown asset type 'qrff'")


def test_unknown_mission_reference(tmp_path, base):
    base["scenarios"][0]["demands"][0]["mission"] = "Atlantis"
    invalid(write(tmp_path, base), "demands[0].mission: unknown mission 'Atlantis'")


def test_demand_at_a_node_that_is_not_a_mission(tmp_path, base):
    base["scenarios"][0]["demands"][0]["mission"] = "H1"
    invalid(write(tmp_path, base), "'H1' is a node of kind 'hub', not a mission")


def test_unknown_mode_reference(tmp_path, base):
    base["asset_types"][0]["modes"] = ["road", "boat"]
    base["links"][1]["mode"] = "rail"
    invalid(
        write(tmp_path, base),
        "asset_types[0] (id 'qrf').modes: unknown mode 'boat'",
        "links[1].mode: unknown mode 'rail'",
    )


def test_probabilities_do_not_sum_to_one(tmp_path, base):
    base["scenarios"][1]["probability"] = 0.4
    invalid(write(tmp_path, base), "bad.yaml: scenarios: probabilities sum to 0.9, not 1")


def test_probability_and_weight_mixed(tmp_path, base):
    del base["scenarios"][1]["probability"]
    base["scenarios"][1]["weight"] = 1
    invalid(write(tmp_path, base), "scenarios", "probability or a weight")


@pytest.mark.parametrize(
    "table,dup",
    [("nodes", "A"), ("hubs", "H1"), ("scenarios", "crisis-A"), ("asset_types", "qrf"), ("modes", "road")],
)
def test_duplicate_ids(tmp_path, base, table, dup):
    base[table].append(copy.deepcopy(base[table][0]))
    invalid(write(tmp_path, base), f"bad.yaml: {table}: duplicate id '{dup}'")


def test_duplicate_demand_rows(tmp_path, base):
    base["scenarios"][0]["demands"].append(copy.deepcopy(base["scenarios"][0]["demands"][0]))
    invalid(write(tmp_path, base), "scenario 'crisis-A' lists 2 demands for qrf at A")


def test_fractional_units_of_indivisible_type(tmp_path, base):
    base["scenarios"][0]["demands"][0]["units"] = 1.5
    invalid(write(tmp_path, base), "demands[0].units", "indivisible")


def test_soft_deadlines_without_penalty(tmp_path, base):
    base["options"] = {"deadlines": "soft"}
    invalid(write(tmp_path, base), "asset_types[0] (id 'qrf').penalty", "soft deadlines need a penalty")


def test_json_instance_errors_name_the_json_file(tmp_path, base):
    base["links"][0]["to"] = "Z"
    invalid(write(tmp_path, base, "bad.json"), "bad.json: links[0].to: unknown node 'Z'")


# --- CSV tables -------------------------------------------------------------------------------
LINKS_CSV = "from,to,mode,distance_km\nH1,A,road,100\nH1,B,road,900\nH2,A,road,400\nH2,B,road,400\n"


def csv_instance(tmp_path: Path, base: dict, links_csv: str | None, **tables: str) -> Path:
    base["links"] = "tables/links.csv"
    (tmp_path / "tables").mkdir(exist_ok=True)
    if links_csv is not None:
        (tmp_path / "tables" / "links.csv").write_text(links_csv, encoding="utf-8")
    for table, text in tables.items():
        base[table] = f"tables/{table}.csv"
        (tmp_path / "tables" / f"{table}.csv").write_text(text, encoding="utf-8")
    return write(tmp_path, base, "main.yaml")


def test_csv_table_relative_to_yaml_loads(tmp_path, base):
    p = csv_instance(tmp_path, base, LINKS_CSV, hubs="node,fixed_cost,status\nH1,100,\nH2,150,candidate\n")
    inst = load_instance(p)
    assert len(inst.spec.links) == 4
    assert [h.fixed_cost for h in inst.hubs] == [100, 150]
    result = run("validate", p)
    assert result.exit_code == 0, result.output


def test_csv_with_utf8_bom_loads(tmp_path, base):
    """Spreadsheets save 'CSV UTF-8' with a byte-order mark; the first column must still count."""
    p = csv_instance(tmp_path, base, "\ufeff" + LINKS_CSV)
    assert len(load_instance(p).spec.links) == 4


def test_csv_missing_columns(tmp_path, base):
    p = csv_instance(tmp_path, base, "from,to,distance_km\nH1,A,100\n")
    invalid(p, "links.csv", "missing column(s) mode")


def test_csv_unknown_column(tmp_path, base):
    p = csv_instance(tmp_path, base, "from,to,mode,distance_km,speed\nH1,A,road,100,3\n")
    invalid(p, "links.csv", "unknown column(s) speed")


def test_csv_bad_value_names_row(tmp_path, base):
    p = csv_instance(tmp_path, base, LINKS_CSV, hubs="node,fixed_cost\nH1,100\nH2,abc\n")
    invalid(p, "hubs.csv row 2 (line 3), column 'fixed_cost'", "valid number", "'abc'")


def test_csv_negative_value_names_row(tmp_path, base):
    bad = LINKS_CSV.replace("H2,A,road,400", "H2,A,road,-400")
    invalid(csv_instance(tmp_path, base, bad), "links.csv row 3 (line 4), column 'distance_km'", "greater than or equal to 0")


def test_csv_unknown_reference_names_row(tmp_path, base):
    bad = LINKS_CSV.replace("H2,B,road", "H2,Q,road")
    invalid(csv_instance(tmp_path, base, bad), "links.csv row 4 (line 5), column 'to': unknown node 'Q'")


def test_csv_row_with_extra_cells(tmp_path, base):
    bad = LINKS_CSV.replace("H2,B,road,400", "H2,B,road,400,7")
    invalid(csv_instance(tmp_path, base, bad), "links.csv row 4 (line 5)")


def test_missing_csv_file(tmp_path, base):
    p = csv_instance(tmp_path, base, None)
    invalid(p, "links.csv", "not found")


def test_missing_hubs_csv_does_not_cascade(tmp_path, base):
    """A missing hubs table is one problem, not also 'no hub may be opened'."""
    base["hubs"] = "hubs.csv"
    text = invalid(write(tmp_path, base), "hubs.csv", "not found")
    assert "no hub may be opened" not in text


# --- several problems at once -----------------------------------------------------------------
def test_several_reference_errors_reported_together(tmp_path, base):
    base["links"][0]["to"] = "Z"
    base["hubs"][1]["node"] = "H7"
    base["scenarios"][0]["demands"][0]["type"] = "tank"
    base["scenarios"][1]["probability"] = 0.7
    text = invalid(
        write(tmp_path, base),
        "unknown node 'Z'",
        "unknown node 'H7'",
        "unknown asset type 'tank'",
        "probabilities sum to 1.2",
    )
    assert "4 problem(s)" in text


def test_schema_and_reference_errors_reported_together(tmp_path, base):
    """A field error must not hide the reference errors elsewhere in the file."""
    base["hubs"][0]["fixed_cost"] = -1
    base["modes"][0]["speed_kmh"] = "fast"
    base["links"][0]["to"] = "Z"
    base["scenarios"][0]["demands"][0]["type"] = "tank"
    text = invalid(
        write(tmp_path, base),
        "hubs[0] (id 'H1').fixed_cost",
        "modes[0] (id 'road').speed_kmh",
        "links[0].to: unknown node 'Z'",
        "demands[0].type: unknown asset type 'tank'",
    )
    assert "4 problem(s)" in text


def test_schema_error_in_a_row_does_not_cause_false_reference_errors(tmp_path, base):
    """A node row with a bad field is reported once; links to it are not 'unknown node'."""
    base["nodes"][0]["lat"] = 123  # A: latitude out of range
    text = invalid(write(tmp_path, base), "nodes[0] (id 'A').lat")
    assert "unknown node 'A'" not in text
    assert "unknown mission 'A'" not in text
    assert "1 problem(s)" in text


def test_loader_raises_one_input_error_with_all_messages(tmp_path, base):
    base["links"][0]["to"] = "Z"
    base["links"][1]["mode"] = "rail"
    with pytest.raises(InputError) as info:
        load_instance(write(tmp_path, base))
    assert len(info.value.messages) == 2
    assert all(m.startswith("bad.yaml: links[") for m in info.value.messages)


# --- unreachable (input error) and infeasible (exit 3) ---------------------------------------
def test_unreachable_mission_is_input_error(tmp_path, base):
    base["nodes"].append({"id": "C", "kind": "mission"})
    base["scenarios"][0]["demands"].append({"mission": "C", "type": "qrf", "units": 1})
    p = write(tmp_path, base)
    for command in ("validate", "solve"):
        invalid(p, "mission 'C' cannot be reached by 'qrf'", "crisis-A", command=command)


def infeasible(path: Path, *needles: str, command: str = "validate") -> str:
    result = run(command, path)
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert "infeasible" in text
    for needle in needles:
        assert needle in text, f"{needle!r} not in:\n{result.output}"
    return text


def test_deadline_no_hub_can_meet(tmp_path, base):
    base["scenarios"][0]["demands"][0]["deadline_hours"] = 1
    p = write(tmp_path, base)
    for command in ("validate", "solve"):
        infeasible(p, "scenario 'crisis-A'", "qrf at A within 1 h", "fastest is H1 at 2.0 h", command=command)


def test_fleet_limit_short(tmp_path, base):
    base["asset_types"][0]["fleet_limit"] = 1
    base["scenarios"][0]["demands"][0]["units"] = 2
    infeasible(write(tmp_path, base), "scenario 'crisis-A' needs 2 × qrf at once but the fleet limit is 1")


def test_total_hub_capacity_short(tmp_path, base):
    base["hubs"][0]["capacity"] = 0
    base["hubs"][1]["capacity"] = 0.5
    infeasible(write(tmp_path, base), "need at least 1 space units", "hold 0.5")


def test_single_hub_capacity_short_found_by_solver(tmp_path, base):
    """Total space suffices (2) but only H2 reaches B, and H2 holds 1: the solver proves it."""
    base["hubs"][0]["capacity"] = 1
    base["hubs"][1]["capacity"] = 1
    base["scenarios"][1]["demands"][0]["units"] = 2
    p = write(tmp_path, base)
    assert run("validate", p).exit_code == 0
    infeasible(p, "per-hub space", command="solve")


def test_max_hubs_below_existing(tmp_path, base):
    base["hubs"][0]["status"] = "existing"
    base["hubs"][1]["status"] = "existing"
    base["options"] = {"max_hubs": 1}
    infeasible(write(tmp_path, base), "2 hubs are existing (forced open) but max_hubs is 1")


def test_infeasible_error_from_the_api(tmp_path, base):
    from horizon.optimizer.pipeline import prepare

    base["scenarios"][0]["demands"][0]["deadline_hours"] = 1
    with pytest.raises(InfeasibleError) as info:
        prepare(write(tmp_path, base))
    assert info.value.exit_code == 3


def test_json_output_of_input_error(tmp_path, base):
    base["links"][0]["to"] = "Z"
    result = run("solve", "--json", write(tmp_path, base))
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["status"] == "invalid"
    assert any("unknown node 'Z'" in e for e in payload["errors"])
