"""`solve`, `validate`, `schema`, `solvers`: the pipeline from the command line.

`solve` is load → build → solve (`horizon.optimizer.pipeline`), or progressive hedging
(`horizon.optimizer.planning.ph`) with ``--method ph``; only the printing is here.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from horizon.optimizer.commands.common import (
    FILE_SUFFIXES,
    ID,
    INTERRUPTED,
    NUM,
    TEXT,
    check_writable,
    console,
    dumps,
    input_options,
    instance_argument,
    interrupted,
    live_progress,
    money,
    phrases,
    run,
    show_table,
    solver_options,
    units,
)
from horizon.optimizer.data.edits import soft_spec
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import instance_json_schema, load_instance
from horizon.optimizer.data.schema import Classic
from horizon.optimizer.errors import InputError, SolverError
from horizon.optimizer.files import write_text
from horizon.optimizer.pipeline import prepare, require_plan
from horizon.optimizer.pipeline import solve as run_solve
from horizon.optimizer.planning.ph import PHOptions, available, solve_ph
from horizon.optimizer.results.solution import Solution, write_solution_dir
from horizon.optimizer.solve.adapters import describe, get_solver
from horizon.optimizer.solve.result import SolveOptions


@click.command()
@instance_argument
@click.option("--json", "as_json", is_flag=True, help="Print the solution as JSON on stdout (logs go to stderr).")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    help="Write the solution: a folder gets solution.json and the CSV tables; a .json file the JSON alone.",
)
@click.option(
    "--soft-penalty",
    type=click.FloatRange(min=0),
    help="Soft deadlines with this cost per unmet unit (the plan may leave demand unmet, at that price).",
)
@click.option("--write-model", type=click.Path(dir_okay=False), help="Write the model the solver gets (.mps or .lp).")
@click.option(
    "--classic",
    type=click.Choice(["cflp", "uflp", "p-median", "lscp", "mclp", "p-center", "backup"]),
    help="Solve a classic location model on the instance instead of the reserve model.",
)
@click.option("--p", "p", type=click.IntRange(min=1), help="Number of hubs for --classic p-median/mclp/p-center/backup.")
@click.option("--radius", type=click.FloatRange(min=0), help="Coverage radius (hours) for --classic lscp/mclp/backup.")
@click.option(
    "--formulation",
    type=click.Choice(["auto", "assignment", "levels", "benders"]),
    default="auto",
    show_default=True,
    help="--classic p-median/uflp/p-center: the site-choice levels or Benders model, or the reserve model's "
    "assignment form (the only one the other classic models take).",
)
@click.option(
    "--method",
    type=click.Choice(["ef", "ph"]),
    default="ef",
    show_default=True,
    help="ef: the extensive form in one model; ph: progressive hedging with mpi-sppy (run under mpiexec for ranks).",
)
@click.option(
    "--start",
    type=click.Choice(["auto", "lp-neighbourhood", "hubs-first", "concurrent", "none"]),  # horizon.optimizer.solve.starts.STARTS
    default="auto",
    show_default=True,
    help="HiGHS: first find an incumbent near the LP relaxation (lp-neighbourhood), or choose the hubs with the "
    "rest relaxed, plan within them and prove that plan over the other hub sets (hubs-first), or run both "
    "side by side in two processes sharing plans and bounds (concurrent). auto, on 10+ scenarios: concurrent "
    "on two cores (on models under 10,000 columns only once HiGHS alone has run 5 s), else lp-neighbourhood "
    "from 10,000 columns; with --time-limit, capacitated facility location starts from a Lagrangian heuristic's plan. "
    "none: HiGHS alone.",
)
@click.option("--ph-iterations", type=click.IntRange(min=1), default=None, help="PH iterations (--method ph).")
@click.option("--ph-rho", type=click.FloatRange(min=0, min_open=True), help="PH: rho = this × first-stage cost [1].")
@click.option("--ph-convthresh", type=click.FloatRange(min=0), help="PH: convergence threshold [1e-4].")
@click.option("--ph-improve-time-limit", type=click.FloatRange(min=0), help="PH: seconds per candidate for the local search.")
@click.option("--ph-no-lp", is_flag=True, help="PH alone: no extensive-form LP relaxation (bound and incumbent start).")
@solver_options()
@input_options
@click.pass_context
def solve(
    ctx: click.Context,
    instance: Path | None,
    as_json: bool,
    out: Path | None,
    soft_penalty: float | None,
    write_model: str | None,
    classic: str | None,
    p: int | None,
    radius: float | None,
    formulation: str,
    method: str,
    start: str,
    ph_iterations: int | None,
    ph_rho: float | None,
    ph_convthresh: float | None,
    ph_improve_time_limit: float | None,
    ph_no_lp: bool,
    solve_options: SolveOptions,
) -> None:
    """Solve INSTANCE (default: the bundled UN 2009 instance)."""
    if write_model and Path(write_model).suffix.lower() not in (".mps", ".lp"):
        raise click.BadParameter("use a .mps or .lp file name", param_hint="--write-model")
    check_writable(("--write-model", write_model), ("-o" if out is not None and is_file_target(out) else "--out", out))
    options = replace(solve_options, write_model=write_model, start=start)

    if (p is not None or radius is not None) and classic is None:
        raise click.BadParameter("--p and --radius go with --classic", param_hint="--p/--radius")
    if classic in ("p-median", "mclp", "p-center") and p is None:
        raise click.BadParameter(f"--classic {classic} needs --p", param_hint="--p")
    if formulation != "auto" and classic is None:
        raise click.BadParameter("--formulation goes with --classic", param_hint="--formulation")
    chosen = (
        Classic(model=classic.replace("-", "_"), p=p, radius=radius, formulation=formulation)  # type: ignore[arg-type]
        if classic
        else None
    )

    def work():  # noqa: ANN202
        get_solver(options.solver)  # unknown or unavailable: exit 2 before any work
        if method == "ph":
            ph_options = PHOptions(
                max_iterations=ph_iterations or PHOptions.max_iterations,
                rho_factor=ph_rho or PHOptions.rho_factor,
                convthresh=PHOptions.convthresh if ph_convthresh is None else ph_convthresh,
                time_limit=options.time_limit,  # seconds for the PH iterations
                improve_time_limit=ph_improve_time_limit,
                lp=not ph_no_lp,
                verbose=options.verbose,
            )
            return _solve_ph(instance, options, ph_options, chosen)
        source: Path | Instance | None = instance
        if soft_penalty is not None:
            inst = load_instance(instance)
            source = Instance(spec=soft_spec(inst.spec, soft_penalty), source=inst.source)
        with live_progress("solving", currency=_currency(source)):
            solution = run_solve(source, options, classic=chosen)
        solution = require_plan(_as_interrupted(solution))
        if out is not None:
            t0 = time.perf_counter()
            write_solution(solution, out)
            w = time.perf_counter() - t0
            solution = solution.with_timings(replace(solution.timings, write=w, total=solution.timings.total + w))
        return solution

    solution = run(ctx, work, as_json=as_json, solving=True)
    if solution is None:  # a non-zero MPI rank under --method ph: rank 0 prints and writes
        return
    if out is not None and method == "ph":
        write_solution(solution, out)
    if as_json:
        click.echo(solution.to_json())
    else:
        print_summary(solution, out)


def _solve_ph(instance: Path | None, options: SolveOptions, ph_options: PHOptions, classic: Classic | None) -> Solution | None:
    """Progressive hedging (`horizon.optimizer.planning.ph`); only rank 0 gets the solution."""
    if classic is not None:
        raise InputError("--method ph solves the reserve model; it does not combine with --classic")
    if not available():
        raise InputError("--method ph needs mpi-sppy and mpi4py (pip install 'horizon[ph]'; Debian openmpi-bin)")
    solution, _report = solve_ph(instance, ph_options, options)
    return None if solution is None else _as_interrupted(solution)


def _as_interrupted(solution: Solution) -> Solution:
    """After Ctrl-C: the plan found so far, its message saying so; no plan is an error."""
    if not interrupted():
        return solution
    if not solution.ok:
        raise SolverError(f"no solution: {INTERRUPTED} before any plan was found ({solution.message})")
    return replace(solution, message=f"{INTERRUPTED}; " + solution.message.replace("Interrupted by user", "stopped"))


def _currency(source: Path | Instance | None) -> str:
    """The instance's currency for the live progress (USD when the file cannot be read yet:
    the solve reports the problem)."""
    try:
        inst = source if isinstance(source, Instance) else load_instance(source)
    except Exception:  # noqa: BLE001 - the solve itself reports an unreadable instance
        return "USD"
    return str(inst.options.currency)


def is_file_target(path: Path) -> bool:
    """`-o PATH` names a file when it ends in a known extension, else a folder."""
    return path.suffix.lower() in FILE_SUFFIXES


def write_solution(solution: Solution, out: Path) -> None:
    """`solve -o`: a .json file gets the solution's JSON; a folder, the JSON and CSV tables."""
    if out.suffix.lower() == ".json":
        write_text(out, solution.to_json() + "\n")
    elif is_file_target(out):
        raise InputError(f"-o {out}: a solution is written to a folder or to a .json file")
    else:
        write_solution_dir(solution, out)


