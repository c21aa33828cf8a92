"""Core pipeline timings, stage by stage, against raw HiGHS on the same model.

For the bundled instance (skipped when missing) and generated instances
(`optimizer.generate`, default 60 missions × 20 hubs × 6 types × 100 scenarios, written
with big tables as CSV and loaded from file), time the shipped path
(`optimizer.pipeline.prepare` + `solve_prepared`):

  load · network (response times, eligible arcs, pre-solve checks) · build (Pyomo model)
  · transfer (sparse matrix handed to highspy) · highs (HiGHS run)
  · readback (values into Pyomo + `Solution`) · total (wall clock of all of it)

then export the same model to MPS (passed to highspy as `solve_highs` does, then
`writeModel`: same columns, rows and order) and solve that file in a fresh `highspy.Highs()` with the same options
(mip_rel_gap 0): raw = readModel + run. Reports total / raw and checks that the objectives
agree. Medians over `--repeats`.

    python benchmarks/bench_core.py                     # bundled + 60x20x6x100
    python benchmarks/bench_core.py --size 8x4x3x6 --size 120x30x6x200 --repeats 3 --markdown
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import highspy

import optimizer.solve as solve_mod
from optimizer.generate import generate_spec
from optimizer.loader import default_instance_path
from optimizer.pipeline import prepare, solve_prepared
from optimizer.solve import SolveOptions
from optimizer.writer import write_instance

OBJECTIVE_RTOL = 1e-6
COLUMNS = ("load", "network", "build", "transfer", "highs", "readback", "total", "raw_read", "raw_run", "raw")


@dataclass
class CaseResult:
    label: str
    size: str = ""
    status: str = ""
    objective: float | None = None
    gap: float | None = None
    raw_status: str = ""
    raw_objective: float | None = None
    seconds: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in COLUMNS})

    def median(self, col: str) -> float:
        return statistics.median(self.seconds[col]) if self.seconds[col] else math.nan

    @property
    def ratio(self) -> float:
        raw = self.median("raw")
        return self.median("total") / raw if raw > 0 else math.nan

    @property
    def objectives_agree(self) -> bool:
        a, b = self.objective, self.raw_objective
        if a is None or b is None:
            return a is None and b is None
        return abs(a - b) <= OBJECTIVE_RTOL * max(1.0, abs(a), abs(b))


def parse_size(text: str) -> tuple[int, int, int, int]:
    try:
        parts = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        parts = ()
    if len(parts) != 4 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"size must be MISSIONSxHUBSxTYPESxSCENARIOS, e.g. 60x20x6x100 (got {text!r})")
    return parts  # type: ignore[return-value]


def highs_options(h: highspy.Highs, opts: SolveOptions) -> None:
    """The options `solve_highs` sets, for the raw run."""
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
    if opts.time_limit is not None:
        h.setOptionValue("time_limit", float(opts.time_limit))
    if opts.threads is not None:
        h.setOptionValue("threads", int(opts.threads))
    if opts.seed is not None:
        h.setOptionValue("random_seed", int(opts.seed))


def export_mps(path: Path, mps: Path) -> str:
    """Build the model as the pipeline does and write exactly what HiGHS receives."""
    prep = prepare(path)
    h = solve_mod.new_highs()
    solve_mod.pass_model(h, prep.model)  # exactly what solve_highs hands HiGHS
    with solve_mod._stdout_to_stderr():
        h.writeModel(str(mps))
    lp = h.getLp()
    n_int = sum(1 for v in lp.integrality_ if v == highspy.HighsVarType.kInteger)
    return f"{h.getNumCol()} cols ({n_int} int) × {h.getNumRow()} rows, {h.getNumNz()} nz, {len(prep.arcs)} arcs"


def raw_solve(mps: Path, opts: SolveOptions) -> tuple[float, float, str, float | None]:
    """(read s, run s, status, objective) of the MPS in a fresh highspy.Highs()."""
    with solve_mod._stdout_to_stderr():
        h = highspy.Highs()
    highs_options(h, opts)
    t0 = time.perf_counter()
    h.readModel(str(mps))
    t1 = time.perf_counter()
    with solve_mod._stdout_to_stderr():
        h.run()
    t2 = time.perf_counter()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    objective = float(info.objective_function_value) if info.primal_solution_status == 2 else None
    return t1 - t0, t2 - t1, status, objective


def run_case(label: str, path: Path, repeats: int, opts: SolveOptions, workdir: Path) -> CaseResult:
    res = CaseResult(label)
    mps = workdir / f"{path.stem}.mps"
    res.size = export_mps(path, mps)
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        prep = prepare(path)
        solution, result = solve_prepared(prep, opts)
        total = time.perf_counter() - t0
        t = prep.timings
        s = res.seconds
        s["load"].append(t.load)
        s["network"].append(t.network)
        s["build"].append(t.build)
        s["transfer"].append(result.transfer_seconds)
        s["highs"].append(result.seconds)
        s["readback"].append(total - t.load - t.network - t.build - result.transfer_seconds - result.seconds)
        s["total"].append(total)
        res.status, res.objective, res.gap = solution.status, solution.objective, solution.gap
        del prep, solution
        gc.collect()
        read_s, run_s, res.raw_status, res.raw_objective = raw_solve(mps, opts)
        s["raw_read"].append(read_s)
        s["raw_run"].append(run_s)
        s["raw"].append(read_s + run_s)
    return res


def render(results: list[CaseResult], markdown: bool) -> str:
    head = ["instance", *COLUMNS, "total/raw", "objective", "raw objective", "agree"]
    rows = []
    for r in results:
        rows.append(
            [
                r.label,
                *(f"{r.median(c):.3f}" for c in COLUMNS),
                f"{r.ratio:.2f}",
                f"{r.objective:,.0f}" if r.objective is not None else r.status,
                f"{r.raw_objective:,.0f}" if r.raw_objective is not None else r.raw_status,
                "yes" if r.objectives_agree else "NO",
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        widths = [max(len(head[i]), *(len(row[i]) for row in rows)) for i in range(len(head))]
        lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
        lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows]
    notes = [
        f"- {r.label}: {r.size}; status {r.status}" + (f", gap {r.gap:.2%}" if r.gap else "") + f" (raw: {r.raw_status})"
        for r in results
    ]
    return "\n".join(lines + [""] + notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--size",
        action="append",
        type=parse_size,
        metavar="MxHxKxS",
        help="generated instance: missions x hubs x types x scenarios (repeatable; default 60x20x6x100)",
    )
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per instance; medians are shown (default 1)")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--no-bundled", action="store_true", help="skip the bundled instance")
    ap.add_argument("--instance", type=Path, action="append", default=[], help="also benchmark this instance file")
    ap.add_argument("--csv-threshold", type=int, default=50, help="generated tables with this many rows go to CSV")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds, for both runs")
    ap.add_argument("--threads", type=int, default=None, help="HiGHS threads, for both runs")
    ap.add_argument("--keep", type=Path, default=None, help="keep generated instances and MPS files in this folder")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    opts = SolveOptions(time_limit=args.time_limit, mip_gap=0.0, threads=args.threads)

    with tempfile.TemporaryDirectory(prefix="horizon-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        cases: list[tuple[str, Path]] = []
        if not args.no_bundled:
            bundled = default_instance_path()
            if bundled.exists():
                cases.append((bundled.name, bundled))
            else:
                print(f"note: bundled instance {bundled} not found; skipped", file=sys.stderr)
        cases += [(p.name, p) for p in args.instance]
        for m, h, k, s in args.size or [(60, 20, 6, 100)]:
            label = f"generated {m}x{h}x{k}x{s} seed {args.seed}"
            path = workdir / f"gen-{m}x{h}x{k}x{s}-seed{args.seed}.yaml"
            write_instance(generate_spec(m, h, k, s, args.seed), path, csv_threshold=args.csv_threshold)
            cases.append((label, path))
        results = []
        for label, path in cases:
            print(f"running {label} ...", file=sys.stderr, flush=True)
            results.append(run_case(label, path, args.repeats, opts, workdir))
    print(f"Seconds (median of {args.repeats}); raw = fresh highspy.Highs() readModel + run of the same model as MPS.")
    print(render(results, args.markdown))
    return 0 if all(r.objectives_agree for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
