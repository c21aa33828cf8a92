"""Solving with HiGHS in-process (highspy), no files.

Pyomo's in-memory solver interfaces convert constraints one at a time in Python; here the
model's sparse matrix goes to highspy in one `passModel` call.

Generic options (time limit, gap, threads, seed, log file) are translated to HiGHS names;
status is mapped to horizon's vocabulary and a time-limited run keeps its incumbent, bound
and gap.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np

from models.linear import LinearModel
from optimizer.errors import InputError, SolverError

if TYPE_CHECKING:
    from optimizer.concurrent import Exchange

STATUSES = ("optimal", "feasible", "infeasible", "unbounded", "no_solution", "error")


@dataclass(frozen=True)
class SolveOptions:
    """Solver-independent options (translated per solver)."""

    time_limit: float | None = None
    mip_gap: float = 0.0
    threads: int | None = None
    seed: int | None = None
    log_file: str | None = None
    verbose: bool = False
    write_model: str | None = None  # .mps or .lp: the model exactly as the solver gets it
    solver: str = "highs"  # a name in `optimizer.solvers.REGISTRY`
    # HiGHS only: "lp-neighbourhood" finds an incumbent in the LP relaxation's neighbourhood
    # before the full solve; "auto" does so for large multi-scenario models (see `resolve_start`).
    start: str = "auto"
    # "concurrent": seconds the first search runs alone before the second process starts
    # (a model solved by then never starts it); "auto" sets it on mid-size models
    second_after: float = 0.0


@dataclass(frozen=True)
class SolveResult:
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    solver: str
    solver_version: str
    seconds: float
    transfer_seconds: float
    has_solution: bool
    message: str = ""


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Route C-level stdout to stderr: HiGHS prints a banner on construction, and stdout
    must stay clean for `--json`."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        yield
        return
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno() if _has_fileno(sys.stderr) else os.open(os.devnull, os.O_WRONLY), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _has_fileno(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]
        return True
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance (its banner goes to stderr, never stdout)."""
    with _stdout_to_stderr():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def _highs_version(h: highspy.Highs) -> str:
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
    lp.col_lower_ = _highs_bounds(col_lower)
    lp.col_upper_ = _highs_bounds(col_upper)
    lp.row_lower_ = _highs_bounds(row_lower)
    lp.row_upper_ = _highs_bounds(row_upper)
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
    tmp = Path(path).with_name(f".{Path(path).name}.tmp{suffix}")
    with _stdout_to_stderr():
        h.writeModel(str(tmp))
    os.replace(tmp, path)


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


def run_highs(h: highspy.Highs, mip: bool) -> tuple[SolveResult, np.ndarray | None]:
    """Run HiGHS on the model it holds; map its status; return the column values if any."""
    t1 = time.perf_counter()
    limit = _option(h, "time_limit")
    adjusted = time_limit_for(h, limit, mip)
    shift = adjusted != limit
    if shift:
        h.setOptionValue("time_limit", adjusted)
    try:
        with _stdout_to_stderr():
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
    gap = None
    if objective is not None and bound is not None:
        gap = 0.0 if objective == bound else abs(objective - bound) / max(abs(objective), 1e-10)
    values = np.asarray(h.getSolution().col_value, dtype=float) if has_solution else None
    result = SolveResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        solver="highs",
        solver_version=_highs_version(h),
        seconds=seconds,
        transfer_seconds=0.0,
        has_solution=has_solution,
        message=h.modelStatusToString(ms),
    )
    return result, values


def _set_start(h: highspy.Highs, values: np.ndarray) -> None:
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


