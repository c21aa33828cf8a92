"""The array-built model and its Pyomo form are the same model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from horizon.optimizer.pipeline import prepare, solve_prepared

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = [ROOT / "instances" / "tiny-two-hubs.yaml", ROOT / "instances" / "un-2009.yaml"]


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_pyomo_model_matches_matrix(path: Path) -> None:
    prep = prepare(path)
    lm = prep.model
    m = lm.to_pyomo()
    info = LinearStandardFormCompiler().write(m, mixed_form=True, column_order=m._columns)
    assert len(info.columns) == lm.n_cols
    # Same matrix row by row (Pyomo drops empty rows; ours has none).
    ours = lm.matrix().toarray()
    theirs = info.A.toarray()
    assert theirs.shape == ours.shape
    assert np.allclose(theirs, ours)
    assert np.allclose(np.asarray(info.c.toarray()).ravel(), lm.cost())
    names = {v.name for v in m.component_data_objects(pyo.Var)}
    assert len(names) == lm.n_cols


def test_pyomo_solve_gives_same_optimum() -> None:
    prep = prepare(INSTANCES[1])
    ours, _ = solve_prepared(prep)
    m = prep.model.to_pyomo()
    solver = pyo.SolverFactory("appsi_highs")
    if not solver.available():
        pytest.skip("appsi_highs unavailable")
    solver.config.mip_gap = 0.0
    solver.solve(m)
    assert pyo.value(m.objective) == pytest.approx(ours.objective, rel=1e-9)
