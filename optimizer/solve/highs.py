"""HiGHS primitives: a silent instance, the model in one call, options, one mapped run.

Pyomo's in-memory solver interfaces convert constraints one at a time in Python; here the
model's sparse matrix goes to highspy in one `passModel` call. Generic options (time limit,
gap, threads, seed, log file) are translated to HiGHS names; status is mapped to horizon's
vocabulary and a time-limited run keeps its incumbent, bound and gap. The start strategies
and decompositions (`starts`, `benders`, `hubsets`, `concurrent`) are built on these.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import highspy
import numpy as np

from horizon.models.linear import LinearModel
from horizon.optimizer.errors import InputError, SolverError
from horizon.optimizer.files import replacing
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.result import SolveOptions, SolveResult


@contextlib.contextmanager
def _stdout_redirected(to_stderr: bool) -> Iterator[None]:
    """Point C-level stdout (file descriptor 1, where solvers print) at stderr, or at the null
    device, for the block; Python's own prints are flushed first and after."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        yield
        return
    saved, null = os.dup(fd), None
    if to_stderr and _has_fileno(sys.stderr):
        target = sys.stderr.fileno()
    else:
        null = target = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(target, fd)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
        if null is not None:
            os.close(null)


def stdout_to_stderr() -> contextlib.AbstractContextManager[None]:
    """HiGHS prints a banner on construction and its log on stdout, which must stay clean for
    `--json`: route it to stderr."""
    return _stdout_redirected(True)


def stdout_to_devnull() -> contextlib.AbstractContextManager[None]:
    """Drop C-level stdout (HiGHS's banner when no log is asked for; a solver echoing its
    log file to the console)."""
    return _stdout_redirected(False)


def _has_fileno(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]
        return True
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False


def new_highs(options: SolveOptions | None = None) -> highspy.Highs:
    """A silent HiGHS instance. HiGHS prints a banner on construction: it goes to stderr
    when `options` ask for the solver log (``verbose`` or ``log_file``), else nowhere; never
    to stdout."""
    loud = options is not None and bool(options.verbose or options.log_file)
    with stdout_to_stderr() if loud else stdout_to_devnull():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def highs_version(h: highspy.Highs) -> str:
    try:
        return str(h.version())
    except Exception:  # noqa: BLE001 - version is informative only
        return "unknown"


