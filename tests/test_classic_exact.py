"""Site-choice formulations (optimizer/solve/sites.py, optimizer/classic.py): the same optimum as
brute force and as the assignment formulation, honest bounds when stopped, clear errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from matrices import write_matrix_instance

from horizon.cli import main
from horizon.optimizer.data.schema import Classic
from horizon.optimizer.errors import InputError
from horizon.optimizer.pipeline import solve
from horizon.optimizer.solve.result import SolveOptions
from horizon.optimizer.solve.sites import SiteProblem, Sorted, local_search, separate, solve_sites

DATA = Path(__file__).parent / "data" / "orlib"


def brute(problem: SiteProblem) -> float:
    """Best value over every feasible site set (tiny problems only)."""
    m = problem.n_sites
    best = np.inf
    for k in range(max(problem.p_min, 1), problem.top + 1):
        for sites in itertools.combinations(range(m), k):
            open_ = np.zeros(m, dtype=bool)
            open_[list(sites)] = True
            if problem.feasible(open_):
                best = min(best, problem.value(open_))
    return float(best)


def random_problem(seed: int, kind: str, p: int | None, fixed: bool, holes: bool) -> SiteProblem:
    rng = np.random.default_rng(seed)
    n, m = 9, 7
    cost = rng.integers(1, 30, (n, m)).astype(float)
    if holes:  # some sites cannot serve some clients
        cost[rng.random((n, m)) < 0.3] = np.inf
        cost[np.arange(n), rng.integers(0, m, n)] = rng.integers(1, 30, n)
    lower = np.zeros(m)
    lower[0] = 1.0 if seed % 3 == 0 else 0.0  # an existing site now and then
    return SiteProblem(
        cost=cost,
        fixed=rng.integers(5, 40, m).astype(float) if fixed else np.zeros(m),
        lower=lower,
        upper=np.ones(m),
        p_min=p or 0,
        p_max=p,
        kind=kind,  # type: ignore[arg-type]
    )


CASES = [
    ("sum", 3, False, False),  # p-median
    ("sum", 2, False, True),
    ("sum", None, True, False),  # UFLP
    ("sum", None, True, True),
    ("max", 3, False, False),  # p-center
    ("max", 2, False, True),
]


@pytest.mark.parametrize("formulation", ["levels", "benders"])
@pytest.mark.parametrize(("kind", "p", "fixed", "holes"), CASES)
@pytest.mark.parametrize("seed", range(4))
def test_site_choice_matches_brute_force(formulation, kind, p, fixed, holes, seed):
    problem = random_problem(seed, kind, p, fixed, holes)
    expected = brute(problem)
    res = solve_sites(problem, formulation)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected)
    assert res.bound == pytest.approx(expected)
    assert problem.feasible(res.open)
    assert problem.value(res.open) == pytest.approx(expected)


def test_local_search_is_a_local_optimum():
    """No single swap improves the heuristic's p-median plan (checked by enumeration)."""
    problem = random_problem(5, "sum", 3, False, False)
    plan = local_search(problem)
    value = problem.value(plan)
    for r in np.flatnonzero(plan):
        for j in np.flatnonzero(~plan):
            other = plan.copy()
            other[r], other[j] = False, True
            assert problem.value(other) >= value - 1e-9


def test_separation_gives_the_exact_cost_at_integer_points():
    """At an integer point the deepest cut equals each client's nearest open cost."""
    problem = random_problem(2, "sum", 3, False, True)
    y = np.zeros(problem.n_sites)
    y[[0, 2, 5]] = 1.0
    _, value, _ = separate(Sorted.of(problem.cost), y)
    near = problem.cost[:, y > 0.5].min(axis=1)
    finite = np.isfinite(near)
    assert np.allclose(value[finite], near[finite])


# --- through the pipeline, against the assignment formulation -------------------------------

RNG = np.random.default_rng(7)
DIST = RNG.integers(1, 50, (8, 12)).astype(float)
WEIGHTS = RNG.integers(1, 10, 12).astype(float)
FIXED = list(RNG.integers(20, 120, 8).astype(float))


@pytest.fixture
def matrix(tmp_path) -> Path:
    return write_matrix_instance(tmp_path / "m.yaml", DIST, WEIGHTS, fixed=FIXED, name="m")


@pytest.mark.parametrize(
    "classic",
    [Classic(model="p_median", p=3), Classic(model="uflp"), Classic(model="p_center", p=3)],
    ids=["p-median", "uflp", "p-center"],
)
def test_same_optimum_as_assignment(matrix, classic):
    reference = solve(matrix, classic=classic.model_copy(update={"formulation": "assignment"}))
    assert reference.classic["formulation"] == "assignment"
    for form in ("levels", "benders", "auto"):
        sol = solve(matrix, classic=classic.model_copy(update={"formulation": form}))
        assert sol.status == "optimal"
        assert sol.objective == pytest.approx(reference.objective)
        assert sol.classic["formulation"] in ("levels", "benders")
        assert sol.dispatch and {r["mission"] for r in sol.dispatch} == {f"M{j + 1}" for j in range(12)}
        assert set(r["hub"] for r in sol.dispatch) <= set(sol.open_hubs)
        if classic.model == "p_center":
            assert max(r["response_hours"] for r in sol.dispatch) == pytest.approx(sol.objective)
        else:
            assert sum(sol.costs.values()) == pytest.approx(sol.objective)


