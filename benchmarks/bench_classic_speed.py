"""Classic models at OR-Library's largest sizes: horizon end-to-end vs raw HiGHS (and spopt).

Two random instances are written as OR-Library text files, the sizes of the biggest
published sets:

- ``cap``: 100 warehouses × 1000 customers, as capa/capb/capc (the capacities are the word
  ``capacity``, given with ``--capacity``); points in the unit square, demand 5..35,
  ``c_ij`` = demand × distance × 100 (cost of serving all of j from i), fixed cost
  2000..4000, capacity = total demand / 10. Solved as the capacitated problem (split
  sourcing). HiGHS proves it optimal in about a minute (24 warehouses open); with fixed
  costs of 5000..15000 and capacity = demand / 20 it was still 0.6% from optimal after
  15 minutes, which measures the time limit rather than horizon.
- ``pmed``: 900 vertices, 16200 edge lines, p = 90, the size of pmed38-40 (OR-Library's
  pmed headers give e = n²/50: 100 200, 200 800, 300 1800, 400 3200, ..., 900 16200); a
  random spanning tree plus random pairs (repeats allowed, the last one wins), costs 1..100.

Each file is imported as `horizon import` does (`horizon.optimizer.data.orlib` + `horizon.optimizer.data.writer`),
then timed the way `horizon solve` runs it (`horizon.optimizer.pipeline.prepare` +
`solve_prepared`): load · network · build · transfer (matrix into highspy) · highs (the
HiGHS run) · readback (`Solution`) · total. The same model is exported to MPS exactly as
handed to HiGHS (`benchmarks/common.export_mps`) and solved in a fresh
`highspy.Highs()` (readModel + run) with the same options (mip_rel_gap 0, same time limit
and threads): raw. Reported: total / raw (target ≤ 1.15) and whether the objectives agree.
For the p-median, PySAL spopt's `PMedian.from_cost_matrix` (PuLP + CBC) is timed on the
same shortest-path matrix in a child process killed at ``--spopt-limit`` seconds.
Also: the seconds a fresh Python process needs to import what `horizon solve` imports.

    python benchmarks/bench_classic_speed.py                       # writes docs/classic-speed.md
    python benchmarks/bench_classic_speed.py --time-limit 120 --only pmed --repeats 3
    python benchmarks/bench_classic_speed.py --profile             # cProfile of the non-HiGHS part
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `common` when loaded by file path
from common import (  # noqa: E402
    ROOT,
    STAGES,
    Comparison,
    arg_parser,
    command_line,
    export_mps,
    machine_line,
    markdown_table,
    page_head,
    work_folder,
)
from gen_orlib import write_cap_file, write_pmed_file  # noqa: E402

from horizon.optimizer.data.orlib import read_cap, read_pmed  # noqa: E402
from horizon.optimizer.data.writer import write_instance  # noqa: E402
from horizon.optimizer.files import write_text  # noqa: E402
from horizon.optimizer.pipeline import prepare  # noqa: E402
from horizon.optimizer.solve.highs import configure, new_highs
from horizon.optimizer.solve.result import SolveOptions
from horizon.optimizer.solve.starts import pass_model  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "classic-speed.md"


# --- timing -----------------------------------------------------------------------------


@dataclass
class Case(Comparison):
    label: str
    fmt: str
    source: Path
    instance: Path
    size: str = ""
    model: str = ""
    spopt: str = ""


def profile_overhead(case: Case, opts: SolveOptions, top: int) -> str:
    """cProfile of the non-HiGHS part of a horizon run: prepare (load, network, build) and the
    transfer into highspy (`horizon.optimizer.solve.starts.configure` + `pass_model`); HiGHS itself is not run."""
    prof = cProfile.Profile()
    prof.enable()
    prep = prepare(case.instance)
    h = new_highs()
    configure(h, opts)
    pass_model(h, prep.model)
    prof.disable()
    del h, prep
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    buf.write("\n--- by own time ---\n")
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


SPOPT_CHILD = r"""
import sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
t0 = time.perf_counter()
import pulp
from spopt.locate import PCenter, PMedian
dist = np.load(sys.argv[1]); p = int(sys.argv[2]); limit = float(sys.argv[3]); kind = sys.argv[4]
t1 = time.perf_counter()
if kind == "p_center":
    model = PCenter.from_cost_matrix(dist, p_facilities=p)
else:
    model = PMedian.from_cost_matrix(dist, np.ones(dist.shape[0]), p_facilities=p)
