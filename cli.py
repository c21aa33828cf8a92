"""horizon's command line: a thin layer over `optimizer.pipeline`.

Exit codes: 0 solved (optimal or feasible), 2 invalid input or usage, 3 infeasible (with
the explanation), 4 no solution or solver failure. `--debug` shows tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from optimizer.errors import HorizonError, InfeasibleError, SolverError
from optimizer.loader import instance_json_schema
from optimizer.solution import Solution

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 2, 3, 4

err_console = Console(stderr=True, highlight=False)


def _mpi_rank() -> int:
    """This process's rank when started by mpiexec (0 otherwise), read from the launcher's
    environment so that no MPI is initialised just to know whether to speak."""
    for var in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return 0


def _fail(exc: HorizonError, debug: bool, as_json: bool = False) -> None:
    """Report `exc` and exit with its code; under mpiexec every rank meets the same error and
    only rank 0 reports it."""
    if debug:
        raise exc
    if _mpi_rank() != 0:
        sys.exit(exc.exit_code)
    if as_json:
        kind = {EXIT_INPUT: "invalid", EXIT_INFEASIBLE: "infeasible"}.get(exc.exit_code, "error")
        click.echo(json.dumps({"status": kind, "errors": exc.messages, "message": exc.headline}, indent=2))
    err_console.print(f"[bold red]error:[/] {exc.render()}", markup=True, soft_wrap=True)
    sys.exit(exc.exit_code)


def _abort_other_ranks(code: int) -> None:
    """An unexpected error may hit one rank only: stop the others rather than leave them
    waiting in a collective call."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1:
        mpi.COMM_WORLD.Abort(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of short messages.")
@click.version_option(package_name="horizon")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """horizon: where to station reserves and pooled air assets, at what cost."""
    ctx.obj = {"debug": debug}


def _run(ctx: click.Context, fn, *, as_json: bool = False):  # noqa: ANN001, ANN202
    debug = ctx.obj.get("debug", False) if ctx.obj else False
    try:
        return fn()
    except HorizonError as exc:
        _fail(exc, debug, as_json)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback without --debug
        if debug:
            raise
        rank = _mpi_rank()
        where = f" (rank {rank})" if rank else ""
        err_console.print(f"[bold red]internal error{where}:[/] {type(exc).__name__}: {exc} (run with --debug for details)")
        _abort_other_ranks(EXIT_SOLVER)
        sys.exit(EXIT_SOLVER)


@main.command()
@click.argument("instance", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the solution as JSON on stdout (logs go to stderr).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write solution.json and CSV tables to DIR.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Wall-clock seconds for the solver.")
@click.option("--mip-gap", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Relative MIP gap to stop at.")
@click.option("--threads", type=click.IntRange(min=1), help="Solver threads.")
@click.option("--seed", type=int, help="Solver random seed.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the solver log to this file.")
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
@click.option("-v", "--verbose", is_flag=True, help="Show the solver log (on stderr).")
@click.option("--solver", default="highs", show_default=True, help="Solver to use (see `horizon solvers`).")
@click.option(
    "--method",
    type=click.Choice(["ef", "ph"]),
    default="ef",
    show_default=True,
    help="ef: the extensive form in one model; ph: progressive hedging with mpi-sppy (run under mpiexec for ranks).",
)
@click.option(
    "--start",
    type=click.Choice(["auto", "lp-neighbourhood", "hubs-first", "concurrent", "none"]),  # optimizer.solve.STARTS
    default="auto",
    show_default=True,
    help="HiGHS: first find an incumbent near the LP relaxation (lp-neighbourhood), or choose the hubs with the "
    "rest relaxed, plan within them and prove that plan over the other hub sets (hubs-first), or run both "
    "side by side in two processes sharing plans and bounds (concurrent). auto, on 10+ scenarios: concurrent "
    "on two cores (on models under 10,000 columns only once HiGHS alone has run 5 s), else lp-neighbourhood "
    "from 10,000 columns.",
)
@click.option("--ph-iterations", type=click.IntRange(min=1), default=None, help="PH iterations (--method ph).")
@click.pass_context
def solve(
    ctx: click.Context,
    instance: Path | None,
    as_json: bool,
    out: Path | None,
    time_limit: float | None,
    mip_gap: float,
    threads: int | None,
    seed: int | None,
    log_file: str | None,
    write_model: str | None,
    classic: str | None,
    p: int | None,
    radius: float | None,
    formulation: str,
    verbose: bool,
    solver: str,
    method: str,
    start: str,
    ph_iterations: int | None,
) -> None:
    """Solve INSTANCE (default: the bundled UN 2009 instance)."""
    from optimizer.pipeline import solve as run_solve
    from optimizer.schema import Classic
    from optimizer.solution import write_solution_dir
    from optimizer.solve import SolveOptions

    if write_model and Path(write_model).suffix.lower() not in (".mps", ".lp"):
        raise click.BadParameter("use a .mps or .lp file name", param_hint="--write-model")
    _check_writable(("--write-model", write_model), ("--log-file", log_file), ("--out", out))
    options = SolveOptions(
        time_limit=time_limit,
        mip_gap=mip_gap,
        threads=threads,
        seed=seed,
        log_file=log_file,
        verbose=verbose,
        write_model=write_model,
        solver=solver.strip().lower(),
        start=start,
    )

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
        from optimizer.solvers import get_solver

        get_solver(options.solver)  # unknown or unavailable: exit 2 before any work
        if method == "ph":
            return _solve_ph(instance, options, ph_iterations, chosen)
        solution = run_solve(instance, options, classic=chosen)
        if solution.status == "infeasible":
            raise InfeasibleError(
                [
                    "the solver proved the model infeasible, although every demand has a hub in reach, "
                    "each scenario fits the fleet limits and total hub space suffices;",
                    "the binding combination is among: airlift sorties for air-moved forces, per-hub space, "
                    "the budget, the hub count limits, or units of one type needed at several missions at once",
                ],
                headline="The problem is infeasible:",
            )
        if not solution.ok:
            raise SolverError(f"no solution: solver status '{solution.status}' ({solution.message})")
        if out is not None:
            t0 = time.perf_counter()
            write_solution_dir(solution, out)
            w = time.perf_counter() - t0
            solution = solution.with_timings(replace(solution.timings, write=w, total=solution.timings.total + w))
        return solution

    solution = _run(ctx, work, as_json=as_json)
    if solution is None:  # a non-zero MPI rank under --method ph: rank 0 prints and writes
        return
    if out is not None and method == "ph":
        write_solution_dir(solution, out)
    if as_json:
        click.echo(solution.to_json())
    else:
        _print_summary(solution, out)


def _solve_ph(instance: Path | None, options, iterations: int | None, classic) -> Solution | None:  # noqa: ANN001
    """Progressive hedging (`optimizer.ph`); only rank 0 gets the solution."""
    from optimizer.errors import InputError
    from optimizer.ph import PHOptions, available, solve_ph

    if classic is not None:
        raise InputError("--method ph solves the reserve model; it does not combine with --classic")
    if not available():
        raise InputError("--method ph needs mpi-sppy and mpi4py (pip install 'horizon[ph]'; Debian openmpi-bin)")
    ph_options = PHOptions(
        max_iterations=iterations if iterations is not None else PHOptions.max_iterations,
        time_limit=options.time_limit,  # seconds for the PH iterations
    )
    solution, _report = solve_ph(instance, ph_options, options)
    return solution


@main.command()
@click.argument("instance", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def validate(ctx: click.Context, instance: Path) -> None:
    """Check INSTANCE: schema, references, reachability and provable infeasibility."""
    from optimizer.pipeline import prepare

    prep = _run(ctx, lambda: prepare(instance))
    console = Console(highlight=False)
    counts = ", ".join(f"{v} {k}" for k, v in prep.instance.summary().items())
    console.print(f"[green]valid[/]: {instance} — {counts}")
    console.print(
        f"{len(prep.arcs)} eligible dispatch arcs; model has {prep.model.n_cols} variables and {prep.model.n_rows} constraints"
    )


@main.group(name="import")
def import_() -> None:
    """Convert OR-Library test files into horizon instance files."""


def _write_spec(spec, out: Path, csv_threshold: int) -> None:  # noqa: ANN001
    from optimizer.writer import write_instance

    written = write_instance(spec, out, csv_threshold=csv_threshold)
    err_console.print(f"written: {', '.join(str(p) for p in written)}")


@import_.command("orlib-cap")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Instance file to write.")
@click.option("--capacity", type=click.FloatRange(min=0), help="Capacity for files whose capacities read 'capacity' (capa/b/c).")
@click.option("--uncapacitated", is_flag=True, help="Drop the capacities (UFLP).")
@click.option("--csv-threshold", type=click.IntRange(min=1), default=2000, show_default=True, help="Tables this long go to CSV.")
@click.pass_context
def import_cap(
    ctx: click.Context, file: Path, out: Path, capacity: float | None, uncapacitated: bool, csv_threshold: int
) -> None:
    """OR-Library cap FILE (capacitated warehouse location, split sourcing) → instance."""
    from optimizer.orlib import read_cap

    _run(ctx, lambda: _write_spec(read_cap(file, capacity=capacity, uncapacitated=uncapacitated), out, csv_threshold))


@import_.command("orlib-pmed")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Instance file to write.")
@click.option("--csv-threshold", type=click.IntRange(min=1), default=2000, show_default=True, help="Tables this long go to CSV.")
@click.pass_context
def import_pmed(ctx: click.Context, file: Path, out: Path, csv_threshold: int) -> None:
    """OR-Library pmed FILE (p-median) → instance."""
    from optimizer.orlib import read_pmed

    _run(ctx, lambda: _write_spec(read_pmed(file), out, csv_threshold))


@main.command()
@click.option("--missions", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--hubs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--types", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--scenarios", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--soft", is_flag=True, help="Soft deadlines (penalised) instead of hard ones.")
@click.option("--split-loads", is_flag=True, help="Set options.split_loads: a unit's loads may fly on several lift types.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Instance file to write.")
@click.option("--csv-threshold", type=click.IntRange(min=1), default=500, show_default=True, help="Tables this long go to CSV.")
@click.pass_context
def generate(
    ctx: click.Context,
    missions: int,
    hubs: int,
    types: int,
    scenarios: int,
    seed: int,
    soft: bool,
    split_loads: bool,
    out: Path,
    csv_threshold: int,
) -> None:
    """Generate a plausible synthetic instance (deterministic for a seed)."""
    from optimizer.generate import generate_spec

    spec = generate_spec(missions, hubs, types, scenarios, seed, deadlines="soft" if soft else "hard", split_loads=split_loads)
    _run(ctx, lambda: _write_spec(spec, out, csv_threshold))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def solvers(as_json: bool) -> None:
    """List the solvers: which are available on this machine, their versions, and why not."""
    from optimizer.solvers import describe

    rows = describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Solvers")
    for c in ("name", "available", "version", "reason / notes"):
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(str(r["name"]), "[green]yes[/]" if r["available"] else "[red]no[/]", str(r["version"]), str(r["reason"]))
    Console(highlight=False).print(table)


@main.command()
@click.argument("instances", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--solver",
    "solver_names",
    multiple=True,
    default=("highs",),
    show_default=True,
    help="Solver to run (repeat the option; 'all' = every solver available here).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["horizon", "orlib-cap", "orlib-pmed"]),
    default="horizon",
    show_default=True,
    help="Instance file format.",
)
@click.option(
    "--time-limit", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True, help="Seconds per run."
)
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True, help="Runs per instance and solver.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Results folder (resumable).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Solver threads per run.")
@click.option("--seed", type=int, help="Solver random seed (default: each solver's own).")
@click.option("--mip-gap", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Relative MIP gap to stop at.")
@click.option(
    "--margin",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds past the time limit before a run is killed.",
)
@click.pass_context
def bench(
    ctx: click.Context,
    instances: tuple[Path, ...],
    solver_names: tuple[str, ...],
    fmt: str,
    time_limit: float,
    repeats: int,
    out: Path,
    threads: int,
    seed: int | None,
    mip_gap: float,
    margin: float,
) -> None:
    """Benchmark solvers on INSTANCES: one process per run; results.csv, summary.md, profile.png in --out."""
    from optimizer.bench import run_campaign

    def warn(text: str) -> None:
        err_console.print(f"[bold red]WARNING:[/] {text}", soft_wrap=True)

    def work():  # noqa: ANN202
        return run_campaign(
            instances,
            solver_names,
            out,
            fmt=fmt,
            time_limit=time_limit,
            repeats=repeats,
            threads=threads,
            seed=seed,
            mip_gap=mip_gap,
            margin=margin,
            warn=warn,
        )

    campaign = _run(ctx, work)
    err_console.print(
        f"{campaign.ran} run(s) done, {campaign.skipped} already in {out / 'results.csv'}; "
        f"written: {out}/results.csv, {out}/summary.md, {out}/profile.png"
    )
    if campaign.flags:
        err_console.print(f"[bold red]{len(campaign.flags)} disagreement(s) flagged[/] (see {out}/summary.md)")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the instance format."""
    click.echo(json.dumps(instance_json_schema(), indent=2))


def _check_writable(*targets: tuple[str, str | Path | None]) -> None:
    """Fail early (exit 2) when an output cannot be written, before any solving."""
    for hint, target in targets:
        if target is None:
            continue
        path = Path(target).resolve()
        if hint == "--out":  # the folder and its parents are created; none may be a file
            blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
            if blocking is not None:
                raise click.BadParameter(f"'{blocking}' is a file, not a folder", param_hint=hint)
        elif not path.parent.is_dir():
            raise click.BadParameter(f"folder '{path.parent}' does not exist", param_hint=hint)


def _money(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}"


def _print_summary(solution: Solution, out: Path | None) -> None:
    console = Console(highlight=False)
    gap = "—" if solution.gap is None else f"{100 * solution.gap:.4g}%"
    if solution.classic:
        shown = ", ".join(
            f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in solution.classic.items() if v is not None
        )
        console.print(f"classic model: {shown}")
    console.print(
        f"[bold]{solution.instance}[/]: [green]{solution.status}[/]  objective {_money(solution.objective)}"
        f"  bound {_money(solution.bound)}  gap {gap}  ({solution.solver} {solution.solver_version})"
    )
    t = solution.timings
    console.print(
        f"seconds: load {t.load:.2f}  network {t.network:.2f}  build {t.build:.2f}  solve {t.solve:.2f}  "
        f"write {t.write:.2f}  total {t.total:.2f}"
    )
    costs = Table(title="Cost")
    costs.add_column("part")
    costs.add_column("cost", justify="right")
    for k, v in solution.costs.items():
        costs.add_row(k, _money(v))
    console.print(costs)
    console.print(f"Open hubs: {', '.join(solution.open_hubs) or 'none'}")
    st = Table(title="Stationing")
    for c in ("hub", "asset type", "units"):
        st.add_column(c, justify="right" if c == "units" else "left")
    for r in solution.stationing:
        st.add_row(r["hub"], r["asset_type"], f"{r['units']:g}")
    console.print(st)
    dt = Table(title="Dispatch per scenario")
    by = any(r.get("contributor") for r in solution.dispatch)
    for c in ("scenario", "hub", "mission", "type", "route", *(("contributor",) if by else ()), "units", "hours", "deadline"):
        dt.add_column(c, justify="right" if c in ("units", "hours", "deadline") else "left")
    for r in solution.dispatch:
        dl = "—" if r["deadline_hours"] is None else f"{r['deadline_hours']:g}"
        route = r["route"] + (f" (lift {r['lift_hub']})" if r.get("lift_hub") not in (None, r["hub"]) else "")
        extra = (r.get("contributor") or "",) if by else ()
        dt.add_row(
            r["scenario"],
            r["hub"],
            r["mission"],
            r["asset_type"],
            route,
            *extra,
            f"{r['units']:g}",
            f"{r['response_hours']:.1f}",
            dl,
        )
    console.print(dt)
    if solution.contributions:
        ct = Table(title="Units per contributor")
        for c in ("contributor", "hub", "asset type", "units"):
            ct.add_column(c, justify="right" if c == "units" else "left")
        for r in solution.contributions:
            ct.add_row(r["contributor"], r["hub"], r["asset_type"], f"{r['units']:g}")
        console.print(ct)
    if solution.service_levels:
        sl = Table(title="Service levels (tiered demands)")
        for c in ("scenario", "tier", "units due", "within", "share"):
            sl.add_column(c, justify="left" if c in ("scenario", "tier") else "right")
        for r in solution.service_levels:
            sl.add_row(r["scenario"], r["tier"], f"{r['units_due']:g}", f"{r['units_within']:g}", f"{100 * r['share']:.0f}%")
        console.print(sl)
    if solution.unmet:
        ut = Table(title="Unmet within deadline (penalised)")
        for c in ("scenario", "mission", "type", "units"):
            ut.add_column(c)
        for r in solution.unmet:
            ut.add_row(r["scenario"], r["mission"], r["asset_type"], f"{r['units']:g}")
        console.print(ut)
    if out is not None:
        console.print(f"written: {out}/solution.json and CSV tables")


def _add_planner_commands() -> None:
    """compare, sweep, marginal, plot and report live in `optimizer.planning_cli`."""
    from optimizer.planning_cli import compare, marginal, plot, report, sweep

    for command in (compare, sweep, marginal, plot, report):
        main.add_command(command)


_add_planner_commands()

if __name__ == "__main__":
    main()
