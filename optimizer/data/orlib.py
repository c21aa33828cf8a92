"""Importers for OR-Library facility-location test sets (Beasley): cap and pmed.

Both produce ordinary horizon instances (`InstanceSpec`), so the published optima are
reproduced by the same engine that solves reserve problems:

- cap (capacitated warehouse location, split sourcing): warehouses are hubs with fixed cost
  and capacity; customers are missions demanding `d_j` units of one divisible type in one
  scenario; the cost of serving all of customer j from warehouse i, `c_ij`, becomes a route
  cost per unit `c_ij / d_j`, so `sum (c_ij/d_j) x_ij` with `x_ij = d_j * fraction` is the
  published `sum c_ij * fraction`. capa/capb/capc carry the literal word `capacity`
  instead of numbers: give `capacity=`.
- pmed (p-median): every vertex is a mission with weight 1 and a candidate hub; edges are
  undirected links (1-based ids; for a repeated pair the **last** line wins, as OR-Library
  specifies); distances are shortest paths over them (the network stage computes them);
  exactly p hubs open.

Malformed files raise `InputError` naming the file, the line and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from horizon.optimizer.data.schema import InstanceSpec
from horizon.optimizer.errors import InputError


def _tokens(path: Path) -> list[tuple[str, int]]:
    """(token, line number) pairs of a whitespace-separated file."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read file ({exc})") from exc
    out = [(tok, n) for n, line in enumerate(text.splitlines(), start=1) for tok in line.split()]
    if not out:
        raise InputError(f"{path}: file is empty")
    return out


