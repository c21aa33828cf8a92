"""OR-Library cap and pmed through the command line: published optima and malformed files.

`horizon import orlib-cap|orlib-pmed FILE -o X.yaml` then `horizon solve X.yaml --json`,
run in-process with click's CliRunner. The small files they need are in tests/data/orlib
(byte-for-byte copies of OR-Library's, checked against shared/ when it is beside the project).
The full sets are in benchmarks/bench_orlib.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from horizon.cli import main

DATA = Path(__file__).resolve().parent / "data" / "orlib"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "orlib"

# Published optima (OR-Library capopt / uncapopt / pmedopt).
PUBLISHED = {
    ("cap41", "cap"): 1040444.375,
    ("cap71", "cap"): 932615.75,
    ("cap71", "uncap"): 932615.75,
    ("cap131", "cap"): 793439.562,
    ("cap131", "uncap"): 793439.562,
    ("cap81", "cap"): 838499.288,  # one customer's demand exceeds every capacity: needs split sourcing
    ("pmed1", "pmed"): 5819,
    ("pmed2", "pmed"): 4093,
}


def run(*args: object):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def orlib_file(name: str) -> Path:
    return DATA / f"{name}.txt"


def import_and_solve(tmp_path: Path, fmt: str, src: Path, *extra: object) -> dict:
    out = tmp_path / f"{src.stem}.yaml"
    imported = run("import", f"orlib-{fmt}", src, "-o", out, *extra)
    assert imported.exit_code == 0, imported.output
    assert out.exists()
    solved = run("solve", out, "--json")
    assert solved.exit_code == 0, solved.output
    return json.loads(solved.stdout)


@pytest.mark.parametrize(("name", "variant"), list(PUBLISHED))
def test_published_optimum_through_cli(tmp_path, name, variant):
    src = orlib_file(name)
    fmt = "pmed" if variant == "pmed" else "cap"
    extra = ["--uncapacitated"] if variant == "uncap" else []
    d = import_and_solve(tmp_path, fmt, src, *extra)
    assert d["status"] == "optimal"
    assert d["objective"] == pytest.approx(PUBLISHED[(name, variant)], rel=1e-6)
    if fmt == "pmed":
        p = int(src.read_text().split()[2])
        assert len(d["open_hubs"]) == p


def test_bundled_copies_match_shared_optima():
    """The optima listed here and in tests/data/orlib are the ones in shared/ optima.json."""
    if not (SHARED / "optima.json").exists():
        pytest.skip("shared/ is absent")
    optima = json.loads((SHARED / "optima.json").read_text())
    table = {"cap": optima["cap"], "uncap": optima["uncapacitated"], "pmed": optima["pmed"]}
    for (name, variant), value in PUBLISHED.items():
        assert table[variant][name]["optimum"] == pytest.approx(value, rel=1e-9), (name, variant)
    for f in DATA.glob("*.txt"):
        kind = "pmed" if f.stem.startswith("pmed") else "cap"
        assert f.read_bytes() == (SHARED / kind / f.name).read_bytes(), f.name
    assert {name for name, _ in PUBLISHED} <= {f.stem for f in DATA.glob("*.txt")}


# --- handmade instances with optima derived by hand --------------------------------------

# 3 warehouses (capacity, fixed cost), 2 customers (demand, then the cost of serving ALL of
# that customer from warehouse 1, 2, 3).
#   w1: s=10 f=5   w2: s=10 f=7   w3: s=100 f=1000 (never worth opening)
#   c1: d=15, c = 30 60 15        c2: d=5, c = 50 10 5
# Capacitated: no single warehouse but w3 holds 20 units, so w1+w2 open (12) and both ship
# exactly 10. With a = units of c1 from w1 (5 <= a <= 10) the variable cost is
#   c1: 30 a/15 + 60 (15-a)/15 = 60 - 2a;  c2: 50 (10-a)/5 + 10 (a-5)/5 = 90 - 8a,
# 150 - 10a, least at a = 10: c1 is split 10 (w1) + 5 (w2), c2 all from w2. Total 12 + 50 = 62.
# Uncapacitated: w1+w2 with c1 all from w1 (30) and c2 all from w2 (10): 12 + 40 = 52
# (w1 alone 85, w2 alone 77, anything with w3 >= 1000).
HAND_CAP = """\
 3 2
 10 5
 10 7
 100 1000
 15
 30 60 15
 5
 50 10 5
"""
# The same with every capacity written as the word 'capacity' (as in capa/capb/capc).
HAND_CAPA = """\
 3 2
 capacity 5
 capacity 7
 capacity 1000
 15
 30 60 15
 5
 50 10 5
"""


def test_hand_cap_split_sourcing(tmp_path):
    src = tmp_path / "hand.txt"
    src.write_text(HAND_CAP)
    d = import_and_solve(tmp_path, "cap", src)
    assert d["status"] == "optimal"
    assert d["objective"] == pytest.approx(62.0, rel=1e-9)
    assert sorted(d["open_hubs"]) == ["w1", "w2"]
    units = {(r["hub"], r["mission"]): r["units"] for r in d["dispatch"]}
    assert units == pytest.approx({("w1", "c1"): 10.0, ("w2", "c1"): 5.0, ("w2", "c2"): 5.0})


def test_hand_cap_uncapacitated(tmp_path):
    src = tmp_path / "hand.txt"
    src.write_text(HAND_CAP)
    d = import_and_solve(tmp_path, "cap", src, "--uncapacitated")
    assert d["objective"] == pytest.approx(52.0, rel=1e-9)
    units = {(r["hub"], r["mission"]): r["units"] for r in d["dispatch"]}
    assert units == pytest.approx({("w1", "c1"): 15.0, ("w2", "c2"): 5.0})


def test_hand_cap_literal_capacity_with_option(tmp_path):
    """capa/b/c style: the word 'capacity' stands for the number given with --capacity."""
    src = tmp_path / "handa.txt"
    src.write_text(HAND_CAPA)
    d = import_and_solve(tmp_path, "cap", src, "--capacity", 10)
    # Now w3 holds only 10 too: w1+w2 (62) is still best.
    assert d["objective"] == pytest.approx(62.0, rel=1e-9)


# pmed: 3 vertices, p = 1. The pair 1-2 appears twice; the LAST line (written 2 1, cost 10)
# wins although it is higher: d12 = 10, d23 = 1, d13 = 11 (via 2). Medians: at 1: 0+10+11 = 21,
# at 2: 10+0+1 = 11, at 3: 11+1+0 = 12 -> 11. (Keeping the minimum would give d12 = 1 and 2.)
HAND_PMED = """\
 3 3 1
 1 2 1
 2 3 1
 2 1 10
