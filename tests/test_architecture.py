"""The house rules that keep horizon easy to change: one installed name, imports one way.

* `pip install` adds exactly one package, `horizon`, to site-packages (no generic top-level
  `cli`, `models` or `optimizer` to clash with other packages), and its command works from
  there.
* The import-linter contracts in pyproject.toml hold: data → network → models → solve →
  results → pipeline → planning → commands → cli, and within solve and models.
* No test file imports another (shared helpers live in conftest.py).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sysconfig.get_path("scripts")) / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("lint-imports is not installed (pip install '.[test]')")
    proc = subprocess.run([exe, str(ROOT / "pyproject.toml")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_test_file_imports_another() -> None:
    tests = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            assert not (set(names) & tests), f"{path.name} imports {set(names) & tests}"


def test_wheel_installs_one_namespace(tmp_path: Path) -> None:
    """Build the wheel, install it into a fresh venv (dependencies from this interpreter's
    site-packages), list what it added, and run the installed command outside the checkout."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("horizon-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    before = set(os.listdir(site))
    install = subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    added = sorted(set(os.listdir(site)) - before)
    assert added == ["horizon", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"], added
    inside = {p.relative_to(site / "horizon").parts[0] for p in (site / "horizon").rglob("*")}
    assert {"cli.py", "optimizer", "models", "instances"} <= inside
    assert not inside & {"tests", "benchmarks", "docs"}, inside
    assert (site / "horizon" / "optimizer" / "results" / "data" / "countries-110m.json").is_file()  # the map's basemap
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [venv / "bin" / "horizon", "solve", "--json"], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["status"] == "optimal"
    where = subprocess.run(
        [py, "-c", "import horizon; print(horizon.__file__)"], capture_output=True, text=True, cwd=tmp_path, env=env, check=True
    )
    assert Path(where.stdout.strip()).parent == site / "horizon"
