"""Classic formulations side by side: assignment vs levels vs Benders vs spopt, one run.

Instances: OR-Library pmed files (published optima checked) and seeded generated graphs
(`gen_orlib.write_pmed_file`, e = n²/50 as OR-Library), each solved as
`horizon solve X.yaml --classic p-median --p P --formulation F` does
(`optimizer.pipeline.solve`), wall clock from the written YAML to the `Solution`; p-center
the same way; and tight capacitated files (`gen_orlib.write_cap_file` with numeric
capacities summing to RATIO × demand) solved as CFLP from the Lagrangian start and by plain
HiGHS, with the progress recorded for the first moment the incumbent is within 1 % of the
best bound (time to 1 %) and the time to proof.
spopt's `PMedian` and `PCenter` (PuLP + CBC) run in a child process on the same distance matrix
(`bench_classic_speed.time_spopt`). Slow methods run only where asked (glob patterns on
the labels), each under `--time-limit`.

    python benchmarks/bench_formulations.py                          # writes docs/classic-formulations.md
    python benchmarks/bench_formulations.py --pmed 1-5 --generated 600x5 --no-out
"""

from __future__ import annotations

import fnmatch
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `common` when loaded by file path
from bench_classic_speed import time_spopt  # noqa: E402
from common import ROOT, arg_parser, command_line, machine_line, markdown_table, page_head, time_to_within, watched, work_folder  # noqa: E402
from gen_orlib import write_cap_file, write_pmed_file  # noqa: E402

from horizon.optimizer.data.orlib import read_cap, read_pmed  # noqa: E402
from horizon.optimizer.data.schema import Classic  # noqa: E402
from horizon.optimizer.data.writer import write_instance  # noqa: E402
from horizon.optimizer.errors import HorizonError  # noqa: E402
from horizon.optimizer.files import write_text  # noqa: E402
from horizon.optimizer.pipeline import solve  # noqa: E402
from horizon.optimizer.solve.result import SolveOptions  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "classic-formulations.md"
DEFAULT_ORLIB = ROOT.parent / "shared" / "benchmarks" / "orlib"
FORMS = ("assignment", "levels", "benders")


@dataclass
class Run:
    seconds: float
    status: str
    objective: float | None
    bound: float | None
    note: str = ""

    def cell(self) -> str:
        if self.status == "optimal":
            return f"{self.seconds:.1f}"
        if self.status == "feasible" and self.objective is not None and self.bound is not None:
            gap = (self.objective - self.bound) / max(abs(self.objective), 1e-10)
            return f">{self.seconds:.0f} ({gap:.2%})"
        return f"{self.status} ({self.seconds:.0f} s)"


@dataclass
class Row:
    label: str
    model: str  # p_median | p_center
    path: Path
    p: int
    published: float | None = None
    runs: dict[str, Run] = field(default_factory=dict)
    spopt: str = ""


