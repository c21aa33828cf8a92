"""How the extensive form grows with the scenario count, and progressive hedging at scale.

EF: for each scenario count S, a generated instance MISSIONS×HUBS×TYPES×S (default
100×30×8 and S = 25, 50, 100, 200, 400) is written to files (YAML + CSV, as a user would
have it) and solved by horizon's normal path (`horizon.optimizer.pipeline.prepare` +
`solve_prepared`) in a fresh subprocess, so that each size's peak memory is that process's
own ``ru_maxrss`` (with ``--start concurrent``, plus its second search's). Recorded per size:
load, network, build and solve seconds, peak RSS, model size (columns, integer columns, rows,
non-zeros), status, objective, bound and gap at the time limit.

PH: `horizon.optimizer.planning.ph` under ``mpiexec -n R`` on one (large) scenario count, every rank
reporting its own peak RSS; optionally the EF on the same instance for comparison.

Results go to ``--out`` (default docs/scale/): ``ef.json`` / ``ef.md`` (table),
``ef_loglog.png`` (log-log plot of build, solve and total seconds and peak memory against
S) and ``ph.json`` / ``ph.md``.

    python benchmarks/bench_scale.py ef --time-limit 300
    python benchmarks/bench_scale.py ef --scenarios 25 50 --time-limit 60 --out /tmp/scale
    python benchmarks/bench_scale.py ph --scenarios 2000 --ranks 2 --ph-iterations 3 --ef-time-limit 300
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `common` when loaded by file path
from common import ROOT, arg_parser, machine_note, stage_seconds, work_folder  # noqa: E402

from horizon.optimizer.files import write_text  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "scale"


# --- children (one process per measurement) ---------------------------------------------------
def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """This process's peak resident set size in MiB (Linux reports ru_maxrss in KiB); with
    RUSAGE_CHILDREN, its largest finished child's (the second search of `--start concurrent`)."""
    return resource.getrusage(who).ru_maxrss / 1024.0


def ef_child(path: str, time_limit: float | None, start: str = "auto") -> dict:
    """Solve one instance file with the EF path; return the measurements."""
    from horizon.optimizer.pipeline import prepare, solve_prepared
    from horizon.optimizer.solve.result import SolveOptions

    t0 = time.perf_counter()
    prep = prepare(path)
    a = prep.model.matrix()
    integer = prep.model.col_bounds()[2]
    size = {
        "columns": int(prep.model.n_cols),
        "integer_columns": int(integer.sum()),
        "rows": int(prep.model.n_rows),
        "nonzeros": int(a.nnz),
        "arcs": len(prep.arcs),
    }
    rss_built = peak_rss_mib()
    sol, result = solve_prepared(prep, SolveOptions(time_limit=time_limit, start=start))
    wall = time.perf_counter() - t0
    return {
        **stage_seconds(sol.timings, result),
        "solve": sol.timings.solve,
        "total": wall,
        # both searches' peaks, summed (`--start concurrent` runs a second process)
        "peak_rss_mib": peak_rss_mib() + peak_rss_mib(resource.RUSAGE_CHILDREN),
        "peak_rss_second_mib": peak_rss_mib(resource.RUSAGE_CHILDREN),
        "peak_rss_after_build_mib": rss_built,
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "start": start,
        "message": result.message,
        **size,
    }


def ph_child(path: str, iterations: int, rho: float, time_limit: float | None, improve_limit: float | None) -> dict | None:
    """Run PH on this rank; rank 0 returns the measurements (every rank's peak RSS)."""
    from horizon.optimizer.planning.ph import PHOptions, rank_and_size, solve_ph, world

    comm = world()
    rank, size = rank_and_size(comm)
    t0 = time.perf_counter()
    options = PHOptions(
        max_iterations=iterations, rho_factor=rho, time_limit=time_limit, improve_time_limit=improve_limit, round_up=False
    )
    sol, report = solve_ph(path, options, comm=comm)
    wall = time.perf_counter() - t0
    rss = [peak_rss_mib()] if comm is None else comm.gather(peak_rss_mib(), root=0)
    if rank != 0:
        return None
    assert sol is not None
    return {
        "ranks": size,
        "wall": wall,
        "timings": sol.timings.__dict__,
        "ph_seconds": report.seconds,
        "iterations": report.iterations,
        "convergence": report.convergence,
        "incumbent": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "trivial_bound": report.trivial_bound,
        "lagrangian_bound": report.lagrangian_bound,
        "candidates": report.candidates,
        "status": sol.status,
        "open_hubs": sol.open_hubs,
        "peak_rss_mib_per_rank": rss,
    }


