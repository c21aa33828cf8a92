"""Solving a Pyomo model with HiGHS in-process.

Pyomo's in-memory solver interfaces convert constraints one at a time in Python; here the
model is compiled once to a sparse matrix (Pyomo's `LinearStandardFormCompiler`, the route
Pyomo's own direct interfaces take) and handed to highspy in bulk. The Pyomo model remains
the model of record: values are loaded back into its variables.

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
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimizer.errors import InputError, SolverError

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


@dataclass(frozen=True)
class CompiledModel:
    """The model as a sparse matrix (mixed-sense rows) with its Pyomo columns."""

    columns: list
    cost: np.ndarray
    offset: float
    matrix: object  # scipy csc
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray


def compile_model(model: pyo.ConcreteModel) -> CompiledModel:
    """Compile a linear Pyomo model into arrays HiGHS accepts in one call."""
    info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=pyo.minimize)
    columns = info.columns
    n = len(columns)
    cost = np.asarray(info.c.toarray()).ravel() if info.c.shape[0] else np.zeros(n)
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    senses = np.fromiter((s for _, s in info.rows), dtype=np.int64, count=len(info.rows))
    rhs = np.asarray(info.rhs, dtype=float)
    inf = highspy.kHighsInf
    # mixed_form: sense 1 is body <= rhs, -1 is body >= rhs, 0 is equality
    row_lower = np.where(senses == 1, -inf, rhs)
    row_upper = np.where(senses == -1, inf, rhs)
    col_lower = np.array([(-inf if v.lb is None else v.lb) for v in columns], dtype=float)
    col_upper = np.array([(inf if v.ub is None else v.ub) for v in columns], dtype=float)
    integer = np.array([v.is_integer() or v.is_binary() for v in columns], dtype=bool)
    return CompiledModel(columns, cost, offset, info.A.tocsc(), row_lower, row_upper, col_lower, col_upper, integer)


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


def _pass_model(h: highspy.Highs, cm: CompiledModel) -> None:
    lp = highspy.HighsLp()
    lp.num_col_ = len(cm.columns)
    lp.num_row_ = len(cm.row_lower)
    lp.col_cost_ = cm.cost
    lp.offset_ = cm.offset
    lp.col_lower_ = cm.col_lower
    lp.col_upper_ = cm.col_upper
    lp.row_lower_ = cm.row_lower
    lp.row_upper_ = cm.row_upper
    a = cm.matrix
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.a_matrix_.num_col_ = lp.num_col_
    lp.a_matrix_.num_row_ = lp.num_row_
    if cm.integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous for flag in cm.integer]
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")


def _names(h: highspy.Highs, cm: CompiledModel) -> None:
    """Give columns their Pyomo names (for --write-model files a person reads)."""
    for i, v in enumerate(cm.columns):
        h.passColName(i, v.name.replace(" ", "_"))


def solve_highs(model: pyo.ConcreteModel, options: SolveOptions) -> SolveResult:
    """Solve with highspy; load values into the model when a solution exists."""
    t0 = time.perf_counter()
    cm = compile_model(model)
    h = new_highs()
    h.setOptionValue("output_flag", bool(options.verbose or options.log_file))
    if not options.verbose:
        h.setOptionValue("log_to_console", False)
    if options.log_file:
        h.setOptionValue("log_file", str(options.log_file))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    if options.seed is not None:
        h.setOptionValue("random_seed", int(options.seed))
    _pass_model(h, cm)
    if options.write_model:
        suffix = Path(options.write_model).suffix.lower()
        if suffix not in (".mps", ".lp"):
            raise InputError(f"--write-model: unsupported extension '{suffix}' (use .mps or .lp)")
        _names(h, cm)
        h.writeModel(str(options.write_model))
    transfer = time.perf_counter() - t0

    t1 = time.perf_counter()
    with _stdout_to_stderr():
        run_status = h.run()
    seconds = time.perf_counter() - t1
    ms = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    mip = bool(cm.integer.any())
    objective = float(info.objective_function_value) if has_solution else None
    if mip:
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    else:
        bound = objective if ms == highspy.HighsModelStatus.kOptimal else None
    M = highspy.HighsModelStatus
    if ms == M.kOptimal:
        status = "optimal"
        bound = objective if not mip or bound is None else bound
    elif ms == M.kInfeasible:
        status = "infeasible"
    elif ms in (M.kUnbounded, M.kUnboundedOrInfeasible):
        status = "unbounded" if ms == M.kUnbounded else "infeasible"
    elif has_solution:
        status = "feasible"
    elif run_status == highspy.HighsStatus.kError:
        status = "error"
    else:
        status = "no_solution"
    gap = None
    if objective is not None and bound is not None:
        gap = abs(objective - bound) / max(abs(objective), 1e-10) if objective != bound else 0.0
    if has_solution:
        values = h.getSolution().col_value
        for v, val in zip(cm.columns, values):
            if v.is_integer() or v.is_binary():
                val = round(val)
            v.set_value(val, skip_validation=True)
    return SolveResult(
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        solver="highs",
        solver_version=_highs_version(h),
        seconds=seconds,
        transfer_seconds=transfer,
        has_solution=has_solution,
        message=h.modelStatusToString(ms),
    )