class _Reader:
    """Sequential number reader with error messages that say what was expected where."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tokens = _tokens(path)
        self.pos = 0

    def _next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.tokens):
            last = self.tokens[-1][1]
            raise InputError(f"{self.path}: file ends at line {last} but {what} is expected (too few numbers)")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def number(self, what: str, *, allow_word: str | None = None) -> float | None:
        tok, line = self._next(what)
        if allow_word is not None and tok.lower() == allow_word:
            return None
        try:
            value = float(tok)
        except ValueError:
            raise InputError(f"{self.path}: line {line}: '{tok}' is not a number ({what})") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError(f"{self.path}: line {line}: '{tok}' is not a finite number ({what})")
        return value

    def integer(self, what: str, low: int = 0) -> int:
        tok, line = self.tokens[self.pos] if self.pos < len(self.tokens) else ("", 0)
        value = self.number(what)
        assert value is not None
        if not float(value).is_integer() or value < low:
            raise InputError(f"{self.path}: line {line}: '{tok}' is not a whole number ≥ {low} ({what})")
        return int(value)

    def rest(self) -> Iterator[tuple[str, int]]:
        return iter(self.tokens[self.pos :])


def read_cap(path: str | Path, *, capacity: float | None = None, uncapacitated: bool = False) -> InstanceSpec:
    """Read an OR-Library cap file into an instance (CFLP, or UFLP when `uncapacitated`)."""
    p = Path(path)
    r = _Reader(p)
    m = r.integer("number of warehouses m", low=1)
    n = r.integer("number of customers n", low=1)
    caps: list[float | None] = []
    fixed: list[float] = []
    word_seen = False
    for i in range(1, m + 1):
        s = r.number(f"capacity of warehouse {i}", allow_word="capacity")
        if s is None:
            word_seen = True
            if capacity is None and not uncapacitated:
                raise InputError(f"{p}: warehouse {i} has the literal capacity 'capacity' (capa/capb/capc): give --capacity C")
            s = capacity
        elif s < 0:
            raise InputError(f"{p}: capacity of warehouse {i} is negative ({s:g})")
        f = r.number(f"fixed cost of warehouse {i}")
        assert f is not None
        if f < 0:
            raise InputError(f"{p}: fixed cost of warehouse {i} is negative ({f:g})")
        caps.append(s)
        fixed.append(f)
    if capacity is not None and not word_seen:
        raise InputError(f"{p}: --capacity given but the file has numeric capacities")
    demands: list[float] = []
    costs: list[list[float]] = []
    for j in range(1, n + 1):
        d = r.number(f"demand of customer {j}")
        assert d is not None
        if d <= 0:
            raise InputError(f"{p}: demand of customer {j} is {d:g}; it must be positive")
        row = []
        for i in range(1, m + 1):
            c = r.number(f"cost of serving customer {j} from warehouse {i}")
            assert c is not None
            if c < 0:
                raise InputError(f"{p}: cost of serving customer {j} from warehouse {i} is negative ({c:g})")
            row.append(c)
        demands.append(d)
        costs.append(row)
    extra = list(r.rest())
    if extra:
        raise InputError(
            f"{p}: line {extra[0][1]}: {len(extra)} number(s) after the last customer "
            f"(expected 2 + 2m + n(m+1) = {2 + 2 * m + n * (m + 1)} for m={m}, n={n})"
        )
    name = p.stem + ("-uncap" if uncapacitated else "")
    return InstanceSpec.model_validate(
        {
            "name": name,
            "description": f"OR-Library {p.name} (Beasley 1988): "
            + ("uncapacitated" if uncapacitated else "capacitated")
            + " facility location, split sourcing; route cost = c_ij / d_j per unit",
            "options": {"deadlines": "hard", "strong_linking": True},
            "nodes": [{"id": f"w{i}", "kind": "hub"} for i in range(1, m + 1)]
            + [{"id": f"c{j}", "kind": "mission"} for j in range(1, n + 1)],
            "hubs": [
                {"node": f"w{i}", "fixed_cost": fixed[i - 1], "capacity": None if uncapacitated else caps[i - 1]}
                for i in range(1, m + 1)
            ],
            "asset_types": [{"id": "demand", "category": "force", "divisible": True}],
            "scenarios": [{"id": "base", "probability": 1.0}],
            "demands": [
                {"scenario": "base", "mission": f"c{j}", "type": "demand", "units": demands[j - 1]} for j in range(1, n + 1)
            ],
            "routes": [
                {"hub": f"w{i}", "mission": f"c{j}", "hours": 0.0, "cost": costs[j - 1][i - 1] / demands[j - 1]}
                for j in range(1, n + 1)
                for i in range(1, m + 1)
            ],
        }
    )


def read_pmed(path: str | Path) -> InstanceSpec:
    """Read an OR-Library pmed file into a p-median instance."""
    p = Path(path)
    r = _Reader(p)
    n = r.integer("number of vertices n", low=1)
    e = r.integer("number of edges e")
    k = r.integer("number of medians p", low=1)
    if k > n:
        raise InputError(f"{p}: p = {k} medians but only {n} vertices")
    edges: dict[tuple[int, int], float] = {}
    for t in range(1, e + 1):
        ids = []
        for end in ("first", "second"):
            tok, line = r.tokens[r.pos] if r.pos < len(r.tokens) else ("", 0)
            v = r.integer(f"{end} vertex of edge {t}", low=1)
            if v > n:
                raise InputError(f"{p}: line {line}: vertex {v} of edge {t} is not in 1..{n}")
            ids.append(v)
        w = r.number(f"cost of edge {t}")
        assert w is not None
        if w < 0:
            raise InputError(f"{p}: edge {t} has negative cost {w:g}")
        a, b = ids
        if a != b:
            edges[(min(a, b), max(a, b))] = w  # the last line for a pair wins (OR-Library rule)
    extra = list(r.rest())
    if extra:
        raise InputError(f"{p}: line {extra[0][1]}: {len(extra)} number(s) after the last of {e} edges")
    return InstanceSpec.model_validate(
        {
            "name": p.stem,
            "description": f"OR-Library {p.name} (Beasley 1985): p-median, p={k}; distances are "
            "shortest paths over the edges (last repeated edge wins); distance units as hours",
            "options": {"deadlines": "hard", "min_hubs": k, "max_hubs": k, "strong_linking": True},
            "modes": [{"id": "edge", "speed_kmh": 1.0, "cost_per_km": 1.0}],
            "nodes": [{"id": f"v{i}", "kind": "mission"} for i in range(1, n + 1)],
            "links": [{"from": f"v{a}", "to": f"v{b}", "mode": "edge", "distance_km": w} for (a, b), w in edges.items()],
            "hubs": [{"node": f"v{i}"} for i in range(1, n + 1)],
            "asset_types": [{"id": "client", "category": "force", "divisible": True, "modes": ["edge"]}],
            "scenarios": [{"id": "base", "probability": 1.0}],
            "demands": [{"scenario": "base", "mission": f"v{i}", "type": "client", "units": 1.0} for i in range(1, n + 1)],
        }
    )
