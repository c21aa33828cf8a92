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
from rich.markup import escape
from rich.table import Table

from horizon.optimizer.commands.common import (
    INTERRUPTED,
    check_writable,
    console,
    input_options,
    instance_argument,
    interrupted,
    money,
    run,
    solver_options,
)
from horizon.optimizer.data.loader import instance_json_schema
from horizon.optimizer.data.schema import Classic
from horizon.optimizer.errors import InputError, SolverError
from horizon.optimizer.pipeline import prepare, require_plan
from horizon.optimizer.pipeline import solve as run_solve
from horizon.optimizer.planning.ph import PHOptions, available, solve_ph
from horizon.optimizer.results.solution import Solution, write_solution_dir
from horizon.optimizer.solve.adapters import describe, get_solver
from horizon.optimizer.solve.result import SolveOptions


@click.command()
@instance_argument
@click.option("--json", "as_json", is_flag=True, help="Print the solution as JSON on stdout (logs go to stderr).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write solution.json and CSV tables to DIR.")
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
    "from 10,000 columns.",
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
    check_writable(("--write-model", write_model), ("--out", out))
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
        solution = run_solve(instance, options, classic=chosen)
        if interrupted():
            if not solution.ok:
                raise SolverError(f"no solution: {INTERRUPTED} before any plan was found ({solution.message})")
            solution = replace(solution, message=f"{INTERRUPTED}; " + solution.message.replace("Interrupted by user", "stopped"))
        solution = require_plan(solution)
        if out is not None:
            t0 = time.perf_counter()
            write_solution_dir(solution, out)
            w = time.perf_counter() - t0
            solution = solution.with_timings(replace(solution.timings, write=w, total=solution.timings.total + w))
        return solution

    solution = run(ctx, work, as_json=as_json, solving=True)
    if solution is None:  # a non-zero MPI rank under --method ph: rank 0 prints and writes
        return
    if out is not None and method == "ph":
        write_solution_dir(solution, out)
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
    return solution


@click.command()
@instance_argument
@input_options
@click.pass_context
def validate(ctx: click.Context, instance: Path | None) -> None:
    """Check INSTANCE: schema, references, reachability and provable infeasibility."""
    prep = run(ctx, lambda: prepare(instance))
    out = console()
    counts = ", ".join(f"{v} {k}" for k, v in prep.instance.summary().items())
    out.print(f"[green]valid[/]: {escape(str(prep.instance.source))} — {counts}")
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


def print_summary(solution: Solution, out_dir: Path | None) -> None:
    out = console()
    e = _literal
    gap = "—" if solution.gap is None else f"{100 * solution.gap:.4g}%"
    if solution.classic:
        shown = ", ".join(
            f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in solution.classic.items() if v is not None
        )
        out.print(f"classic model: {e(shown)}")
    out.print(
        f"[bold]{e(solution.instance)}[/]: [green]{solution.status}[/]  objective {money(solution.objective)}"
        f"  bound {money(solution.bound)}  gap {gap}  ({e(solution.solver)} {e(solution.solver_version)})"
    )
    if solution.message.startswith(INTERRUPTED):
        out.print(f"[yellow]{INTERRUPTED}[/]: the best plan found so far is kept")
    t = solution.timings
    out.print(
        f"seconds: load {t.load:.2f}  network {t.network:.2f}  build {t.build:.2f}  solve {t.solve:.2f}  "
        f"write {t.write:.2f}  total {t.total:.2f}"
    )
    costs = Table(title="Cost")
    costs.add_column("part")
    costs.add_column("cost", justify="right")
    for k, v in solution.costs.items():
        costs.add_row(e(k), money(v))
    out.print(costs)
    out.print(f"Open hubs: {e(', '.join(solution.open_hubs)) or 'none'}")
    st = Table(title="Stationing")
    for c in ("hub", "asset type", "units"):
        st.add_column(c, justify="right" if c == "units" else "left")
    for r in solution.stationing:
        st.add_row(e(r["hub"]), e(r["asset_type"]), f"{r['units']:g}")
    out.print(st)
    dt = Table(title="Dispatch per scenario")
    by = any(r.get("contributor") for r in solution.dispatch)
    for c in ("scenario", "hub", "mission", "type", "route", *(("contributor",) if by else ()), "units", "hours", "deadline"):
        dt.add_column(c, justify="right" if c in ("units", "hours", "deadline") else "left")
    for r in solution.dispatch:
        dl = "—" if r["deadline_hours"] is None else f"{r['deadline_hours']:g}"
        route = r["route"] + (f" (lift {r['lift_hub']})" if r.get("lift_hub") not in (None, r["hub"]) else "")
        extra = (e(r.get("contributor") or ""),) if by else ()
        dt.add_row(
            e(r["scenario"]),
            e(r["hub"]),
            e(r["mission"]),
            e(r["asset_type"]),
            e(route),
            *extra,
            f"{r['units']:g}",
            f"{r['response_hours']:.1f}",
            dl,
        )
    out.print(dt)
    if solution.contributions:
        ct = Table(title="Units per contributor")
        for c in ("contributor", "hub", "asset type", "units"):
            ct.add_column(c, justify="right" if c == "units" else "left")
        for r in solution.contributions:
            ct.add_row(e(r["contributor"]), e(r["hub"]), e(r["asset_type"]), f"{r['units']:g}")
        out.print(ct)
    if solution.service_levels:
        sl = Table(title="Service levels (tiered demands)")
        for c in ("scenario", "tier", "units due", "within", "share"):
            sl.add_column(c, justify="left" if c in ("scenario", "tier") else "right")
        for r in solution.service_levels:
            share = f"{100 * r['share']:.0f}%"
            sl.add_row(e(r["scenario"]), e(r["tier"]), f"{r['units_due']:g}", f"{r['units_within']:g}", share)
        out.print(sl)
    if solution.unmet:
        ut = Table(title="Unmet within deadline (penalised)")
        for c in ("scenario", "mission", "type", "units"):
            ut.add_column(c)
        for r in solution.unmet:
            ut.add_row(e(r["scenario"]), e(r["mission"]), e(r["asset_type"]), f"{r['units']:g}")
        out.print(ut)
    if out_dir is not None:
        out.print(f"written: {e(out_dir)}/solution.json and CSV tables")


def _literal(x: object) -> str:
    """User data for a rich console: printed as written (ids like '[/]' or ':warning:')."""
    return escape(str(x))
