"""What every command shares: the solver options, the instance argument, one error wrapper.

Declared once so that `--solver`, `--time-limit`, `--mip-gap`, `--threads`, `--seed`,
`-v/--verbose` and `--log-file` mean the same wherever a command solves, and every error
reaches the user the same way: exit 2 invalid input or usage, 3 infeasible (with the
explanation), 4 no solution or solver failure; `--debug` shows tracebacks.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from horizon.optimizer.errors import HorizonError
from horizon.optimizer.solve.result import SolveOptions

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 2, 3, 4

err_console = Console(stderr=True, highlight=False)


def mpi_rank() -> int:
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
    if mpi_rank() != 0:
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


def run(ctx: click.Context, fn: Callable[[], Any], *, as_json: bool = False) -> Any:
    """Run a command's work: a `HorizonError` becomes its message and exit code, anything
    else a one-line internal error (exit 4), never a traceback without ``--debug``."""
    root = ctx.find_root()
    debug = bool(root.obj.get("debug", False)) if isinstance(root.obj, dict) else False
    try:
        return fn()
    except HorizonError as exc:
        _fail(exc, debug, as_json)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback without --debug
        if debug:
            raise
        rank = mpi_rank()
        where = f" (rank {rank})" if rank else ""
        err_console.print(f"[bold red]internal error{where}:[/] {type(exc).__name__}: {exc} (run with --debug for details)")
        _abort_other_ranks(EXIT_SOLVER)
        sys.exit(EXIT_SOLVER)


# --- shared options -------------------------------------------------------------------------
SOLVER_PARAMS = ("solver", "time_limit", "mip_gap", "threads", "seed", "verbose", "log_file")


def solver_options(per: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The solver options of every command that solves, gathered into one `SolveOptions`
    handed to the command as ``solve_options`` (`per`: e.g. " per solve" in help texts)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {k: kwargs.pop(k) for k in SOLVER_PARAMS}
            if values["log_file"] is not None:
                check_writable(("--log-file", values["log_file"]))
            values["solver"] = str(values["solver"]).strip().lower()
            return f(*args, solve_options=SolveOptions(**values), **kwargs)

        for option in reversed(
            (
                click.option("--solver", default="highs", show_default=True, help="Solver to use (see `horizon solvers`)."),
                click.option(
                    "--time-limit", type=click.FloatRange(min=0, min_open=True), help=f"Wall-clock seconds for the solver{per}."
                ),
                click.option(
                    "--mip-gap",
                    type=click.FloatRange(min=0),
                    default=0.0,
                    show_default=True,
                    help=f"Relative MIP gap to stop at{per}.",
                ),
                click.option("--threads", type=click.IntRange(min=1), help="Solver threads."),
                click.option("--seed", type=int, help="Solver random seed."),
                click.option("-v", "--verbose", is_flag=True, help="Show the solver log (on stderr)."),
                click.option("--log-file", type=click.Path(dir_okay=False), help="Write the solver log to this file."),
            )
        ):
            wrapper = option(wrapper)
        return wrapper

    return decorate


def instance_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    """INSTANCE, optional everywhere: the bundled UN 2009 instance when left out."""
    return click.argument("instance", required=False, type=click.Path(dir_okay=False, path_type=Path))(f)


def check_writable(*targets: tuple[str, str | Path | None]) -> None:
    """Fail early (exit 2) when an output cannot be written, before any solving."""
    for hint, target in targets:
        if target is None:
            continue
        path = Path(target).resolve()
        if hint == "--out":  # a folder: it and its parents are created
            blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
            if blocking is not None:
                raise click.BadParameter(f"'{blocking}' is a file, not a folder", param_hint=hint)
        elif not path.parent.is_dir():
            raise click.BadParameter(f"folder '{path.parent}' does not exist", param_hint=hint)


# --- output helpers -----------------------------------------------------------------------
@contextmanager
def progress(label: str, enabled: bool) -> Iterator[Callable[[int, int, str], None]]:
    """A rich progress bar on stderr (only on a terminal, unless disabled)."""
    if not enabled or not err_console.is_terminal:
        yield lambda i, n, what: None
        return
    with Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def update(i: int, n: int, what: str) -> None:
            bar.update(task, completed=i, total=n, description=what)

        yield update


def money(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}"


def num(x: Any, money: bool = False) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else ""
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if money:
            return f"{x:,.0f}"
        return f"{x:,.1f}" if not x.is_integer() else f"{x:g}"
    return str(x)


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(d: Any) -> str:
    """JSON with non-finite numbers as null (strict JSON readers reject NaN)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(d), indent=2, default=_json_default, allow_nan=False)
