"""The reserve model's start strategies against plain branch and bound, by size and seed.

For each generated instance MISSIONS×HUBS×TYPES×SCENARIOS (seeded), each time limit and each
start (`--start auto`, the default, against `none`, plain HiGHS; others on request), one
fresh process runs horizon's normal path (`prepare` + `solve_prepared`) and records the
progress it reports (`horizon.optimizer.solve.events.MONITOR`: incumbent and bound over
time). Per case the best bound any run proved is the reference: a run's *final gap* is its
plan against that bound, and its *time to 1 %* the first moment its incumbent was within
1 % of it. Medians over seeds per size, limit and start, with the machine's load.

    python benchmarks/bench_starts.py                                   # the default grid (hours)
    python benchmarks/bench_starts.py --size 40x15x6x40 --seeds 1 2 3 --limits 60
    python benchmarks/bench_starts.py --starts auto none lp-neighbourhood hubs-first

Writes ``--out`` (default docs/lab/): ``starts.json`` (every run, resumable: runs already
there are skipped) and ``starts.md`` (the tables).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `common` when loaded by file path
from common import (  # noqa: E402
    ROOT,
    arg_parser,
    command_line,
    machine_line,
    markdown_table,
    page_head,
    time_to_within,
    watched,
    work_folder,
)

from horizon.optimizer.data.instance import Instance  # noqa: E402
from horizon.optimizer.data.writer import write_instance  # noqa: E402
from horizon.optimizer.files import write_text  # noqa: E402
from horizon.optimizer.network.generate import generate_spec  # noqa: E402
from horizon.optimizer.pipeline import prepare, solve_prepared  # noqa: E402
from horizon.optimizer.solve.result import SolveOptions  # noqa: E402

SIZES = ("40x15x6x40", "60x20x6x80", "80x25x8x120", "100x30x8x200")
NEAR = 0.01  # "within 1 %"


def child(path: str, limit: float, start: str) -> dict:
    """One run: the final result and the progress timeline (seconds, incumbent, bound)."""
    prep = prepare(path)
    sol, seconds, timeline = watched(lambda: solve_prepared(prep, SolveOptions(time_limit=limit, start=start))[0])
    return {
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "seconds": seconds,
        "timeline": timeline,
        "load": os.getloadavg()[0],
    }


def run_child(path: Path, limit: float, start: str) -> dict:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_starts as b; "
        "print(json.dumps(b.child(sys.argv[2], float(sys.argv[3]), sys.argv[4])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).resolve().parent), str(path), str(limit), start],
        capture_output=True,
        text=True,
        timeout=limit * 1.5 + 300,
    )
    if proc.returncode != 0:
        return {"status": "crashed", "error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_to_near(run: dict, reference: float) -> float | None:
    """First moment the run's incumbent was within `NEAR` of the reference bound."""
    return time_to_within([tuple(e) for e in run.get("timeline", [])], reference, NEAR)


def _seconds(t: float) -> str:
    return f"{t:.1f}" if math.isfinite(t) else "> limit"


def summarise(runs: list[dict]) -> list[str]:
    cases: dict[tuple[str, int], list[dict]] = {}
    for r in runs:
        cases.setdefault((r["size"], r["seed"]), []).append(r)
    for group in cases.values():
        bounds = [r["bound"] for r in group if r.get("bound") is not None and math.isfinite(r["bound"])]
        ref = max(bounds) if bounds else None
        for r in group:
            r["reference"] = ref
            r["final_gap"] = (
                None if ref is None or r.get("objective") is None else max(0.0, r["objective"] - ref) / r["objective"]
            )
            r["to_near"] = None if ref is None else time_to_near(r, ref)
    keys = sorted(
        {(r["size"], r["limit"], r["start"]) for r in runs}, key=lambda k: (SIZES.index(k[0]) if k[0] in SIZES else 99, k)
    )
    rows = []
    for size, limit, start in keys:
        rs = [r for r in runs if (r["size"], r["limit"], r["start"]) == (size, limit, start)]
        gaps = [r["final_gap"] for r in rs if r.get("final_gap") is not None]
        near = [r["to_near"] if r.get("to_near") is not None else math.inf for r in rs]
        reached = sum(1 for t in near if math.isfinite(t))
        worst = max(gaps) if gaps else None
        rows.append(
            [
                size,
                f"{limit:g}",
                start,
                str(len(rs)),
                "—" if not gaps else f"{100 * statistics.median(gaps):.3f} %",
                "—" if worst is None else f"{100 * worst:.3f} %",
                "—"
                if not near
                else ("> limit" if not math.isfinite(statistics.median(near)) else f"{statistics.median(near):.1f}"),
                f"{reached}/{len(rs)}",
                f"{statistics.median(r.get('load', 0.0) for r in rs):.1f}",
            ]
        )
    head = [
        "size (M×H×K×S)",
        "limit s",
        "start",
        "runs",
        "final gap (median)",
        "final gap (worst)",
        "s to 1 % (median)",
        "reached 1 %",
        "load",
    ]
    return markdown_table(head, rows)


