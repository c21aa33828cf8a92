"""`horizon bench`: solver campaigns over instances, one process per run.

Each run (instance × solver × repeat) is a child process, ``python -m horizon.optimizer.planning.bench --run
SPEC``, that loads and builds the instance, solves it, checks the returned values against
the model and prints one JSON line. The parent gives it a hard wall-clock limit (time limit
+ margin) and kills its whole process group past it, so a hang or crash in one solver cannot
stop the campaign. Peak memory is the largest resident set of the run's processes (the
Python child, from /proc's VmHWM, and a solver program it ran, e.g. cbc or glpsol): the
largest, not the sum; for a killed run, the child's VmHWM last sampled by the parent.

Results are appended to ``DIR/results.csv`` as each run ends; runs already there are
skipped, so an interrupted campaign resumes. ``DIR/summary.md`` has shifted geometric means
(shift 10 s) and solved counts; ``DIR/profile.png`` the Dolan–Moré performance profile.
Objectives of optimal runs that disagree (relative difference over 1e-6), a best bound that
cuts off a solution another run found, and an "infeasible" next to a found solution are
flagged in summary.md and on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.orlib import read_cap, read_pmed
from horizon.optimizer.errors import InputError
from horizon.optimizer.pipeline import prepare
from horizon.optimizer.solve.adapters import COMMUNITY_LIMITS, available_solvers, get_solver, quiet_stdout
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.result import SolveOptions

FORMATS = ("horizon", "orlib-cap", "orlib-pmed")
COLUMNS = [
    "instance",
    "solver",
    "version",
    "repeat",
    "status",
    "objective",
    "bound",
    "gap",
    "build_s",
    "transfer_s",
    "solve_s",
    "total_s",
    "peak_mb",
    "violation",
    "message",
]
SOLVED = "optimal"
SHIFT = 10.0  # seconds, for the shifted geometric mean
REL_TOL = 1e-6  # objectives of optimal runs must agree to this relative tolerance
VIOLATION_TOL = 1e-5  # largest row/bound/integrality violation a returned solution may have
PROFILE_FLOOR = 0.01  # seconds: shorter solve times count as this in the profile
ROOT = Path(__file__).resolve().parent.parent


# --- the child -----------------------------------------------------------------------------


def load_for_bench(path: str, fmt: str):  # noqa: ANN201 - returns an `Instance`
    """Load an instance file in one of `FORMATS` as an `Instance`."""
    if fmt == "horizon":
        return load_instance(path)
    spec = read_cap(path) if fmt == "orlib-cap" else read_pmed(path)
    return Instance.from_spec(spec, source=str(path))


def max_violation(lm, values) -> float:  # noqa: ANN001
    """Largest violation of a row, a column bound or integrality by `values`."""
    import numpy as np

    lo, up, integer = lm.col_bounds()
    rlo, rup = lm.row_bounds()
    ax = lm.matrix() @ values
    parts = [
        np.maximum(rlo - ax, 0.0),
        np.maximum(ax - rup, 0.0),
        np.maximum(lo - values, 0.0),
        np.maximum(values - up, 0.0),
        np.abs(values - np.round(values)) * integer,
    ]
    return float(max((p.max() if p.size else 0.0) for p in parts))


def _vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak resident set (VmHWM) of a process since it started its program, from /proc."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        return None
    return None


def peak_rss_mb() -> float:
    """The largest peak RSS of this process and the programs it ran (cbc, glpsol), in MB.

    `os.wait4`'s or getrusage's ru_maxrss of a freshly started program also counts the
    forking parent's resident set (Linux carries it over at exec), so this process's own
    figure is /proc's VmHWM; a program it waited for cannot exceed max(its own peak, ours)."""
    own = _vm_hwm_mb()
    if own is None:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0)


