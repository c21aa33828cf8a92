"""`horizon bench`: a tiny campaign end to end, resuming, killing a hung run, and the analysis."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from horizon.cli import main
from horizon.optimizer.errors import InputError
from horizon.optimizer.planning.bench import (
    COLUMNS,
    check_agreement,
    profile_data,
    run_campaign,
    shifted_geomean,
    summary_markdown,
)
from horizon.optimizer.solve.adapters import REGISTRY

ROOT = Path(__file__).parent.parent
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"
AIRLIFT = ROOT / "tests" / "instances" / "airlift.yaml"
CAP41 = ROOT / "tests" / "data" / "orlib" / "cap41.txt"


def other_solver() -> str:
    for name in ("glpk", "cbc", "scip"):
        if REGISTRY[name].available()[0]:
            return name
    pytest.skip("no solver besides HiGHS is available: " + "; ".join(REGISTRY[n].available()[1] for n in ("glpk", "cbc", "scip")))


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tiny_campaign_and_resume(tmp_path):
    other = other_solver()
    out = tmp_path / "bench"
    warnings: list[str] = []
    c = run_campaign([TINY, AIRLIFT], ["highs", other], out, time_limit=30, repeats=1, progress=False, warn=warnings.append)
    assert (c.ran, c.skipped) == (4, 0)
    for name in ("results.csv", "summary.md", "profile.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "profile.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = rows_of(out / "results.csv")
    assert list(rows[0]) == COLUMNS
    assert {(r["instance"], r["solver"]) for r in rows} == {
        (i, s) for i in ("tiny-two-hubs", "airlift") for s in ("highs", other)
    }
    for r in rows:
        assert r["status"] == "optimal", r
        assert float(r["objective"]) == pytest.approx({"tiny-two-hubs": 200.0, "airlift": 230.0}[r["instance"]])
        assert r["version"]
        assert float(r["total_s"]) >= float(r["solve_s"]) >= 0
        assert float(r["peak_mb"]) > 10  # a Python process with numpy: tens of MB at least
        assert float(r["violation"]) <= 1e-6
    summary = (out / "summary.md").read_text()
    assert "| highs |" in summary and f"| {other} |" in summary and "No disagreements" in summary
    assert c.flags == [] and warnings == []
    assert not (out / "logs").exists()  # logs are kept for failed runs only

    # resuming: everything is there already
    before = (out / "results.csv").read_text()
    c2 = run_campaign([TINY, AIRLIFT], ["highs", other], out, time_limit=30, repeats=1, progress=False)
    assert (c2.ran, c2.skipped) == (0, 4)
    assert (out / "results.csv").read_text() == before
    # a second repeat runs only the missing rows
    c3 = run_campaign([TINY], ["highs"], out, time_limit=30, repeats=2, progress=False)
    assert (c3.ran, c3.skipped) == (1, 1)
    assert len(rows_of(out / "results.csv")) == 5


def test_hung_run_is_killed_at_the_wall_limit(tmp_path):
    out = tmp_path / "bench"
    t0 = time.perf_counter()
    c = run_campaign(
        [TINY, AIRLIFT], ["highs"], out, time_limit=0.5, margin=2.0, progress=False, _child_extra={"_test_hang": 600}
    )
    elapsed = time.perf_counter() - t0
    rows = rows_of(out / "results.csv")
    assert [r["status"] for r in rows] == ["killed", "killed"]  # the campaign went on after the first
    for r in rows:
        assert 2.5 <= float(r["total_s"]) < 10
        assert "wall-clock limit" in r["message"]
    assert elapsed < 30
    assert c.ran == 2
    assert sorted(p.name for p in (out / "logs").iterdir()) == ["airlift.highs.1.log", "tiny-two-hubs.highs.1.log"]
    assert "killed" in (out / "summary.md").read_text()


def test_crashed_run_is_recorded(tmp_path):
    out = tmp_path / "bench"
    run_campaign([TINY], ["highs"], out, time_limit=10, progress=False, _child_extra={"_test_crash": True})
    (row,) = rows_of(out / "results.csv")
    assert row["status"] == "crashed"
    assert "SIGABRT" in row["message"]


@pytest.mark.skipif(not CAP41.exists(), reason="tests/data/orlib/cap41.txt is absent")
def test_orlib_format(tmp_path):
    out = tmp_path / "bench"
    run_campaign([CAP41], ["highs"], out, fmt="orlib-cap", time_limit=60, progress=False)
    (row,) = rows_of(out / "results.csv")
    assert row["status"] == "optimal"
    assert float(row["objective"]) == pytest.approx(1040444.375, abs=1e-3)


def test_cli_bench(tmp_path):
    out = tmp_path / "bench"
    result = CliRunner().invoke(main, ["bench", str(TINY), "--solver", "highs", "--time-limit", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 run(s) done" in result.output
    assert (out / "summary.md").exists()


def test_cli_bench_unknown_solver_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["bench", str(TINY), "--solver", "nosuch", "--out", str(tmp_path / "b")])
    assert result.exit_code == 2, result.output
    assert "unknown solver 'nosuch'" in result.output


def test_duplicate_instance_names_rejected(tmp_path):
    (tmp_path / "a").mkdir()
    copy = tmp_path / "a" / TINY.name
    copy.write_text(TINY.read_text())
    with pytest.raises(InputError, match="distinct names"):
        run_campaign([TINY, copy], ["highs"], tmp_path / "b", progress=False)


# --- analysis ------------------------------------------------------------------------------------


def _row(instance, solver, status, objective=None, bound=None, solve_s=1.0, repeat=1, **kw):
    r = {c: None for c in COLUMNS}
    r.update(instance=instance, solver=solver, status=status, objective=objective, bound=bound, solve_s=solve_s, repeat=repeat)
    r.update(total_s=solve_s + 1, gap=0.0 if status == "optimal" else None, message="", version="1")
    r.update(kw)
    return r


def test_disagreements_are_flagged():
    rows = [
        _row("a", "highs", "optimal", 100.0, 100.0),
        _row("a", "cbc", "optimal", 100.00001, 100.00001),  # 1e-7 relative: agrees
        _row("b", "highs", "optimal", 100.0, 100.0),
        _row("b", "glpk", "optimal", 100.1, 100.1),
        _row("c", "highs", "feasible", 50.0, 40.0),
        _row("c", "scip", "no_solution", None, 60.0),
        _row("d", "highs", "optimal", 5.0, 5.0),
        _row("d", "cbc", "infeasible"),
        _row("e", "cbc", "feasible", 7.0, None, violation=0.5),
    ]
    flags = check_agreement(rows)
    text = "\n".join(flags)
    assert "OBJECTIVES DISAGREE on b" in text and "on a" not in text
    assert "BOUND ABOVE A SOLUTION on c: scip" in text
    assert "INFEASIBLE vs SOLVED on d" in text
    assert "INVALID SOLUTION on e" in text
    md = summary_markdown(rows, 60.0, flags, {"repeats": 1, "margin": 30})
    assert "⚠ **OBJECTIVES DISAGREE on b" in md


def test_shifted_geomean():
    assert shifted_geomean([]) is None
    assert shifted_geomean([5.0]) == pytest.approx(5.0)
    assert shifted_geomean([0.0, 0.0]) == pytest.approx(0.0)
    assert shifted_geomean([0.0, 30.0]) == pytest.approx(math.sqrt(10 * 40) - 10)


def test_summary_counts_and_profile():
    rows = [
        _row("a", "highs", "optimal", 1.0, 1.0, solve_s=1.0),
        _row("a", "cbc", "optimal", 1.0, 1.0, solve_s=4.0),
        _row("b", "highs", "feasible", 2.0, 1.0, solve_s=60.0),
        _row("b", "cbc", "optimal", 2.0, 2.0, solve_s=2.0),
        _row("c", "highs", "error", solve_s=0.0, message="cplex: too large for the size-limited licence"),
        _row("c", "cbc", "error", solve_s=0.0),
    ]
    used, ratios = profile_data(rows)
    assert used == ["a", "b"]
    assert ratios["highs"] == [1.0, math.inf]
    assert ratios["cbc"] == [4.0, 1.0]
    md = summary_markdown(rows, 60.0, [], {"repeats": 1, "margin": 30})
    line = next(ln for ln in md.splitlines() if ln.startswith("| highs |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:8] == ["1", "1", "0", "0", "1", "0"]  # optimal, feasible, no solution, infeasible, error, killed
    # SGM over a (1 s), b and c (charged 60 s each)
    assert float(cells[8]) == pytest.approx(shifted_geomean([1.0, 60.0, 60.0]), abs=0.01)
