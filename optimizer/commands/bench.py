"""`bench`: solvers side by side, one process per run (`horizon.optimizer.planning.bench`)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from horizon.optimizer.commands.common import dumps, err_console, progress, run
from horizon.optimizer.planning.bench import run_campaign


@click.command()
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
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Results folder (resumable).")
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
@click.option("--json", "as_json", is_flag=True, help="Print the campaign's rows as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress.")
@click.option("--no-progress", is_flag=True, help="No progress bar (on a terminal it is shown on stderr).")
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
    as_json: bool,
    quiet: bool,
    no_progress: bool,
) -> None:
    """Benchmark solvers on INSTANCES: one process per run; results.csv, summary.md, profile.png in --out."""

    def warn(text: str) -> None:
        err_console.print(f"[bold red]WARNING:[/] {escape(text)}", soft_wrap=True)

    def work():  # noqa: ANN202
        with progress("bench", not (quiet or no_progress)) as tick:
            return _campaign(tick)

    def _campaign(tick):  # noqa: ANN001, ANN202
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
            progress=tick,
        )

    campaign = run(ctx, work, as_json=as_json, solving=True)  # Ctrl-C: stop at the run in progress, keep the rest
    if as_json:
        click.echo(
            dumps(
                {
                    "out": str(out),
                    "ran": campaign.ran,
                    "skipped": campaign.skipped,
                    "flags": campaign.flags,
                    "interrupted": campaign.interrupted,
                    "rows": campaign.rows,
                }
            )
        )
    err_console.print(
        escape(
            f"{campaign.ran} run(s) done, {campaign.skipped} already in {out / 'results.csv'}; "
            f"written: {out}/results.csv, {out}/summary.md, {out}/profile.png"
        )
    )
    if campaign.interrupted:
        warn(
            f"interrupted by the user during {campaign.interrupted}: {campaign.ran} of {campaign.planned} run(s) done "
            "and kept; the same command resumes with the rest"
        )
    if campaign.flags:
        err_console.print(f"[bold red]{len(campaign.flags)} disagreement(s) flagged[/] (see {escape(str(out))}/summary.md)")
