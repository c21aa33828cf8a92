"""Ctrl-C keeps the plan: a real `horizon solve` interrupted by SIGINT ends with its best plan
(exit 0, complete --out folder, "interrupted by the user"), in every start and in both
processes of the concurrent start, with no traceback anywhere; a second SIGINT quits at once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import horizon
from horizon.cli import main
from horizon.optimizer.commands.common import INTERRUPTED, INTERRUPTS, interruptible
from horizon.optimizer.planning import tools
from horizon.optimizer.solve.events import MONITOR

ROOT = Path(__file__).parent.parent
# --start none runs about 30 s on this instance (2 shared cores): long enough to interrupt
BIG = ["--missions", "80", "--hubs", "25", "--types", "6", "--scenarios", "80", "--seed", "1"]
FILES = {"solution.json", "stationing.csv", "dispatch.csv", "unmet.csv", "open_hubs.csv"}
STOP_SECONDS = 4.0  # SIGINT to process exit: the solve stops within 2 s, the rest is writing and exiting


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    result = CliRunner().invoke(main, ["generate", *BIG, "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _env() -> dict[str, str]:
    """The subprocess imports this checkout's `horizon` (the test's own import path)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(horizon.__file__).parent.parent), env.get("PYTHONPATH", "")])
    return env


def _interrupt(tmp_path: Path, instance: Path, start: str, signals: int = 1, sig: int = signal.SIGINT) -> tuple:
    """Start a solve, wait until HiGHS has an incumbent (a gap in the log), then signal the
    process group as a terminal's Ctrl-C would; return (exit code, stdout, stderr, log,
    seconds from the first signal to exit, out folder)."""
    out, log = tmp_path / f"plan-{start}", tmp_path / f"{start}.log"
    cmd = [sys.executable, "-m", "horizon.cli", "solve", str(instance), "--start", start, "--out", str(out), "--json"]
    proc = subprocess.Popen(
        [*cmd, "--log-file", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), start_new_session=True
    )
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and proc.poll() is None:
        if log.exists() and re.search(r"\d\.\d+%", log.read_text(errors="replace")):
            break
        time.sleep(0.2)
    time.sleep(2.0)
    assert proc.poll() is None, "the solve ended before it could be interrupted"
    sent = time.monotonic()
    for i in range(signals):
        if i:
            time.sleep(0.3)
        os.killpg(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    return proc.returncode, stdout.decode(), stderr.decode(), log.read_text(errors="replace"), took, out, proc.pid


def _assert_plan_kept(code, stdout, stderr, log, took, out, pid) -> dict:
    assert "Traceback" not in stderr and "Traceback" not in log, stderr
    assert code == 0, stderr
    assert took < STOP_SECONDS, took
    solution = json.loads(stdout)
    assert solution["status"] in ("feasible", "optimal") and solution["objective"] is not None
    assert solution["message"].startswith(INTERRUPTED), solution["message"]
    assert FILES <= {p.name for p in out.iterdir()}
    assert json.loads((out / "solution.json").read_text())["objective"] == solution["objective"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "a temporary folder was left"
    return solution


def test_sigint_keeps_the_plan_without_a_start(tmp_path, big) -> None:
    _assert_plan_kept(*_interrupt(tmp_path, big, "none"))


def test_sigint_stops_both_processes_of_the_concurrent_start(tmp_path, big) -> None:
    result = _interrupt(tmp_path, big, "concurrent")
    _assert_plan_kept(*result)
    assert "KeyboardInterrupt" not in result[2]
    deadline = time.monotonic() + 3
    while _group_alive(result[6]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_alive(result[6]), "the second process outlived the first"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("start", ["lp-neighbourhood", "hubs-first"])
def test_sigint_keeps_the_plan_in_every_start(tmp_path, big, start) -> None:
    _assert_plan_kept(*_interrupt(tmp_path, big, start))


def test_sigterm_is_an_interrupt_too(tmp_path, big) -> None:
    _assert_plan_kept(*_interrupt(tmp_path, big, "none", sig=signal.SIGTERM))


def test_a_second_sigint_quits_at_once(tmp_path, big) -> None:
    code, stdout, stderr, log, took, out, _ = _interrupt(tmp_path, big, "concurrent", signals=2)
    assert code in (0, 130), stderr
    assert "Traceback" not in stderr and "Traceback" not in log
    assert took < STOP_SECONDS
    if code == 130:
        assert not out.exists() or FILES <= {p.name for p in out.iterdir()}  # never half a folder


def test_the_handlers_ask_the_monitor_to_stop_and_are_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with MONITOR.run(), interruptible() as interrupts:
        assert signal.getsignal(signal.SIGINT) == INTERRUPTS.handle
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 5
        while not MONITOR.stop_requested() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert interrupts.interrupted and MONITOR.reason == INTERRUPTED
    assert signal.getsignal(signal.SIGINT) == before
    with MONITOR.run():
        assert not MONITOR.stop_requested()


# --- planner tools: the points solved before Ctrl-C are kept ------------------------------
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"


@pytest.fixture
def ctrl_c_after_first_solve(monkeypatch):
    """Ctrl-C as the first solve of a planner tool ends (its plan stands)."""
    real_prepared, real_reusable = tools.solve_prepared, tools.ReusableModel.solve

    def prepared(*args, **kwargs):
        result = real_prepared(*args, **kwargs)
        MONITOR.request_stop(INTERRUPTED)
        return result

    def reusable(self, *args, **kwargs):
        result = real_reusable(self, *args, **kwargs)
        MONITOR.request_stop(INTERRUPTED)
        return result

    monkeypatch.setattr(tools, "solve_prepared", prepared)
    monkeypatch.setattr(tools.ReusableModel, "solve", reusable)
    yield
    with MONITOR.run():
        pass


def _cli(*args: object):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    return result


def test_compare_keeps_the_policies_solved(tmp_path, ctrl_c_after_first_solve) -> None:
    result = _cli("compare", TINY, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings"]["not_solved"], data["settings"]
    shown = _cli("compare", TINY)
    assert "(interrupted)" in shown.output and "not solved" in shown.output, shown.output


def test_sweep_keeps_the_points_solved_and_says_which_was_interrupted(tmp_path, ctrl_c_after_first_solve) -> None:
    result = _cli("sweep", TINY, "--param", "deadline-scale", "--values", "1,1.5,2", "-o", tmp_path / "sw", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["points"]) == 1 and INTERRUPTED in data["points"][0]["note"]
    assert any(INTERRUPTED in n and "2 of 3" in n for n in data["notes"]), data["notes"]
    assert (tmp_path / "sw" / "sweep.csv").exists()


def test_marginal_keeps_the_rows_solved(tmp_path, ctrl_c_after_first_solve) -> None:
    result = _cli("marginal", TINY, "--csv", tmp_path / "m.csv")
    assert result.exit_code == 0, result.output
    assert f"not_solved,,,,,not solved: {INTERRUPTED}" in (tmp_path / "m.csv").read_text()


def test_sigint_ends_progressive_hedging_iterations(tmp_path) -> None:
    """`--method ph`: Ctrl-C ends PH's iterations at the next one (all ranks agree), and the
    run reports the plan from x̄ so far, or says it was stopped before it had one."""
    ph = pytest.importorskip("horizon.optimizer.planning.ph")
    if not ph.available():
        pytest.skip("mpi-sppy is not installed")
    path = tmp_path / "ph.yaml"
    made = CliRunner().invoke(main, ["generate", "--missions", "30", "--hubs", "10", "--types", "4", "--scenarios", "30",
                                     "--seed", "5", "-o", str(path)])  # fmt: skip
    assert made.exit_code == 0, made.output
    cmd = [sys.executable, "-m", "horizon.cli", "solve", str(path), "--method", "ph", "--ph-iterations", "500", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), start_new_session=True)
    time.sleep(12.0)  # start-up, the build and PH's first iterations (about 1 s each here)
    assert proc.poll() is None, "PH ended before it could be interrupted"
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = (s.decode() for s in proc.communicate(timeout=120))
    assert time.monotonic() - sent < 60  # the incumbent search after the stop, not 500 iterations
    assert "Traceback" not in stderr, stderr
    assert "User-supplied converger determined termination" in stderr
    data = json.loads(stdout)
    if proc.returncode == 0:
        assert data["message"].startswith(INTERRUPTED), data["message"]
        iterations = int(re.search(r"progressive hedging: (\d+) iterations", data["message"]).group(1))
    else:
        assert proc.returncode == 4, stderr
        iterations = int(re.search(r"stopped after (\d+) iteration", " ".join(data["errors"])).group(1))
    assert iterations < 500


def test_sigint_stops_bench_at_the_run_in_progress_and_keeps_the_rest(tmp_path, big) -> None:
    """`bench`: Ctrl-C ends the run in progress (not recorded: a resume runs it again), keeps
    the finished ones in results.csv with their summary, and says so; no traceback."""
    out = tmp_path / "bench"
    cmd = [sys.executable, "-m", "horizon.cli", "bench", str(big), "--time-limit", "6", "--repeats", "4", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), start_new_session=True)
    results = out / "results.csv"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and not (results.exists() and len(results.read_text().splitlines()) >= 2):
        time.sleep(0.2)  # the first run recorded (header + one row)
    time.sleep(1.0)
    assert proc.poll() is None, "bench ended before it could be interrupted"
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = (s.decode() for s in proc.communicate(timeout=60))
    assert time.monotonic() - sent < STOP_SECONDS + 4, "the run in progress was not ended"
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted by the user during" in stderr and "1 of 4 run(s) done" in " ".join(stderr.split()), stderr
    assert len(results.read_text().splitlines()) == 2  # the cut run is not recorded
    assert (out / "summary.md").is_file()