def child_run(spec: dict[str, Any]) -> dict[str, Any]:
    """One run in this process: load, build, solve, check. Returns the result row."""
    row: dict[str, Any] = {"instance": spec["name"], "solver": spec["solver"], "repeat": spec["repeat"]}
    with quiet_stdout():
        solver = get_solver(spec["solver"])
        row["version"] = solver.version()
        t0 = time.perf_counter()
        prep = prepare(load_for_bench(spec["path"], spec["format"]))
        row["build_s"] = time.perf_counter() - t0
        if spec.get("_test_hang"):
            time.sleep(float(spec["_test_hang"]))
        if spec.get("_test_crash"):
            os.abort()
        options = SolveOptions(
            time_limit=spec.get("time_limit"),
            mip_gap=float(spec.get("mip_gap", 0.0)),
            threads=spec.get("threads"),
            seed=spec.get("seed"),
            solver=spec["solver"],
        )
        result, values = solver.solve(prep.model, options)
    row.update(
        status=result.status,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        transfer_s=result.transfer_seconds,
        solve_s=result.seconds,
        message=result.message,
    )
    row["peak_mb"] = peak_rss_mb()
    if values is not None:
        row["violation"] = max_violation(prep.model, values)
        obj = float(prep.model.cost() @ values)
        if result.objective is not None and abs(obj - result.objective) > REL_TOL * max(1.0, abs(obj)):
            row["message"] = f"{result.message}; values give objective {obj!r}, solver said {result.objective!r}"
    return row


def _child_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m horizon.optimizer.planning.bench", description="One benchmark run (used by `horizon bench`)."
    )
    parser.add_argument("--run", required=True, help="the run as JSON")
    args = parser.parse_args(argv)
    spec = json.loads(args.run)
    try:
        row = child_run(spec)
    except Exception as exc:  # noqa: BLE001 - report any failure as a row
        row = {"instance": spec.get("name"), "solver": spec.get("solver"), "repeat": spec.get("repeat")}
        row.update(status="error", message=f"{type(exc).__name__}: {exc}")
    sys.stdout.write(json.dumps(row, default=float) + "\n")
    sys.stdout.flush()
    return 0


# --- the parent ----------------------------------------------------------------------------


@dataclass
class Campaign:
    """A finished (or resumed) campaign: all rows, what ran now, what was flagged."""

    out: Path
    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    flags: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the run Ctrl-C stopped (not recorded: a resume runs it again)
    planned: int = 0  # runs this campaign had to do


def run_child(spec: dict[str, Any], wall_limit: float, log_path: Path) -> dict[str, Any] | None:
    """Run one child under a hard wall-clock limit; return its row with total_s and peak_mb,
    or None when the campaign was asked to stop (Ctrl-C: `MONITOR`) and the child was ended:
    a run cut short by the user is no measurement."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "horizon.optimizer.planning.bench", "--run", json.dumps(spec)]
    base = {"instance": spec["name"], "solver": spec["solver"], "repeat": spec["repeat"]}
    with open(log_path, "w", encoding="utf-8") as err, tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        killed = False
        pause = 0.005
        sampled = None  # the child's VmHWM as last seen, for runs that report none
        try:
            while True:
                pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                sampled = _vm_hwm_mb(proc.pid) or sampled
                if MONITOR.stop_requested():
                    _kill_group(proc.pid)
                    os.wait4(proc.pid, 0)
                    return None
                if time.perf_counter() - t0 > wall_limit:
                    killed = True
                    _kill_group(proc.pid)
                    pid, status, _usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
        except BaseException:
            _kill_group(proc.pid)
            with contextlib.suppress(ChildProcessError):
                os.wait4(proc.pid, 0)
            raise
        total = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        _kill_group(proc.pid)  # anything the child left behind
        out.seek(0)
        lines = [ln for ln in out.read().splitlines() if ln.startswith("{")]
    if killed:
        row = {**base, "status": "killed", "message": f"killed at the wall-clock limit ({wall_limit:g} s)"}
    elif lines:
        row = json.loads(lines[-1])
    else:
        code = proc.returncode
        why = f"signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"exit code {code}"
        row = {**base, "status": "crashed", "message": f"the run died ({why}) without a result; see {log_path.name}"}
    row["total_s"] = total
    if row.get("peak_mb") is None:
        row["peak_mb"] = sampled
    return row


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def read_results(path: Path) -> list[dict[str, Any]]:
    """Rows of a results.csv (numbers as floats, empty cells as None)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames and list(reader.fieldnames) != COLUMNS:
            raise InputError(f"{path}: columns {reader.fieldnames} are not those of this version ({COLUMNS}); use another --out")
        rows = []
        for r in reader:
            row: dict[str, Any] = dict(r)
            for k in ("objective", "bound", "gap", "build_s", "transfer_s", "solve_s", "total_s", "peak_mb", "violation"):
                row[k] = float(r[k]) if r.get(k) not in (None, "") else None
            row["repeat"] = int(r["repeat"])
            rows.append(row)
        return rows


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return v