def solve_highs(lm: LinearModel, options: SolveOptions, share: Exchange | None = None) -> tuple[SolveResult, np.ndarray | None]:
    """Solve with highspy in-process: the matrix in bulk, options translated, status mapped.

    `share`: this search runs beside another (`optimizer.concurrent`) and trades plans and
    bounds with it; ``start="concurrent"`` without one starts that pair."""
    mip = bool(lm.col_bounds()[2].any())
    started = mip and wants_start(lm, options)
    if started:
        options = resolve_start(options, lm.n_cols, None)  # "auto" decided once, here
    if share is None and options.start == "concurrent" and started:
        from optimizer.concurrent import solve_concurrent  # it builds on this function

        return solve_concurrent(lm, options)
    t0 = time.perf_counter()
    h = new_highs()
    configure(h, options)
    pass_model(h, lm)
    if options.write_model:
        write_model(h, lm, options.write_model)
    transfer = time.perf_counter() - t0
    start = find_start(h, lm, options, share) if started else None
    if start is None:
        with _watching(share, h, plans=mip, inject=mip):
            result, values = run_highs(h, mip=mip)
        return replace(result, transfer_seconds=transfer), values
    if start.proven(options.mip_gap):
        # the start's plan meets its own bound: nothing left for the full solve to prove
        assert start.objective is not None and start.lp_bound is not None
        gap = relative_gap(start.objective, min(start.lp_bound, start.objective))
        return SolveResult(
            status="optimal",
            objective=start.objective,
            bound=start.objective if gap == 0.0 else start.lp_bound,
            gap=gap,
            solver="highs",
            solver_version=_highs_version(h),
            seconds=start.seconds,
            transfer_seconds=transfer,
            has_solution=True,
            message=f"Optimal; {start.note}",
        ), start.values
    if start.shared or (start.settled and start.values is not None and start.objective is not None):
        return _hub_set_search(lm, options, start, transfer, share)
    if options.time_limit is not None:
        h.setOptionValue("time_limit", max(1.0, float(options.time_limit) - start.seconds))
    if start.values is not None:
        _set_start(h, start.values)
    serving = share is not None and share.serving
    if serving:
        share.poll(force=True)
    if serving and share.assignments:  # work for the other search came during the start
        result = SolveResult("no_solution", None, None, None, "highs", _highs_version(h), 0.0, 0.0, False, "No full solve")
        values = None
    else:
        with _watching(share, h, plans=True, inject=True, yield_work=serving):
            result, values = run_highs(h, mip=True)
    result, values = _with_start(replace(result, transfer_seconds=transfer), values, start)
    if share is not None and share.assignments:
        # the other search's hub-set search wants fixed-hub models solved: help it instead
        from optimizer.hubsets import serve  # it builds on this module

        result, values = serve(lm, options, share, result, values, t0)
        result = replace(result, seconds=time.perf_counter() - t0)
    return result, values


def _hub_set_search(
    lm: LinearModel, options: SolveOptions, start: Start, transfer: float, share: Exchange | None
) -> tuple[SolveResult, np.ndarray | None]:
    """Hubs first's plan is the optimum within its hubs (or, `Start.shared`, the other
    process is solving for it): prove it over the other hub sets (`optimizer.hubsets`)
    rather than by branch and bound on the full model."""
    from optimizer.hubsets import search  # it builds on this module

    limit = None if options.time_limit is None else max(1.0, float(options.time_limit) - start.seconds)
    result, values, note = search(
        lm,
        replace(options, time_limit=limit),
        start.values,
        start.objective,
        start.lp_bound,
        share,
        start.candidates,
        start.master,
    )
    message = f"{result.message}; {start.note}; {note}"
    return replace(result, seconds=result.seconds + start.seconds, transfer_seconds=transfer, message=message), values


@contextlib.contextmanager
def _watching(share: Exchange | None, h: highspy.Highs, *, plans: bool, inject: bool, yield_work: bool = False) -> Iterator[None]:
    """`share.watch` for this run, or nothing when the search runs alone."""
    if share is None:
        yield
        return
    with share.watch(h, plans=plans, inject=inject, yield_work=yield_work):
        yield