def parse_range(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def _wanted(label: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(label, p) for p in patterns)


def run_classic(path: Path, classic: Classic, limit: float) -> Run:
    t0 = time.perf_counter()
    try:
        sol = solve(path, SolveOptions(time_limit=limit), classic=classic)
    except HorizonError as exc:
        return Run(time.perf_counter() - t0, "error", None, None, exc.render().splitlines()[0])
    return Run(time.perf_counter() - t0, sol.status, sol.objective, sol.bound)


def cflp_rows(
    work: Path, sizes: list[tuple[int, int]], ratios: list[float], seeds: list[int], limit: float, starts: list[str]
) -> list[list[str]]:
    """Each tight file solved once per start (`auto`: the Lagrangian primal start; `none`:
    plain HiGHS). `to 1 %` is measured against the best bound either run proved."""
    rows = []
    for m, n in sizes:
        for ratio in ratios:
            for seed in seeds:
                src = work / f"cap-{m}x{n}-r{ratio}-s{seed}.txt"
                write_cap_file(src, m, n, seed, ratio=ratio)
                yaml = work / f"{src.stem}.yaml"
                write_instance(read_cap(src), yaml, csv_threshold=2000)
                runs = []
                for start in starts:
                    sol, wall, timeline = watched(lambda f=yaml, s=start: solve(f, SolveOptions(time_limit=limit, start=s)))
                    print(
                        f"  cap {m}x{n} ratio {ratio} seed {seed} start {start}:"
                        f" {sol.status} {sol.objective} gap {sol.gap} ({wall:.1f} s)",
                        file=sys.stderr,
                    )
                    runs.append((start, sol, wall, timeline))
                bounds = [s.bound for _, s, _, _ in runs if s.bound is not None]
                reference = max(bounds) if bounds else None
                for start, sol, wall, timeline in runs:
                    first = time_to_within(timeline, reference, 0.01) if reference is not None else None
                    rows.append(
                        [
                            f"cap {m}x{n} ratio {ratio:g} seed {seed}",
                            start,
                            sol.status,
                            f"{sol.objective:,.1f}" if sol.objective is not None else "—",
                            f"{sol.gap:.3%}" if sol.gap is not None else "—",
                            f"{first:.1f}" if first is not None else "—",
                            f"{wall:.1f}" if sol.status == "optimal" else f">{limit:g}",
                        ]
                    )
    return rows


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uptime unavailable"


def render(rows: list[Row], cflp: list[list[str]], command: str, args: object, start_load: str, end_load: str) -> str:
    lines = [
        *page_head("Classic models: assignment vs levels vs Benders vs spopt", "bench_formulations.py", command),
        f"{machine_line()}, {time.strftime('%Y-%m-%d')}. `uptime` at the start: `{start_load}`; at the end: `{end_load}`.",
        "",
        "Seconds from the instance file to the `Solution` (`horizon solve X.yaml --classic MODEL --p P"
        " --formulation F`), one run each, time limit "
        f"{args.time_limit:g} s per run; `>T (g)`: stopped at the limit with gap g between the incumbent"
        " and the proven bound; blank: not run. `objective` is the best one found, checked against the published"
        " optimum where there is one. Assignment p-center is the bisection over covering models.",
        "",
    ]
    for model, title in (("p_median", "p-median"), ("p_center", "p-center")):
        sub = [r for r in rows if r.model == model]
        if not sub:
            continue
        lines += [f"## {title}", ""]
        head = ["instance", "p", "published", "objective", *FORMS, "spopt (PuLP + CBC)"]
        body = []
        for r in sub:
            objs = [x.objective for x in r.runs.values() if x.status in ("optimal", "feasible") and x.objective is not None]
            best = min(objs) if objs else None
            agree = all(
                abs(x.objective - best) <= 1e-6 * max(1.0, abs(best))
                for x in r.runs.values()
                if x.status == "optimal" and x.objective is not None and best is not None
            )
            shown = "—" if best is None else f"{best:,.0f}" + ("" if agree else " (**disagree**)")
            if r.published is not None and best is not None and abs(best - r.published) > 1e-6 * r.published:
                shown += " (**≠ published**)"
            cells = [r.label, str(r.p), f"{r.published:,.0f}" if r.published else "—", shown]
            cells += [r.runs[f].cell() if f in r.runs else "" for f in FORMS]
            cells.append(r.spopt)
            body.append(cells)
        lines += markdown_table(head, body)
        proven = {f: [r.runs[f].seconds for r in sub if f in r.runs and r.runs[f].status == "optimal"] for f in FORMS}
        lines.append("")
        for f in FORMS:
            if proven[f]:
                lines.append(
                    f"- {f}: {len(proven[f])} of {sum(f in r.runs for r in sub)} proven;"
                    f" median {statistics.median(proven[f]):.1f} s,"
                    f" max {max(proven[f]):.1f} s, total {sum(proven[f]):.1f} s."
                )
        lines.append("")
    if cflp:
        lines += [
            "## CFLP, tight capacities",
            "",
            "Split sourcing, numeric capacities summing to RATIO × total demand (`gen_orlib.py cap --ratio`),"
            " the reserve model's assignment form in HiGHS (`horizon solve X.yaml --time-limit T`, start `auto`:"
            " from the Lagrangian heuristic's plan; `none`: plain branch and bound). `to 1 %`: seconds from the"
            " start of the solve until the incumbent is within 1 % of the best bound either run proved;"
            " `proof`: seconds to optimality.",
            "",
        ]
        lines += markdown_table(["instance", "start", "status", "objective", "gap", "to 1 % s", "proof s"], cflp)
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__)
    ap.add_argument("--orlib", type=Path, default=DEFAULT_ORLIB, help="OR-Library folder with optima.json and pmed/")
    ap.add_argument("--pmed", default="1-20", help="OR-Library pmed numbers (ranges: 1-20,25)")
    ap.add_argument("--generated", default="600x5,600x10,600x20,600x60,900x5,900x10,900x20,900x90", help="NxP,... graphs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--levels", nargs="*", default=["pmed*"], help="labels to run levels on (globs)")
    ap.add_argument("--assignment", nargs="*", default=["pmed[1-5]", "gen-900-p90"], help="labels to run assignment on")
    ap.add_argument("--spopt", nargs="*", default=["gen-900-p90"], help="labels to run spopt on")
    ap.add_argument("--spopt-limit", type=float, default=300.0)
    ap.add_argument("--p-center", nargs="*", default=["pmed*"], help="labels to run p-center (benders) on")
    ap.add_argument("--p-center-levels", nargs="*", default=["pmed[1-5]"], help="labels to run p-center levels on")
    ap.add_argument("--p-center-assignment", nargs="*", default=["pmed1"], help="labels for the p-center bisection")
    ap.add_argument("--p-center-spopt", nargs="*", default=[], help="labels to run spopt's PCenter on")
    ap.add_argument("--cflp", default="100x1000", help="MxN,... tight capacitated sizes ('' = none)")
    ap.add_argument("--cflp-ratios", default="1.1,1.3,1.5")
    ap.add_argument("--cflp-limit", type=float, default=600.0)
    ap.add_argument("--cflp-starts", default="auto,none", help="starts to compare on each CFLP file")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--no-out", action="store_true")
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args(argv)
    start_load = uptime()
    optima = json.loads((args.orlib / "optima.json").read_text())["pmed"] if (args.orlib / "optima.json").is_file() else {}

    with work_folder(args.keep, "horizon-forms-") as work:
        rows: list[Row] = []
        for k in parse_range(args.pmed):
            src = args.orlib / "pmed" / f"pmed{k}.txt"
            spec = read_pmed(src)
            yaml = work / f"pmed{k}.yaml"
            write_instance(spec, yaml, csv_threshold=2000)
            pub = optima.get(f"pmed{k}", {}).get("optimum")
            rows.append(Row(f"pmed{k}", "p_median", yaml, int(spec.options.min_hubs or 0), float(pub) if pub else None))
        for item in filter(None, args.generated.split(",")):
            n, p = (int(x) for x in item.lower().split("x"))
            src = work / f"gen-{n}-p{p}.txt"
            write_pmed_file(src, n, n * n // 50, p, args.seed)
            yaml = work / f"gen-{n}-p{p}.yaml"
            write_instance(read_pmed(src), yaml, csv_threshold=2000)
            rows.append(Row(f"gen-{n}-p{p}", "p_median", yaml, p))
        centres = [Row(r.label, "p_center", r.path, r.p) for r in rows if _wanted(r.label, args.p_center)]

        for r in rows + centres:
            forms = ["benders"]
            if _wanted(r.label, args.levels if r.model == "p_median" else args.p_center_levels):
                forms.append("levels")
            if _wanted(r.label, args.assignment if r.model == "p_median" else args.p_center_assignment):
                forms.append("assignment")
            for f in forms:
                run = run_classic(r.path, Classic(model=r.model, p=r.p, formulation=f), args.time_limit)  # type: ignore[arg-type]
                r.runs[f] = run
                print(
                    f"{r.label} {r.model} {f}: {run.status} {run.objective} ({run.seconds:.1f} s) {run.note}",
                    file=sys.stderr,
                    flush=True,
                )
            if _wanted(r.label, args.spopt if r.model == "p_median" else args.p_center_spopt):
                r.spopt = time_spopt(r.path, r.p, args.spopt_limit, work, r.model)
                print(f"{r.label} spopt: {r.spopt}", file=sys.stderr, flush=True)
        sizes = [tuple(int(x) for x in s.lower().split("x")) for s in filter(None, args.cflp.split(","))]
        ratios = [float(x) for x in filter(None, args.cflp_ratios.split(","))]
        cflp = cflp_rows(work, sizes, ratios, [args.seed], args.cflp_limit, args.cflp_starts.split(",")) if sizes else []  # type: ignore[arg-type]

    text = render(rows + centres, cflp, command_line("bench_formulations.py", argv), args, start_load, uptime())
    print(text)
    if not args.no_out:
        write_text(args.out, text)
        print(f"written: {args.out}", file=sys.stderr)
    bad = any(
        r.published is not None and x.status == "optimal" and abs((x.objective or 0) - r.published) > 1e-6 * r.published
        for r in rows
        for x in r.runs.values()
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
