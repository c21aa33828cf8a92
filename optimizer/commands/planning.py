"""Planner commands: ``compare``, ``sweep``, ``marginal``, ``plot``, ``report``.

Each is a `click.Command` that `cli.py` adds to its group; the work is in
`horizon.optimizer.planning` and `horizon.optimizer.results`, the options and the error
wrapper in `horizon.optimizer.commands.common`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from horizon.models.policies import POLICIES
from horizon.optimizer.commands.common import (
    INTERRUPTED,
    console,
    csv_text,
    dumps,
    err_console,
    input_options,
    instance_argument,
    num,
    progress,
    run,
    solver_options,
)
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.errors import InputError
from horizon.optimizer.files import write_text
from horizon.optimizer.planning.charts import plot_comparison, plot_sweep
from horizon.optimizer.planning.tools import MARGINAL_COLUMNS, compare_policies
from horizon.optimizer.planning.tools import marginal as run_marginal
from horizon.optimizer.planning.tools import sweep as run_sweep
from horizon.optimizer.results.report import (
    HIST_SIZE,
    MAP_SIZE,
    load_solution_dir,
    planning_info,
    plot_histogram,
    plot_map,
    resolve_instance,
    write_report,
)
from horizon.optimizer.results.solution import write_solution_dir
from horizon.optimizer.solve.result import SolveOptions

# --- compare ------------------------------------------------------------------------------
MONEY_ROWS = ("total cost", "cost: ", "savings vs dedicated")


@click.command()
@instance_argument
@click.option(
    "--policy", "policies", multiple=True, type=click.Choice(POLICIES), help="Policy to compare (repeat; default: all four)."
)
@click.option(
    "--soft-penalty",
    type=click.FloatRange(min=0),
    help="Soft deadlines: cost per unmet unit (every policy gets a cost and a coverage).",
)
@click.option("--no-fleet-limits", is_flag=True, help="Lift fleet limits: compare what each policy would need.")
@click.option(
    "--mission-hubs/--no-mission-hubs",
    default=True,
    show_default=True,
    help="Make every mission a candidate hub under every policy (fair comparison).",
)
@click.option(
    "--mission-hub-cost",
    type=click.FloatRange(min=0),
    help="Fixed cost of an added mission hub (default: the cheapest candidate hub's).",
)
@click.option("--keep-existing", is_flag=True, help="Keep existing hubs forced open (and paid) under every policy.")
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the table as CSV (metrics × policies)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON on stdout.")
@click.option(
    "--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a cost/coverage chart (.png/.svg/.pdf)."
)
@click.option(
    "--save-solutions",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/<policy>/ solution directories (for plot and report).",
)
@solver_options(" per solve")
@input_options
@click.pass_context
def compare(
    ctx: click.Context,
    instance: Path | None,
    policies: tuple[str, ...],
    soft_penalty: float | None,
    no_fleet_limits: bool,
    mission_hubs: bool,
    mission_hub_cost: float | None,
    keep_existing: bool,
    csv_path: Path | None,
    as_json: bool,
    plot_path: Path | None,
    save_solutions: Path | None,
    solve_options: SolveOptions,
) -> None:
    """Compare pooling policies on INSTANCE side by side (default: the bundled UN 2009 instance).

    Policies: pooled (any open hub serves any mission it reaches in time), dedicated (each
    mission holds its own reserve and serves only itself), regional (hubs serve only their own
    region), single-hub (the best single hub serves everything). Exit 0 when at least one
    policy has a solution, 3 when none has.
    """

    chosen = list(dict.fromkeys(policies)) or list(POLICIES)
    options = solve_options

    def work() -> Any:
        inst = load_instance(instance)
        with progress("compare", True) as tick:
            comp = compare_policies(
                inst,
                chosen,
                options,
                mission_hubs=mission_hubs,
                keep_existing=keep_existing,
                mission_hub_cost=mission_hub_cost,
                soft_penalty=soft_penalty,
                fleet_limits=not no_fleet_limits,
                progress=tick,
            )
        if csv_path is not None:
            table = comp.table()
            write_text(csv_path, csv_text(["metric", *chosen], [[label, *vals] for label, vals in table]))
        if plot_path is not None:
            plot_comparison(comp, plot_path)
        if save_solutions is not None:
            _save_comparison(comp, save_solutions)
        return comp

    comp = run(ctx, work, as_json=as_json, solving=True)
    if as_json:
        click.echo(dumps(comp.to_dict()))
    else:
        _print_comparison(comp)
        for p in (csv_path, plot_path, save_solutions):
            if p is not None:
                err_console.print(escape(f"written: {p}"))
    if not any(o.ok for o in comp.outcomes):
        sys.exit(3)


def _save_comparison(comp: Any, folder: Path) -> None:

    folder.mkdir(parents=True, exist_ok=True)
    for o in comp.outcomes:
        target = folder / o.policy
        if o.ok:
            write_solution_dir(o.solution, target, o.instance)
            info = {"policy": o.policy, "settings": comp.settings, "reasons": o.reasons}
            write_text(target / "planning.json", dumps(info) + "\n")
    write_text(folder / "comparison.json", dumps(comp.to_dict()) + "\n")


def _print_comparison(comp: Any) -> None:
    out = console()
    pols = [o.policy for o in comp.outcomes]
    t = Table(title=f"{escape(comp.base.name)}: pooling policies", title_justify="left")
    t.add_column("")
    for p in pols:
        t.add_column(p, justify="right")
    notes: list[tuple[str, str]] = []
    for label, vals in comp.table():
        if label == "note":
            notes = [(p, v) for p, v in zip(pols, vals) if v]
            continue
        if label == "open hubs":
            t.add_row(label, *[escape(v) if v else "—" for v in vals])
            continue
        money = label.startswith(MONEY_ROWS) and "%" not in label
        if label == "gap":
            cells = ["—" if v is None else "0%" if v < 1e-9 else f"{100 * v:.3g}%" for v in vals]
        elif label.endswith("(%)"):
            cells = ["—" if v is None else f"{v:.1f}" for v in vals]
        elif label == "status":
            cells = [
                f"{v} (interrupted)" if INTERRUPTED in (n or "") else str(v) for v, n in zip(vals, dict(comp.table())["note"])
            ]
        else:
            cells = [escape(num(v, money)) for v in vals]
        style = "bold" if label in ("status", "total cost") else None
        t.add_row(label, *cells, style=style)
    out.print(t)
    s = comp.settings
    if s.get("not_solved"):
        out.print(f"[yellow]{INTERRUPTED}[/]: not solved: {escape(', '.join(s['not_solved']))}")
    if s.get("mission_hubs_added"):
        out.print(
            f"mission hubs added for a fair comparison: {len(s['mission_hubs_added'])} "
            f"(fixed cost {s['mission_hub_fixed_cost']:,.0f} each); existing hubs "
            + ("kept open" if s.get("keep_existing") else "relaxed to candidates")
        )
    for p, note in notes:
        out.print(f"[bold]{p}[/]:", soft_wrap=True)
        for reason in note.split("; "):
            out.print(f"  - {reason}", soft_wrap=True, markup=False)


# --- sweep --------------------------------------------------------------------------------
def _parse_values(values: str | None, start: float | None, stop: float | None, steps: int | None) -> list[float] | None:
    if values:
        try:
            return [float(v) for v in values.replace(";", ",").split(",") if v.strip()]
        except ValueError as exc:
            raise click.BadParameter(f"not a comma-separated list of numbers: {values}", param_hint="--values") from exc
    if start is not None or stop is not None:
        if start is None or stop is None:
            raise click.BadParameter("give both --from and --to", param_hint="--from/--to")
        n = steps or 7
        if n == 1:
            return [start]
        return [round(start + (stop - start) * i / (n - 1), 10) for i in range(n)]
    return None


@click.command()
@instance_argument
@click.option("--param", required=True, help="deadline-scale, budget, hubs or fleet:TYPE.")
@click.option("--values", help="Comma-separated values (e.g. 0.5,1,1.5,2).")
@click.option("--from", "start", type=float, help="First value (with --to and --steps).")
@click.option("--to", "stop", type=float, help="Last value.")
@click.option("--steps", type=click.IntRange(min=1), help="Number of values from --from to --to [7].")
@click.option(
    "-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder for sweep.csv and sweep.png."
)
@click.option("--soft-penalty", type=click.FloatRange(min=0), help="Soft deadlines with this cost per unmet unit.")
@click.option(
    "--hard", is_flag=True, help="Keep hard deadlines in a budget sweep (points below the needed budget are infeasible)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the points as JSON on stdout.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@solver_options(" per solve")
@input_options
@click.pass_context
def sweep(
    ctx: click.Context,
    instance: Path | None,
    param: str,
    values: str | None,
    start: float | None,
    stop: float | None,
    steps: int | None,
    out: Path,
    soft_penalty: float | None,
    hard: bool,
    as_json: bool,
    no_progress: bool,
    solve_options: SolveOptions,
) -> None:
    """Re-solve INSTANCE over a parameter and write the trade-off (sweep.csv, sweep.png).

    The model is built once; each point changes bounds or right-hand sides and starts from
    the previous point's plan. Exit 0 when at least one point is solved, 3 when none is.
    """

    vals = _parse_values(values, start, stop, steps)
    options = solve_options

    def work() -> Any:
        inst = load_instance(instance)
        with progress(f"sweep {param}", not no_progress) as tick:
            result = run_sweep(inst, param, vals, options, soft_penalty=soft_penalty, hard=hard, progress=tick)
        rows = result.rows()
        out.mkdir(parents=True, exist_ok=True)
        header = list(rows[0]) if rows else ["param", "value", "status"]
        write_text(out / "sweep.csv", csv_text(header, [[r[h] for h in header] for r in rows]))
        plot_sweep(result, out / "sweep.png")
        return result

    result = run(ctx, work, as_json=as_json, solving=True)
    rows = result.rows()
    if as_json:
        click.echo(
            dumps(
                {
                    "instance": result.instance.name,
                    "param": result.param,
                    "notes": result.notes,
                    "builds": result.builds,
                    "solves": result.solves,
                    "x_metric": result.x_metric,
                    "y_metric": result.y_metric,
                    "points": rows,
                }
            )
        )
    else:
        shown = console()
        t = Table(title=f"{escape(result.instance.name)}: sweep of {escape(param)}", title_justify="left")
        cols = ["value", "status", "total_cost", "annual_cost", "coverage_pct", "mean_response_hours", "hubs_used", "pareto"]
        heads = ["value", "status", "total cost", "fixed + holding", "met in time (%)", "mean resp. (h)", "hubs", "Pareto"]
        for c, h in zip(cols, heads):
            t.add_column(h, justify="left" if c == "status" else "right")
        for r in rows:
            cells = [num(r[c], money=c in ("total_cost", "annual_cost")) for c in cols]
            cells[0] = f"{r['value']:,.0f}" if param == "budget" else f"{r['value']:g}"
            if INTERRUPTED in (r.get("note") or ""):
                cells[1] += " (interrupted)"
            t.add_row(*[escape(c) for c in cells])
        shown.print(t)
        for n in result.notes:
            shown.print(f"note: {escape(n)}")
        built = "model built once" if result.builds == 1 else f"model built {result.builds} times"
        shown.print(escape(f"{built}, solved {result.solves} time(s); written: {out / 'sweep.csv'}, {out / 'sweep.png'}"))
    if not any(r["status"] in ("optimal", "feasible") for r in rows):
        sys.exit(3)


# --- marginal -----------------------------------------------------------------------------
@click.command()
@instance_argument
@click.option("--asset", "assets", multiple=True, help="Asset type to value (repeat; default: all types).")
@click.option("--hub", "hubs", multiple=True, help="Hub to toggle open/closed (repeat).")
@click.option("--hubs", "all_hubs", is_flag=True, help="Toggle every hub, and value one more / one fewer hub.")
@click.option("--soft-penalty", type=click.FloatRange(min=0), help="Soft deadlines with this cost per unmet unit.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the table as CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON on stdout.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@solver_options(" per solve")
@input_options
@click.pass_context
def marginal(
    ctx: click.Context,
    instance: Path | None,
    assets: tuple[str, ...],
    hubs: tuple[str, ...],
    all_hubs: bool,
    soft_penalty: float | None,
    csv_path: Path | None,
    as_json: bool,
    no_progress: bool,
    solve_options: SolveOptions,
) -> None:
    """What one more (or one fewer) unit of an asset type, or hub, changes in cost and coverage.

    By re-solving (duals of a MIP are not meaningful). Without options: every asset type and one
    more / one fewer hub. '+1 pledged unit' raises the fleet limit; '-1 stationed unit' allows one
    unit fewer than the optimum stations.
    """

    options = solve_options

    def work() -> Any:
        inst = load_instance(instance)
        hub_list = [h.node for h in inst.hubs] if all_hubs else list(hubs)
        types = list(assets) if assets else (None if not (hubs or all_hubs) else [])
        with progress("marginal", not no_progress) as tick:
            res = run_marginal(
                inst,
                types,
                hub_list,
                options,
                hub_count_rows=not (assets or hubs) or all_hubs,
                soft_penalty=soft_penalty,
                progress=tick,
            )
        if csv_path is not None:
            rows = [r.to_dict() for r in res.rows]
            header = list(MARGINAL_COLUMNS)
            write_text(csv_path, csv_text(header, [[r[h] for h in header] for r in rows]))
        return res

    res = run(ctx, work, as_json=as_json, solving=True)
    if as_json:
        click.echo(
            dumps(
                {
                    "instance": res.instance.name,
                    "baseline": res.baseline,
                    "solves": res.solves,
                    "rows": [r.to_dict() for r in res.rows],
                    "ask_first": [r.item for r in res.ranking()],
                }
            )
        )
        return
    shown = console()
    b = res.baseline
    shown.print(
        f"[bold]{escape(res.instance.name)}[/]: baseline {b['status']}, total cost {b['total_cost']:,.0f}, "
        f"demand met in time {b['coverage_pct']:.1f} %, hubs {escape(' '.join(b['open_hubs']))}"
    )
    t = Table(title="Marginal values (re-solved)", title_justify="left")
    for h in ("item", "change", "status", "total cost", "Δ cost", "met in time (%)", "Δ (pp)", "what changes"):
        t.add_column(h, justify="right" if h in ("total cost", "Δ cost", "met in time (%)", "Δ (pp)") else "left")
    for r in res.rows:
        dc = "—" if r.delta_cost is None else f"{r.delta_cost:+,.0f}"
        dp = "—" if r.delta_coverage_pp is None else f"{r.delta_coverage_pp:+.1f}"
        cov = "—" if r.coverage_pct is None else f"{r.coverage_pct:.1f}"
        t.add_row(*[escape(c) for c in (r.item, r.change, r.status, num(r.total_cost, True), dc, cov, dp, r.detail)])
    shown.print(t)
    rank = [r for r in res.ranking() if (r.delta_cost or 0) < -1e-6 or (r.delta_coverage_pp or 0) > 1e-9]
    if rank:

        def what(r: Any) -> str:
            saving = f"{r.delta_cost:+,.0f}" + (f", {r.delta_coverage_pp:+.1f} pp met in time" if r.delta_coverage_pp else "")
            return f"{r.item[6:]}" + (f" from {r.contributor}" if r.contributor else "") + f" ({saving})"

        shown.print("Ask contributors first for: " + escape(", ".join(what(r) for r in rank)))
    else:
        shown.print("No single extra unit of the types valued lowers the cost or raises coverage.")
    if csv_path is not None:
        err_console.print(escape(f"written: {csv_path}"))


# --- plot and report ----------------------------------------------------------------------
@click.command()
@click.argument("solution_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Picture to write (.png, .svg, .pdf)."
)
@click.option(
    "--kind", type=click.Choice(["map", "histogram"]), default="map", show_default=True, help="Map or response-time histogram."
)
@click.option("--scenario", help="Scenario whose dispatches the map shows ('all' for every scenario; default: the busiest).")
@click.option(
    "--instance",
    "instance_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The instance file solved (if not found automatically).",
)
@click.option("--width", type=click.FloatRange(min=2, max=40), help="Width in inches.")
@click.option("--height", type=click.FloatRange(min=2, max=40), help="Height in inches.")
@click.option("--dpi", type=click.IntRange(min=30, max=600), default=100, show_default=True)
@click.pass_context
def plot(
    ctx: click.Context,
    solution_dir: Path,
    out: Path,
    kind: str,
    scenario: str | None,
    instance_path: Path | None,
    width: float | None,
    height: float | None,
    dpi: int,
) -> None:
    """Draw SOLUTION_DIR (from `horizon solve --out`): a map of hubs, missions, stationed assets and a
    scenario's dispatch arcs on lat/lon, or a response-time histogram."""

    def work() -> Path:
        sol = load_solution_dir(solution_dir)
        inst = resolve_instance(solution_dir, sol, instance_path)
        base = MAP_SIZE if kind == "map" else HIST_SIZE
        size = (width or base[0], height or base[1])
        if kind == "map":
            return plot_map(inst, sol, out, scenario, size=size, dpi=dpi)
        return plot_histogram(inst, sol, out, size=size, dpi=dpi)

    path = run(ctx, work)
    err_console.print(escape(f"written: {path}"))


@click.command()
@click.argument("solution_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="report.md (pictures beside it) or report.html (self-contained).",
)
@click.option("--scenario", help="Scenario whose dispatches the map shows (default: the busiest).")
@click.option(
    "--instance",
    "instance_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The instance file solved (if not found automatically).",
)
@click.pass_context
def report(ctx: click.Context, solution_dir: Path, out: Path, scenario: str | None, instance_path: Path | None) -> None:
    """Write a report of SOLUTION_DIR a planner can send on: assumptions, costs, stationing,
    coverage per scenario, with the map and the response-time histogram embedded."""

    def work() -> list[Path]:
        sol = load_solution_dir(solution_dir)
        if not sol.ok:
            raise InputError(f"{solution_dir}: the solution's status is '{sol.status}'; nothing to report")
        inst = resolve_instance(solution_dir, sol, instance_path)
        return write_report(inst, sol, out, scenario=scenario, info=planning_info(solution_dir))

    paths = run(ctx, work)
    err_console.print(escape("written: " + ", ".join(str(p) for p in paths)))


COMMANDS = (compare, sweep, marginal, plot, report)
