"""Dominance reductions for the covering models (LSCP, MCLP) before the solve.

Column dominance: a hub that covers a subset of what another hub covers, at no lower fixed
cost, is never needed (swap it for the other: LSCP stays covered, MCLP covers at least as
much) — its arcs are dropped. Row dominance (LSCP only): a demand whose covering hubs
include all of another demand's is covered whenever that one is — it is dropped from the
model and served afterwards by the completion LP on the chosen hubs (`classic_exact._complete`).
MCLP keeps every row: its objective counts each uncovered demand.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from models.classic import classic_instance
from models.reserve import build_model
from optimizer.checks import presolve_checks
from optimizer.instance import Instance
from optimizer.network import Arcs, build_network, eligible_arcs
from optimizer.schema import Classic
from optimizer.solution import Solution, Timings
from optimizer.solve import SolveOptions

MAX_PAIRS = 25_000_000  # skip a reduction whose pairwise subset test would exceed this


def coverage(arcs: Arcs, n_demands: int, n_hubs: int) -> np.ndarray:
    """demands × hubs: True where some eligible arc joins them."""
    cover = np.zeros((n_demands, n_hubs), dtype=bool)
    cover[arcs.demand, arcs.hub] = True
    return cover


def _subsets(sets: np.ndarray) -> np.ndarray:
    """sub[a, b]: set a ⊆ set b (rows of a boolean matrix)."""
    s = sets.astype(np.float32)
    inter = s @ s.T
    return inter >= s.sum(axis=1)[:, None] - 0.5


def dominated_hubs(cover: np.ndarray, fixed: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Hubs whose cover is within another kept hub's at no lower fixed cost (of two equal
    hubs the later goes); `keep` marks hubs that may not go (existing ones)."""
    m = cover.shape[1]
    if m * m > MAX_PAIRS:
        return np.zeros(m, dtype=bool)
    sub = _subsets(cover.T)
    np.fill_diagonal(sub, False)
    cheaper = fixed[None, :] <= fixed[:, None] + 1e-12
    later = np.arange(m)[:, None] > np.arange(m)[None, :]
    same = sub & sub.T & (np.abs(fixed[None, :] - fixed[:, None]) <= 1e-12)
    strict = sub & ~sub.T & cheaper
    out = (strict | (same & later)).any(axis=1)
    out &= ~keep
    return out


def dominated_demands(cover: np.ndarray) -> np.ndarray:
    """Demands whose covering hubs include all of another's (covered whenever it is)."""
    n = cover.shape[0]
    if n * n > MAX_PAIRS:
        return np.zeros(n, dtype=bool)
    sub = _subsets(cover)  # sub[i, k]: hubs of i ⊆ hubs of k → k is implied by i
    np.fill_diagonal(sub, False)
    equal = sub & sub.T
    later = np.arange(n)[None, :] > np.arange(n)[:, None]
    implied = (sub & ~equal) | (equal & later)
    return implied.any(axis=0)


def _without_demands(instance: Instance, drop: np.ndarray) -> Instance:
    """The instance without the dropped demands (in `Instance.demands` order)."""
    keep = iter((~drop).tolist())
    spec = instance.spec
    scenarios = [s.model_copy(update={"demands": [d for d in s.demands if next(keep)]}) for s in spec.scenarios]
    flat = [d for d in spec.demands if next(keep)]
    return instance.derive(scenarios=scenarios, demands=flat)


def solve_reduced(instance: Instance, classic: Classic, options: SolveOptions) -> Solution | None:
    """LSCP or MCLP with dominated hubs (and, for LSCP, implied demands) removed; None when
    nothing is dominated (the plain path is then as good) or a reduction does not apply."""
    from models.classic_exact import complete_plan, filter_arcs
    from optimizer.pipeline import Prepared, solve_prepared

    t0 = time.perf_counter()
    rewritten = classic_instance(instance, classic)
    if rewritten.options.max_share_per_arc is not None or rewritten.spec.contributors:
        return None
    network = build_network(rewritten)
    arcs = eligible_arcs(rewritten, network)
    presolve_checks(rewritten, network, arcs)
    hubs = rewritten.hubs
    cover = coverage(arcs, len(rewritten.demands), len(hubs))
    fixed = np.array([h.fixed_cost for h in hubs], dtype=float)
    existing = np.array([h.status == "existing" for h in hubs], dtype=bool)
    gone_hubs = dominated_hubs(cover, fixed, existing)
    lscp = classic.model == "lscp" and rewritten.options.deadlines == "hard"
    gone_rows = dominated_demands(cover[:, ~gone_hubs]) if lscp else np.zeros(len(cover), dtype=bool)
    if not gone_hubs.any() and not gone_rows.any():
        return None
    reduced = _without_demands(rewritten, gone_rows) if gone_rows.any() else rewritten
    renumber = np.cumsum(~gone_rows) - 1
    keep = ~gone_hubs[arcs.hub] & ~gone_rows[arcs.demand]
    sub = filter_arcs(arcs, keep, renumber)
    t1 = time.perf_counter()
    lm, data = build_model(reduced, network, sub)
    prep = Prepared(reduced, network, sub, lm, data, Timings(network=t1 - t0, build=time.perf_counter() - t1))
    sol, _ = solve_prepared(prep, options)
    info = {
        "model": classic.model,
        "p": classic.p,
        "radius": classic.radius,
        "formulation": "assignment",
        "dominated_hubs": int(gone_hubs.sum()),
        "dominated_demands": int(gone_rows.sum()),
    }
    if not sol.ok or not gone_rows.any():
        return replace(sol, classic=info)
    open_ = np.array([h.node in set(sol.open_hubs) for h in hubs], dtype=bool)
    full, complete_s = complete_plan(rewritten, network, arcs, open_, options)
    timings = replace(sol.timings, build=sol.timings.build + complete_s, total=time.perf_counter() - t0)
    return replace(full, status=sol.status, objective=sol.objective, bound=sol.bound, gap=sol.gap, classic=info, timings=timings)