def append_result(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow({k: _cell(row.get(k)) for k in COLUMNS})


def instance_names(paths: Sequence[Path]) -> list[str]:
    names = [Path(p).stem for p in paths]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"instance files must have distinct names (results are keyed by file stem); repeated: {', '.join(dup)}")
    return names


def resolve_solvers(names: Iterable[str]) -> list[str]:
    """Solver names, 'all' expanded to every solver available here; unknown/unavailable → InputError."""
    out: list[str] = []
    for n in names:
        for name in available_solvers() if n.strip().lower() == "all" else [n]:
            key = get_solver(name).name
            if key not in out:
                out.append(key)
    if not out:
        raise InputError("no solver given")
    return out


def run_campaign(
    instances: Sequence[str | Path],
    solvers: Sequence[str],
    out: str | Path,
    *,
    fmt: str = "horizon",
    time_limit: float = 60.0,
    repeats: int = 1,
    threads: int | None = 1,
    seed: int | None = None,
    mip_gap: float = 0.0,
    margin: float = 30.0,
    progress: Callable[..., None] | bool | None = None,
    warn: Callable[[str], None] | None = None,
    _child_extra: dict[str, Any] | None = None,
) -> Campaign:
    """Run every instance × solver × repeat not yet in DIR/results.csv; write the summary and
    the profile. `_child_extra` is merged into every child's spec (test hooks)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}' (use one of {', '.join(FORMATS)})")
    paths = [Path(p) for p in instances]
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: instance file not found")
    names = instance_names(paths)
    solver_names = resolve_solvers(solvers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    results = out / "results.csv"
    rows = read_results(results)
    done = {(r["instance"], r["solver"], r["repeat"]) for r in rows}
    todo = [
        (path, name, solver, rep)
        for path, name in zip(paths, names)
        for solver in solver_names
        for rep in range(1, repeats + 1)
        if (name, solver, rep) not in done
    ]
    skipped = len(paths) * len(solver_names) * repeats - len(todo)
    wall = time_limit + margin

    def one(path: Path, name: str, solver: str, rep: int) -> bool:
        """Run and record one; False when stopped by the user (nothing recorded)."""
        spec = {
            "path": str(path.resolve()),
            "name": name,
            "format": fmt,
            "solver": solver,
            "repeat": rep,
            "time_limit": time_limit,
            "threads": threads,
            "seed": seed,
            "mip_gap": mip_gap,
            **(_child_extra or {}),
        }
        log = out / "logs" / f"{name}.{solver}.{rep}.log"
        row = run_child(spec, wall, log)
        if row is None:
            log.unlink(missing_ok=True)
            return False
        licence = "size-limited licence" in (row.get("message") or "")
        if row["status"] not in ("error", "crashed", "killed") or licence:
            log.unlink(missing_ok=True)  # keep the logs of failed runs only (a licence limit says it all)
        append_result(results, row)
        rows.append(row)
        return True

    tick = progress if callable(progress) else None
    interrupted, ran = None, 0
    for i, (path, name, solver, rep) in enumerate(todo):
        label = f"{name} · {solver} · #{rep}"
        if tick:
            tick(i, len(todo), label)
        if MONITOR.stop_requested() or not one(path, name, solver, rep):
            interrupted = label
            break
        ran += 1
        if tick:
            r = rows[-1]
            objective = "" if r.get("objective") in (None, "") else f" {float(r['objective']):,.2f}"
            seconds = "" if r.get("total_s") in (None, "") else f" in {float(r['total_s']):.1f} s"
            tick(i + 1, len(todo), label, result=f"{r['status']}{objective}{seconds}")

    with contextlib.suppress(OSError):
        (out / "logs").rmdir()  # only when no run failed
    rows = read_results(results)
    flags = check_agreement(rows)
    meta = {"time_limit": time_limit, "repeats": repeats, "threads": threads, "mip_gap": mip_gap, "format": fmt, "margin": margin}
    (out / "summary.md").write_text(summary_markdown(rows, time_limit, flags, meta), encoding="utf-8")
    plot_profile(rows, out / "profile.png", time_limit)
    history = out / "campaign.json"
    runs = json.loads(history.read_text(encoding="utf-8")) if history.exists() else []
    runs.append({**meta, "solvers": solver_names, "instances": [str(p) for p in paths], "ran": ran, "skipped": skipped})
    history.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    for f in flags:
        (warn or _stderr_warn)(f)
    return Campaign(out=out, rows=rows, ran=ran, skipped=skipped, flags=flags, interrupted=interrupted, planned=len(todo))


def _stderr_warn(text: str) -> None:
    sys.stderr.write(f"WARNING: {text}\n")


# --- analysis ------------------------------------------------------------------------------


def shifted_geomean(values: Sequence[float], shift: float = SHIFT) -> float | None:
    """exp(mean(log(v + shift))) - shift; None for no values."""
    if not values:
        return None
    return math.exp(sum(math.log(max(v, 0.0) + shift) for v in values) / len(values)) - shift


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def check_agreement(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Disagreements between runs on the same instance (minimisation):
    optimal objectives apart by more than 1e-6 relative; a bound above a found solution;
    'infeasible' next to a found solution; a returned solution that violates the model."""
    flags: list[str] = []
    by_inst: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_inst[r["instance"]].append(r)
    for inst, rs in by_inst.items():
        opt = [r for r in rs if r["status"] == SOLVED and r["objective"] is not None]
        if opt:
            lo = min(opt, key=lambda r: r["objective"])
            hi = max(opt, key=lambda r: r["objective"])
            if not _agree(lo["objective"], hi["objective"]):
                flags.append(
                    f"OBJECTIVES DISAGREE on {inst}: {lo['solver']} (#{lo['repeat']}) {lo['objective']!r} vs "
                    f"{hi['solver']} (#{hi['repeat']}) {hi['objective']!r} (both optimal)"
                )
        found = [r for r in rs if r["status"] in ("optimal", "feasible") and r["objective"] is not None]
        if found:
            best = min(found, key=lambda r: r["objective"])
            for r in rs:
                if r["bound"] is not None and r["bound"] > best["objective"] and not _agree(r["bound"], best["objective"]):
                    flags.append(
                        f"BOUND ABOVE A SOLUTION on {inst}: {r['solver']} (#{r['repeat']}) bound {r['bound']!r} > "
                        f"{best['solver']}'s objective {best['objective']!r}"
                    )
            for r in rs:
                if r["status"] == "infeasible":
                    flags.append(
                        f"INFEASIBLE vs SOLVED on {inst}: {r['solver']} says infeasible, {best['solver']} found a solution"
                    )
        for r in rs:
            if r.get("violation") is not None and r["violation"] > VIOLATION_TOL:
                flags.append(
                    f"INVALID SOLUTION on {inst}: {r['solver']} (#{r['repeat']}) violates the model by {r['violation']:.3g}"
                )
            if "values give objective" in (r.get("message") or ""):
                flags.append(f"OBJECTIVE MISMATCH on {inst}: {r['solver']} (#{r['repeat']}): {r['message']}")
    return flags