@pytest.fixture(scope="module")
def pmed1(tmp_path_factory) -> Path:
    from horizon.optimizer.data.orlib import read_pmed
    from horizon.optimizer.data.writer import write_instance

    path = tmp_path_factory.mktemp("pmed") / "pmed1.yaml"
    write_instance(read_pmed(DATA / "pmed1.txt"), path)
    return path


@pytest.mark.parametrize("form", ["levels", "benders"])
def test_pmed1_published_optimum(pmed1, form):
    sol = solve(pmed1, classic=Classic(model="p_median", p=5, formulation=form))
    assert sol.status == "optimal" and sol.objective == pytest.approx(5819.0)
    assert len(sol.open_hubs) == 5


@pytest.mark.parametrize("form", ["benders", pytest.param("levels", marks=pytest.mark.slow)])
def test_pmed1_p_center(pmed1, form):
    """pmed1's p-center radius with p = 5 is 127 (the bisection over covering models agrees)."""
    centre = solve(pmed1, classic=Classic(model="p_center", p=5, formulation=form))
    assert centre.status == "optimal" and centre.objective == pytest.approx(127.0)


def test_time_limited_run_reports_incumbent_and_bound():
    """Stopped early, a run keeps its incumbent and a positive bound below it."""
    rng = np.random.default_rng(3)
    pts = rng.random((260, 2))
    cost = np.linalg.norm(pts[:, None] - pts[None], axis=2) * 1000
    problem = SiteProblem(cost, np.zeros(260), np.zeros(260), np.ones(260), 12, 12)
    res = solve_sites(problem, "benders", SolveOptions(time_limit=0.4))
    assert res.objective is not None and res.bound is not None
    assert 0 < res.bound <= res.objective + 1e-6
    assert res.status in ("optimal", "feasible")
    assert problem.value(res.open) == pytest.approx(res.objective)


def test_formulation_errors(matrix):
    with pytest.raises(InputError, match="takes: assignment"):
        solve(matrix, classic=Classic(model="lscp", radius=30.0, formulation="benders"))
    out = CliRunner().invoke(
        main, ["solve", str(matrix), "--classic", "mclp", "--p", "2", "--radius", "9", "--formulation", "levels"]
    )
    assert out.exit_code == 2 and "takes: assignment" in out.output
    out = CliRunner().invoke(main, ["solve", str(matrix), "--formulation", "levels"])
    assert out.exit_code == 2


def test_formulation_on_cli_json(matrix):
    import json

    out = CliRunner().invoke(
        main, ["solve", str(matrix), "--classic", "p-median", "--p", "2", "--formulation", "levels", "--json"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["classic"]["formulation"] == "levels" and data["status"] == "optimal"


# --- covering models: dominance reductions keep the optimum -----------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_covering_reductions_keep_the_optimum(tmp_path, seed):
    """LSCP and MCLP after dropping dominated hubs (and implied LSCP demands) against brute
    force over every hub set; the plan still serves every demand."""
    rng = np.random.default_rng(seed)
    dist = rng.integers(1, 20, (7, 10)).astype(float)
    dist[3] = dist[1] + 2  # hub 4 reaches a subset of what hub 2 reaches: dominated
    weights = rng.integers(1, 9, 10).astype(float)
    path = write_matrix_instance(tmp_path / "c.yaml", dist, weights, name="c")
    radius = float(np.sort(dist, axis=0)[1].max())  # every mission has two hubs within it
    within = dist <= radius
    sets = [np.array(s) for k in range(1, 8) for s in itertools.combinations(range(7), k)]
    fewest = min(len(s) for s in sets if within[s].any(axis=0).all())
    sol = solve(path, classic=Classic(model="lscp", radius=radius))
    assert sol.status == "optimal" and sol.objective == pytest.approx(fewest)
    assert sol.classic["dominated_hubs"] >= 1
    assert {r["mission"] for r in sol.dispatch} == {f"M{j + 1}" for j in range(10)}
    assert all(r["response_hours"] <= radius for r in sol.dispatch)
    for p in (1, 2):
        best = min(weights[~within[s].any(axis=0)].sum() for s in sets if len(s) <= p)
        sol = solve(path, classic=Classic(model="mclp", p=p, radius=radius))
        assert sol.status == "optimal" and sol.objective == pytest.approx(best)
