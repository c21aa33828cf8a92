"""Constraint families recomputed from their definition, independently of `horizon.models.reserve`."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.pipeline import prepare
from horizon.optimizer.solve.highs import new_highs, pass_model, solve_relaxation

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
        path.write_text((Path(__file__).parent / "instances" / "lent-lift.yaml").read_text())
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


def _with_split(inst: Instance) -> Instance:
    return inst.derive(options=inst.options.model_copy(update={"split_loads": True}))


def test_split_loads_rows_group_a_demands_arcs_per_hub():
    """With split_loads, each (demand, hub, contributor) with two or more arcs of an
    indivisible type gets one integral `units` column equal to the sum of its (now continuous)
    arcs; every other arc keeps its own integrality."""
    inst = _with_split(Instance.from_spec(generate_spec(12, 5, 8, 15, 3)))
    prep = prepare(inst)
    lm, arcs = prep.model, prep.arcs
    groups: dict[tuple[int, int, int], set[int]] = defaultdict(set)
    for i in range(len(arcs)):
        if prep.data.arc_integer[i]:
            groups[(int(arcs.demand[i]), int(arcs.hub[i]), int(arcs.contributor[i]))].add(i)
    expected = {k: v for k, v in groups.items() if len(v) >= 2}
    assert expected, "the instance has indivisible demands with several options from one hub"
    block, x, n = lm.rows["split_loads"], lm.vars["dispatch"], lm.vars["units"]
    assert block.size == n.size == len(expected)
    a = lm.matrix().tocsr()[block.start : block.start + block.size]
    integer = lm.col_bounds()[2]
    seen = set()
    for r in range(block.size):
        cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
        vals = a.data[a.indptr[r] : a.indptr[r + 1]]
        is_n = (cols >= n.start) & (cols < n.start + n.size)
        assert is_n.sum() == 1 and vals[is_n][0] == -1.0 and np.all(vals[~is_n] == 1.0)
        assert integer[cols[is_n][0]]
        arcs_in = frozenset((cols[~is_n] - x.start).tolist())
        assert not any(integer[x.start + i] for i in arcs_in), "split arcs are continuous"
        seen.add(arcs_in)
    assert seen == {frozenset(v) for v in expected.values()}
    grouped = set().union(*expected.values())
    for i in range(len(arcs)):
        if i not in grouped:
            assert integer[x.start + i] == bool(prep.data.arc_integer[i])
