"""What every command shares: the solver options, the instance argument, one error wrapper.

Declared once so that `--solver`, `--time-limit`, `--mip-gap`, `--threads`, `--seed`,
`-v/--verbose` and `--log-file` mean the same wherever a command solves, and every error
reaches the user the same way: exit 2 invalid input or usage, 3 infeasible (with the
explanation), 4 no solution or solver failure; `--debug` shows tracebacks. Ctrl-C while a
command solves stops the solve and keeps its plan (`interruptible`); user data reaches the
console literally (`console`, `rich.markup.escape`).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from horizon.optimizer.data.loader import ReadLimits, limits
from horizon.optimizer.errors import HorizonError
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.result import SolveOptions

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_ABORTED = 0, 2, 3, 4, 130
INTERRUPTED = "interrupted by the user"


def console(**kwargs: Any) -> Console:
    """A rich console that prints user data literally: no emoji codes, no highlighting
    (ids and messages go through `escape` before any markup)."""
    return Console(highlight=False, emoji=False, **kwargs)


err_console = console(stderr=True)


class Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM while a command works: the first asks the solve to stop
    through `MONITOR` (HiGHS ends its run as at a time limit, the best plan kept); a second
    ends the process at once (exit 130), without a traceback."""

    def __init__(self) -> None:
        self.count = 0

    def handle(self, signum: int, _frame: object) -> None:
        self.count += 1
        if self.count == 1:
            MONITOR.request_stop(INTERRUPTED)
            with contextlib.suppress(Exception):
                name = signal.Signals(signum).name
                sys.stderr.write(f"\n{name}: stopping, the best plan is kept (again to quit at once)\n")
                sys.stderr.flush()
            return
        for child in multiprocessing.active_children():
            with contextlib.suppress(Exception):
                child.terminate()
        with contextlib.suppress(Exception):
            sys.stderr.write("\nquit\n")
            sys.stderr.flush()
        os._exit(EXIT_ABORTED)

    @property
    def interrupted(self) -> bool:
        return self.count > 0


INTERRUPTS = Interrupts()


@contextmanager
def interruptible() -> Iterator[Interrupts]:
    """SIGINT and SIGTERM go to `INTERRUPTS` for the block (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield INTERRUPTS
        return
    INTERRUPTS.count = 0
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        signal.signal(sig, INTERRUPTS.handle)
    try:
        yield INTERRUPTS
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def interrupted() -> bool:
    """Whether the user asked the command to stop (Ctrl-C or SIGTERM)."""
    return INTERRUPTS.interrupted or MONITOR.reason == INTERRUPTED


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
    err_console.print(f"[bold red]error:[/] {escape(exc.render())}", markup=True, soft_wrap=True)
    sys.exit(exc.exit_code)


def _abort_other_ranks(code: int) -> None:
    """An unexpected error may hit one rank only: stop the others rather than leave them
    waiting in a collective call."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and mpi.COMM_WORLD.Get_size() > 1:
        mpi.COMM_WORLD.Abort(code)


def run(ctx: click.Context, fn: Callable[[], Any], *, as_json: bool = False, solving: bool = False) -> Any:
    """Run a command's work: a `HorizonError` becomes its message and exit code, anything
    else a one-line internal error (exit 4), never a traceback without ``--debug``.
    `solving`: Ctrl-C and SIGTERM stop the solve and keep its plan (`interruptible`); other
    commands keep Python's default (Ctrl-C ends them)."""
    root = ctx.find_root()
    debug = bool(root.obj.get("debug", False)) if isinstance(root.obj, dict) else False
    try:
        with interruptible() if solving else contextlib.nullcontext(), MONITOR.run(), limits(_read_limits(ctx)):
            return fn()  # a fresh monitor above: no stop request left from before
    except HorizonError as exc:
        _fail(exc, debug, as_json)
    except KeyboardInterrupt:  # a signal handler other than ours (e.g. under a debugger)
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {INTERRUPTED}")
        sys.exit(EXIT_ABORTED)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback without --debug
        if debug:
            raise
        rank = mpi_rank()
        where = f" (rank {rank})" if rank else ""
        text = escape(f"{type(exc).__name__}: {exc}")
        err_console.print(f"[bold red]internal error{where}:[/] {text} (run with --debug for details)")
        _abort_other_ranks(EXIT_SOLVER)
        sys.exit(EXIT_SOLVER)


# --- shared options -------------------------------------------------------------------------
def _read_limits(ctx: click.Context) -> ReadLimits:
    """The loader's limits from `input_options` (the defaults for commands without them)."""
    values = ctx.meta.get("horizon.read_limits")
    return values if isinstance(values, ReadLimits) else ReadLimits()


def input_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--max-input-mb`` and ``--allow-outside-tables`` of every command that loads an
    instance, kept in the click context for `run` (the command never sees them)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mb, outside = kwargs.pop("max_input_mb"), kwargs.pop("allow_outside_tables")
        click.get_current_context().meta["horizon.read_limits"] = ReadLimits(
            max_bytes=int(mb * 1024 * 1024), outside_tables=bool(outside)
        )
        return f(*args, **kwargs)

    wrapper = click.option(
        "--allow-outside-tables",
        is_flag=True,
        help="Read CSV tables outside the instance's folder (by default a table must be a file in its folder or below).",
    )(wrapper)
    wrapper = click.option(
        "--max-input-mb",
        type=click.FloatRange(min=0, min_open=True),
        default=ReadLimits().max_bytes / (1024 * 1024),
        show_default=True,
        help="Largest instance file or CSV table read, in MB.",
    )(wrapper)
    return wrapper


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