# --- parent --------------------------------------------------------------------------------------
def write_generated(
    missions: int, hubs: int, types: int, scenarios: int, seed: int, folder: Path, split_loads: bool = False
) -> Path:
    from horizon.optimizer.data.writer import write_instance
    from horizon.optimizer.network.generate import generate_spec

    path = folder / f"gen-{missions}x{hubs}x{types}x{scenarios}-s{seed}{'-split' if split_loads else ''}.yaml"
    if not path.exists():
        write_instance(generate_spec(missions, hubs, types, scenarios, seed, split_loads=split_loads), path)
    return path


def generated(args: argparse.Namespace) -> Iterator[tuple[int, Path]]:
    """(S, instance file) for each --scenarios size, written when reached; kept only with --keep."""
    with work_folder(args.keep, "bench-scale-") as work:
        for s in args.scenarios:
            yield s, write_generated(args.missions, args.hubs, args.types, s, args.seed, work, args.split_loads)


def run_child(args: list[str], timeout: float | None) -> dict:
    """Run this script as a child; its last stdout line is the JSON result."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=dict(os.environ))
    except subprocess.TimeoutExpired:
        return {"status": "killed", "total": time.perf_counter() - t0, "error": f"killed after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        return {"status": "error", "error": (proc.stderr or "")[-2000:], "returncode": proc.returncode}
    return json.loads(lines[-1])


def fmt(x: float | None, spec: str = ".1f") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def ef_table(rows: list[dict]) -> str:
    head = (
        "| scenarios | columns (int) | rows | non-zeros | load s | network s | build s | solve s | total s | "
        "build share | peak RSS MiB | status | gap |"
    )
    lines = [head, "|" + "---:|" * 11 + "---|---:|"]
    for r in rows:
        if "columns" not in r:
            lines.append(f"| {r['scenarios']} | | | | | | | | | | | {r['status']} | |")
            continue
        py = r["load"] + r["network"] + r["build"]
        share = py / r["total"] if r["total"] else math.nan
        gap = "–" if r["gap"] is None else f"{100 * r['gap']:.2f}%"
        lines.append(
            f"| {r['scenarios']} | {r['columns']:,} ({r['integer_columns']:,}) | {r['rows']:,} | {r['nonzeros']:,} | "
            f"{fmt(r['load'], '.2f')} | {fmt(r['network'], '.2f')} | {fmt(r['build'], '.2f')} | {fmt(r['solve'])} | "
            f"{fmt(r['total'])} | {100 * share:.1f}% | {fmt(r['peak_rss_mib'], '.0f')} | {r['status']} | {gap} |"
        )
    return "\n".join(lines)


def slopes(rows: list[dict]) -> dict[str, float]:
    """Least-squares slope of log(metric) against log(S): the growth exponent."""
    import numpy as np

    ok = [r for r in rows if "columns" in r]
    out = {}
    if len(ok) < 2:
        return out
    x = np.log([r["scenarios"] for r in ok])
    for key in ("build", "solve", "peak_rss_mib", "columns"):
        y = np.array([r[key] for r in ok], dtype=float)
        if (y > 0).all():
            out[key] = float(np.polyfit(x, np.log(y), 1)[0])
    out["python"] = float(np.polyfit(x, np.log([r["load"] + r["network"] + r["build"] for r in ok]), 1)[0])
    return out


def plot_ef(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ok = [r for r in rows if "columns" in r]
    s = [r["scenarios"] for r in ok]
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    ax[0].loglog(s, [r["solve"] for r in ok], "o-", label="solve (HiGHS)")
    ax[0].loglog(s, [r["load"] + r["network"] + r["build"] for r in ok], "s--", label="Python: load + network + build")
    ax[0].loglog(s, [r["build"] for r in ok], "^-", label="build (model matrix)")
    limited = [r for r in ok if r["status"] != "optimal"]
    if limited:
        xs, ys = [r["scenarios"] for r in limited], [r["solve"] for r in limited]
        ax[0].loglog(xs, ys, "rx", ms=10, label="stopped at the time limit")
    ax[0].set_ylabel("seconds")
    ax[1].loglog(s, [r["peak_rss_mib"] for r in ok], "o-", label="peak RSS, whole run (MiB)")
    ax[1].loglog(s, [r["peak_rss_after_build_mib"] for r in ok], "s--", label="peak RSS after build (MiB)")
    ax[1].loglog(s, [r["columns"] / 1000 for r in ok], "^-", label="columns (thousands)")
    gaps = [(r["scenarios"], 100 * r["gap"]) for r in ok if r["gap"]]
    if gaps:
        ax[2].loglog([g[0] for g in gaps], [g[1] for g in gaps], "o-", color="C3", label="MIP gap at the end (%)")
    for a in ax:
        a.set_xlabel("scenarios")
        a.set_xticks(s)
        a.xaxis.set_major_formatter(ScalarFormatter())
        a.xaxis.set_minor_formatter(NullFormatter())
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_plot(args: argparse.Namespace) -> int:
    """Redraw the EF plots and tables from ef*.json."""
    out = Path(args.out)
    for path in sorted(out.glob("ef*.json")):
        data = json.loads(path.read_text())
        title = (
            f"EF, generated {data['instance']} (seed {data['seed']}), HiGHS time limit {data['time_limit'] or 'none'} s, "
            f"--start {data.get('start', 'none')}"
        )
        plot_ef(data["rows"], out / f"{path.stem}_loglog.png", title)
        print(f"{path.name}:\n{ef_table(data['rows'])}\n")
    return 0


def cmd_ef(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    m, h, k = args.missions, args.hubs, args.types
    rows = []
    for s, path in generated(args):
        child = [sys.executable, __file__, "_ef", str(path), "--start", args.start]
        if args.time_limit:
            child += ["--time-limit", str(args.time_limit)]
        r = run_child(child, None if not args.time_limit else args.time_limit * 2 + 600)
        r["scenarios"] = s
        rows.append(r)
        print(json.dumps(r), file=sys.stderr, flush=True)
    title = (
        f"EF, generated {m}×{h}×{k}×S (seed {args.seed}{', split loads' if args.split_loads else ''}), "
        f"HiGHS time limit {args.time_limit or 'none'} s, --start {args.start}"
    )
    result = {
        "instance": f"{m}x{h}x{k}xS",
        "seed": args.seed,
        "time_limit": args.time_limit,
        "start": args.start,
        "split_loads": args.split_loads,
        "machine": machine_note(),
    }
    result["rows"] = rows
    result["slopes"] = slopes(rows)
    name = ("ef" if args.start == "auto" else f"ef-start-{args.start}") + ("-split-loads" if args.split_loads else "")
    write_text(out / f"{name}.json", json.dumps(result, indent=2) + "\n")
    table = ef_table(rows)
    sl = result["slopes"]
    growth = ", ".join(f"{k} ∝ S^{v:.2f}" for k, v in sl.items())
    write_text(out / f"{name}.md", f"{title}\n\n{table}\n\nGrowth (log-log slopes): {growth}\n")
    plot_ef(rows, out / f"{name}_loglog.png", title)
    print(table)
    print(f"\nGrowth (log-log slopes): {growth}")
    return 0


def cmd_ph(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    m, h, k = args.missions, args.hubs, args.types
    results = []
    for s, path in generated(args):
        row: dict = {"scenarios": s, "instance": f"{m}x{h}x{k}x{s}", "seed": args.seed}
        mpiexec = shutil.which("mpiexec")
        cmd = [sys.executable, __file__, "_ph", str(path), "--ph-iterations", str(args.ph_iterations)]
        cmd += ["--ph-rho", str(args.ph_rho)]
        if args.ph_time_limit:
            cmd += ["--time-limit", str(args.ph_time_limit)]
        if args.improve_time_limit:
            cmd += ["--improve-time-limit", str(args.improve_time_limit)]
        if args.ranks > 1:
            if mpiexec is None:
                raise SystemExit("mpiexec not found (apt-get install openmpi-bin)")
            extra = ["--allow-run-as-root", "--oversubscribe"] if os.geteuid() == 0 else ["--oversubscribe"]
            cmd = [mpiexec, "-n", str(args.ranks), *extra, *cmd]
        t0 = time.perf_counter()
        row["ph"] = run_child(cmd, args.timeout)
        row["ph"]["wall_outside"] = time.perf_counter() - t0
        print(json.dumps(row["ph"]), file=sys.stderr, flush=True)
        if args.ef_time_limit:
            child = [sys.executable, __file__, "_ef", str(path), "--time-limit", str(args.ef_time_limit)]
            row["ef"] = run_child(child, args.ef_time_limit * 2 + 600)
            print(json.dumps(row["ef"]), file=sys.stderr, flush=True)
        results.append(row)
    doc = {"machine": machine_note(), "ranks": args.ranks, "ph_iterations": args.ph_iterations, "rho": args.ph_rho}
    doc["runs"] = results
    (out / "ph.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = [
        "| instance | method | wall s | objective (incumbent) | bound | gap | peak RSS MiB | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in results:
        p = row["ph"]
        if "incumbent" in p:
            rss = "+".join(f"{x:.0f}" for x in p["peak_rss_mib_per_rank"])
            lines.append(
                f"| {row['instance']} | PH, {p['ranks']} rank(s), {p['iterations']} it. | {p['wall']:.0f} | "
                f"{p['incumbent']:,.0f} | "
                f"{fmt(p['bound'], ',.0f')} | {100 * (p['gap'] or 0):.1f}% | {rss} | conv {fmt(p['convergence'], '.3f')} |"
            )
        else:
            lines.append(f"| {row['instance']} | PH | | | | | | {p.get('status')}: {str(p.get('error', ''))[-200:]!r} |")
        e = row.get("ef")
        if e and "columns" in e:
            gap = "–" if e["gap"] is None else f"{100 * e['gap']:.1f}%"
            lines.append(
                f"| {row['instance']} | EF (1 process) | {e['total']:.0f} | {fmt(e['objective'], ',.0f')} | "
                f"{fmt(e['bound'], ',.0f')} | "
                f"{gap} | {e['peak_rss_mib']:.0f} | {e['status']}, {e['columns']:,} columns, build {e['build']:.1f} s |"
            )
        elif e:
            lines.append(f"| {row['instance']} | EF | | | | | | {e.get('status')} |")
    text = "\n".join(lines)
    (out / "ph.md").write_text(text + "\n")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("ef", "ph"):
        p = sub.add_parser(name)
        p.add_argument("--missions", type=int, default=100)
        p.add_argument("--hubs", type=int, default=30)
        p.add_argument("--types", type=int, default=8)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--out", default=str(DEFAULT_OUT), help="folder for tables, JSON and plots (default docs/scale)")
        p.add_argument("--keep", help="keep the generated instance files in this folder")
        p.add_argument("--split-loads", action="store_true", help="generate with options.split_loads")
    p = sub.add_parser("plot")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    ef = sub.choices["ef"]
    ef.add_argument("--scenarios", type=int, nargs="+", default=[25, 50, 100, 200, 400])
    ef.add_argument("--time-limit", type=float, default=600.0, help="HiGHS seconds per size (default 600)")
    from horizon.optimizer.solve.starts import STARTS

    ef.add_argument("--start", choices=STARTS, default="auto", help="horizon solve --start")
    ph = sub.choices["ph"]
    ph.add_argument("--scenarios", type=int, nargs="+", default=[2000])
    ph.add_argument("--ranks", type=int, default=2)
    ph.add_argument("--ph-iterations", type=int, default=5)
    ph.add_argument("--ph-rho", type=float, default=1.0)
    ph.add_argument("--ph-time-limit", type=float, default=None, help="seconds for the PH iterations")
    ph.add_argument("--improve-time-limit", type=float, default=300.0, help="seconds for the incumbent's local search")
    ph.add_argument("--ef-time-limit", type=float, default=None, help="also run the EF with this HiGHS limit")
    ph.add_argument("--timeout", type=float, default=3600.0, help="kill the PH run after this many seconds")
    # children
    c = sub.add_parser("_ef")
    c.add_argument("path")
    c.add_argument("--time-limit", type=float)
    c.add_argument("--start", default="auto")
    c = sub.add_parser("_ph")
    c.add_argument("path")
    c.add_argument("--ph-iterations", type=int, default=5)
    c.add_argument("--ph-rho", type=float, default=1.0)
    c.add_argument("--time-limit", type=float)
    c.add_argument("--improve-time-limit", type=float)
    args = ap.parse_args(argv)
    if args.cmd == "_ef":
        print(json.dumps(ef_child(args.path, args.time_limit, args.start)))
        return 0
    if args.cmd == "_ph":
        res = ph_child(args.path, args.ph_iterations, args.ph_rho, args.time_limit, args.improve_time_limit)
        if res is not None:
            print(json.dumps(res))
        return 0
    return {"ef": cmd_ef, "ph": cmd_ph, "plot": cmd_plot}[args.cmd](args)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
