"""Maps, histograms and reports of solution directories, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from horizon.optimizer.commands.planning import COMMANDS
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.schema import InstanceSpec
from horizon.optimizer.data.writer import write_instance
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.pipeline import solve
from horizon.optimizer.results.metrics import scenario_coverage, solution_metrics
from horizon.optimizer.results.report import load_solution_dir
from horizon.optimizer.results.solution import write_solution_dir
from horizon.optimizer.solve.result import SolveOptions

ROOT = Path(__file__).parent.parent


@click.group()
def group() -> None:
    """The planner commands, as cli.py wires them."""


for _cmd in COMMANDS:
    group.add_command(_cmd)


TINY = yaml.safe_load((Path(__file__).parent / "instances" / "three-missions.yaml").read_text())


def run(*args: object):
    result = CliRunner().invoke(group, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert path.stat().st_size > 5000, f"{path} is suspiciously small"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.fixture(scope="module")
def tiny_dir(tight, write, tmp_path_factory) -> tuple[Path, Path]:
    """(instance file, solution dir) of the three-mission instance, soft with one unmet demand."""
    tmp = tmp_path_factory.mktemp("tiny")
    data = tight(json.loads(json.dumps(TINY)))
    data["options"] = {"deadlines": "soft", "penalty": 1000}
    inst = write(tmp, data)
    sol = solve(inst)
    assert sol.status == "optimal" and sol.unmet  # C is unmet (only C itself reaches it in time)
    write_solution_dir(sol, tmp / "sol")
    return inst, tmp / "sol"


@pytest.fixture(scope="module")
def un_dir(tmp_path_factory) -> Path:
    """A (time-limited) solution of the bundled UN 2009 instance, as `horizon solve --out` writes it."""
    tmp = tmp_path_factory.mktemp("un")
    sol = solve(None, SolveOptions(time_limit=3))
    assert sol.ok
    write_solution_dir(sol, tmp / "sol")
    return tmp / "sol"


def test_map_and_histogram_sizes(tiny_dir, tmp_path):
    inst, sol = tiny_dir
    r = run("plot", sol, "--instance", inst, "--out", tmp_path / "map.png")
    assert r.exit_code == 0, r.output
    assert png_size(tmp_path / "map.png") == (1200, 700)
    r = run("plot", sol, "--instance", inst, "--out", tmp_path / "small.png", "--width", "8", "--height", "5", "--dpi", "50")
    assert r.exit_code == 0, r.output
    assert png_size(tmp_path / "small.png") == (400, 250)
    r = run("plot", sol, "--instance", inst, "--kind", "histogram", "--out", tmp_path / "hist.png")
    assert r.exit_code == 0, r.output
    assert png_size(tmp_path / "hist.png") == (1100, 450)


def test_plot_errors(write, tiny_dir, tmp_path):
    inst, sol = tiny_dir
    r = run("plot", sol, "--out", tmp_path / "found.png")  # found through the solution's `source`
    assert r.exit_code == 0, r.output
    moved = Path(inst).with_suffix(".moved")
    Path(inst).rename(moved)  # not the bundled instance, no instance.yaml, source gone
    r = run("plot", sol, "--out", tmp_path / "m.png")
    assert r.exit_code == 2 and "--instance" in r.output
    moved.rename(inst)
    r = run("plot", sol, "--instance", inst, "--scenario", "nope", "--out", tmp_path / "m.png")
    assert r.exit_code == 2 and "unknown scenario" in r.output
    r = run("plot", sol, "--instance", inst, "--out", tmp_path / "m.gif")
    assert r.exit_code == 2 and "unsupported picture format" in r.output
    (tmp_path / "empty").mkdir()
    r = run("plot", tmp_path / "empty", "--out", tmp_path / "m.png")
    assert r.exit_code == 2 and "no solution.json" in r.output
    other = json.loads(json.dumps(TINY))
    other["name"] = "another"
    r = run("plot", sol, "--instance", write(tmp_path, other, "other.yaml"), "--out", tmp_path / "m.png")
    assert r.exit_code == 2 and "the solution is of instance 'three-missions'" in r.output
    assert not (tmp_path / "m.png").exists()


def test_report_markdown_consistent_with_solution(tiny_dir, tmp_path):
    inst_path, sol_dir = tiny_dir
    out = tmp_path / "rep" / "report.md"
    r = run("report", sol_dir, "--instance", inst_path, "--out", out)
    assert r.exit_code == 0, r.output
    text = out.read_text()
    sol = load_solution_dir(sol_dir)
    inst = load_instance(inst_path)
    m = solution_metrics(inst, sol)
    assert "# Reserve plan: three-missions" in text
    assert f"Hubs open ({len(sol.open_hubs)}):** {', '.join(sol.open_hubs)}" in text
    assert "Deadlines are **soft**" in text
    assert f"{m['coverage_pct']:.1f} %" in text
    for c in scenario_coverage(inst, sol):
        row = next(line for line in text.splitlines() if line.startswith(f"| {c['scenario']} |"))
        cells = [x.strip() for x in row.strip("|").split("|")]
        assert float(cells[3]) == c["demanded"] and float(cells[4]) == c["unmet"]
    assert "| sC | C | qrf | 1 |" in text  # the unmet demand is listed
    pics = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert pics == ["report_files/map.png", "report_files/response-times.png"]
    assert png_size(out.parent / pics[0]) == (1200, 700)
    assert png_size(out.parent / pics[1]) == (1100, 450)


def test_report_html_self_contained(tiny_dir, tmp_path):
    inst_path, sol_dir = tiny_dir
    out = tmp_path / "report.html"
    r = run("report", sol_dir, "--instance", inst_path, "--out", out)
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html
    assert html.count('src="data:image/png;base64,') == 2
    assert not (tmp_path / "report_files").exists()


def test_un2009_plot_and_report_find_the_bundled_instance(un_dir, tmp_path):
    r = run("plot", un_dir, "--out", tmp_path / "map.png")
    assert r.exit_code == 0, r.output
    assert png_size(tmp_path / "map.png") == (1200, 700)
    r = run("plot", un_dir, "--kind", "histogram", "--out", tmp_path / "hist.png")
    assert r.exit_code == 0, r.output
    assert png_size(tmp_path / "hist.png") == (1100, 450)
    r = run("report", un_dir, "--out", tmp_path / "report.md", "--scenario", "kivu-darfur")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "report.md").read_text()
    assert "scenario 'kivu-darfur'" in text
    assert text.count("| kivu-darfur |") == 1 and "BDS" in text  # Brindisi is an existing hub: always open
    sol = load_solution_dir(un_dir)
    assert f"**Solution:** {sol.status} (gap" in text


def test_generated_compare_then_report(tmp_path):
    inst = tmp_path / "gen.yaml"
    write_instance(generate_spec(8, 3, 3, 5, seed=5), inst)
    r = run("compare", inst, "--policy", "pooled", "--policy", "dedicated", "--save-solutions", tmp_path / "sols")
    assert r.exit_code == 0, r.output
    r = run("report", tmp_path / "sols" / "pooled", "--out", tmp_path / "pooled.md")  # finds instance.yaml beside it
    assert r.exit_code == 0, r.output
    text = (tmp_path / "pooled.md").read_text()
    assert "**Pooling policy:** pooled" in text
    assert "every mission with demands is also a candidate hub" in text
    assert png_size(tmp_path / "pooled_files" / "map.png") == (1200, 700)
    r = run("plot", tmp_path / "sols" / "pooled", "--scenario", "all", "--out", tmp_path / "all.svg")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "all.svg").read_text().lstrip().startswith("<?xml")


def test_report_refuses_a_failed_solution(tmp_path):
    spec = InstanceSpec.model_validate(json.loads(json.dumps(TINY)))
    inst = Instance.from_spec(spec)
    sol = solve(inst)
    from dataclasses import replace

    write_solution_dir(replace(sol, status="no_solution", open_hubs=[], stationing=[], dispatch=[]), tmp_path / "s")
    r = run("report", tmp_path / "s", "--out", tmp_path / "r.md")
    assert r.exit_code == 2 and "nothing to report" in r.output
