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
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.cells import cell_len
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from horizon.optimizer.data.loader import ReadLimits, limits
from horizon.optimizer.errors import HorizonError
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.events import Progress as Report
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


SHOW_PROGRESS = "horizon.show_progress"  # click context meta key: live progress wanted
SOLVER_PARAMS = ("solver", "time_limit", "mip_gap", "threads", "seed", "verbose", "log_file")


def solver_options(per: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The solver options of every command that solves, gathered into one `SolveOptions`
    handed to the command as ``solve_options`` (`per`: e.g. " per solve" in help texts)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {k: kwargs.pop(k) for k in SOLVER_PARAMS}
            quiet, no_progress = kwargs.pop("quiet"), kwargs.pop("no_progress")
            click.get_current_context().meta[SHOW_PROGRESS] = not (quiet or no_progress)
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
                click.option("-q", "--quiet", is_flag=True, help="No live progress and no solver log (errors and results only)."),
                click.option("--no-progress", is_flag=True, help="No live progress (on a terminal it is shown on stderr)."),
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


# --- -o/--out: one meaning everywhere ------------------------------------------------------
FILE_SUFFIXES = (".json", ".csv", ".png", ".svg", ".pdf", ".md", ".html", ".yaml", ".yml")


def out_option(help_text: str, *, required: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-o/--out PATH``: where a command writes. A path ending in a file extension (.json,
    .csv, .png, ...) is a file of that kind; any other path is a folder (created)."""
    return click.option("-o", "--out", type=click.Path(path_type=Path), required=required, help=help_text)


def out_file(out: Path | None, allowed: Sequence[str]) -> str | None:
    """The kind of file `out` names ('.csv', ...), None for a folder; exit 2 on a file kind
    the command does not write."""
    if out is None or out.suffix.lower() not in FILE_SUFFIXES:
        return None
    kind = out.suffix.lower()
    if kind not in allowed:
        raise click.BadParameter(f"{out}: write a folder or a {', '.join(allowed)} file", param_hint="-o/--out")
    check_writable(("-o", out))
    return kind


# --- output helpers -----------------------------------------------------------------------
def progress_wanted() -> bool:
    """Live progress: on a terminal's stderr, unless ``--quiet`` or ``--no-progress``."""
    ctx = click.get_current_context(silent=True)
    wanted = True if ctx is None else bool(ctx.meta.get(SHOW_PROGRESS, True))
    return wanted and err_console.is_terminal


def describe_progress(p: Report | None, currency: str = "", elapsed: float | None = None) -> str:
    """One line: elapsed time, step, incumbent, best bound and gap."""
    if p is None:
        return f"{_clock(elapsed or 0.0)}  starting"
    unit = f" {currency}" if currency else ""
    parts = [_clock(p.elapsed if elapsed is None else elapsed)]
    if p.step:
        parts.append(p.step)
    parts.append("no plan yet" if p.incumbent is None else f"plan {p.incumbent:,.2f}{unit}")
    if p.bound is not None:
        parts.append(f"bound {p.bound:,.2f}{unit}")
    if p.gap is not None:
        parts.append(f"gap {100 * p.gap:.2f}%")
    return "  ".join(parts)


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


class _LiveLine:
    """What the live display shows: the last report, with the clock kept running between reports."""

    def __init__(self, label: str, currency: str) -> None:
        self.label, self.currency = label, currency
        self.last: Report | None = None
        self.t0 = time.monotonic()

    def __call__(self, p: Report) -> None:
        self.last = p

    def __rich__(self) -> Text:
        line = describe_progress(self.last, self.currency, time.monotonic() - self.t0)
        return Text.assemble((f"{self.label} ", "bold"), line, overflow="ellipsis", no_wrap=True)


@contextmanager
def live_progress(label: str, currency: str = "") -> Iterator[None]:
    """One solve's live progress on stderr, updated about once a second from `MONITOR`
    (the strategies' steps, HiGHS's incumbents and bounds); nothing when not wanted."""
    if not progress_wanted():
        with MONITOR.run():
            yield
        return
    line = _LiveLine(label, currency)
    with Live(line, console=err_console, refresh_per_second=1, transient=True), MONITOR.run(line):
        yield


@contextmanager
def progress(label: str, enabled: bool = True, currency: str = "") -> Iterator[Callable[..., None]]:
    """One bar on stderr for a multi-solve command (only on a terminal, unless disabled):
    the point being solved with its live progress, and each point's result printed above
    the bar as it lands."""
    if not enabled or not progress_wanted():
        with MONITOR.run():
            yield lambda i, n, what, result=None: None
        return
    fixed = Column(no_wrap=True)
    with Progress(
        TextColumn(f"[bold]{escape(label)}[/]", table_column=fixed),
        BarColumn(bar_width=12),
        MofNCompleteColumn(table_column=Column(no_wrap=True)),
        TimeElapsedColumn(table_column=Column(no_wrap=True)),
        TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", max_width=32)),
        TextColumn("{task.fields[live]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
        console=err_console,
        transient=True,
        refresh_per_second=1,
    ) as bar:
        task = bar.add_task("", total=None, live="")
        current: list[str] = []
        last: list[Report] = []

        def listen(p: Report) -> None:
            last[:] = [p]
            plan = "" if p.incumbent is None else f"plan {p.incumbent:,.2f} {currency}".rstrip()
            gap = "" if p.gap is None else f"gap {100 * p.gap:.2f}%"
            bar.update(task, live=escape("  ".join(x for x in (plan, gap, p.step) if x)))

        def update(i: int, n: int, what: str, result: str | None = None) -> None:
            """Point `i` of `n` starts (`what`); or, with `result`, the point `what` ended so."""
            if result is not None:
                bar.console.print(Text(f"  {what}: {result}"))
                current.clear()
                bar.update(task, completed=i, total=n, live="")
                return
            if current:
                got = "no plan (see the table)" if not last or last[0].incumbent is None else money(last[0].incumbent, currency)
                bar.console.print(Text(f"  {current[0]}: {got}"))
            current[:] = [what] if i < n else []
            last.clear()
            MONITOR.restart()  # the next point's plan and bound come fresh
            bar.update(task, completed=i, total=n, description=escape(what), live="")

        with MONITOR.run(listen):
            yield update


def money(x: float | None, currency: str = "") -> str:
    """A cost rounded to cents, with its currency when given."""
    if x is None:
        return "—"
    return f"{x:,.2f}" + (f" {currency}" if currency else "")


def num(x: Any, money: bool = False) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else ""
    if isinstance(x, int):
        return f"{x:,}" if money else str(x)
    if isinstance(x, float):
        if money:
            return f"{x:,.2f}"
        return f"{x:,.1f}" if not x.is_integer() else f"{x:g}"
    return str(x)


def units(x: Any) -> str:
    """Units: whole numbers without a decimal point."""
    if x is None:
        return "—"
    return f"{x:g}" if isinstance(x, float) else str(x)


# --- tables that never cut a value ----------------------------------------------------------
NUM, ID, TEXT = "num", "id", "text"  # column kinds: right-aligned number, identifier, free text


def show_table(
    console: Console,
    title: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str]],
    *,
    keys: int = 1,
    caption: str | None = None,
) -> None:
    """Print a table whose numbers and ids are never cut, at any width.

    `columns`: (header, kind) with kind NUM (right-aligned, never wrapped), ID (never wrapped)
    or TEXT (wrapped between words, folded only inside a word longer than the column). When
    the whole table does not fit the console, it is split into several tables, each
    repeating the first `keys` columns; when not even that fits, each row is printed as a
    list of "header: value" lines. Cells are plain text (markup is escaped)."""
    width = console.width
    need = [_column_need(h, kind, [r[i] for r in rows]) for i, (h, kind) in enumerate(columns)]
    if _table_width(need) <= width:
        console.print(_table(title, columns, rows, range(len(columns)), caption, need, width))
        return
    head = list(range(min(keys, len(columns))))
    if len({tuple(r[i] for i in head) for r in rows}) < len(rows):  # keys repeat: number the rows
        columns = [("#", NUM), *columns]
        rows = [[str(n), *r] for n, r in enumerate(rows, 1)]
        need = [cell_len(str(len(rows))), *need]
        head = [0, *(i + 1 for i in head)]
    groups: list[list[int]] = []
    for i in range(len(head), len(columns)):
        if groups and _table_width([need[j] for j in (*head, *groups[-1], i)]) <= width:
            groups[-1].append(i)
        else:
            groups.append([i])
    if all(_table_width([need[j] for j in (*head, *g)]) <= width for g in groups):
        for n, g in enumerate(groups):
            part = f"{title} ({n + 1}/{len(groups)})" if len(groups) > 1 else title
            console.print(_table(part, columns, rows, [*head, *g], caption if n == len(groups) - 1 else None, need, width))
        return
    console.print(Text(title, style="bold"))
    for r in rows:
        for (h, _), v in zip(columns, r):
            console.print(Text.assemble((f"  {h}: ", "dim"), v))
        console.print()
    if caption:
        console.print(Text(caption))


def _column_need(header: str, kind: str, cells: Sequence[str]) -> int:
    words = [w for c in (header, *cells) for w in str(c).split()] if kind == TEXT else [w for w in header.split()]
    whole = [cell_len(str(c)) for c in cells] if kind != TEXT else []
    return max([*(cell_len(w) for w in words), *whole, 1])


def _table_width(need: Sequence[int]) -> int:
    return sum(need) + 3 * len(need) + 1  # padding of 1 each side, one border per column and the last


def _widths(columns: Sequence[tuple[str, str]], cells: Sequence[Sequence[str]], need: Sequence[int], width: int) -> list[int]:
    """Column widths: each its minimum (`need`), then the space left shared among text
    columns up to their natural width (so rich never has to shrink a column)."""
    natural = [max([cell_len(h), *(cell_len(str(c)) for c in col)]) for (h, _), col in zip(columns, cells)]
    widths = list(need)
    spare = width - _table_width(widths)
    if columns and columns[0][1] == TEXT:  # the row labels first, up to a readable width
        grow = max(0, min(natural[0], 26) - widths[0], 0)
        widths[0] += min(grow, max(spare, 0))
        spare -= min(grow, max(spare, 0))
    while spare > 0:
        short = [i for i in range(len(columns)) if widths[i] < natural[i]]  # text, or a header wider than its cells
        if not short:
            break
        for i in short:
            if spare <= 0:
                break
            widths[i] += 1
            spare -= 1
    return widths


def _table(
    title: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str]],
    which: Any,
    caption: str | None,
    need: Sequence[int],
    width: int,
) -> Table:
    t = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    widths = _widths([columns[i] for i in which], [[r[i] for r in rows] for i in which], [need[i] for i in which], width)
    for w, i in zip(widths, which):
        h, kind = columns[i]
        justify = "right" if kind == NUM else "left"
        header = Text(h, no_wrap=False, overflow="fold", justify=justify)  # headers wrap between words
        t.add_column(header, justify=justify, no_wrap=kind != TEXT, overflow="fold", width=w)
    for r in rows:
        t.add_row(*(Text(str(r[i])) for i in which))
    return t


def phrases(console: Console, parts: Sequence[str], style: str | None = None, sep: str = "  ") -> None:
    """Phrases filled into lines of the console's width, broken only between phrases."""
    lines: list[str] = []
    for p in (p for p in parts if p):
        if lines and cell_len(lines[-1] + sep + p) <= console.width:
            lines[-1] += sep + p
        else:
            lines.append(p)
    for line in lines:
        console.print(Text(line, style=style or ""))


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
