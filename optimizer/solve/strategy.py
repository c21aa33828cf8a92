"""HiGHS with a start strategy: the top of the solve layer, where "auto" is decided.

`single_search` (one process, `starts`) and `solve_concurrent` (two, `concurrent`) sit
below; this module only picks between them, so neither needs to know of the other.
"""

from __future__ import annotations

import numpy as np

from horizon.models.linear import LinearModel
from horizon.optimizer.solve.concurrent import solve_concurrent
from horizon.optimizer.solve.result import Incumbent, SolveOptions, SolveResult
from horizon.optimizer.solve.starts import resolve_start, single_search, wants_start


def solve_highs(
    lm: LinearModel, options: SolveOptions, incumbent: Incumbent | None = None
) -> tuple[SolveResult, np.ndarray | None]:
    """Solve `lm` with HiGHS in-process, with the start `options` name ("auto" resolved here
    unless the caller, who may know the scenario count, resolved it already), from
    `incumbent` when one is given."""
    mip = bool(lm.col_bounds()[2].any())
    if mip and wants_start(lm, options):
        options = resolve_start(options, lm.n_cols, None)
        if options.start == "concurrent":
            return solve_concurrent(lm, options, incumbent)
    return single_search(lm, options, incumbent=incumbent)