def _aggregate(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (instance, solver): solved when every repeat was optimal; median times over repeats."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["instance"], r["solver"])].append(r)
    agg = {}
    for key, rs in groups.items():
        statuses = [r["status"] for r in rs]
        solve = [r["solve_s"] for r in rs if r["solve_s"] is not None]
        total = [r["total_s"] for r in rs if r["total_s"] is not None]
        objs = [r["objective"] for r in rs if r["objective"] is not None]
        agg[key] = {
            "solved": all(s == SOLVED for s in statuses),
            "status": statuses[0] if len(set(statuses)) == 1 else "/".join(sorted(set(statuses))),
            "solve_s": statistics.median(solve) if solve else None,
            "total_s": statistics.median(total) if total else None,
            "objective": min(objs) if objs else None,
            "gap": rs[0]["gap"],
            "message": rs[0].get("message") or "",
            "peak_mb": max((r["peak_mb"] for r in rs if r["peak_mb"] is not None), default=None),
            "version": rs[0].get("version") or "",
        }
    return agg


def _charged(a: dict[str, Any], time_limit: float) -> float:
    """Time charged to a run for the geometric mean: its solve time if solved, else the limit."""
    if a["solved"] and a["solve_s"] is not None:
        return a["solve_s"]
    return time_limit


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "—" if x is None else format(x, spec)


def _short_status(a: dict[str, Any]) -> str:
    msg = a["message"].lower()
    if a["status"] == "error" and "size-limited licence" in msg:
        return "size limit"
    return a["status"]


def summary_markdown(rows: Sequence[dict[str, Any]], time_limit: float, flags: Sequence[str], meta: dict[str, Any]) -> str:
    agg = _aggregate(rows)
    instances = list(dict.fromkeys(r["instance"] for r in rows))
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    common = [i for i in instances if all(agg.get((i, s), {}).get("solved") for s in solvers)]
    lines = [
        "# Solver benchmark",
        "",
        f"{len(instances)} instances × {len(solvers)} solvers × {meta.get('repeats', 1)} repeat(s); time limit "
        f"{time_limit:g} s per run (killed at {time_limit + meta.get('margin', 0):g} s wall), "
        f"MIP gap {meta.get('mip_gap', 0):g}, "
        f"threads {meta.get('threads') or 'solver default'}. Machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}.",
        "",
        "Solve s is the solver's own run (for file-based solvers: reading the MPS file and solving); build s is "
        "load + network + model build; total s is the run's whole process, interpreter start included. "
        f"Shifted geometric means use shift {SHIFT:g} s; a run that is not optimal is charged the time limit. "
        "With repeats, a pair counts as solved when every repeat was optimal, at the median time.",
        "",
        "## Per solver",
        "",
        "| solver | version | optimal | feasible | no solution | infeasible | error | killed / crashed | "
        f"SGM solve s (all {len(instances)}) | SGM solve s (the {len(common)} all solved) | SGM total s | max peak MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in solvers:
        mine = [agg[(i, s)] for i in instances if (i, s) in agg]
        count = defaultdict(int)
        for a in mine:
            count[a["status"] if a["status"] in ("optimal", "feasible", "no_solution", "infeasible", "error") else "other"] += 1
        sgm_all = shifted_geomean([_charged(a, time_limit) for a in mine])
        sgm_common = shifted_geomean([_charged(agg[(i, s)], time_limit) for i in common])
        sgm_total = shifted_geomean([a["total_s"] if a["solved"] and a["total_s"] is not None else time_limit for a in mine])
        peak = max((a["peak_mb"] for a in mine if a["peak_mb"] is not None), default=None)
        version = mine[0]["version"] if mine else ""
        lines.append(
            f"| {s} | {version} | {count['optimal']} | {count['feasible']} | {count['no_solution']} | {count['infeasible']} | "
            f"{count['error']} | {count['other']} | {_fmt(sgm_all)} | {_fmt(sgm_common)} | {_fmt(sgm_total)} | "
            f"{_fmt(peak, '.0f')} |"
        )
    lines += ["", "## Checks", ""]
    if flags:
        lines += [f"- ⚠ **{f}**" for f in flags]
    else:
        lines.append(
            f"No disagreements: optimal objectives agree within {REL_TOL:g} relative on every instance, no bound cuts off a "
            f"solution found by another run, and every returned solution satisfies the model within {VIOLATION_TOL:g}."
        )
    errors: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (i, s), a in agg.items():
        if a["status"] in ("error", "crashed", "killed"):
            m = a["message"]
            if "size-limited licence" in m:
                m = f"model over the size-limited licence ({COMMUNITY_LIMITS.get(s, 'size limit')})"
            errors[(s, m)].append(i)
    if errors:
        lines += ["", "Errors, crashes and kills:", ""]
        for (s, m), insts in sorted(errors.items()):
            more = ", …" if len(insts) > 10 else ""
            lines.append(f"- {s}: {m} — {len(insts)} instance(s): {', '.join(insts[:10])}{more}")
    lines += [
        "",
        "## Per instance (median solve seconds; status when not optimal)",
        "",
        "| instance | best objective | " + " | ".join(solvers) + " |",
        "|---|---:|" + "---:|" * len(solvers),
    ]
    for i in instances:
        objs = [agg[(i, s)]["objective"] for s in solvers if (i, s) in agg and agg[(i, s)]["status"] in ("optimal", "feasible")]
        best = min(objs) if objs else None
        cells = []
        for s in solvers:
            a = agg.get((i, s))
            if a is None:
                cells.append("")
            elif a["solved"]:
                cells.append(_fmt(a["solve_s"]))
            elif a["status"] == "feasible":
                gap = "" if a["gap"] is None else f", gap {100 * a['gap']:.2g}%"
                cells.append(f"feasible{gap}")
            else:
                cells.append(_short_status(a))
        lines.append(f"| {i} | {_fmt(best, ',.3f')} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def profile_data(rows: Sequence[dict[str, Any]]) -> tuple[list[str], dict[str, list[float]]]:
    """Dolan–Moré performance ratios per solver (inf where not solved), over the instances
    at least one solver solved; times below `PROFILE_FLOOR` count as the floor."""
    agg = _aggregate(rows)
    instances = list(dict.fromkeys(r["instance"] for r in rows))
    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    ratios: dict[str, list[float]] = {s: [] for s in solvers}
    used = []
    for i in instances:
        t = {
            s: max(agg[(i, s)]["solve_s"], PROFILE_FLOOR)
            for s in solvers
            if (i, s) in agg and agg[(i, s)]["solved"] and agg[(i, s)]["solve_s"] is not None
        }
        if not t:
            continue
        used.append(i)
        best = min(t.values())
        for s in solvers:
            ratios[s].append(t[s] / best if s in t else math.inf)
    return used, ratios


def plot_profile(rows: Sequence[dict[str, Any]], path: Path, time_limit: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used, ratios = profile_data(rows)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    finite = [r for rs in ratios.values() for r in rs if math.isfinite(r)]
    top = max(finite + [2.0]) * 1.5
    for s, rs in ratios.items():
        n = len(rs)
        if n == 0:
            continue
        xs = sorted(r for r in rs if math.isfinite(r))
        px, py = [1.0], [0.0]
        for k, x in enumerate(xs, start=1):
            px += [x, x]
            py += [py[-1], k / n]
        px.append(top)
        py.append(py[-1])
        ax.plot(px, py, label=f"{s} ({len(xs)}/{n})", linewidth=1.8)
    ax.set_xscale("log", base=2)
    ax.set_xlim(1, top)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("τ: within this factor of the fastest solver (solve time)")
    ax.set_ylabel("share of instances solved")
    ax.set_title(f"Performance profile — {len(used)} instances, time limit {time_limit:g} s")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    else:
        ax.text(0.5, 0.5, "no instance solved to optimality", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(_child_main())
