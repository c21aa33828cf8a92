"""The reserve model's stages, defined once for every decomposition.

The first stage is what a planner decides before any crisis: which hubs open, how many units
of each type each hub holds, and how many of those each contributor pledges. Every scenario
shares these decisions; only dispatch (and unmet demand) is per scenario. Pledges belong to
the first stage because a contributor's units at a hub are stationed there, not chosen per
crisis: progressive hedging must not let them differ by scenario.
"""

from __future__ import annotations

import numpy as np

from horizon.models.linear import LinearModel

FIRST_STAGE = ("open_hub", "stationed", "pledged")
# Not a decision: the worst case's epigraph variable links the scenarios. A decomposition that
# keeps the scenarios' costs apart (Benders) prices it in the master; PH does not support it.
LINKING = ("worst_scenario_cost",)


def first_stage_blocks(lm: LinearModel, *, linking: bool = False) -> tuple[str, ...]:
    """Names of the model's first-stage variable blocks, in column order."""
    wanted = FIRST_STAGE + (LINKING if linking else ())
    return tuple(n for n in lm.vars if n in wanted)


def first_stage_columns(lm: LinearModel, *, linking: bool = False) -> np.ndarray:
    """Column numbers of the first-stage variables (with `linking`: and the worst case's η)."""
    blocks = [lm.vars[n] for n in first_stage_blocks(lm, linking=linking)]
    if not blocks:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(b.start, b.start + b.size, dtype=np.int64) for b in blocks])


def hub_columns(lm: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """The hub openings' columns, and every other integral column (relaxed in the hubs-only
    relaxation)."""
    y = lm.vars["open_hub"]
    ys = np.arange(y.start, y.start + y.size, dtype=np.int32)
    others = np.flatnonzero(lm.col_bounds()[2]).astype(np.int32)
    return ys, others[(others < y.start) | (others >= y.start + y.size)]


def first_stage_hubs(lm: LinearModel) -> np.ndarray:
    """The hub (its position in ``open_hub``) of each first-stage column, in
    `first_stage_columns` order: a hub's own opening, then what is stationed or pledged
    there. Searches that close a hub clear everything at it with one mask."""
    y = lm.vars["open_hub"]
    position = {hub: i for i, hub in enumerate(y.keys if y.keys is not None else range(y.size))}
    parts = []
    for name in first_stage_blocks(lm):
        block = lm.vars[name]
        if name == "open_hub":
            parts.append(np.arange(block.size, dtype=np.int64))
        else:  # stationed keys (hub, type); pledged keys (hub, type, contributor)
            parts.append(np.array([position[key[0]] for key in block.keys or ()], dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
