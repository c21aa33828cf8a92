"""A small array-based layer for linear models: variable blocks, row blocks, a cost vector.

Why: building a model element by element in Python (Pyomo rules) costs seconds per hundred
thousand rows, more than the solver on many instances. Constraint families here are
written as numpy triplets (row, column, value), so building is vectorised; the whole model
goes to HiGHS as one sparse matrix. The same blocks produce the Pyomo `ConcreteModel`
(`to_pyomo`) with the same variables, rows and names, for the solvers and tools that
consume Pyomo (other MIP solvers, writers, mpi-sppy); a test checks the two are identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_array, csr_array

from horizon.optimizer.data.schema import HIGHS_INFINITY

if TYPE_CHECKING:  # Pyomo is imported only when a Pyomo model is asked for (it is slow to import)
    import pyomo.environ as pyo

INF = float("inf")
# What HiGHS takes (its defaults): a cost or bound at or above its infinity is infinite, a
# matrix entry above 1e15 is refused (``large_matrix_value``). `check_numbers` holds a model to them.
LARGE_MATRIX_VALUE = 1e15
MAX_ABS_HINT = (
    "products of the instance's numbers (rates × distances × crises per year × ...) must stay below 1e15; scale costs down"
)


@dataclass(frozen=True)
class VarBlock:
    """Columns `start .. start+size-1`, one per key of an index (named `name[key]`)."""

    name: str
    start: int
    size: int
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    keys: Sequence | None = None  # index labels (default: 0..size-1)

    def col(self, i: np.ndarray | int) -> np.ndarray | int:
        """Global column numbers of positions `i` in this block."""
        return self.start + i

    def values(self, x: np.ndarray) -> np.ndarray:
        return x[self.start : self.start + self.size]


@dataclass(frozen=True)
class RowBlock:
    """Rows `start .. start+size-1`: lower <= A x <= upper."""

    name: str
    start: int
    size: int
    keys: Sequence | None = None


@dataclass
class LinearModel:
    """Variables, constraints and a linear objective (minimised), assembled from blocks."""

    name: str = "model"
    vars: dict[str, VarBlock] = field(default_factory=dict)
    rows: dict[str, RowBlock] = field(default_factory=dict)
    _triplets: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    _lower: list[np.ndarray] = field(default_factory=list)
    _upper: list[np.ndarray] = field(default_factory=list)
    _cost: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    # --- variants ------------------------------------------------------------------------
    def with_bounds(
        self, cols: dict[int, tuple[float, float]] | None = None, rows: dict[int, tuple[float, float]] | None = None
    ) -> LinearModel:
        """A copy with the bounds of some columns and rows replaced ({index: (lower, upper)}):
        a first stage fixed, a sweep's point. The matrix and cost are shared with this model,
        so the copy is for solving, not for adding to."""
        cols, rows = cols or {}, rows or {}
        new_vars = {}
        for name, b in self.vars.items():
            mine = [(i - b.start, lo, up) for i, (lo, up) in cols.items() if b.start <= i < b.start + b.size]
            if mine:
                lower, upper = b.lower.copy(), b.upper.copy()
                for j, lo, up in mine:
                    lower[j], upper[j] = lo, up
                b = replace(b, lower=lower, upper=upper)
            new_vars[name] = b
        new_lower, new_upper = list(self._lower), list(self._upper)
        if rows:
            starts = np.cumsum([0] + [len(x) for x in self._lower])
            for r, (lo, up) in rows.items():
                k = int(np.searchsorted(starts, r, side="right")) - 1
                if new_lower[k] is self._lower[k]:
                    new_lower[k], new_upper[k] = self._lower[k].copy(), self._upper[k].copy()
                new_lower[k][r - starts[k]], new_upper[k][r - starts[k]] = lo, up
        return replace(self, vars=new_vars, _lower=new_lower, _upper=new_upper)

    # --- building ------------------------------------------------------------------------
    def add_vars(
        self,
        name: str,
        size: int,
        *,
        lower: float | np.ndarray = 0.0,
        upper: float | np.ndarray = INF,
        integer: bool | np.ndarray = False,
        keys: Sequence | None = None,
    ) -> VarBlock:
        block = VarBlock(
            name=name,
            start=self.n_cols,
            size=size,
            lower=np.broadcast_to(np.asarray(lower, dtype=float), (size,)).copy(),
            upper=np.broadcast_to(np.asarray(upper, dtype=float), (size,)).copy(),
            integer=np.broadcast_to(np.asarray(integer, dtype=bool), (size,)).copy(),
            keys=keys,
        )
        self.vars[name] = block
        self.n_cols += size
        return block

    def add_rows(
        self,
        name: str,
        size: int,
        rows: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray,
        *,
        lower: float | np.ndarray = -INF,
        upper: float | np.ndarray = INF,
        keys: Sequence | None = None,
    ) -> RowBlock:
        """Add `size` rows; entry (rows[i], cols[i]) = vals[i], rows numbered from 0 in the block."""
        block = RowBlock(name=name, start=self.n_rows, size=size, keys=keys)
        self._triplets.append(
            (np.asarray(rows, dtype=np.int64) + self.n_rows, np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=float))
        )
        self._lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (size,)).copy())
        self._upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (size,)).copy())
        self.rows[name] = block
        self.n_rows += size
        return block

    def add_cost(self, cols: np.ndarray, vals: np.ndarray) -> None:
        self._cost.append((np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=float)))

    # --- matrix form ---------------------------------------------------------------------
    def cost(self) -> np.ndarray:
        c = np.zeros(self.n_cols)
        for cols, vals in self._cost:
            np.add.at(c, cols, vals)
        return c

    def matrix(self) -> csr_array:
        """The constraint matrix (duplicate entries summed)."""
        if self._triplets:
            r, c, v = (np.concatenate(parts) for parts in zip(*self._triplets))
        else:
            r = c = np.zeros(0, dtype=np.int64)
            v = np.zeros(0)
        a = coo_array((v, (r, c)), shape=(self.n_rows, self.n_cols)).tocsr()
        a.sum_duplicates()
        a.eliminate_zeros()
        return a

    def row_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._lower:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self._lower), np.concatenate(self._upper)

    def col_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        blocks = list(self.vars.values())
        if not blocks:
            return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
        return (
            np.concatenate([b.lower for b in blocks]),
            np.concatenate([b.upper for b in blocks]),
            np.concatenate([b.integer for b in blocks]),
        )

    def column_names(self) -> list[str]:
        names: list[str] = []
        for b in self.vars.values():
            keys = b.keys if b.keys is not None else range(b.size)
            names.extend(f"{b.name}[{_label(k)}]" for k in keys)
        return names

    def row_names(self) -> list[str]:
        names: list[str] = []
        for b in self.rows.values():
            keys = b.keys if b.keys is not None else range(b.size)
            names.extend(f"{b.name}[{_label(k)}]" for k in keys)
        return names

    # --- Pyomo ---------------------------------------------------------------------------
    def to_pyomo(self) -> pyo.ConcreteModel:
        """The same model as a Pyomo `ConcreteModel` (one component per block, same order)."""
        import pyomo.environ as pyo
        from pyomo.core.expr.numeric_expr import LinearExpression

        m = pyo.ConcreteModel(name=self.name)
        columns: list[pyo.Var] = []
        for b in self.vars.values():
            lo, up, integer = b.lower, b.upper, b.integer

            def bounds(_m: pyo.ConcreteModel, i: int, lo: np.ndarray = lo, up: np.ndarray = up) -> tuple:
                return (None if lo[i] == -INF else float(lo[i]), None if up[i] == INF else float(up[i]))

            def domain(_m: pyo.ConcreteModel, i: int, integer: np.ndarray = integer) -> pyo.Set:
                return pyo.Integers if integer[i] else pyo.Reals

            comp = pyo.Var(range(b.size), bounds=bounds, domain=domain)
            m.add_component(b.name, comp)
            columns.extend(comp[i] for i in range(b.size))
        a = self.matrix()
        lower, upper = self.row_bounds()
        for b in self.rows.values():

            def rule(_m: pyo.ConcreteModel, i: int, start: int = b.start) -> tuple:
                r = start + i
                lo, hi = a.indptr[r], a.indptr[r + 1]
                body = LinearExpression(
                    constant=0.0,
                    linear_coefs=a.data[lo:hi].tolist(),
                    linear_vars=[columns[j] for j in a.indices[lo:hi]],
                )
                return (None if lower[r] == -INF else float(lower[r]), body, None if upper[r] == INF else float(upper[r]))

            m.add_component(b.name, pyo.Constraint(range(b.size), rule=rule))
        c = self.cost()
        nz = np.flatnonzero(c)
        m.objective = pyo.Objective(
            expr=LinearExpression(constant=0.0, linear_coefs=c[nz].tolist(), linear_vars=[columns[j] for j in nz]),
            sense=pyo.minimize,
        )
        m._columns = columns  # column order of the matrix form, for loading values back
        return m


def _label(key: object) -> str:
    if isinstance(key, tuple):
        return ",".join(str(k) for k in key)
    return str(key)


def check_numbers(lm: LinearModel, limit: int = 10) -> list[str]:
    """Entries of the built model a solver cannot take (not finite, a cost or finite bound at
    or above `HIGHS_INFINITY`, a matrix entry above `LARGE_MATRIX_VALUE`), named by column
    or row; at most `limit` of them. Empty when the model is fine."""
    problems: list[str] = []
    cost = lm.cost()
    lo, up, _ = lm.col_bounds()
    rlo, rup = lm.row_bounds()

    def bad_bounds(b: np.ndarray) -> np.ndarray:
        return np.isnan(b) | (np.isfinite(b) & (np.abs(b) >= HIGHS_INFINITY))

    bad_cost = ~np.isfinite(cost) | (np.abs(cost) >= HIGHS_INFINITY)
    cols: list[tuple[int, str]] = [(int(i), "cost") for i in np.flatnonzero(bad_cost)]
    cols += [(int(i), "bound") for i in np.flatnonzero(bad_bounds(lo) | bad_bounds(up))]
    rows: list[tuple[int, str]] = [(int(i), "right-hand side") for i in np.flatnonzero(bad_bounds(rlo) | bad_bounds(rup))]
    # the entries as the families wrote them: no matrix is assembled here (the solver's
    # hand-over assembles it once)
    big = [r[~np.isfinite(v) | (np.abs(v) > LARGE_MATRIX_VALUE)] for r, _, v in lm._triplets]
    if big and any(len(b) for b in big):
        rows += [(int(i), "coefficient") for i in np.unique(np.concatenate(big))]
    if not cols and not rows:
        return problems
    col_names, row_names = lm.column_names(), lm.row_names()
    for i, what in cols[:limit]:
        value = {"cost": cost, "bound": np.where(bad_bounds(lo), lo, up)}[what][i]
        problems.append(f"model column {col_names[i]}: {what} {value:.6g} is beyond what the solver takes")
    for i, what in rows[: max(0, limit - len(problems))]:
        problems.append(f"model row {row_names[i]}: a {what} beyond what the solver takes")
    more = len(cols) + len(rows) - len(problems)
    if more > 0:
        problems.append(f"... and {more} more")
    return problems