# --- a start for large models: the LP relaxation's neighbourhood ----------------------------
START_AUTO_COLUMNS = 10_000
START_AUTO_SCENARIOS = 10
SECOND_SEARCH_AFTER = 5.0  # auto, below START_AUTO_COLUMNS: hubs first joins a solve still running then
ROUND_TOL = 1e-6
DESIGN_BLOCKS = ("open_hub", "stationed")  # the decisions the neighbourhood is drawn around


STARTS = ("auto", "lp-neighbourhood", "hubs-first", "concurrent", "none")
HUBS_FIRST_MAX_GAP = 0.05  # a hubs-only relaxation stopped further from its bound: its hubs are not used


@dataclass(frozen=True)
class Start:
    """An incumbent found before the full solve, and the (valid) bound met on the way."""

    values: np.ndarray | None
    objective: float | None
    lp_bound: float | None  # a lower bound on the full model's optimum (a relaxation's)
    seconds: float
    note: str
    settled: bool = False  # the plan is the optimum within its own hubs (hubs first's step 2 solved)
    candidates: tuple[np.ndarray, ...] = ()  # other hub sets worth trying first (hubs first's step 1 met them)
    shared: bool = False  # step 2 left to the other process: search with `candidates`, step 1's hubs first
    master: Any = None  # step 1's Benders master (`optimizer.benders.HubsOnlyMaster`), handed to the search

    def proven(self, mip_gap: float) -> bool:
        """Whether the start's plan is already within `mip_gap` of its bound."""
        if self.values is None or self.objective is None or self.lp_bound is None:
            return False
        return within_gap(relative_gap(self.objective, self.lp_bound), mip_gap)


def relative_gap(objective: float, bound: float) -> float:
    """|objective − bound| / |objective|, with a difference of round-off size (1e-9) as 0."""
    gap = abs(objective - bound) / max(abs(objective), 1e-10)
    return 0.0 if gap <= 1e-9 else gap


def within_gap(gap: float | None, mip_gap: float) -> bool:
    """Whether `gap` meets the tolerance `mip_gap`, round-off aside: a bound proven at
    U(1 − ε) gives a gap of ε only to the last bits."""
    return gap is not None and gap <= float(mip_gap) * (1.0 + 1e-9) + 1e-12


def resolve_start(options: SolveOptions, n_cols: int, scenarios: int | None, cpus: int | None = None) -> SolveOptions:
    """Decide "auto": a start pays on extensive forms of many scenarios (HiGHS alone finds
    poor incumbents there), not on small models nor on one-scenario location models such as
    the classic ones, which HiGHS solves well as they are.

    With two cores or more (`cpus`, default: this process's) and no ``threads=1``, every
    extensive form of `START_AUTO_SCENARIOS`+ scenarios gets hubs first in a second process
    ("concurrent"; HiGHS's branch and bound keeps one core busy): at once on large models,
    where this process runs the LP-neighbourhood search; on smaller ones only once HiGHS
    alone has run `SECOND_SEARCH_AFTER` seconds without finishing, so that the many models
    solved in a second or two never start a process. With one core, the LP neighbourhood
    alone on large models, nothing on the rest. `scenarios` None: not known."""
    if options.start not in STARTS:
        raise InputError(f"unknown start '{options.start}': use {', '.join(STARTS[:-1])} or {STARTS[-1]}")
    if options.start != "auto":
        return options
    many = scenarios is None or scenarios >= START_AUTO_SCENARIOS
    large = n_cols >= START_AUTO_COLUMNS
    cores = usable_cpus() if cpus is None else cpus
    two = cores >= 2 and (options.threads is None or options.threads >= 2)
    if not many or not (large or two):
        return replace(options, start="none")
    if not two:
        return replace(options, start="lp-neighbourhood")
    return replace(options, start="concurrent", second_after=0.0 if large else SECOND_SEARCH_AFTER)


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def wants_start(lm: LinearModel, options: SolveOptions) -> bool:
    if not all(b in lm.vars for b in DESIGN_BLOCKS):
        return False
    return resolve_start(options, lm.n_cols, None).start != "none"


