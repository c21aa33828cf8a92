"""Constraint families recomputed from their definition, independently of `models.reserve`."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from test_optima import LENDING

from optimizer.generate import generate_spec
from optimizer.instance import Instance
from optimizer.loader import load_instance
from optimizer.pipeline import prepare
from optimizer.solve import new_highs, pass_model, solve_relaxation

ROOT = Path(__file__).resolve().parents[1]


def _strong_link_rows(prep) -> dict[tuple[int, int], tuple[set[int], float]]:
    """{(demand, hub): (dispatch columns, coefficient of y_hub)} as the model holds them."""
    lm = prep.model
    block = lm.rows["strong_link"]
    a = lm.matrix().tocsr()[block.start : block.start + block.size]
    x, y = lm.vars["dispatch"], lm.vars["open_hub"]
    rows = {}
    for r in range(block.size):
        cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
        vals = a.data[a.indptr[r] : a.indptr[r + 1]]
        is_y = (cols >= y.start) & (cols < y.start + y.size)
        assert is_y.sum() == 1, "one hub per strong-link row"
        assert np.all(vals[~is_y] == 1.0)
        arcs = set((cols[~is_y] - x.start).tolist())
        demands = {int(prep.arcs.demand[i]) for i in arcs}
        assert len(demands) == 1, "one demand per strong-link row"
        rows[(demands.pop(), int(cols[is_y][0] - y.start))] = (arcs, float(-vals[is_y][0]))
    return rows


@pytest.mark.parametrize(
    "source",
    ["generated", "un-2009", "lending"],
)
def test_strong_link_is_one_row_per_demand_and_hub(source, tmp_path):
    """Every (demand, dispatching hub) pair, and every (demand, lending hub) pair, has exactly
    one row: the sum of its arcs ≤ min(D, the arcs' capacity) · y."""
    if source == "generated":
        inst = Instance.from_spec(generate_spec(12, 5, 8, 15, 3))
    elif source == "un-2009":
        inst = load_instance(ROOT / "instances" / "un-2009.yaml")
    else:
        path = tmp_path / "lent.yaml"
        path.write_text(LENDING)
        inst = load_instance(path)
    prep = prepare(inst)
    arcs, units = prep.arcs, prep.data.demand_units
    expected: dict[tuple[int, int], set[int]] = defaultdict(set)
    for i in range(len(arcs)):
        d, h, g = int(arcs.demand[i]), int(arcs.hub[i]), int(arcs.lift_hub[i])
        expected[(d, h)].add(i)
        if g >= 0 and g != h:
            expected[(d, g)].add(i)
    rows = _strong_link_rows(prep)
    assert set(rows) == set(expected)
    for key, (cols, coef) in rows.items():
        assert cols == expected[key]
        cap = min(units[key[0]], sum(prep.data.arc_upper[i] for i in cols))
        assert coef == pytest.approx(cap)
    if source == "lending":
        assert any(h != int(arcs.hub[next(iter(c))]) for (_, h), (c, _) in rows.items()), "a lending-hub row"


def test_strong_link_cuts_split_options_in_the_relaxation():
    """A hub reaching a mission by two lift types could, linked arc by arc, send the whole demand
    by each with y = 1/2; per (demand, hub) the relaxation of a generated instance satisfies
    Σ_o x ≤ D·y for every pair (recomputed from the LP solution)."""
    inst = Instance.from_spec(generate_spec(12, 5, 8, 15, 3))
    prep = prepare(inst)
    lm = prep.model
    h = new_highs()
    pass_model(h, lm)
    result, sol = solve_relaxation(h, lm)
    assert result.status == "optimal"
    x = lm.vars["dispatch"].values(sol)
    y = lm.vars["open_hub"].values(sol)
    sent: dict[tuple[int, int], float] = defaultdict(float)
    options: dict[tuple[int, int], int] = defaultdict(int)
    for i in range(len(prep.arcs)):
        pair = (int(prep.arcs.demand[i]), int(prep.arcs.hub[i]))
        sent[pair] += x[i]
        options[pair] += 1
    assert any(v > 1 for v in options.values()), "the instance has pairs with several options"
    for (d, hub), total in sent.items():
        assert total <= prep.data.demand_units[d] * y[hub] + 1e-6
