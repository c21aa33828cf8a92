"""--time-limit T ends the whole command (load, build, every start's stages, the second
process of the concurrent start, writing) within T + 1 s, or 5 % when T is longer."""

from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner

from horizon.cli import main

# --start none proves this one optimal in about 6 s on 2 shared cores: longer than the limits here
GENERATED = ["--missions", "60", "--hubs", "20", "--types", "6", "--scenarios", "40", "--seed", "3"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits") / "gen.yaml"
    result = CliRunner().invoke(main, ["generate", *GENERATED, "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


# A shared 2-core machine (load average 7 while measured) delays the parts outside HiGHS's own
# clock (loading, writing, the second process's start); the slack covers that, not the solve.
SHARED_MACHINE_SLACK = 0.5 if os.getloadavg()[0] > 2 * (os.cpu_count() or 1) else 0.0


def allowed(limit: float) -> float:
    return max(limit + 1.0, 1.05 * limit) + SHARED_MACHINE_SLACK


@pytest.mark.parametrize("start", ["none", "lp-neighbourhood", "hubs-first", "concurrent"])
def test_every_start_ends_within_the_time_limit(tmp_path, generated, start) -> None:
    limit = 3.0
    t0 = time.monotonic()
    result = CliRunner().invoke(
        main, ["solve", str(generated), "--start", start, "--time-limit", str(limit), "--json", "--out", str(tmp_path / "p")]
    )
    took = time.monotonic() - t0
    assert result.exit_code in (0, 4), result.output
    assert took <= allowed(limit), f"{start}: {took:.2f} s for --time-limit {limit:g}"
    if result.exit_code == 0:
        solution = json.loads(result.stdout)
        assert solution["timings"]["total"] <= allowed(limit)


@pytest.mark.slow
@pytest.mark.parametrize("start", ["none", "lp-neighbourhood", "hubs-first", "concurrent"])
@pytest.mark.parametrize("limit", [1.0, 6.0])
def test_every_start_ends_within_other_time_limits(tmp_path, generated, start, limit) -> None:
    t0 = time.monotonic()
    result = CliRunner().invoke(main, ["solve", str(generated), "--start", start, "--time-limit", str(limit), "--json"])
    took = time.monotonic() - t0
    assert result.exit_code in (0, 4), result.output
    assert took <= allowed(limit), f"{start}: {took:.2f} s for --time-limit {limit:g}"
