"""docs/python-api.md runs: its Python blocks, in order, in one namespace (as a notebook would)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[str]:
    return BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def test_guide_has_the_walk_through():
    code = "\n".join(blocks())
    for call in (
        "horizon.load(",
        "horizon.solve(",
        ".frames",
        ".to_dir(",
        "edit.set_budget(",
        "horizon.compare(",
        "horizon.sweep(",
        "horizon.build(",
        ".to_pyomo()",
        "solution_from_pyomo(",
    ):
        assert call in code, call


def test_guide_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__guide__"}
    for i, code in enumerate(blocks()):
        try:
            exec(compile(code, f"{GUIDE.name}[block {i + 1}]", "exec"), namespace)  # noqa: S102 - the guide's own code
        except Exception as exc:  # noqa: BLE001 - report which block failed
            pytest.fail(f"block {i + 1} of {GUIDE.name} failed: {type(exc).__name__}: {exc}\n{code}")
    assert (tmp_path / "plan" / "solution.json").exists()
    assert (tmp_path / "plan-capped" / "stationing.csv").exists()
    capped, soft_objective = namespace["capped"], namespace["horizon"].solve(namespace["soft"]).objective
    assert capped.objective >= soft_objective - 1e-6 * abs(soft_objective)
