"""Every command's tables at 80 columns: no id and no number of the result is cut.

Rendered through the command line with COLUMNS=80 (rich reads it), as on a narrow terminal
or when piped; each id and each number the result holds must appear whole in the output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from horizon.cli import main
from horizon.optimizer.commands.common import ID, NUM, TEXT, money, show_table

ROOT = Path(__file__).parent.parent
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"
THREE = Path(__file__).parent / "instances" / "three-missions.yaml"


def run80(*args: object) -> tuple[str, int]:
    result = CliRunner().invoke(main, [str(a) for a in args], env={"COLUMNS": "80"})
    return result.output, result.exit_code


def whole(text: str, token: str) -> bool:
    """`token` appears in `text` with no id or number character glued to either end."""
    return re.search(rf"(?<![\w.,:-]){re.escape(token)}(?![\w.,:-]|\.\d)", text) is not None


def assert_whole(text: str, tokens: set[str]) -> None:
    missing = sorted(t for t in tokens if t and not whole(text, t))
    assert not missing, f"cut or missing at 80 columns: {missing[:20]}"
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)


def test_show_table_splits_wide_tables_and_keeps_cells_whole():
    console = Console(width=80, record=True, highlight=False)
    cols = [("scenario", ID), *((f"column {i}", NUM) for i in range(8)), ("why", TEXT)]
    rows = [[f"scenario-with-a-long-name-{r}", *(f"{1e9 * (r + i):,.2f}" for i in range(8)), "a reason " * 6] for r in range(3)]
    show_table(console, "wide", cols, rows)
    text = console.export_text()
    assert_whole(text, {c for r in rows for c in r[:-1]})
    assert "wide (1/" in text  # split into parts, each repeating the scenario


def test_solve_bundled_instance_at_80_columns():
    out, code = run80("solve", "--json")
    assert code == 0
    sol = json.loads(out)
    text, code = run80("solve")
    assert code == 0
    ids = set(sol["open_hubs"])
    for r in sol["dispatch"]:
        ids |= {r["scenario"], r["hub"], r["mission"], r["asset_type"], r["route"], r.get("contributor") or ""}
        ids |= {f"{r['units']:g}", f"{r['response_hours']:.1f}"}
    for r in sol["stationing"]:
        ids |= {r["hub"], r["asset_type"], str(r["units"])}
    ids |= {money(v) for v in sol["costs"].values()} | {money(sol["objective"])}
    assert_whole(text, ids)
    assert "USD" in text


def test_whole_units_are_integers_in_json_and_csv(tmp_path):
    out, code = run80("solve", "--json")
    sol = json.loads(out)
    assert all(isinstance(r["units"], int) for r in sol["stationing"] + sol["dispatch"])
    _, code = run80("solve", "-o", tmp_path / "plan")
    assert code == 0
    lines = (tmp_path / "plan" / "stationing.csv").read_text().splitlines()[1:]
    assert lines and not any(line.endswith(".0") for line in lines)


@pytest.mark.parametrize("instance", [THREE])
def test_compare_sweep_marginal_at_80_columns(instance, tmp_path):
    out, code = run80("compare", instance, "--json")
    comp = json.loads(out)
    text, _ = run80("compare", instance)
    tokens = set(comp["policies"])
    for m in comp["results"].values():
        tokens |= {money(m["total_cost"])} if m.get("total_cost") is not None else set()
        tokens |= set(m.get("open_hubs") or [])
    assert_whole(text, tokens)

    out, code = run80("sweep", instance, "--values", "0.5,1,2", "--json")
    points = json.loads(out)["points"]
    text, _ = run80("sweep", instance, "--values", "0.5,1,2")
    tokens = {p["status"] for p in points} | {money(p["total_cost"]) for p in points if p["total_cost"] is not None}
    assert_whole(text, tokens)

    out, code = run80("marginal", instance, "--json")
    rows = json.loads(out)["rows"]
    text, _ = run80("marginal", instance)
    tokens = {r["item"] for r in rows} | {r["status"] for r in rows}
    tokens |= {money(r["total_cost"]) for r in rows if r["total_cost"] is not None}
    assert_whole(text, tokens)


def test_validate_json_and_solvers_at_80_columns():
    out, code = run80("validate", "--json")
    assert code == 0 and json.loads(out)["status"] == "valid"
    text, code = run80("solvers")
    assert code == 0
    assert whole(text, "highs")