def by_seed(runs: list[dict]) -> list[str]:
    """One row per size, limit and seed: each start's plan against plain branch and bound's."""
    starts = sorted({r["start"] for r in runs}, key=lambda s: (s != "auto", s != "none", s))
    index = {(r["size"], r["limit"], r["seed"], r["start"]): r for r in runs}
    cases = sorted(
        {(r["size"], r["limit"], r["seed"]) for r in runs}, key=lambda k: (SIZES.index(k[0]) if k[0] in SIZES else 99, k)
    )
    rows = []
    for size, limit, seed in cases:
        base = index.get((size, limit, seed, "none"), {}).get("objective")
        cells = [size, f"{limit:g}", str(seed)]
        for s in starts:
            obj = index.get((size, limit, seed, s), {}).get("objective")
            if obj is None:
                cells.append("—")
            elif s == "none" or not base:
                cells.append(f"{obj / 1e6:,.1f}")
            else:
                cells.append(f"{obj / 1e6:,.1f} ({100 * (obj / base - 1):+.2f} %)")
        refs = [r.get("reference") for r in runs if (r["size"], r["limit"], r["seed"]) == (size, limit, seed)]
        ref = next((x for x in refs if x is not None), None)
        cells.append("—" if ref is None else f"{ref / 1e6:,.1f}")
        rows.append(cells)
    return markdown_table(["size", "limit s", "seed", *starts, "best bound"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    parser.add_argument("--size", action="append", help=f"MxHxKxS (repeat; default {', '.join(SIZES)})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--limits", type=float, nargs="+", default=[60.0, 300.0])
    parser.add_argument("--starts", nargs="+", default=["auto", "none"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "lab")
    parser.add_argument("--keep", type=Path, help="keep the generated instances here")
    args = parser.parse_args(argv)
    sizes = args.size or list(SIZES)
    store = args.out / "starts.json"
    command = command_line("bench_starts.py", argv)
    runs: list[dict] = json.loads(store.read_text()) if store.exists() else []
    done = {(r["size"], r["seed"], r["limit"], r["start"]) for r in runs}
    with work_folder(args.keep, "horizon-starts-") as folder:
        for size in sizes:
            m, h, k, s = (int(v) for v in size.split("x"))
            for seed in args.seeds:
                path = folder / f"g{size}-s{seed}.yaml"
                if not path.exists():
                    write_instance(Instance.from_spec(generate_spec(m, h, k, s, seed)).spec, path, csv_threshold=500)
                for limit in args.limits:
                    for start in args.starts:
                        if (size, seed, limit, start) in done:
                            continue
                        print(f"{size} seed {seed} limit {limit:g} start {start} ...", file=sys.stderr, flush=True)
                        r = run_child(path, limit, start)
                        runs.append({"size": size, "seed": seed, "limit": limit, "start": start, "command": command, **r})
                        write_text(store, json.dumps(runs, indent=1) + "\n")
    title = "Start strategies against plain branch and bound"
    lines = page_head(title, "bench_starts.py", command)
    made = sorted({r["command"] for r in runs if r.get("command") and r["command"] != command})
    if made:
        lines += ["The runs already in starts.json came from:", "", "```", *made, "```", ""]
    lines += [f"{machine_line()} when this page was written; `load` is the median of the runs' own.", "", *summarise(runs), ""]
    lines += [
        "Final gap: the run's plan against the best bound any start proved on the same instance. "
        "s to 1 %: the first moment the run's incumbent was within 1 % of that bound (> limit: never).",
        "",
        "## Seed by seed",
        "",
        "Each run's plan in millions, and how much dearer (+) or cheaper (−) than `none`'s it is.",
        "",
        *by_seed(runs),
        "",
    ]
    write_text(args.out / "starts.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