"""


def test_hand_pmed_last_repeated_edge_wins(tmp_path):
    src = tmp_path / "tiny.txt"
    src.write_text(HAND_PMED)
    d = import_and_solve(tmp_path, "pmed", src)
    assert d["status"] == "optimal"
    assert d["objective"] == pytest.approx(11.0, rel=1e-9)
    assert d["open_hubs"] == ["v2"]


def test_hand_pmed_lower_repeat_also_wins(tmp_path):
    """The mirror case: a later, lower cost for the pair replaces the earlier one."""
    src = tmp_path / "tiny2.txt"
    src.write_text(" 3 3 1\n 1 2 10\n 2 3 1\n 2 1 1\n")
    d = import_and_solve(tmp_path, "pmed", src)
    assert d["objective"] == pytest.approx(2.0, rel=1e-9)


# --- malformed files: exit 2, a clear message, no traceback -------------------------------


def import_fails(tmp_path: Path, fmt: str, text: str | None, *extra: object) -> str:
    src = tmp_path / "bad.txt"
    if text is not None:
        src.write_text(text)
    out = tmp_path / "out.yaml"
    result = run("import", f"orlib-{fmt}", src, "-o", out, *extra)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "error" in result.output
    assert not out.exists()
    return " ".join(result.output.split())  # rich may wrap long messages


def test_cap_too_few_numbers(tmp_path):
    msg = import_fails(tmp_path, "cap", " 2 2\n 10 5\n 10 7\n 4\n 1 2\n 4\n 3\n")
    assert "too few numbers" in msg
    assert "cost of serving customer 2 from warehouse 2" in msg


def test_cap_non_number_names_the_line(tmp_path):
    msg = import_fails(tmp_path, "cap", " 2 1\n 10 5\n 10 7\n 4\n 1 x2\n")
    assert "line 5" in msg
    assert "'x2' is not a number" in msg


def test_cap_extra_numbers(tmp_path):
    msg = import_fails(tmp_path, "cap", " 1 1\n 10 5\n 4\n 1\n 99\n")
    assert "line 5" in msg
    assert "after the last customer" in msg


def test_cap_literal_capacity_needs_option(tmp_path):
    msg = import_fails(tmp_path, "cap", HAND_CAPA)
    assert "--capacity" in msg
    assert "capacity" in msg


def test_cap_capacity_option_without_literal(tmp_path):
    msg = import_fails(tmp_path, "cap", HAND_CAP, "--capacity", 10)
    assert "numeric capacities" in msg


def test_cap_missing_file(tmp_path):
    msg = import_fails(tmp_path, "cap", None)
    assert "not found" in msg
    assert "bad.txt" in msg


def test_pmed_missing_file(tmp_path):
    msg = import_fails(tmp_path, "pmed", None)
    assert "not found" in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 3 2 1\n 0 2 5\n 2 3 1\n", "line 2"),  # vertex id 0
        (" 3 2 1\n 1 2 5\n 2 4 1\n", "vertex 4 of edge 2 is not in 1..3"),
        (" 3 2 1\n 1 2 5\n", "too few numbers"),
        (" 3 2 1\n 1 2 5\n 2 3 one\n", "'one' is not a number"),
        (" 3 1 4\n 1 2 5\n", "p = 4 medians but only 3 vertices"),
        (" 3 1 1\n 1 2.5 5\n", "not a whole number"),
    ],
    ids=["vertex-0", "vertex-above-n", "too-few", "non-number", "p-above-n", "fractional-id"],
)
def test_pmed_malformed(tmp_path, text, expected):
    msg = import_fails(tmp_path, "pmed", text)
    assert expected in msg
    if "line" in expected:
        assert "edge 1" in msg  # says which edge


def test_empty_file(tmp_path):
    msg = import_fails(tmp_path, "pmed", "\n\n")
    assert "empty" in msg


# --- the benchmark script, on a file of its own ------------------------------------------


def load_bench(name: str, monkeypatch):  # noqa: ANN001, ANN201
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_bench_orlib_file_mode(tmp_path, monkeypatch):
    bench = load_bench("bench_orlib", monkeypatch)
    src = tmp_path / "hand.txt"
    src.write_text(HAND_CAP)
    out = tmp_path / "table.md"
    assert bench.main(["--file", str(src), "--format", "cap", "--optimum", "62", "--out", str(out)]) == 0
    text = out.read_text()
    assert "python benchmarks/bench_orlib.py --file" in text
    assert "| hand | 62 | 62 | optimal |" in text
    assert "1 of 1 match" in text
    # A wrong optimum is a mismatch: exit code 1.
    assert bench.main(["--file", str(src), "--format", "cap", "--uncapacitated", "--optimum", "62"]) == 1
