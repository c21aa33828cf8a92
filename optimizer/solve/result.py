"""What every solver adapter and strategy returns, and the options they all take.

Written once here so that the gap, the status vocabulary and the result's construction
mean the same in HiGHS runs, external solvers, decompositions and the planner tools.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

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
    solver: str = "highs"  # a name in `horizon.optimizer.solve.adapters.REGISTRY`
    # HiGHS only: "lp-neighbourhood" finds an incumbent in the LP relaxation's neighbourhood
    # before the full solve; "auto" does so for large multi-scenario models (see `resolve_start`).
    start: str = "auto"
    # "concurrent": seconds the first search runs alone before the second process starts
    # (a model solved by then never starts it); "auto" sets it on mid-size models
    second_after: float = 0.0


@dataclass(frozen=True)
class Incumbent:
    """A plan of the model found before its solve (a primal heuristic's), handed to the
    solver as its first incumbent; it stands if the solver ends with nothing better."""

    values: np.ndarray
    objective: float
    note: str
    bound: float | None = None  # a valid lower bound met on the way (a Lagrangian's), kept if the solve proves less
    seconds: float = 0.0  # what finding it took, counted in the solve's seconds


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

    @classmethod
    def of(
        cls,
        status: str,
        objective: float | None,
        bound: float | None,
        *,
        solver: str,
        solver_version: str,
        seconds: float,
        transfer_seconds: float = 0.0,
        has_solution: bool | None = None,
        message: str = "",
    ) -> SolveResult:
        """A result whose gap is computed here (`gap_of`), the one way every adapter and
        strategy builds one; `has_solution` defaults to whether there is an objective."""
        has = objective is not None if has_solution is None else has_solution
        return cls(
            status=status,
            objective=objective,
            bound=bound,
            gap=gap_of(objective if has else None, bound),
            solver=solver,
            solver_version=solver_version,
            seconds=seconds,
            transfer_seconds=transfer_seconds,
            has_solution=has,
            message=message,
        )

    def with_bound(self, bound: float | None) -> SolveResult:
        """The same result against another bound (its gap recomputed)."""
        return replace(self, bound=bound, gap=gap_of(self.objective, bound))


def relative_gap(objective: float, bound: float) -> float:
    """|objective − bound| / |objective|, with a difference of round-off size (1e-9) as 0."""
    gap = abs(objective - bound) / max(abs(objective), 1e-10)
    return 0.0 if gap <= 1e-9 else gap


def gap_of(objective: float | None, bound: float | None) -> float | None:
    """`relative_gap`, or None when either side is missing or not finite."""
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    return relative_gap(objective, bound)


def within_gap(gap: float | None, mip_gap: float) -> bool:
    """Whether `gap` meets the tolerance `mip_gap`, round-off aside: a bound proven at
    U(1 − ε) gives a gap of ε only to the last bits."""
    return gap is not None and gap <= float(mip_gap) * (1.0 + 1e-9) + 1e-12