t2 = time.perf_counter()
solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit)
model.solve(solver)
t3 = time.perf_counter()
print(pulp.LpStatus[model.problem.status], pulp.value(model.problem.objective), t1 - t0, t2 - t1, t3 - t2, flush=True)
"""


def time_spopt(instance: Path, p: int, limit: float, workdir: Path, model: str = "p_median") -> str:
    """spopt's PMedian or (`model` "p_center") PCenter, PuLP + CBC, on horizon's own
    shortest-path matrix, in a child process."""
    try:
        import spopt  # noqa: F401
    except ImportError:
        return "spopt not installed (pip install spopt)"
    prep = prepare(instance)
    (opt,) = prep.network.options[prep.instance.spec.asset_types[0].id]
    npy = workdir / "pmed-dist.npy"
    np.save(npy, np.asarray(opt.hours).T)  # clients × facilities (symmetric here)
    del prep
    t0 = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-c", SPOPT_CHILD, str(npy), str(p), str(limit), model],
            capture_output=True,
            text=True,
            timeout=limit + 60,
            cwd=workdir,  # -c puts the working directory first on sys.path: keep it one we own
        )
    except subprocess.TimeoutExpired:
        return f"no result within {limit + 60:.0f} s wall (killed; CBC time limit {limit:g} s)"
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        return f"failed after {wall:.1f} s: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"
    status, obj, imp, build, run = out.stdout.split()[-5:]
    return (
        f"{status}, objective {float(obj):,.0f}; {wall:.1f} s wall: imports {float(imp):.1f}, "
        f"PuLP model {float(build):.1f}, CBC {float(run):.1f} (time limit {limit:g} s)"
    )


def import_seconds() -> float:
    """A fresh interpreter importing what `horizon solve` imports."""
    code = "import horizon.cli"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


# --- output -----------------------------------------------------------------------------


def render(cases: list[Case], command: str, opts: SolveOptions, repeats: int, startup: float | None) -> str:
    head = ["instance", *STAGES, "total/raw", "objective", "raw objective", "agree"]
    lines = [
        *page_head("Classic models at OR-Library's largest sizes: horizon vs raw HiGHS", "bench_classic_speed.py", command),
        f"{machine_line()}, {time.strftime('%Y-%m-%d')}."
        f" Seconds, median of {repeats} run(s), horizon and raw alternating; HiGHS options for both runs:"
        f" mip_rel_gap {opts.mip_gap:g}, time limit {opts.time_limit if opts.time_limit else 'none'},"
        f" threads {opts.threads or 'HiGHS default'}.",
        "",
        "horizon = `prepare` + `solve_prepared` on the imported instance file, as `horizon solve --start none` runs it:",
        "load · network · build · transfer (matrix into highspy) · highs (the HiGHS run) · readback.",
        "raw = a fresh `highspy.Highs()` reading the MPS of exactly the model horizon hands HiGHS",
        "(raw_read) and running it (raw_run). Target: total / raw ≤ 1.15.",
        "",
        "These are the reserve model's assignment form (`--formulation assignment`); the p-median's",
        "site-choice formulations (levels, Benders), which `horizon solve --classic p-median` uses by",
        "default, are compared in [classic-formulations.md](classic-formulations.md), and so is the CFLP",
        "start that `horizon solve --time-limit` runs first (`--start none` leaves it out here).",
        "",
    ]
    rows = [
        [
            c.label,
            *(f"{c.median(s):.2f}" for s in STAGES),
            f"**{c.ratio:.2f}**",
            f"{c.objective:,.3f}" if c.objective is not None else c.status,
            f"{c.raw_objective:,.3f}" if c.raw_objective is not None else c.raw_status,
            "yes" if c.agree else "**NO**",
        ]
        for c in cases
    ]
    lines += markdown_table(head, rows)
    lines.append("")
    for c in cases:
        over = c.median("total") - c.median("highs")
        lines.append(
            f"- **{c.label}** ({c.model}): {c.size}. horizon {c.status}"
            + (f" (gap {c.gap:.3%})" if c.gap else "")
            + f", raw {c.raw_status}. Non-HiGHS seconds in horizon: {over:.2f}"
            f" ({100 * over / c.median('total'):.0f}% of total)."
        )
        if repeats > 1:
            runs = ", ".join(f"{t:.1f}/{r:.1f}" for t, r in zip(c.seconds["total"], c.seconds["raw"]))
            lines.append(f"  Each run, total/raw seconds: {runs}.")
        if c.spopt:
            lines.append(f"  spopt `PMedian.from_cost_matrix` (PuLP + CBC) on the same distance matrix: {c.spopt}.")
    if startup is not None:
        lines.append(
            f"- Start-up, not in the table: a fresh Python process takes {startup:.1f} s to import what"
            " `horizon solve` imports (cli, pipeline, solution, solve, schema)."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__)
    ap.add_argument("--only", choices=("cap", "pmed"), action="append", help="run only this instance (repeatable)")
    ap.add_argument("--cap-size", default="100x1000", help="warehouses x customers (default 100x1000, as capa-c)")
    ap.add_argument("--pmed-size", default="900x16200x90", help="vertices x edges x p (default 900x16200x90, as pmed40)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1, help="runs of each side; medians shown (default 1)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="HiGHS seconds, for both runs (default 600)")
    ap.add_argument("--threads", type=int, help="HiGHS threads, for both runs (default: HiGHS's)")
    ap.add_argument("--spopt-limit", type=float, default=300.0, help="CBC seconds for spopt (0 = skip spopt)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown output (default docs/classic-speed.md)")
    ap.add_argument("--no-out", action="store_true", help="print only")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of horizon's non-HiGHS part per instance")
    ap.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    ap.add_argument("--startup-runs", type=int, default=3, help="fresh-interpreter import timings (median; 0 = skip)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    try:
        m, n = (int(x) for x in args.cap_size.lower().split("x"))
        pn, pe, pp = (int(x) for x in args.pmed_size.lower().split("x"))
    except ValueError:
        ap.error("sizes are MxN (cap) and NxExP (pmed)")
    # start "none": the layer against raw HiGHS on the same model, with nothing before the
    # run; the capacitated start is measured against plain HiGHS in bench_formulations.py
    opts = SolveOptions(time_limit=args.time_limit, mip_gap=0.0, threads=args.threads, start="none")
    wanted = args.only or ["cap", "pmed"]

    with work_folder(args.keep, "horizon-classic-") as work:
        cases: list[Case] = []
        if "cap" in wanted:
            src = work / f"cap-{m}x{n}-seed{args.seed}.txt"
            capacity = write_cap_file(src, m, n, args.seed)
            case = Case(f"cap {m}x{n} seed {args.seed}", "cap", src, work / f"{src.stem}.yaml")
            write_instance(read_cap(src, capacity=capacity), case.instance, csv_threshold=2000)
            case.model = f"capacitated facility location, split sourcing, capacity {capacity:g} each"
            cases.append(case)
        if "pmed" in wanted:
            src = work / f"pmed-{pn}x{pe}x{pp}-seed{args.seed}.txt"
            write_pmed_file(src, pn, pe, pp, args.seed)
            case = Case(f"pmed {pn}x{pe} p={pp} seed {args.seed}", "pmed", src, work / f"{src.stem}.yaml")
            write_instance(read_pmed(src), case.instance, csv_threshold=2000)
            case.model = f"p-median, p = {pp}, shortest paths over {pe} edge lines"
            cases.append(case)

        for case in cases:
            print(f"{case.label}: exporting MPS ...", file=sys.stderr, flush=True)
            mps = work / f"{case.instance.stem}.mps"
            case.size = export_mps(case.instance, mps)
            for r in range(args.repeats):
                print(f"{case.label}: horizon run {r + 1} ...", file=sys.stderr, flush=True)
                case.time_horizon(case.instance, opts)
                print(f"{case.label}: raw run {r + 1} ...", file=sys.stderr, flush=True)
                case.time_raw(mps, opts)
                print(
                    f"  total {case.seconds['total'][-1]:.2f} s (highs {case.seconds['highs'][-1]:.2f})"
                    f" vs raw {case.seconds['raw'][-1]:.2f} s; objectives {case.objective} / {case.raw_objective}",
                    file=sys.stderr,
                    flush=True,
                )
            if args.profile:
                print(f"=== cProfile: {case.label} ===\n{profile_overhead(case, opts, 30)}", file=sys.stderr, flush=True)
            if case.fmt == "pmed" and args.spopt_limit > 0:
                print(f"{case.label}: spopt PMedian ...", file=sys.stderr, flush=True)
                case.spopt = time_spopt(case.instance, pp, args.spopt_limit, work)
                print(f"  spopt: {case.spopt}", file=sys.stderr, flush=True)
        startup = statistics.median(import_seconds() for _ in range(args.startup_runs)) if args.startup_runs > 0 else None

    text = render(cases, command_line("bench_classic_speed.py", argv), opts, args.repeats, startup)
    print(text)
    if not args.no_out:
        write_text(args.out, text)
        print(f"written: {args.out}", file=sys.stderr)
    return 0 if all(c.agree for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
