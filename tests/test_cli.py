"""The command line: solve / validate / schema, output formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from pathlib import Path

import highspy
import pytest
import yaml
from click.testing import CliRunner

from horizon.cli import main
from horizon.optimizer.errors import InputError

ROOT = Path(__file__).parent.parent
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"


def run(*args: object, ok_exceptions: tuple[type[BaseException], ...] = (SystemExit,)):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None:
        assert isinstance(result.exception, ok_exceptions), repr(result.exception)
    return result


@pytest.fixture
def bad_yaml(tmp_path) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["links"][0]["to"] = "Z"
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.fixture
def late_yaml(tmp_path) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["scenarios"][0]["demands"][0]["deadline_hours"] = 1
    p = tmp_path / "late.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_solve_summary():
    result = run("solve", TINY)
    assert result.exit_code == 0, result.output
    assert "objective 200.00" in result.output
    assert "optimal" in result.output
    assert "H2" in result.output


def test_solve_json_keys():
    result = run("solve", "--json", TINY)
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    for key in ("status", "objective", "bound", "gap", "solver", "solver_version", "timings", "open_hubs", "stationing"):
        assert key in d
    for key in ("dispatch", "unmet", "costs"):
        assert key in d
    assert set(d["timings"]) >= {"load", "network", "build", "solve", "write", "total"}
    assert set(d["costs"]) >= {"fixed", "holding", "dispatch", "penalty"}
    assert d["status"] == "optimal"
    assert d["objective"] == pytest.approx(200.0)
    assert d["gap"] == pytest.approx(0.0)
    assert d["solver"] == "highs"
    assert d["open_hubs"] == ["H2"]
    assert d["stationing"] == [{"hub": "H2", "asset_type": "qrf", "units": 1.0}]
    assert d["costs"] == pytest.approx({"fixed": 150.0, "holding": 10.0, "dispatch": 40.0, "penalty": 0.0})
    assert {r["scenario"] for r in d["dispatch"]} == {"crisis-A", "crisis-B"}
    assert d["unmet"] == []
    t = d["timings"]
    assert all(v >= 0 for v in t.values())
    assert t["total"] >= t["solve"]


def test_solve_json_stdout_is_pure_json_in_a_real_process():
    """HiGHS prints a banner from C; stdout must still be only the JSON document."""
    proc = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", "solve", "--json", str(TINY)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["objective"] == pytest.approx(200.0)


def test_out_dir_writes_tables_and_no_temp_dirs(tmp_path):
    parent = tmp_path / "runs"
    out = parent / "result"
    for _ in range(2):  # second run replaces the first
        result = run("solve", "--out", out, TINY)
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in parent.iterdir()) == ["result"]
    names = {p.name for p in out.iterdir()}
    assert names >= {"solution.json", "stationing.csv", "dispatch.csv", "unmet.csv", "open_hubs.csv"}
    assert not [n for n in names if n.startswith(".") or "tmp" in n]
    sol = json.loads((out / "solution.json").read_text())
    assert sol["objective"] == pytest.approx(200.0)
    assert sol["timings"]["write"] >= 0
    assert (out / "open_hubs.csv").read_text().split() == ["hub", "H2"]
    assert (out / "stationing.csv").read_text().splitlines()[0] == "hub,asset_type,units"
    dispatch = (out / "dispatch.csv").read_text().splitlines()
    assert dispatch[0].split(",")[:4] == ["scenario", "hub", "mission", "asset_type"]
    assert len(dispatch) == 3
    assert (out / "unmet.csv").read_text().splitlines() == ["scenario,mission,asset_type,units"]


def test_out_dir_not_written_when_input_is_bad(tmp_path, bad_yaml):
    out = tmp_path / "result"
    result = run("solve", "--out", out, bad_yaml)
    assert result.exit_code == 2
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
def test_write_model_reads_back_to_same_objective(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    result = run("solve", "--json", "--write-model", path, TINY)
    assert result.exit_code == 0, result.output
    assert path.exists() and path.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left behind
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) != highspy.HighsStatus.kError
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(json.loads(result.stdout)["objective"])


def test_write_model_bad_extension(tmp_path):
    result = run("solve", "--write-model", tmp_path / "model.txt", TINY)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert ".mps" in result.output
    assert not (tmp_path / "model.txt").exists()


def test_validate_exit_codes(bad_yaml, late_yaml):
    ok = run("validate", TINY)
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output
    bad = run("validate", bad_yaml)
    assert bad.exit_code == 2
    assert "unknown node 'Z'" in bad.output
    late = run("validate", late_yaml)
    assert late.exit_code == 3
    assert "infeasible" in late.output


def test_solve_infeasible_json(late_yaml):
    result = run("solve", "--json", late_yaml)
    assert result.exit_code == 3
    d = json.loads(result.stdout)
    assert d["status"] == "infeasible"
    assert any("fastest is H1" in e for e in d["errors"])


def test_schema_prints_json_schema():
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert {"nodes", "hubs", "asset_types", "scenarios"} <= set(schema["required"])
    assert {"links", "options", "routes", "demands"} <= set(schema["properties"])
    link = schema["$defs"]["Link"]["properties"]
    assert "from" in link and "to" in link  # aliases, as written in files


def test_time_limit_accepted():
    result = run("solve", "--time-limit", "30", "--mip-gap", "0.01", "--seed", "3", TINY)
    assert result.exit_code == 0, result.output
    assert "objective 200.00" in result.output


def test_threads_option_works_after_another_solve_in_the_same_process():
    from horizon.optimizer.pipeline import solve
    from horizon.optimizer.solve.result import SolveOptions

    # Whatever the scheduler was first set up with, one of these two differs from it.
    for threads in (1, 2):
        sol = solve(TINY, SolveOptions(threads=threads))
        assert sol.status == "optimal", (threads, sol.status, sol.message)


@pytest.mark.parametrize("args", [["--time-limit", "0"], ["--time-limit", "soon"], ["--threads", "0"], ["--mip-gap", "-1"]])
def test_bad_option_values_are_usage_errors(args):
    result = run("solve", *args, TINY)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_log_file(tmp_path):
    log = tmp_path / "highs.log"
    result = run("solve", "--log-file", log, TINY)
    assert result.exit_code == 0, result.output
    assert log.exists() and "HiGHS" in log.read_text()


def test_bad_input_without_debug_has_no_traceback(bad_yaml):
    result = run("solve", bad_yaml)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "unknown node 'Z'" in result.output


def test_debug_raises_the_error(bad_yaml):
    result = run("--debug", "solve", bad_yaml, ok_exceptions=(InputError,))
    assert isinstance(result.exception, InputError)
    assert "unknown node 'Z'" in str(result.exception)


def test_debug_shows_traceback(bad_yaml):
    """With --debug the error propagates out of click, so Python prints its traceback."""
    result = run("--debug", "validate", bad_yaml, ok_exceptions=(InputError,))
    assert isinstance(result.exception, InputError)
    shown = "".join(traceback.format_exception(*result.exc_info))
    assert shown.startswith("Traceback")
    assert "load_instance" in shown and "unknown node 'Z'" in shown


def test_help_and_version():
    assert run("--help").exit_code == 0
    assert "solve" in run("--help").output
    version = run("--version")
    assert version.exit_code == 0
    assert "version" in version.output


def test_write_model_into_missing_directory_is_a_usage_error(tmp_path):
    result = run("solve", "--write-model", tmp_path / "missing" / "model.mps", TINY)
    assert result.exit_code == 2
    assert "internal error" not in result.output


def test_out_under_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "afile.txt").write_text("x")
    result = run("solve", "--out", tmp_path / "afile.txt" / "result", TINY)
    assert result.exit_code == 2
    assert "internal error" not in result.output
