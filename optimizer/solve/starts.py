"""Start strategies for one HiGHS search: the LP neighbourhood, hubs first, the hub-set search.

A start finds an incumbent (and a bound) before the full branch and bound, on extensive
forms where HiGHS alone finds poor incumbents. `single_search` runs one search with the
start its options name; `horizon.optimizer.solve.concurrent` runs two of them side by side.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np

from horizon.models.linear import LinearModel
from horizon.models.stages import hub_columns
from horizon.optimizer.errors import InputError
from horizon.optimizer.solve.benders import EARLY_GAP as BENDERS_EARLY_GAP
from horizon.optimizer.solve.benders import master_for
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.exchange import Exchange
from horizon.optimizer.solve.highs import (
    configure,
    highs_bounds,
    highs_version,
    new_highs,
    pass_model,
    reporting,
    restore_options,
    run_highs,
    set_start,
    solve_relaxation,
    write_model,
)
from horizon.optimizer.solve.hubsets import EARLY_GAP, serve
from horizon.optimizer.solve.hubsets import search as hub_set_search
from horizon.optimizer.solve.result import Incumbent, SolveOptions, SolveResult, relative_gap, within_gap

# --- a start for large models: the LP relaxation's neighbourhood ----------------------------
START_AUTO_COLUMNS = 10_000


START_AUTO_SCENARIOS = 10


SECOND_SEARCH_AFTER = 5.0  # auto, below START_AUTO_COLUMNS: hubs first joins a solve still running then


ROUND_TOL = 1e-6


DESIGN_BLOCKS = ("open_hub", "stationed")  # the decisions the neighbourhood is drawn around


STARTS = ("auto", "lp-neighbourhood", "hubs-first", "concurrent", "none")


HUBS_FIRST_MAX_GAP = 0.05  # a hubs-only relaxation stopped further from its bound: its hubs are not used

# The least time a stage is given once the time limit is spent: it ends at HiGHS's first
# check, keeping what it has (a full second each here overran a 2 s limit by 1.7 s)
LAST_SECONDS = 0.1


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
    master: Any = None  # step 1's Benders master (`horizon.optimizer.solve.benders.HubsOnlyMaster`), handed to the search

    def proven(self, mip_gap: float) -> bool:
        """Whether the start's plan is already within `mip_gap` of its bound."""
        if self.values is None or self.objective is None or self.lp_bound is None:
            return False
        return within_gap(relative_gap(self.objective, self.lp_bound), mip_gap)


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


def single_search(
    lm: LinearModel, options: SolveOptions, share: Exchange | None = None, incumbent: Incumbent | None = None
) -> tuple[SolveResult, np.ndarray | None]:
    """One HiGHS search with the start `options` name: the matrix in bulk, options
    translated, status mapped.

    `share`: this search runs beside another (`horizon.optimizer.solve.concurrent`) and
    trades plans and bounds with it. `incumbent`: a plan found beforehand, handed to HiGHS
    as its first incumbent (on a start's path, when the start found none)."""
    mip = bool(lm.col_bounds()[2].any())
    started = mip and wants_start(lm, options)
    if started:
        options = resolve_start(options, lm.n_cols, None)
    t0 = time.perf_counter()
    h = new_highs(options)
    configure(h, options)
    pass_model(h, lm)
    if options.write_model:
        write_model(h, lm, options.write_model)
    transfer = time.perf_counter() - t0
    start = find_start(h, lm, options, share) if started else None
    given = None
    if incumbent is not None:
        given = Start(incumbent.values, incumbent.objective, incumbent.bound, incumbent.seconds, incumbent.note)
    if start is None:
        MONITOR.report("branch and bound" if mip else "LP")
        if given is not None and mip:
            set_start(h, given.values)
        serving = share is not None and share.serving
        with _watching(share, h, plans=mip, inject=mip, yield_work=serving, bounds=mip):
            result, values = run_highs(h, mip=mip)
        result = replace(result, transfer_seconds=transfer)
        if given is not None and mip:
            result, values = _with_start(result, values, given)
        if share is not None and share.assignments:
            # the other search's hub-set search wants fixed-hub models solved: help it instead
            result, values = serve(lm, options, share, result, values, t0)
            result = replace(result, seconds=time.perf_counter() - t0)
        return result, values
    if start.proven(options.mip_gap):
        # the start's plan meets its own bound: nothing left for the full solve to prove
        assert start.objective is not None and start.lp_bound is not None
        gap = relative_gap(start.objective, min(start.lp_bound, start.objective))
        return SolveResult.of(
            "optimal",
            start.objective,
            start.objective if gap == 0.0 else start.lp_bound,
            solver="highs",
            solver_version=highs_version(h),
            seconds=start.seconds,
            transfer_seconds=transfer,
            message=f"Optimal; {start.note}",
        ), start.values
    if start.shared or (start.settled and start.values is not None and start.objective is not None):
        return _hub_set_search(lm, options, start, transfer, share)
    if options.time_limit is not None:
        h.setOptionValue("time_limit", max(LAST_SECONDS, float(options.time_limit) - start.seconds))
    if start.values is None and given is not None:
        bound = max((b for b in (start.lp_bound, given.lp_bound) if b is not None), default=None)
        start = replace(start, values=given.values, objective=given.objective, lp_bound=bound, note=f"{start.note}; {given.note}")
    if start.values is not None:
        set_start(h, start.values)
    serving = share is not None and share.serving
    if serving:
        share.poll(force=True)
    if serving and share.assignments:  # work for the other search came during the start
        result = SolveResult.of(
            "no_solution", None, None, solver="highs", solver_version=highs_version(h), seconds=0.0, message="No full solve"
        )
        values = None
    else:
        MONITOR.report("branch and bound from the start's plan")
        with _watching(share, h, plans=True, inject=True, yield_work=serving, bounds=True):
            result, values = run_highs(h, mip=True)
    result, values = _with_start(replace(result, transfer_seconds=transfer), values, start)
    if share is not None and share.assignments:
        # the other search's hub-set search wants fixed-hub models solved: help it instead
        result, values = serve(lm, options, share, result, values, t0)
        result = replace(result, seconds=time.perf_counter() - t0)
    return result, values


