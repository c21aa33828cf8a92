"""The instance generator: deterministic, loadable (YAML and CSV-split), feasible."""

from __future__ import annotations

import math

import pytest

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.writer import write_instance
from horizon.optimizer.network.generate import generate_spec
from horizon.optimizer.pipeline import solve

SMALL = dict(missions=8, hubs=4, types=3, scenarios=6)


@pytest.fixture(scope="module")
def small_spec():
    return generate_spec(**SMALL, seed=7)


def test_same_seed_same_spec(small_spec):
    again = generate_spec(**SMALL, seed=7)
    assert again == small_spec
    assert again.model_dump() == small_spec.model_dump()


def test_other_seed_other_spec(small_spec):
    other = generate_spec(**SMALL, seed=8)
    assert other.model_dump() != small_spec.model_dump()
    assert [n.lat for n in other.nodes] != [n.lat for n in small_spec.nodes]


def test_sizes_and_categories():
    spec = generate_spec(missions=13, hubs=5, types=6, scenarios=11, seed=3)
    inst = Instance.from_spec(spec)
    assert len(inst.missions) == 13
    assert len(inst.hubs) == 5
    assert len(spec.scenarios) == 11
    cats = [t.category for t in spec.asset_types]
    assert cats.count("force") == 3 and cats.count("airlift") == 1 and cats.count("helicopter") == 2
    lift = next(t.id for t in spec.asset_types if t.category == "airlift")
    for t in spec.asset_types:
        if t.category == "force":
            assert lift in t.lift and "air" in t.modes
    assert all(s.demands for s in spec.scenarios)
    assert any(len({d.mission for d in s.demands}) > 1 for s in spec.scenarios)  # some simultaneous crises


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_probabilities_sum_to_one(seed):
    spec = generate_spec(missions=20, hubs=6, types=4, scenarios=25, seed=seed)
    probs = [s.probability for s in spec.scenarios]
    assert all(p is not None and 0 <= p <= 1 for p in probs)
    assert math.isclose(math.fsum(probs), 1.0, abs_tol=1e-12)


def test_deadlines_whole_hours_at_least_a_day(small_spec):
    for s in small_spec.scenarios:
        for d in s.demands:
            assert d.deadline_hours is not None and 24 <= d.deadline_hours
            assert float(d.deadline_hours).is_integer()


def _same_instance(a: Instance, b: Instance) -> None:
    assert a.spec.nodes == b.spec.nodes
    assert a.spec.links == b.spec.links
    assert a.spec.hubs == b.spec.hubs
    assert a.spec.asset_types == b.spec.asset_types
    assert a.demands == b.demands
    assert a.probabilities == b.probabilities


def test_write_yaml_loads(tmp_path, small_spec):
    path = tmp_path / "small.yaml"
    written = write_instance(small_spec, path, csv_threshold=None)
    assert written == [path]
    assert not list(tmp_path.glob("*.csv")) and not list(tmp_path.glob(".*tmp*"))
    _same_instance(load_instance(path), Instance.from_spec(small_spec))


def test_write_csv_split_loads(tmp_path, small_spec):
    path = tmp_path / "sub" / "split.yaml"
    written = write_instance(small_spec, path, csv_threshold=5)
    names = sorted(p.name for p in written)
    assert names == ["split.demands.csv", "split.links.csv", "split.nodes.csv", "split.scenarios.csv", "split.yaml"]
    text = path.read_text()
    assert "nodes: split.nodes.csv" in text and "demands: split.demands.csv" in text
    assert not list(path.parent.glob(".*tmp*"))
    _same_instance(load_instance(path), Instance.from_spec(small_spec))


def test_small_instance_solves_optimal(tmp_path, small_spec):
    path = tmp_path / "small.yaml"
    write_instance(small_spec, path, csv_threshold=10)
    solution = solve(path)
    assert solution.status == "optimal"
    assert solution.open_hubs and not solution.unmet


def test_soft_deadlines_variant_solves():
    spec = generate_spec(**SMALL, seed=11, deadlines="soft")
    assert spec.options.deadlines == "soft"
    assert all(t.penalty and t.penalty > t.holding_cost for t in spec.asset_types)
    assert solve(Instance.from_spec(spec)).status == "optimal"


def test_invalid_sizes_rejected():
    with pytest.raises(ValueError):
        generate_spec(0, 1, 1, 1, seed=0)
    with pytest.raises(ValueError):
        generate_spec(1, 1, 1, 1, seed=0, deadlines="maybe")


@pytest.mark.parametrize(("size", "seed"), [((1, 1, 1, 1), 0), ((3, 2, 9, 4), 1), ((12, 3, 5, 8), 2)])
def test_hard_deadlines_feasible_by_construction(size, seed):
    spec = generate_spec(*size, seed=seed)
    assert solve(Instance.from_spec(spec)).status == "optimal"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_split_loads_never_costs_more(seed):
    """Splitting a unit's loads across lift types only relaxes the plan: the optimum can only fall,
    and the split plan passes the independent re-check (whole units per hub, lift per scenario)."""
    from recheck import recheck

    whole = generate_spec(10, 4, 8, 6, seed=seed)
    split = generate_spec(10, 4, 8, 6, seed=seed, split_loads=True)
    assert split.options.split_loads and not whole.options.split_loads
    assert split.model_dump(exclude={"options", "description"}) == whole.model_dump(exclude={"options", "description"})
    a, b = solve(Instance.from_spec(whole)), solve(Instance.from_spec(split))
    assert a.status == b.status == "optimal"
    assert b.objective <= a.objective + 1e-6 * abs(a.objective)
    assert recheck(Instance.from_spec(split), b) == []


def test_generate_cli_split_loads_flag(tmp_path):
    from click.testing import CliRunner

    from horizon.cli import main

    out = tmp_path / "g.yaml"
    result = CliRunner().invoke(
        main, ["generate", "--missions", "4", "--hubs", "2", "--types", "3", "--scenarios", "2", "--split-loads", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert load_instance(out).options.split_loads
