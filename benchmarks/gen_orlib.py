"""Seeded random OR-Library-style files: p-median graphs (pmed) and warehouse files (cap).

OR-Library stops at 900 vertices and 100 × 1000 warehouses; these write more of the same
shape, deterministic for a seed, readable by `horizon import orlib-pmed|orlib-cap`:

- ``pmed``: header ``n e p``, then ``e`` edge lines ``i j cost`` (1-based, costs 1..100): a
  random spanning tree (so the graph is connected) plus random pairs (repeats allowed, the
  last one wins, as in OR-Library). Distances are the shortest paths. OR-Library's pmed
  files have e = n²/50 (900 vertices: 16200 edges), the default here.
- ``cap``: ``m n``, then ``capacity fixed`` per warehouse, then per customer its demand and
  the cost of serving all of it from each warehouse (7 numbers a line). Points in the unit
  square, demand 5..35, cost = demand × distance × 100, fixed cost 2000..4000. With
  ``--ratio R`` the capacities are numbers summing to R × total demand (random shares
  0.5..1.5 of the mean: ``--ratio 1.1..1.5`` is tight, most warehouses must open); without
  it they are the word ``capacity`` as in capa/capb/capc, given on import.

    python benchmarks/gen_orlib.py pmed --n 900 --p 90 --seed 1 -o pmed-900.txt
    python benchmarks/gen_orlib.py cap --m 100 --n 1000 --ratio 1.3 --seed 1 -o cap-tight.txt
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

FIXED = (2000.0, 4000.0)  # fixed cost range of generated cap files


def _wrap(values: list[str], per_line: int = 7) -> list[str]:
    return [" " + " ".join(values[i : i + per_line]) + " " for i in range(0, len(values), per_line)]


def write_pmed_file(path: Path, n: int, e: int, p: int, seed: int) -> None:
    """A pmed-style file: a random spanning tree, then random pairs (repeats allowed)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n) + 1
    edges = [(int(order[k]), int(order[rng.integers(0, k)])) for k in range(1, n)]
    while len(edges) < e:
        a, b = rng.integers(1, n + 1, 2)
        if a != b:
            edges.append((int(a), int(b)))
    perm = rng.permutation(len(edges))
    costs = rng.integers(1, 101, len(edges))
    lines = [f" {n} {e} {p} "] + [f" {edges[k][0]} {edges[k][1]} {costs[i]} " for i, k in enumerate(perm)]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def write_cap_file(
    path: Path, m: int, n: int, seed: int, *, need: int = 10, ratio: float | None = None, fixed: tuple[float, float] = FIXED
) -> float | None:
    """A cap-style file; returns the capacity to give on import when it says 'capacity'.

    Without `ratio`: every capacity is the word 'capacity', meant as total demand / `need`
    (at least `need` warehouses open). With `ratio`: numeric capacities summing to
    `ratio` × total demand.
    """
    rng = np.random.default_rng(seed)
    wh, cu = rng.uniform(0, 1, (m, 2)), rng.uniform(0, 1, (n, 2))
    demand = rng.integers(5, 36, n)
    f = np.round(rng.uniform(*fixed, m), 1)
    dist = np.linalg.norm(cu[:, None, :] - wh[None, :, :], axis=2)  # n × m
    cost = np.round(demand[:, None] * dist * 100, 3)
    if ratio is None:
        caps = ["capacity"] * m
        given: float | None = float(math.ceil(demand.sum() / need))
    else:
        share = rng.uniform(0.5, 1.5, m)
        caps = [f"{c:.0f}" for c in np.ceil(share / share.sum() * ratio * demand.sum())]
        given = None
    lines = [f" {m} {n}"] + [f" {c} {x:.1f}" for c, x in zip(caps, f)]
    for j in range(n):
        lines.append(f" {demand[j]}")
        lines += _wrap([f"{c:.3f}" for c in cost[j]])
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return given


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="kind", required=True)
    pm = sub.add_parser("pmed", help="a p-median graph")
    pm.add_argument("--n", type=int, required=True, help="vertices")
    pm.add_argument("--e", type=int, help="edge lines (default n²/50, as OR-Library)")
    pm.add_argument("--p", type=int, required=True, help="medians")
    cp = sub.add_parser("cap", help="a warehouse location file")
    cp.add_argument("--m", type=int, required=True, help="warehouses")
    cp.add_argument("--n", type=int, required=True, help="customers")
    cp.add_argument("--ratio", type=float, help="total capacity / total demand (numeric capacities)")
    cp.add_argument("--need", type=int, default=10, help="without --ratio: capacity = total demand / NEED")
    for p in (pm, cp):
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.kind == "pmed":
        if not 1 <= args.p <= args.n:
            ap.error("p must be in 1..n")
        write_pmed_file(args.out, args.n, args.e or max(args.n - 1, args.n * args.n // 50), args.p, args.seed)
    else:
        if args.ratio is not None and args.ratio < 1:
            ap.error("--ratio below 1 cannot serve the demand")
        capacity = write_cap_file(args.out, args.m, args.n, args.seed, need=args.need, ratio=args.ratio)
        if capacity is not None:
            print(f"import with: horizon import orlib-cap {args.out} --capacity {capacity:g}", file=sys.stderr)
    print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