def find_start(h: highspy.Highs, lm: LinearModel, options: SolveOptions, share: Exchange | None = None) -> Start:
    """The start `options` asks for (after "auto" is resolved); `h` is left as it was."""
    if resolve_start(options, lm.n_cols, None).start == "hubs-first":
        return hubs_first_start(h, lm, options, share)
    return lp_neighbourhood_start(h, lm, options, share)


def hub_columns(lm: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """The hub openings' columns, and every other integral column (relaxed in the hubs-only
    relaxation)."""
    y = lm.vars["open_hub"]
    ys = np.arange(y.start, y.start + y.size, dtype=np.int32)
    others = np.flatnonzero(lm.col_bounds()[2]).astype(np.int32)
    return ys, others[(others < y.start) | (others >= y.start + y.size)]


def hubs_first_start(h: highspy.Highs, lm: LinearModel, options: SolveOptions, share: Exchange | None = None) -> Start:
    """Choose the hubs first, with every other decision relaxed; then plan within those hubs.

    1. The model with only the hub openings ``open_hub`` integral (stocks and dispatch
       continuous): a relaxation, so its bound is valid for the full model, and a far
       better one than the LP's or, on large extensive forms, than the full solve's after
       its time limit (100 × 30 × 8 × 200: 472.37 M proven, against 465.24 for the LP and
       471.34 after the full solve's 10 minutes; see docs/scale.md). Few binaries: it is
       solved to optimality where the full model is not. On models that split into scenario
       blocks, by Benders decomposition (`optimizer.benders`; 20–70 s instead of 88–250 s
       there), whose master, cuts and all, goes on to the hub-set search (`Start.master`).
    2. The full model with those hubs fixed: a plan that keeps every rule, the start.

    When step 2 is solved (`Start.settled`), `solve_highs` proves the plan over the other hub
    sets with `optimizer.hubsets`, trying first the hub sets of step 1's incumbents
    (`Start.candidates`); otherwise the full solve starts from that plan with what time is
    left. Time: with a limit T, step 1 gets up to 0.5 T and step 2 the rest; without, each
    runs to optimality. If step 1 stops more than `HUBS_FIRST_MAX_GAP` from its own bound,
    its hubs are a guess: the LP-neighbourhood start runs instead in the time left (step 1's
    bound is kept when it is the better one).

    Beside another search (`share`), step 1 sends its bound and step 2 its plans; after a
    failed step 1, step 2 fixes the hubs of the other search's best plan instead (that
    search runs the LP neighbourhood already), or, with no plan yet, leaves the plans to it.
    """
    t0 = time.perf_counter()
    lower, upper, _ = lm.col_bounds()
    ys, others = hub_columns(lm)
    limit = options.time_limit
    met: list[tuple[float, np.ndarray]] = []  # the relaxation's solutions: hub sets near its optimum
    early: list[tuple[int, ...]] = []  # the hub set handed to the other process before step 1 ended

    def hand_over(hubs: np.ndarray, value: float, dual: float, within: float) -> None:
        """Step 2 for this hub set in the other process while step 1 proves its bound."""
        if share is not None and not early and share.idle_helper():
            if math.isfinite(dual) and relative_gap(value, dual) <= within:
                early.append(share.assign(hubs, None, max(abs(value), 1.0)))

    def record(e: Any) -> None:
        from optimizer.hubsets import EARLY_GAP

        with contextlib.suppress(Exception):  # an exception inside HiGHS ends its run in error
            value, hubs = float(e.data_out.objective_function_value), np.asarray(e.data_out.mip_solution, dtype=float)[ys]
            met.append((value, hubs))
            hand_over(hubs, value, float(e.data_out.mip_dual_bound), EARLY_GAP)

    from optimizer.benders import EARLY_GAP as BENDERS_EARLY_GAP
    from optimizer.benders import master_for  # it builds on this module

    master = master_for(lm, options)
    if master is not None:

        def seen(hubs: np.ndarray, value: float, dual: float) -> None:
            hand_over(hubs, value, dual, BENDERS_EARLY_GAP)

        deadline = None if limit is None else t0 + 0.5 * float(limit)
        relaxed, x = _benders_relaxation(master, lm, deadline, share, seen)
    else:
        if limit is not None:
            h.setOptionValue("time_limit", 0.5 * float(limit))
        h.changeColsIntegrality(len(others), others, [highspy.HighsVarType.kContinuous] * len(others))
        h.cbMipSolution.subscribe(record)
        try:
            with _watching(share, h, plans=False, inject=False):
                relaxed, x = run_highs(h, mip=True)
        finally:
            h.cbMipSolution.unsubscribe(record)
            h.changeColsIntegrality(len(others), others, [highspy.HighsVarType.kInteger] * len(others))
    relaxed_s = time.perf_counter() - t0
    bound = relaxed.bound if relaxed.status in ("optimal", "feasible", "no_solution") else None
    how = ""
    if master is not None:
        why = "" if relaxed.status == "optimal" else f"; {relaxed.message}"
        again = f"; {master.restarts} master run(s) repeated from a fresh start" if master.restarts else ""
        how = f" (Benders, {master.iteration} iterations{why}{again})"
    head = (
        f"start: hubs first: hubs-only relaxation {relaxed.status}{how}"
        + (f", bound {bound:.6g}" if bound is not None else "")
        + f" in {relaxed_s:.1f} s"
    )
    trusted = x is not None and relaxed.gap is not None and relaxed.gap <= HUBS_FIRST_MAX_GAP
    whose = "its"
    start_plan: np.ndarray | None = None
    if share is not None:
        share.send_bound(bound)
        share.send_note(head)
        share.poll(force=True)
        if share.stopped or (not trusted and share.plan is None):
            _restore(h, options)
            why = "stopped" if share.stopped else "hubs not used"
            return Start(None, None, bound, relaxed_s, f"{head} ({why})")
        if not trusted:
            # the other search runs the LP neighbourhood already: rather than repeat it,
            # search within the hubs of its best plan, where stocks and whole units still
            # leave cheaper plans to find
            x, whose = share.plan[1], "hubs not used; the other search's plan's"
            start_plan = x  # feasible with its own hubs fixed: step 2 only improves on it
    elif not trusted:
        # the relaxation did not get far enough to trust its hubs (its root was not done in
        # time, at 400 scenarios with 5 minutes): the LP neighbourhood with the time left
        _restore(h, options)
        rest = None if limit is None else max(1.0, float(limit) - relaxed_s)
        nb = lp_neighbourhood_start(h, lm, replace(options, time_limit=rest))
        bounds = [b for b in (bound, nb.lp_bound) if b is not None]
        best = max(bounds) if bounds else None
        note = f"{head}, gap {'n/a' if relaxed.gap is None else f'{relaxed.gap:.1%}'}, hubs not used; {nb.note}"
        return Start(nb.values, nb.objective, best, time.perf_counter() - t0, note)
    hubs = np.clip(np.round(x[ys]), lower[ys], upper[ys])
    others_met = tuple(v for _, v in sorted(met, key=lambda m: m[0]) if not np.array_equal(np.round(v), hubs))
    if share is not None and start_plan is None and share.helper and not share.peer_gone():
        # the other process plans within these hubs (or has begun to), as a sub of the search
        _restore(h, options)
        during = bool(early) and early[0] == tuple(int(v) for v in hubs)
        if not during and share.idle_helper():
            # the plan-making sub runs without a cost cut, as when handed over during the
            # relaxation: a cut row at the other search's plan slowed it (seed 1: over 10 min)
            share.assign(hubs, None, max(abs(bound if bound is not None else 1.0), 1.0))
        handed = "handed to the other process " + ("during the relaxation" if during else "now")
        note = f"{head}; plans within its {int(hubs.sum())} open hubs {handed}"
        share.send_note(note)
        return Start(None, None, bound, relaxed_s, note, candidates=(hubs, *others_met), shared=True, master=master)
    if limit is not None:
        h.setOptionValue("time_limit", max(1.0, float(limit) - relaxed_s))
    h.changeColsBounds(len(ys), ys, hubs, hubs)
    if start_plan is not None:
        _set_start(h, start_plan)
    try:
        with _watching(share, h, plans=True, inject=False):
            fixed, values = run_highs(h, mip=True)
    finally:
        h.changeColsBounds(len(ys), ys, _highs_bounds(lower[ys]), _highs_bounds(upper[ys]))
        _restore(h, options)
    seconds = time.perf_counter() - t0
    note = (
        f"{head}; {whose} {int(hubs.sum())} open hubs fixed: {fixed.status}"
        + (f" {fixed.objective:.6g}" if fixed.objective is not None else "")
        + f" in {seconds - relaxed_s:.1f} s"
    )
    has = fixed.has_solution and values is not None
    if share is not None:
        share.send_note(note)
    settled = has and fixed.status == "optimal"
    return Start(
        values if has else None, fixed.objective if has else None, bound, seconds, note, settled, others_met, master=master
    )


def _benders_relaxation(
    master: Any, lm: LinearModel, deadline: float | None, share: Exchange | None, seen: Any = None
) -> tuple[SolveResult, np.ndarray | None]:
    """Hubs first's step 1 by Benders (`optimizer.benders`): the relaxation's optimum as a
    result, its hub set in an otherwise empty column vector (step 2 reads only the hubs)."""
    t1 = time.perf_counter()

    def stop() -> bool:
        if share is None:
            return False
        share.poll()
        return share.stopped

    r = master.minimise(deadline=deadline, tick=stop, seen=seen)
    x = None
    if r.status == "optimal" and r.hubs is not None:
        x = np.zeros(lm.n_cols)
        x[hub_columns(lm)[0]] = r.hubs
    bound = r.bound
    value = r.value if x is not None else None
    gap = relative_gap(value, bound) if value is not None and bound is not None else None
    status = "optimal" if x is not None else "no_solution"
    message = {
        "optimal": "Optimal",
        "stopped": "Interrupted by user",
        "failed": "HiGHS failed on the Benders master, from a fresh start too",
    }.get(r.status, "Time limit reached")
    result = SolveResult(
        status=status,
        objective=value,
        bound=bound,
        gap=gap,
        solver="highs",
        solver_version=_highs_version(master.master),
        seconds=time.perf_counter() - t1,
        transfer_seconds=0.0,
        has_solution=x is not None,
        message=message,
    )
    return result, x


def lp_neighbourhood_start(h: highspy.Highs, lm: LinearModel, options: SolveOptions, share: Exchange | None = None) -> Start:
    """Solve the LP relaxation, then the MIP in its neighbourhood; leave `h` as it was.

    On large extensive forms HiGHS's branch and bound spends its time in the root's cut
    loop and finds few incumbents; the LP optimum says where good designs are. The
    neighbourhood (RENS-like): hubs the LP opens fully stay open, hubs it leaves shut stay
    shut, fractional hubs are free; each stock z stays within one unit of [⌊z*⌋, ⌈z*⌉].
    The sub-MIP is small and its optimum a good incumbent (2.5 % from the bound where
    HiGHS alone was 59 % away after 5 minutes, see docs/scale.md). Time: with a limit T,
    the LP gets up to 0.4 T and the sub-MIP up to 0.2 T; without, the sub-MIP gets twice the
    LP's time (at least 30 s).
    """
    t0 = time.perf_counter()
    n = lm.n_cols
    lower, upper, _ = lm.col_bounds()
    cols = np.arange(n, dtype=np.int32)
    limit = options.time_limit
    if limit is not None:
        h.setOptionValue("time_limit", 0.4 * float(limit))
    lp, x = solve_relaxation(h, lm)
    lp_s = time.perf_counter() - t0
    if lp.status != "optimal" or x is None:
        _restore(h, options)
        return Start(None, None, None, time.perf_counter() - t0, f"start: LP relaxation {lp.status} after {lp_s:.1f} s, none")
    lo, up = lower.copy(), upper.copy()
    y, z = lm.vars["open_hub"], lm.vars["stationed"]
    yv = x[y.start : y.start + y.size]
    ys = np.arange(y.start, y.start + y.size)
    shut, full = yv <= ROUND_TOL, yv >= 1 - ROUND_TOL
    up[ys[shut]] = np.maximum(lower[ys[shut]], 0.0)
    lo[ys[full]] = np.minimum(upper[ys[full]], 1.0)
    zs = np.arange(z.start, z.start + z.size)
    zv = x[zs]
    lo[zs] = np.maximum(lower[zs], np.floor(zv + ROUND_TOL) - 1)
    up[zs] = np.minimum(upper[zs], np.ceil(zv - ROUND_TOL) + 1)
    h.changeColsBounds(n, cols, _highs_bounds(lo), _highs_bounds(up))
    h.setOptionValue("mip_rel_gap", max(1e-3, float(options.mip_gap)))
    sub_limit = 0.2 * float(limit) if limit is not None else max(30.0, 2 * lp_s)
    h.setOptionValue("time_limit", sub_limit)
    # beside a hub-set search (`share.serving`), its fixed-hub models come first
    with _watching(share, h, plans=True, inject=False, yield_work=share is not None and share.serving):
        sub, values = run_highs(h, mip=True)
    h.changeColsBounds(n, cols, _highs_bounds(lower), _highs_bounds(upper))
    _restore(h, options)
    seconds = time.perf_counter() - t0
    freed = int((~shut & ~full).sum())
    note = (
        f"start: LP relaxation {lp.objective:.6g} in {lp_s:.1f} s; neighbourhood ({int(full.sum())} hubs kept open, "
        f"{int(shut.sum())} shut, {freed} free) {sub.status}"
        + (f" {sub.objective:.6g}" if sub.objective is not None else "")
        + f" in {seconds - lp_s:.1f} s"
    )
    return Start(values if sub.has_solution else None, sub.objective, lp.objective, seconds, note)


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


def _highs_bounds(b: np.ndarray) -> np.ndarray:
    """±inf as HiGHS's infinity."""
    return np.where(np.isposinf(b), highspy.kHighsInf, np.where(np.isneginf(b), -highspy.kHighsInf, b)).astype(float)


def _restore(h: highspy.Highs, options: SolveOptions) -> None:
    """Back to the options `configure` set (the start changes gap and time limit)."""
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    h.setOptionValue("time_limit", float(options.time_limit) if options.time_limit is not None else highspy.kHighsInf)


def _with_start(result: SolveResult, values: np.ndarray | None, start: Start) -> tuple[SolveResult, np.ndarray | None]:
    """The full solve's result, counting the start's time, its incumbent and the LP bound."""
    if start.values is not None and start.objective is not None:
        worse = result.objective is None or result.objective > start.objective + 1e-9 * max(1.0, abs(start.objective))
        if values is None or worse:
            # HiGHS did not take the start as its incumbent (or stopped before): the start stands
            values, result = start.values, replace(result, objective=start.objective, has_solution=True)
            if result.status in ("no_solution", "error"):
                result = replace(result, status="feasible")
    bound = result.bound
    if start.lp_bound is not None and result.status != "optimal":
        bound = start.lp_bound if bound is None else max(bound, start.lp_bound)
    gap = result.gap
    if result.objective is not None and bound is not None:
        bound = min(bound, result.objective) if result.status == "optimal" else bound
        gap = relative_gap(result.objective, bound)
        if result.status == "optimal" and gap == 0.0:
            bound = result.objective
    message = f"{result.message}; {start.note}" if result.message else start.note
    return replace(result, bound=bound, gap=gap, seconds=result.seconds + start.seconds, message=message), values
