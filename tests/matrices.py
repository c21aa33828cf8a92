"""Classic-model test instances given as a hub × mission matrix (one `routes` row per pair)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml


def write_matrix_instance(
    path: Path,
    dist: np.ndarray,
    weights: np.ndarray,
    *,
    fixed: list[float] | None = None,
    capacity: list[float | None] | None = None,
    cost: np.ndarray | None = None,
    name: str = "matrix",
) -> Path:
    """hubs H1..Hm (rows of `dist`), missions M1..Mn (columns); every pair is a route."""
    m, n = dist.shape
    cost = dist if cost is None else cost
    hubs = []
    for i in range(m):
        h: dict = {"node": f"H{i + 1}", "fixed_cost": float(fixed[i]) if fixed else 0.0}
        if capacity is not None and capacity[i] is not None:
            h["capacity"] = float(capacity[i])
        hubs.append(h)
    data = {
        "name": name,
        "nodes": [{"id": f"H{i + 1}", "kind": "hub"} for i in range(m)]
        + [{"id": f"M{j + 1}", "kind": "mission"} for j in range(n)],
        "hubs": hubs,
        "asset_types": [{"id": "d", "category": "force", "divisible": True}],
        "scenarios": [
            {
                "id": "base",
                "probability": 1.0,
                "demands": [{"mission": f"M{j + 1}", "type": "d", "units": float(weights[j])} for j in range(n)],
            }
        ],
        "routes": [
            {"hub": f"H{i + 1}", "mission": f"M{j + 1}", "hours": float(dist[i, j]), "cost": float(cost[i, j])}
            for i in range(m)
            for j in range(n)
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