def pass_model(h: highspy.Highs, lm: LinearModel) -> None:
    """Hand the whole model to HiGHS in one call (column-wise sparse matrix)."""
    a = lm.matrix().tocsc()
    col_lower, col_upper, integer = lm.col_bounds()
    row_lower, row_upper = lm.row_bounds()
    lp = highspy.HighsLp()
    lp.num_col_ = lm.n_cols
    lp.num_row_ = lm.n_rows
    lp.col_cost_ = lm.cost()
    lp.col_lower_ = highs_bounds(col_lower)
    lp.col_upper_ = highs_bounds(col_upper)
    lp.row_lower_ = highs_bounds(row_lower)
    lp.row_upper_ = highs_bounds(row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.a_matrix_.num_col_ = lm.n_cols
    lp.a_matrix_.num_row_ = lm.n_rows
    if integer.any():
        kinds = np.where(integer, int(highspy.HighsVarType.kInteger), int(highspy.HighsVarType.kContinuous))
        lp.integrality_ = [highspy.HighsVarType(int(k)) for k in kinds]
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")


def write_model(h: highspy.Highs, lm: LinearModel, path: str | Path) -> None:
    """Write the model HiGHS holds (.mps or .lp), with structured column and row names."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".mps", ".lp"):
        raise InputError(f"--write-model: unsupported extension '{suffix}' (use .mps or .lp)")
    for i, name in enumerate(lm.column_names()):
        h.passColName(i, name)
    for i, name in enumerate(lm.row_names()):
        h.passRowName(i, name)
    with stdout_to_stderr(), replacing(path) as tmp:
        h.writeModel(str(tmp))


_POOL_THREADS: list[int] = []  # the thread count HiGHS's process-wide pool was last reset to


def _thread_pool(threads: int) -> None:
    """HiGHS fixes its (process-wide) thread pool at the first run: a later run asking for
    another count fails ("Not Set") unless the pool is reset first. Reset only on a change, so
    that the many small solves of a decomposition keep one pool."""
    if _POOL_THREADS != [threads]:
        highspy.Highs.resetGlobalScheduler(True)
        _POOL_THREADS[:] = [threads]


def configure(h: highspy.Highs, options: SolveOptions) -> None:
    """Translate generic options to HiGHS option names."""
    h.setOptionValue("output_flag", bool(options.verbose or options.log_file))
    h.setOptionValue("log_to_console", bool(options.verbose))
    if options.log_file:
        h.setOptionValue("log_file", str(options.log_file))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if options.threads is not None:
        _thread_pool(int(options.threads))
        h.setOptionValue("threads", int(options.threads))
    if options.seed is not None:
        h.setOptionValue("random_seed", int(options.seed))


def time_limit_for(h: highspy.Highs, seconds: float, mip: bool) -> float:
    """The ``time_limit`` that gives the next run `seconds`. HiGHS's LP solvers hold it
    against the Highs object's run clock, which keeps counting across runs (a MIP solved
    before would eat an LP's time); its MIP solver times each run from its start. So an
    LP's limit is shifted by the clock's reading."""
    if mip or seconds >= highspy.kHighsInf:
        return seconds
    return seconds + float(h.getRunTime())


_SCOPE: list[tuple[bool, bool]] = []  # (plans, bounds) of the runs inside `reporting`, innermost last


@contextlib.contextmanager
def reporting(*, plans: bool, bounds: bool) -> Iterator[None]:
    """What the HiGHS runs inside tell `MONITOR`: their incumbents only when they are plans of
    the full model (`plans`: not a relaxation's), their dual bounds only when the run is the
    full model itself (`bounds`: not a fixed-hub or neighbourhood sub-MIP's). Outside any
    `reporting`, a MIP run's incumbent counts and its bound as ``MONITOR.mip_bounds`` says."""
    _SCOPE.append((plans, bounds))
    try:
        yield
    finally:
        _SCOPE.pop()


@contextlib.contextmanager
def stoppable(h: highspy.Highs, mip: bool = False, report_bound: bool = False) -> Iterator[None]:
    """HiGHS's interrupt callbacks (MIP, simplex, interior point) poll the process's
    `MONITOR` for a stop request (Ctrl-C), a few times a second: the run ends as at a time
    limit, with its incumbent and bound kept. Other interrupt callbacks on `h` (a concurrent
    search's) also read the monitor, since HiGHS keeps the last flag any of them set. A MIP
    run (`mip`) reports its incumbent and bound to the monitor as `reporting` allows (by
    default its incumbent, and its bound when `report_bound`)."""

    last = [0.0]
    plans, bounds = _SCOPE[-1] if _SCOPE else (True, report_bound)

    def poll(e: Any) -> None:
        if MONITOR.stop_requested():
            e.interrupt(True)
        if mip and time.monotonic() - last[0] > 0.25:  # a MIP run's incumbent and bound, a few times a second
            last[0] = time.monotonic()
            out = e.data_out
            primal, dual = float(out.mip_primal_bound), float(out.mip_dual_bound)
            best = min(primal if plans else math.inf, MONITOR.incumbent if MONITOR.incumbent is not None else math.inf)
            # a bound above a known plan is no bound (seen mid-run on large models): never shown
            sound = math.isfinite(dual) and (not math.isfinite(best) or dual <= best + 1e-6 * max(1.0, abs(best)))
            MONITOR.report(
                None if MONITOR.step else "branch and bound",
                incumbent=primal if plans and math.isfinite(primal) else None,
                bound=dual if bounds and sound else None,
            )

    events = (h.cbMipInterrupt, h.cbSimplexInterrupt, h.cbIpmInterrupt)
    for event in events:
        event.subscribe(poll)
    try:
        yield
    finally:
        for event in events:
            with contextlib.suppress(Exception):
                event.unsubscribe(poll)


def run_highs(h: highspy.Highs, mip: bool) -> tuple[SolveResult, np.ndarray | None]:
    """Run HiGHS on the model it holds; map its status; return the column values if any.
    After a stop request (`MONITOR`) it does not start: no solution, "Interrupted by user"."""
    t1 = time.perf_counter()
    if MONITOR.stop_requested():
        result = SolveResult.of(
            "no_solution", None, None, solver="highs", solver_version=highs_version(h), seconds=0.0, message="Interrupted by user"
        )
        return result, None
    limit = _option(h, "time_limit")
    adjusted = time_limit_for(h, limit, mip)
    shift = adjusted != limit
    if shift:
        h.setOptionValue("time_limit", adjusted)
    try:
        with stdout_to_stderr(), stoppable(h, mip, report_bound=MONITOR.mip_bounds):
            run_status = h.run()
    finally:
        if shift:
            h.setOptionValue("time_limit", limit)
    seconds = time.perf_counter() - t1
    ms = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    objective = float(info.objective_function_value) if has_solution else None
    bound = None
    if mip and math.isfinite(info.mip_dual_bound):
        bound = float(info.mip_dual_bound)
    M = highspy.HighsModelStatus
    if ms == M.kOptimal:
        status = "optimal"
        if bound is None:
            bound = objective
    elif ms == M.kInfeasible:
        status = "infeasible"
    elif ms == M.kUnbounded:
        status = "unbounded"
    elif ms == M.kUnboundedOrInfeasible:
        # The reserve model cannot be unbounded: every column has a lower bound and the
        # objective only non-negative costs, so "infeasible or unbounded" is infeasible.
        status = "infeasible" if _bounded_below(h) else "unbounded"
    elif has_solution:
        status = "feasible"
    elif run_status == highspy.HighsStatus.kError:
        status = "error"
    else:
        status = "no_solution"
    values = np.asarray(h.getSolution().col_value, dtype=float) if has_solution else None
    result = SolveResult.of(
        status,
        objective,
        bound,
        solver="highs",
        solver_version=highs_version(h),
        seconds=seconds,
        has_solution=has_solution,
        message=h.modelStatusToString(ms),
    )
    return result, values


def set_start(h: highspy.Highs, values: np.ndarray) -> None:
    """Hand HiGHS a plan as the next run's incumbent."""
    sol = highspy.HighsSolution()
    sol.col_value = list(values)
    sol.value_valid = True
    h.setSolution(sol)


def _bounded_below(h: highspy.Highs) -> bool:
    """Whether the minimised objective is bounded below by the columns' bounds."""
    lp = h.getLp()
    cost = np.asarray(lp.col_cost_)
    lower, upper = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    return bool(np.all(np.where(cost > 0, np.isfinite(lower), True) & np.where(cost < 0, np.isfinite(upper), True)))


def solve_relaxation(h: highspy.Highs, lm: LinearModel) -> tuple[SolveResult, np.ndarray | None]:
    """Solve the LP relaxation of the model `h` holds (`lm`), then restore its integrality.

    Interior point with crossover: 23 s against 35 s for dual simplex at 200 scenarios of
    100 × 30 × 8, and simplex took 463 s at 400."""
    n = lm.n_cols
    cols = np.arange(n, dtype=np.int32)
    integer = lm.col_bounds()[2]
    h.changeColsIntegrality(n, cols, [highspy.HighsVarType.kContinuous] * n)
    h.setOptionValue("solver", "ipm")
    try:
        return run_highs(h, mip=False)
    finally:
        h.setOptionValue("solver", "choose")
        kinds = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
        h.changeColsIntegrality(n, cols, kinds)


def _option(h: highspy.Highs, name: str) -> float:
    """A numeric HiGHS option's value (highspy returns it bare or as (status, value))."""
    value = h.getOptionValue(name)
    return float(value[1] if isinstance(value, tuple) else value)


def highs_bounds(b: np.ndarray) -> np.ndarray:
    """±inf as HiGHS's infinity."""
    return np.where(np.isposinf(b), highspy.kHighsInf, np.where(np.isneginf(b), -highspy.kHighsInf, b)).astype(float)


def restore_options(h: highspy.Highs, options: SolveOptions) -> None:
    """Back to the options `configure` set (the start changes gap and time limit)."""
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    h.setOptionValue("time_limit", float(options.time_limit) if options.time_limit is not None else highspy.kHighsInf)
