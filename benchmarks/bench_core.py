"""Core pipeline timings, stage by stage, against raw HiGHS on the same model.

For the bundled instance (skipped when missing) and generated instances
(`horizon.optimizer.network.generate`, default 60 missions × 20 hubs × 6 types × 100 scenarios, written
with big tables as CSV and loaded from file), time the shipped path
(`horizon.optimizer.pipeline.prepare` + `solve_prepared`):

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
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `common` when loaded by file path
from common import STAGES, Comparison, arg_parser, export_mps, markdown_table, work_folder  # noqa: E402

from horizon.optimizer.data.loader import default_instance_path  # noqa: E402
from horizon.optimizer.data.writer import write_instance  # noqa: E402
from horizon.optimizer.network.generate import generate_spec  # noqa: E402
from horizon.optimizer.solve.result import SolveOptions  # noqa: E402


@dataclass
class CaseResult(Comparison):
    label: str
    size: str = ""


def parse_size(text: str) -> tuple[int, int, int, int]:
    try:
        parts = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        parts = ()
    if len(parts) != 4 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"size must be MISSIONSxHUBSxTYPESxSCENARIOS, e.g. 60x20x6x100 (got {text!r})")
    return parts  # type: ignore[return-value]


def run_case(label: str, path: Path, repeats: int, opts: SolveOptions, workdir: Path) -> CaseResult:
    res = CaseResult(label)
    mps = workdir / f"{path.stem}.mps"
    res.size = export_mps(path, mps)
    for _ in range(repeats):
        res.time_horizon(path, opts)
        res.time_raw(mps, opts)
    return res


def render(results: list[CaseResult], markdown: bool) -> str:
    head = ["instance", *STAGES, "total/raw", "objective", "raw objective", "agree"]
    rows = []
    for r in results:
        rows.append(
            [
                r.label,
                *(f"{r.median(c):.3f}" for c in STAGES),
                f"{r.ratio:.2f}",
                f"{r.objective:,.0f}" if r.objective is not None else r.status,
                f"{r.raw_objective:,.0f}" if r.raw_objective is not None else r.raw_status,
                "yes" if r.agree else "NO",
            ]
        )
    if markdown:
        lines = markdown_table(head, rows)
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
    ap = arg_parser(__doc__)
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

    with work_folder(args.keep, "horizon-bench-") as workdir:
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
    return 0 if all(r.agree for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
