"""Classic location models (models/classic.py) on instances solvable by hand, and against PySAL spopt.

Every instance here is a hub × mission matrix given as a `routes` table (hours = cost =
distance), one divisible asset type, one scenario whose demands are the weights. Solved
through `horizon.optimizer.pipeline.solve(path, classic=Classic(...))` from a YAML file, as
`horizon solve X.yaml --classic ...` does.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from matrices import write_matrix_instance

from horizon.optimizer.data.schema import Classic
from horizon.optimizer.errors import InfeasibleError
from horizon.optimizer.pipeline import solve

# Hand instance: hours from hub (row) to mission (column), and the missions' weights.
#          M1  M2  M3  M4
#   H1      1   4   7   9
#   H2      6   2   3   8
#   H3      9   7   5   1
#   weight 10  20  30  40        (total 100)
HAND = np.array([[1, 4, 7, 9], [6, 2, 3, 8], [9, 7, 5, 1]], dtype=float)
W = np.array([10, 20, 30, 40], dtype=float)


@pytest.fixture
def hand(tmp_path) -> Path:
    return write_matrix_instance(tmp_path / "hand.yaml", HAND, W, name="hand")


def status_of(path: Path, classic: Classic) -> str:
    """The solve's status; 'infeasible' also when the pre-solve checks prove it."""
    try:
        return solve(path, classic=classic).status
    except InfeasibleError:
        return "infeasible"


def covers(sol) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in sol.dispatch:
        out[r["mission"]].add(r["hub"])
    return out


@pytest.mark.parametrize(
    ("radius", "hubs", "open_hubs"),
    [
        (3.0, 3, ["H1", "H2", "H3"]),  # H1:{M1} H2:{M2,M3} H3:{M4}: all three are needed
        (5.0, 2, ["H1", "H3"]),  # H1:{M1,M2} H2:{M2,M3} H3:{M3,M4}: only H1+H3 covers all
        (9.0, 1, None),  # every hub reaches every mission within 9: any one will do
    ],
)
def test_lscp_minimum_hubs(hand, radius, hubs, open_hubs):
    sol = solve(hand, classic=Classic(model="lscp", radius=radius))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(hubs)
    assert len(sol.open_hubs) == hubs
    if open_hubs is not None:
        assert sorted(sol.open_hubs) == open_hubs
    assert all(r["response_hours"] <= radius + 1e-9 for r in sol.dispatch)
    assert set(covers(sol)) == {"M1", "M2", "M3", "M4"}


def test_lscp_infeasible_radius(hand):
    """Below 2 h no hub reaches M2 (nearest: H2 at 2): no cover exists."""
    assert status_of(hand, Classic(model="lscp", radius=1.5)) == "infeasible"


@pytest.mark.parametrize(
    ("p", "radius", "uncovered", "open_hubs"),
    [
        (1, 5.0, 30.0, ["H3"]),  # H1 covers 30, H2 50, H3 70
        (1, 3.0, 50.0, ["H2"]),  # H1 10, H2 50, H3 40
        (2, 5.0, 0.0, ["H1", "H3"]),
    ],
)
def test_mclp_covered_demand(hand, p, radius, uncovered, open_hubs):
    sol = solve(hand, classic=Classic(model="mclp", p=p, radius=radius))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(uncovered)  # objective = uncovered weight
    assert sum(r["units"] for r in sol.unmet) == pytest.approx(uncovered)
    assert W.sum() - sol.objective == pytest.approx(W.sum() - uncovered)  # covered
    assert sorted(sol.open_hubs) == open_hubs


@pytest.mark.parametrize(
    ("p", "value", "open_hubs"),
    [
        (1, 420.0, ["H3"]),  # H1 660, H2 510, H3 10*9+20*7+30*5+40*1 = 420
        (2, 230.0, ["H2", "H3"]),  # H1H2 460, H1H3 280, H2H3 60+40+90+40 = 230
        (3, 10 * 1 + 20 * 2 + 30 * 3 + 40 * 1, ["H1", "H2", "H3"]),
    ],
)
def test_p_median(hand, p, value, open_hubs):
    sol = solve(hand, classic=Classic(model="p_median", p=p))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(value)
    assert sorted(sol.open_hubs) == open_hubs
    # Each mission goes entirely to its nearest open hub.
    for r in sol.dispatch:
        j = int(r["mission"][1:]) - 1
        assert r["response_hours"] == pytest.approx(min(HAND[int(h[1:]) - 1, j] for h in open_hubs))


