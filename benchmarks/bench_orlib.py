"""OR-Library cap and pmed instances solved end-to-end, against their published optima.

Every instance goes the way `horizon import ... -o X.yaml` then `horizon solve X.yaml` goes:
`horizon.optimizer.data.orlib.read_cap` / `read_pmed` → `horizon.optimizer.data.writer.write_instance` (the CLI's
CSV threshold) → `horizon.optimizer.pipeline.solve` on the written file (load → network → build →
HiGHS → `Solution`), with mip_rel_gap 0. The objective is compared with the published
optimum at a relative tolerance of 1e-6.

The set (from ``shared/benchmarks/orlib/optima.json``): the 37 cap files capacitated, the
12 with published uncapacitated optima with ``--uncapacitated`` (labelled ``capNN-uncap``),
and pmed1-20. A markdown table is written atomically to ``docs/orlib-results.md`` (full
runs; with ``--only`` or ``--file`` only when ``--out`` is given) and printed. Exit code 1
when any instance does not match (or is not solved to optimality).

    python benchmarks/bench_orlib.py                           # everything, writes docs/orlib-results.md
    python benchmarks/bench_orlib.py --only cap41 'pmed1*'     # labels or shell-style patterns
    python benchmarks/bench_orlib.py --file capa.txt --format cap --capacity 8000 --optimum 17156454.478
    python benchmarks/bench_orlib.py --file my.txt --format pmed
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `common` when loaded by file path
from common import ROOT, RTOL, arg_parser, command_line, machine_line, page_head, work_folder  # noqa: E402

from horizon.optimizer.data.orlib import read_cap, read_pmed  # noqa: E402
from horizon.optimizer.data.schema import Classic, InstanceSpec  # noqa: E402
from horizon.optimizer.data.writer import write_instance  # noqa: E402
from horizon.optimizer.errors import HorizonError  # noqa: E402
from horizon.optimizer.files import write_text  # noqa: E402
from horizon.optimizer.pipeline import solve  # noqa: E402
from horizon.optimizer.solve.result import SolveOptions  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
DEFAULT_OUT = ROOT / "docs" / "orlib-results.md"
CSV_THRESHOLD = 2000  # the `horizon import` default


@dataclass(frozen=True)
class Case:
    label: str  # capNN, capNN-uncap, pmedN, or the file's stem
    path: Path
    fmt: str  # cap | pmed
    published: float | None
    uncapacitated: bool = False
    capacity: float | None = None


@dataclass
class Result:
    case: Case
    status: str = ""
    objective: float | None = None
    import_s: float = math.nan
    solve_s: float = math.nan
    error: str = ""
    formulation: str = ""

    @property
    def match(self) -> bool | None:
        """True/False against the published optimum; None when there is none to compare."""
        if self.case.published is None:
            return None if self.status == "optimal" else False
        if self.status != "optimal" or self.objective is None:
            return False
        return math.isclose(self.objective, self.case.published, rel_tol=RTOL, abs_tol=RTOL)


def orlib_dir(shared: Path) -> Path:
    """Accept the shared/ root, shared/benchmarks, or the orlib folder itself."""
    for d in (shared, shared / "orlib", shared / "benchmarks" / "orlib"):
        if (d / "optima.json").is_file():
            return d
    raise SystemExit(f"error: no optima.json under {shared} (give --shared DIR: the shared/ folder or its benchmarks/orlib)")


def load_optima(orlib: Path) -> dict:
    return json.loads((orlib / "optima.json").read_text(encoding="utf-8"))


def _natural(name: str) -> tuple[str, int]:
    head = name.rstrip("0123456789")
    return head, int(name[len(head) :] or 0)


def standard_cases(orlib: Path) -> list[Case]:
    optima = load_optima(orlib)
    cases = [
        Case(name, orlib / v["file"], "cap", float(v["optimum"]))
        for name, v in sorted(optima["cap"].items(), key=lambda kv: _natural(kv[0]))
    ]
    cases += [
        Case(f"{name}-uncap", orlib / v["file"], "cap", float(v["optimum"]), uncapacitated=True)
        for name, v in sorted(optima["uncapacitated"].items(), key=lambda kv: _natural(kv[0]))
    ]
    cases += [
        Case(name, orlib / v["file"], "pmed", float(v["optimum"]))
        for name, v in sorted(optima["pmed"].items(), key=lambda kv: _natural(kv[0]))
    ]
    return cases


def file_cases(args: argparse.Namespace, optima: dict | None) -> list[Case]:
    cases = []
    for path in args.file:
        published = args.optimum
        if published is None and optima is not None:  # a file named like a published instance
            key = "pmed" if args.format == "pmed" else ("uncapacitated" if args.uncapacitated else "cap")
            entry = optima.get(key, {}).get(path.stem)
            published = float(entry["optimum"]) if entry and args.capacity is None else None
        label = path.stem + ("-uncap" if args.uncapacitated else "")
        cases.append(Case(label, path, args.format, published, args.uncapacitated, args.capacity))
    return cases


def classic_of(case: Case, spec: InstanceSpec, formulation: str) -> Classic | None:
    """pmed as `--classic p-median`, -uncap as `--classic uflp` (both take `formulation`)."""
    if case.fmt == "pmed":
        return Classic(model="p_median", p=spec.options.min_hubs, formulation=formulation)  # type: ignore[arg-type]
    if case.uncapacitated:
        return Classic(model="uflp", formulation=formulation)  # type: ignore[arg-type]
    return None


def run_case(case: Case, opts: SolveOptions, workdir: Path, formulation: str = "auto") -> Result:
    res = Result(case)
    out = workdir / f"{case.label}.yaml"
    try:
        t0 = time.perf_counter()
        if case.fmt == "cap":
            spec = read_cap(case.path, capacity=case.capacity, uncapacitated=case.uncapacitated)
        else:
            spec = read_pmed(case.path)
        write_instance(spec, out, csv_threshold=CSV_THRESHOLD)
        t1 = time.perf_counter()
        res.import_s = t1 - t0
        solution = solve(out, opts, classic=classic_of(case, spec, formulation))
        res.solve_s = time.perf_counter() - t1
        res.formulation = (solution.classic or {}).get("formulation", "assignment")
    except HorizonError as exc:
        res.status, res.error = "error", exc.render()
        return res
    res.status, res.objective = solution.status, solution.objective
    if not solution.ok:
        res.error = solution.message
    return res


def _num(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-6 else f"{x:,.3f}"


def render(results: list[Result], command: str, total_s: float, opts: SolveOptions, formulation: str) -> str:
    n_match = sum(r.match is True for r in results)
    n_bad = sum(r.match is False for r in results)
    lines = [
        *page_head("OR-Library cap and pmed: published optima reproduced", "bench_orlib.py", command),
        "Each file goes the way `horizon import orlib-cap|orlib-pmed FILE -o X.yaml` and then",
        "`horizon solve X.yaml` go: reader → instance file (YAML + CSV) → load → network → build →",
        f"HiGHS (mip_rel_gap {opts.mip_gap:g}"
        + (f", time limit {opts.time_limit:g} s" if opts.time_limit else "")
        + (f", {opts.threads} threads" if opts.threads else "")
        + ") → solution.",
        "cap is the capacitated problem with split sourcing; `-uncap` rows are the same file with",
        "`--uncapacitated`, solved as `--classic uflp`; pmed is `--classic p-median` over shortest paths",
        f"(last repeated edge wins). Classic formulation asked for: `{formulation}` (column `formulation`: the one used).",
        f"`ours` matches `published` when they agree to a relative tolerance of {RTOL:g}.",
        "Seconds are wall clock in one process: `import` = read + write the instance files,",
        "`solve` = everything `horizon solve` does after start-up (load, network, build, HiGHS, read-back).",
        "",
        f"Result: **{n_match} of {len(results)} match**"
        + (f", **{n_bad} do not**" if n_bad else "")
        + f". Total {total_s:.1f} s on {machine_line()} ({time.strftime('%Y-%m-%d')}).",
        "",
        "| instance | published | ours | status | formulation | import s | solve s | match |",
        "|---|---:|---:|---|---|---:|---:|---|",
    ]
    for r in results:
        m = {True: "yes", False: "**NO**", None: "—"}[r.match]
        status = r.status + (f" ({r.error})" if r.error and r.status != "optimal" else "")
        lines.append(
            f"| {r.case.label} | {_num(r.case.published)} | {_num(r.objective)} | {status} | {r.formulation} | "
            f"{r.import_s:.2f} | {r.solve_s:.2f} | {m} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__)
    ap.add_argument(
        "--shared", type=Path, default=DEFAULT_SHARED, help="shared/ folder (or its benchmarks/orlib); default ../shared"
    )
    ap.add_argument("--only", nargs="+", metavar="NAME", help="labels or shell patterns: cap41, cap71-uncap, 'pmed1*', 'cap*'")
    ap.add_argument("--file", type=Path, action="append", default=[], help="solve this OR-Library file instead (repeatable)")
    ap.add_argument("--format", choices=("cap", "pmed"), help="format of --file")
    ap.add_argument("--capacity", type=float, help="--file cap: the capacity for files that say 'capacity' (capa/b/c)")
    ap.add_argument("--uncapacitated", action="store_true", help="--file cap: drop the capacities")
    ap.add_argument("--optimum", type=float, help="--file: the published optimum to compare with")
    ap.add_argument("--out", type=Path, help=f"markdown output (default {DEFAULT_OUT.relative_to(ROOT)} for full runs)")
    ap.add_argument("--time-limit", type=float, help="seconds per instance")
    ap.add_argument("--threads", type=int, help="HiGHS threads")
    ap.add_argument(
        "--formulation", choices=("auto", "assignment", "levels", "benders"), default="auto", help="pmed and -uncap rows"
    )
    ap.add_argument("--keep", type=Path, help="keep the written instance files in this folder")
    args = ap.parse_args(argv)
    if args.file and not args.format:
        ap.error("--file needs --format cap|pmed")
    if not args.file and (args.format or args.capacity is not None or args.uncapacitated or args.optimum is not None):
        ap.error("--format, --capacity, --uncapacitated and --optimum go with --file")
    if args.file and args.only:
        ap.error("give either --file or --only")

    opts = SolveOptions(time_limit=args.time_limit, mip_gap=0.0, threads=args.threads)
    if args.file:
        try:
            optima = load_optima(orlib_dir(args.shared))
        except SystemExit:
            optima = None
        cases = file_cases(args, optima)
    else:
        cases = standard_cases(orlib_dir(args.shared))
        if args.only:
            unknown = [p for p in args.only if not any(fnmatch.fnmatchcase(c.label, p) for c in cases)]
            if unknown:
                ap.error(f"--only: no instance matches {', '.join(unknown)} (labels: capNN, capNN-uncap, pmedN)")
            cases = [c for c in cases if any(fnmatch.fnmatchcase(c.label, p) for p in args.only)]
    out = args.out if args.out is not None else (None if args.file or args.only else DEFAULT_OUT)

    results: list[Result] = []
    start = time.perf_counter()
    with work_folder(args.keep, "horizon-orlib-") as workdir:
        for case in cases:
            print(f"{case.label} ...", end=" ", file=sys.stderr, flush=True)
            r = run_case(case, opts, workdir, args.formulation)
            results.append(r)
            verdict = {True: "match", False: "MISMATCH", None: "(no published optimum)"}[r.match]
            print(
                f"{r.status} {_num(r.objective)} vs {_num(case.published)} {verdict} ({r.solve_s:.2f} s)",
                file=sys.stderr,
                flush=True,
            )
    total = time.perf_counter() - start

    text = render(results, command_line("bench_orlib.py", argv), total, opts, args.formulation)
    print(text)
    if out is not None:
        write_text(out, text)
        print(f"written: {out}", file=sys.stderr)
    return 1 if any(r.match is False for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