@click.command()
@instance_argument
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@input_options
@click.pass_context
def validate(ctx: click.Context, instance: Path | None, as_json: bool) -> None:
    """Check INSTANCE (default: the bundled UN 2009 instance): schema, references,
    reachability and provable infeasibility; report the model size."""
    prep = run(ctx, lambda: prepare(instance), as_json=as_json)
    if as_json:
        click.echo(
            dumps(
                {
                    "status": "valid",
                    "source": str(prep.instance.source),
                    "name": prep.instance.name,
                    "counts": prep.instance.summary(),
                    "eligible_arcs": len(prep.arcs),
                    "variables": prep.model.n_cols,
                    "constraints": prep.model.n_rows,
                }
            )
        )
        return
    out = console()
    counts = [f"{v} {k}," for k, v in prep.instance.summary().items()]
    counts[-1] = counts[-1].rstrip(",")
    phrases(out, [f"valid: {prep.instance.source} —", *counts], sep=" ")
    out.print(
        f"{len(prep.arcs)} eligible dispatch arcs; model has {prep.model.n_cols} variables and {prep.model.n_rows} constraints"
    )


@click.command()
def schema() -> None:
    """Print the JSON Schema of the instance format."""
    click.echo(json.dumps(instance_json_schema(), indent=2))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def solvers(as_json: bool) -> None:
    """List the solvers: which are available on this machine, their versions, and why not."""
    rows = describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Solvers")
    for c in ("name", "available", "version", "reason / notes"):
        table.add_column(c, overflow="fold")
    for r in rows:
        cells = (escape(str(r["version"])), escape(str(r["reason"])))
        table.add_row(escape(str(r["name"])), "[green]yes[/]" if r["available"] else "[red]no[/]", *cells)
    console().print(table)