@pytest.mark.parametrize(
    ("p", "radius", "open_hubs"),
    [
        (1, 8.0, ["H2"]),  # worst mission: H1 9, H2 8, H3 9
        (2, 5.0, ["H1", "H3"]),  # H1H2 8, H1H3 max(1,4,5,1) = 5, H2H3 6
        (3, 3.0, ["H1", "H2", "H3"]),  # 1, 2, 3, 1
    ],
)
@pytest.mark.parametrize("formulation", ["auto", "assignment"])
def test_p_center_radius(hand, p, radius, open_hubs, formulation):
    sol = solve(hand, classic=Classic(model="p_center", p=p, formulation=formulation))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(radius)
    assert sol.classic["radius"] == pytest.approx(radius)
    if formulation == "assignment":  # the bisection over covering problems
        assert sol.classic["probes"] >= 1
    assert len(sol.open_hubs) <= p
    assert sorted(sol.open_hubs) == open_hubs
    assert max(r["response_hours"] for r in sol.dispatch) <= radius + 1e-9
    assert set(covers(sol)) == {"M1", "M2", "M3", "M4"}


def test_backup_fewest_hubs_covering_twice(hand):
    """Radius 8: M1 is within 8 of H1, H2 only and M4 of H2, H3 only, so all three hubs."""
    sol = solve(hand, classic=Classic(model="backup", radius=8.0))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(3.0)
    c = covers(sol)
    assert set(c) == {"M1", "M2", "M3", "M4"}
    assert all(len(h) >= 2 for h in c.values()), dict(c)
    assert all(r["response_hours"] <= 8.0 + 1e-9 for r in sol.dispatch)
    # No hub sends more than half of a demand.
    assert all(r["units"] <= 0.5 * W[int(r["mission"][1:]) - 1] + 1e-9 for r in sol.dispatch)


def test_backup_radius_9_two_hubs(hand):
    """Radius 9: every hub reaches every mission, so any two hubs cover everything twice."""
    sol = solve(hand, classic=Classic(model="backup", radius=9.0))
    assert sol.objective == pytest.approx(2.0)
    assert all(len(h) >= 2 for h in covers(sol).values())


def test_backup_with_p_maximal_backup_coverage(hand):
    """p = 2, radius 8: H2+H3 leaves only M1 single-covered: 10 / 2 = 5 (H1+H2: 20, H1+H3: 25)."""
    sol = solve(hand, classic=Classic(model="backup", p=2, radius=8.0))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(5.0)
    assert sorted(sol.open_hubs) == ["H2", "H3"]
    c = covers(sol)
    assert c["M1"] == {"H2"}
    assert all(len(c[m]) >= 2 for m in ("M2", "M3", "M4"))


def test_backup_hard_infeasible_when_a_demand_has_one_hub(hand):
    """Radius 7: only H3 reaches M4, so M4 cannot be covered twice."""
    assert status_of(hand, Classic(model="backup", radius=7.0)) == "infeasible"


# CFLP vs UFLP: the split-sourcing example of tests/test_orlib.py as a cost matrix.
#   w1: capacity 10, fixed 5;  w2: 10, 7;  w3: 100, 1000
#   c1: demand 15, cost per unit 2, 4, 1;  c2: demand 5, cost per unit 10, 2, 1
# CFLP: w1+w2 must ship exactly 10 each; c1 split 10 (w1) + 5 (w2): 12 + 20 + 20 + 10 = 62.
# UFLP: w1+w2, c1 from w1 (30), c2 from w2 (10): 52.
def cflp_instance(tmp_path: Path) -> Path:
    per_unit = np.array([[2.0, 10.0], [4.0, 2.0], [1.0, 1.0]])
    return write_matrix_instance(
        tmp_path / "cflp.yaml",
        np.zeros_like(per_unit),
        np.array([15.0, 5.0]),
        fixed=[5, 7, 1000],
        capacity=[10, 10, 100],
        cost=per_unit,
        name="cflp",
    )


def test_cflp_splits_demand(tmp_path):
    sol = solve(cflp_instance(tmp_path), classic=Classic(model="cflp"))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(62.0)
    assert sorted(sol.open_hubs) == ["H1", "H2"]
    units = {(r["hub"], r["mission"]): r["units"] for r in sol.dispatch}
    assert units == pytest.approx({("H1", "M1"): 10.0, ("H2", "M1"): 5.0, ("H2", "M2"): 5.0})