def _hub_set_search(
    lm: LinearModel, options: SolveOptions, start: Start, transfer: float, share: Exchange | None
) -> tuple[SolveResult, np.ndarray | None]:
    """Hubs first's plan is the optimum within its hubs (or, `Start.shared`, the other
    process is solving for it): prove it over the other hub sets (`horizon.optimizer.solve.hubsets`)
    rather than by branch and bound on the full model."""
    limit = None if options.time_limit is None else max(LAST_SECONDS, float(options.time_limit) - start.seconds)
    result, values, note = hub_set_search(
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
def _watching(
    share: Exchange | None, h: highspy.Highs, *, plans: bool, inject: bool, yield_work: bool = False, bounds: bool = False
) -> Iterator[None]:
    """`share.watch` for this run, or nothing when the search runs alone; either way the
    run's progress goes to `MONITOR`: its incumbents when they are plans of the full model
    (`plans`), its dual bound when the run is the full model itself (`bounds`)."""
    with reporting(plans=plans, bounds=bounds):
        if share is None:
            yield
            return
        with share.watch(h, plans=plans, inject=inject, yield_work=yield_work):
            yield


def hubs_first_start(h: highspy.Highs, lm: LinearModel, options: SolveOptions, share: Exchange | None = None) -> Start:
    """Choose the hubs first, with every other decision relaxed; then plan within those hubs.

    1. The model with only the hub openings ``open_hub`` integral (stocks and dispatch
       continuous): a relaxation, so its bound is valid for the full model, and a far
       better one than the LP's or, on large extensive forms, than the full solve's after
       its time limit (100 × 30 × 8 × 200: 472.37 M proven, against 465.24 for the LP and
       471.34 after the full solve's 10 minutes; see docs/scale.md). Few binaries: it is
       solved to optimality where the full model is not. On models that split into scenario
       blocks, by Benders decomposition (`horizon.optimizer.solve.benders`; 20–70 s instead of 88–250 s
       there), whose master, cuts and all, goes on to the hub-set search (`Start.master`).
    2. The full model with those hubs fixed: a plan that keeps every rule, the start.

    When step 2 is solved (`Start.settled`), `solve_highs` proves the plan over the other hub
    sets with `horizon.optimizer.solve.hubsets`, trying first the hub sets of step 1's incumbents
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
        with contextlib.suppress(Exception):  # an exception inside HiGHS ends its run in error
            value, hubs = float(e.data_out.objective_function_value), np.asarray(e.data_out.mip_solution, dtype=float)[ys]
            met.append((value, hubs))
            hand_over(hubs, value, float(e.data_out.mip_dual_bound), EARLY_GAP)

    MONITOR.report("hubs first: hubs-only relaxation")
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
    MONITOR.report("hubs first: plan within the chosen hubs", bound=bound)  # a relaxation's finished bound
    trusted = x is not None and relaxed.gap is not None and relaxed.gap <= HUBS_FIRST_MAX_GAP
    whose = "its"
    start_plan: np.ndarray | None = None
    if share is not None:
        share.send_bound(bound)
        share.send_note(head)
        share.poll(force=True)
        if share.stopped or (not trusted and share.plan is None):
            restore_options(h, options)
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
        restore_options(h, options)
        rest = None if limit is None else max(LAST_SECONDS, float(limit) - relaxed_s)
        nb = lp_neighbourhood_start(h, lm, replace(options, time_limit=rest))
        bounds = [b for b in (bound, nb.lp_bound) if b is not None]
        best = max(bounds) if bounds else None
        note = f"{head}, gap {'n/a' if relaxed.gap is None else f'{relaxed.gap:.1%}'}, hubs not used; {nb.note}"
        return Start(nb.values, nb.objective, best, time.perf_counter() - t0, note)
    hubs = np.clip(np.round(x[ys]), lower[ys], upper[ys])
    others_met = tuple(v for _, v in sorted(met, key=lambda m: m[0]) if not np.array_equal(np.round(v), hubs))
    if share is not None and start_plan is None and share.helper and not share.peer_gone():
        # the other process plans within these hubs (or has begun to), as a sub of the search
        restore_options(h, options)
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
        h.setOptionValue("time_limit", max(LAST_SECONDS, float(limit) - relaxed_s))
    h.changeColsBounds(len(ys), ys, hubs, hubs)
    if start_plan is not None:
        set_start(h, start_plan)
    try:
        with _watching(share, h, plans=True, inject=False):
            fixed, values = run_highs(h, mip=True)
    finally:
        h.changeColsBounds(len(ys), ys, highs_bounds(lower[ys]), highs_bounds(upper[ys]))
        restore_options(h, options)
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
    """Hubs first's step 1 by Benders (`horizon.optimizer.solve.benders`): the relaxation's optimum as a
    result, its hub set in an otherwise empty column vector (step 2 reads only the hubs)."""
    t1 = time.perf_counter()

    def stop() -> bool:
        if share is None:
            return MONITOR.stop_requested()
        share.poll()
        return share.stopped or MONITOR.stop_requested()

    r = master.minimise(deadline=deadline, tick=stop, seen=seen)
    x = None
    if r.status == "optimal" and r.hubs is not None:
        x = np.zeros(lm.n_cols)
        x[hub_columns(lm)[0]] = r.hubs
    bound = r.bound
    value = r.value if x is not None else None
    status = "optimal" if x is not None else "no_solution"
    message = {
        "optimal": "Optimal",
        "stopped": "Interrupted by user",
        "failed": "HiGHS failed on the Benders master, from a fresh start too",
    }.get(r.status, "Time limit reached")
    result = SolveResult.of(
        status,
        value,
        bound,
        solver="highs",
        solver_version=highs_version(master.master),
        seconds=time.perf_counter() - t1,
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
    MONITOR.report("LP relaxation")
    lp, x = solve_relaxation(h, lm)
    lp_s = time.perf_counter() - t0
    MONITOR.report("LP neighbourhood", bound=lp.objective if lp.status == "optimal" else None)
    if lp.status != "optimal" or x is None:
        restore_options(h, options)
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
    h.changeColsBounds(n, cols, highs_bounds(lo), highs_bounds(up))
    h.setOptionValue("mip_rel_gap", max(1e-3, float(options.mip_gap)))
    sub_limit = 0.2 * float(limit) if limit is not None else max(30.0, 2 * lp_s)
    h.setOptionValue("time_limit", sub_limit)
    # beside a hub-set search (`share.serving`), its fixed-hub models come first
    with _watching(share, h, plans=True, inject=False, yield_work=share is not None and share.serving):
        sub, values = run_highs(h, mip=True)
    h.changeColsBounds(n, cols, highs_bounds(lower), highs_bounds(upper))
    restore_options(h, options)
    seconds = time.perf_counter() - t0
    freed = int((~shut & ~full).sum())
    note = (
        f"start: LP relaxation {lp.objective:.6g} in {lp_s:.1f} s; neighbourhood ({int(full.sum())} hubs kept open, "
        f"{int(shut.sum())} shut, {freed} free) {sub.status}"
        + (f" {sub.objective:.6g}" if sub.objective is not None else "")
        + f" in {seconds - lp_s:.1f} s"
    )
    return Start(values if sub.has_solution else None, sub.objective, lp.objective, seconds, note)


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