def print_summary(solution: Solution, out: Path | None, con: Console | None = None) -> None:
    """The solution as tables that keep every id and number whole at any width (80 columns up);
    ids are printed literally (`Text`, no markup)."""
    con = con or console()
    cur = solution.currency
    gap = "—" if solution.gap is None else f"{100 * solution.gap:.4g}%"
    if solution.classic:
        shown = ", ".join(
            f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in solution.classic.items() if v is not None
        )
        phrases(con, [f"classic model: {shown}"])
    phrases(
        con,
        [
            f"{solution.instance}: {solution.status}",
            f"objective {money(solution.objective, cur)}",
            f"bound {money(solution.bound, cur)}",
            f"gap {gap}",
            f"({solution.solver} {solution.solver_version})",
        ],
        style="bold",
    )
    if solution.message.startswith(INTERRUPTED):
        out.print(f"[yellow]{INTERRUPTED}[/]: the best plan found so far is kept")
    t = solution.timings
    phrases(
        con,
        [
            "seconds:",
            f"load {t.load:.2f}",
            f"network {t.network:.2f}",
            f"build {t.build:.2f}",
            f"solve {t.solve:.2f}",
            f"write {t.write:.2f}",
            f"total {t.total:.2f}",
        ],
    )
    show_table(con, f"Cost ({cur})", [("part", ID), ("cost", NUM)], [[k, money(v)] for k, v in solution.costs.items()])
    phrases(con, ["Open hubs:", *(f"{h}," for h in solution.open_hubs[:-1]), *(solution.open_hubs[-1:] or ["none"])], sep=" ")
    show_table(
        con,
        "Stationing",
        [("hub", ID), ("asset type", ID), ("units", NUM)],
        [[r["hub"], r["asset_type"], units(r["units"])] for r in solution.stationing],
    )
    by = any(r.get("contributor") for r in solution.dispatch)
    heads = [
        ("scenario", ID),
        ("type", ID),
        ("units", NUM),
        ("hub", ID),
        ("mission", ID),
        ("route", TEXT),
        *((("contributor", ID),) if by else ()),
        ("hours", NUM),
        ("deadline", NUM),
    ]
    rows = []
    for r in solution.dispatch:
        dl = "—" if r["deadline_hours"] is None else f"{r['deadline_hours']:g}"
        route = r["route"] + (f" (lift {r['lift_hub']})" if r.get("lift_hub") not in (None, r["hub"]) else "")
        extra = [r.get("contributor") or ""] if by else []
        cells = [r["scenario"], r["asset_type"], units(r["units"]), r["hub"], r["mission"], route, *extra]
        rows.append([*cells, f"{r['response_hours']:.1f}", dl])
    show_table(con, "Dispatch per scenario", heads, rows, keys=1)
    if solution.contributions:
        show_table(
            con,
            "Units per contributor",
            [("contributor", ID), ("hub", ID), ("asset type", ID), ("units", NUM)],
            [[r["contributor"], r["hub"], r["asset_type"], units(r["units"])] for r in solution.contributions],
        )
    if solution.service_levels:
        show_table(
            con,
            "Service levels (tiered demands)",
            [("scenario", ID), ("tier", ID), ("units due", NUM), ("within", NUM), ("share", NUM)],
            [
                [r["scenario"], r["tier"], units(r["units_due"]), units(r["units_within"]), f"{100 * r['share']:.0f}%"]
                for r in solution.service_levels
            ],
        )
    if solution.unmet:
        show_table(
            con,
            "Unmet within deadline (penalised)",
            [("scenario", ID), ("mission", ID), ("type", ID), ("units", NUM)],
            [[r["scenario"], r["mission"], r["asset_type"], units(r["units"])] for r in solution.unmet],
        )
    if out is not None:
        what = out if out.suffix.lower() == ".json" else f"{out}/solution.json and CSV tables"
        con.print(Text(f"written: {what}"))