def test_uflp_drops_capacities(tmp_path):
    path = cflp_instance(tmp_path)
    sol = solve(path, classic=Classic(model="uflp"))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(52.0)
    units = {(r["hub"], r["mission"]): r["units"] for r in sol.dispatch}
    assert units == pytest.approx({("H1", "M1"): 15.0, ("H2", "M2"): 5.0})
    assert solve(path).objective == pytest.approx(62.0)  # the instance itself keeps its capacities


# --- cross-check with PySAL spopt (PuLP + CBC) on random cost matrices -------------------

N_CLIENTS, N_FACILITIES, P = 15, 8, 3


def random_matrix(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """clients × facilities distances (0.1 resolution) between random points, and weights."""
    rng = np.random.default_rng(seed)
    clients = rng.uniform(0, 100, (N_CLIENTS, 2))
    facilities = rng.uniform(0, 100, (N_FACILITIES, 2))
    dist = np.round(np.linalg.norm(clients[:, None, :] - facilities[None, :, :], axis=2), 1)
    return dist, rng.integers(1, 11, N_CLIENTS).astype(float)


def cbc():  # noqa: ANN201
    """PuLP's CBC (bundled with PuLP 2/3; PuLP 4 wants COIN_CMD with `pulp[cbc]`)."""
    import pulp

    for name in ("PULP_CBC_CMD", "COIN_CMD"):
        solver = getattr(pulp, name, None)
        if solver is not None and solver(msg=False).available():
            return solver(msg=False)
    pytest.skip("no CBC for PuLP")


def spopt_value(model) -> float:  # noqa: ANN001
    import pulp

    solved = model.solve(cbc())
    assert pulp.LpStatus[solved.problem.status] == "Optimal"
    return float(pulp.value(solved.problem.objective))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP 3 announcing PuLP 4
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_against_spopt(tmp_path, seed):
    pytest.importorskip("spopt")
    from spopt.locate import LSCP, MCLP, PCenter, PMedian

    dist, w = random_matrix(seed)  # clients × facilities, as spopt wants
    path = write_matrix_instance(tmp_path / f"rand{seed}.yaml", dist.T, w, name=f"rand{seed}")
    # Radii halfway between distances (0.1 grid), so "within" is not decided by a tie.
    lscp_r = float(dist.min(axis=1).max()) + 0.05
    mclp_r = float(np.round(np.percentile(dist, 25), 1)) + 0.05

    lscp = solve(path, classic=Classic(model="lscp", radius=lscp_r))
    assert lscp.objective == pytest.approx(spopt_value(LSCP.from_cost_matrix(dist, lscp_r)))

    mclp = solve(path, classic=Classic(model="mclp", p=P, radius=mclp_r))
    covered = w.sum() - mclp.objective
    assert covered == pytest.approx(spopt_value(MCLP.from_cost_matrix(dist, w, service_radius=mclp_r, p_facilities=P)))

    pmed = solve(path, classic=Classic(model="p_median", p=P))
    assert pmed.objective == pytest.approx(spopt_value(PMedian.from_cost_matrix(dist, w, p_facilities=P)), rel=1e-9)

    pcen = solve(path, classic=Classic(model="p_center", p=P))
    assert pcen.objective == pytest.approx(spopt_value(PCenter.from_cost_matrix(dist, p_facilities=P)), rel=1e-9)
    assert max(r["response_hours"] for r in pcen.dispatch) <= pcen.objective + 1e-9


def test_bench_classic_speed_smoke(tmp_path, monkeypatch):
    """The speed benchmark on tiny generated files: runs, and both sides agree."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_classic_speed.py"
    spec = importlib.util.spec_from_file_location("bench_classic_speed", path)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_classic_speed", bench)  # dataclasses look their module up
    monkeypatch.setattr(sys, "path", list(sys.path))  # it puts benchmarks/ on the path (for bench_core)
    spec.loader.exec_module(bench)
    out = tmp_path / "speed.md"
    args = ["--cap-size", "20x40", "--pmed-size", "12x30x3", "--spopt-limit", "0", "--startup-runs", "0", "--out", str(out)]
    assert bench.main(args) == 0
    text = out.read_text()
    assert "| cap 20x40 seed 1 |" in text
    assert "| pmed 12x30 p=3 seed 1 |" in text
    assert text.count("| yes |") == 2
