"""Hostile input: mutated instances, deep nesting, oversized and out-of-folder files, numbers
the solver cannot take, ids that look like markup.

Every bad input ends with exit 2 (invalid) or 3 (infeasible) and a message, never a
traceback; `validate` and `solve` agree on every input. The seeded fuzz runs a few hundred
mutations by default and thousands under ``python -m pytest -m slow``.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from horizon.cli import main
from horizon.optimizer.data.schema import HIGHS_INFINITY, MAX_NUMBER

ROOT = Path(__file__).parent.parent
TINY = ROOT / "instances" / "tiny-two-hubs.yaml"
BASES = [TINY, *sorted((Path(__file__).parent / "instances").glob("*.yaml"))]
HOSTILE: list[Any] = [
    None,
    "",
    "abc",
    "[/]",
    "[/bold]",
    "[bold red]H9",
    ":warning:",
    [],
    {},
    {"x": 1},
    True,
    -1,
    -1e-300,
    0,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e30,
    1e308,
    10**400,
    2**63,
    "1e400",
    "NaN",
    "\0",
    "é" * 300,
]


def cli(*args: object) -> Any:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert "internal error" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def rejected(path: Path, *needles: str, codes: tuple[int, ...] = (2,)) -> str:
    result = cli("validate", path)
    assert result.exit_code in codes, result.output
    text = " ".join(result.output.split())
    assert "error:" in text
    for needle in needles:
        assert needle in text, (needle, text)
    return text


# --- seeded mutations ---------------------------------------------------------------------
def _paths(doc: Any, at: tuple = ()) -> list[tuple]:
    """Every location in a parsed document (mapping keys and list positions)."""
    out = [at]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*at, i))
    return out


def _get(doc: Any, at: tuple) -> Any:
    for k in at:
        doc = doc[k]
    return doc


def mutate(doc: dict, rng: random.Random) -> dict:
    """One to three random changes: a field removed, a value replaced by a hostile one, a
    record duplicated (duplicate ids), a reference made dangling, a value nested deeply."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        at = rng.choice(_paths(doc)[1:])
        parent, key = _get(doc, at[:-1]), at[-1]
        kind = rng.random()
        if kind < 0.2 and isinstance(parent, dict):
            del parent[key]
        elif kind < 0.3 and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif kind < 0.4 and isinstance(parent[key], str):
            parent[key] = parent[key] + "-missing"
        elif kind < 0.45:
            deep: Any = 1
            for _ in range(rng.choice((40, 100))):
                deep = [deep]
            parent[key] = deep
        else:
            parent[key] = copy.deepcopy(rng.choice(HOSTILE))
    return doc


def dump(doc: dict, path: Path) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(doc, default=str))  # NaN and Infinity as JSON extensions
    else:
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def byte_mutation(text: bytes, rng: random.Random) -> bytes:
    """Bytes flipped, cut, a BOM or NUL added, a line repeated."""
    data = bytearray(text)
    kind = rng.randrange(5)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:
        data = data[: rng.randrange(len(data))]
    elif kind == 2:
        data = bytearray(b"\xef\xbb\xbf") + data
    elif kind == 3:
        data.insert(rng.randrange(len(data)), 0)
    else:
        lines = bytes(data).splitlines(keepends=True)
        i = rng.randrange(len(lines))
        data = bytearray(b"".join(lines[:i] + [lines[i]] * 2 + lines[i:]))
    return bytes(data)


def agree(path: Path) -> int:
    """validate's exit code, checked against solve's: an input validate rejects (2, 3), solve
    rejects the same way; one it accepts, solve solves or proves infeasible (never 2 or 4)."""
    checked = cli("validate", path)
    assert checked.exit_code in (0, 2, 3), checked.output
    if checked.exit_code:
        assert "error:" in checked.output
    solved = cli("solve", path, "--time-limit", "20")
    if checked.exit_code in (2, 3):
        assert solved.exit_code == checked.exit_code, (checked.output, solved.output)
    else:
        assert solved.exit_code in (0, 3), solved.output
    return checked.exit_code


def _fuzz(tmp_path: Path, seed: int, count: int) -> dict[int, int]:
    rng = random.Random(seed)
    seen: dict[int, int] = {}
    for n in range(count):
        base = rng.choice(BASES)
        path = tmp_path / f"m{n}{rng.choice(('.yaml', '.json'))}"
        if rng.random() < 0.8:
            dump(mutate(yaml.safe_load(base.read_text()), rng), path)
        else:
            path = path.with_suffix(".yaml")
            path.write_bytes(byte_mutation(base.read_bytes(), rng))
        code = agree(path)
        seen[code] = seen.get(code, 0) + 1
    return seen


def test_seeded_mutations_are_rejected_with_a_message_and_validate_agrees_with_solve(tmp_path) -> None:
    seen = _fuzz(tmp_path, seed=28, count=400)
    assert seen.get(2, 0) > 200, seen  # most mutations break the file


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_many_seeded_mutations(tmp_path, seed) -> None:
    _fuzz(tmp_path, seed=1000 + seed, count=2000)


# --- nesting, size, binary, aliases -------------------------------------------------------
def test_deep_nesting_is_invalid_input(tmp_path) -> None:
    (tmp_path / "deep.yaml").write_text("name: x\nnodes: " + "[" * 1000 + "]" * 1000 + "\n")
    rejected(tmp_path / "deep.yaml", "nested too deeply")
    (tmp_path / "deep.json").write_text('{"name": ' + "[" * 5000 + "]" * 5000 + "}")
    rejected(tmp_path / "deep.json", "nested too deeply")
    (tmp_path / "forty.yaml").write_text("name: x\nnodes: " + "[" * 40 + "]" * 40 + "\n")
    rejected(tmp_path / "forty.yaml", "nested 41 levels deep")


def test_yaml_alias_bomb_is_refused(tmp_path) -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    rejected(tmp_path / "bomb.yaml", "aliases expand")


def test_binary_and_empty_files(tmp_path) -> None:
    (tmp_path / "bin.yaml").write_bytes(bytes(range(256)) * 4)
    rejected(tmp_path / "bin.yaml", "binary file")
    (tmp_path / "latin.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    rejected(tmp_path / "latin.yaml", "cannot read file")


def test_size_limit_and_its_option(tmp_path) -> None:
    data = yaml.safe_load(TINY.read_text())
    data["description"] = "x" * 1_200_000
    (tmp_path / "big.yaml").write_text(yaml.safe_dump(data))
    result = cli("validate", tmp_path / "big.yaml", "--max-input-mb", "1")
    assert result.exit_code == 2 and "limit (--max-input-mb)" in " ".join(result.output.split()), result.output


def test_a_device_as_the_instance_fails_fast_without_reading_it_all(tmp_path) -> None:
    result = cli("validate", "/dev/zero", "--max-input-mb", "1")
    assert result.exit_code == 2 and "limit" in result.output, result.output


# --- CSV tables ---------------------------------------------------------------------------
def _with_nodes_csv(tmp_path: Path, ref: str) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["nodes"] = ref
    path = tmp_path / "inst.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


NODES_CSV = "id,kind\nA,mission\nB,mission\nH1,hub\nH2,hub\n"


def test_csv_tables_must_be_regular_files_inside_the_instance_folder(tmp_path) -> None:
    for ref in ("/dev/zero", "/etc/passwd", "../../../../etc/passwd"):
        text = rejected(_with_nodes_csv(tmp_path, ref), "outside the instance's folder", ref)
        assert "root:" not in text
    (tmp_path / "fifo.csv").mkdir()
    rejected(_with_nodes_csv(tmp_path, "fifo.csv"), "is a directory")
    outside = tmp_path.parent / f"{tmp_path.name}-nodes.csv"
    outside.write_text(NODES_CSV)
    (tmp_path / "link.csv").symlink_to(outside)
    rejected(_with_nodes_csv(tmp_path, "link.csv"), "outside the instance's folder")
    ok = cli("validate", _with_nodes_csv(tmp_path, str(outside)), "--allow-outside-tables")
    assert ok.exit_code == 0, ok.output
    (tmp_path / "nodes.csv").write_text(NODES_CSV)
    assert cli("validate", _with_nodes_csv(tmp_path, "nodes.csv")).exit_code == 0


@pytest.mark.parametrize(
    "content, needle",
    [
        ("\ufeffid,kind\nA,mission\nB,mission\nH1,hub\nH2,hub\n", None),  # BOM: fine
        ('id,kind\n"A",mission\nB,"mission"\nH1,hub\nH2,hub\n', None),  # quotes: fine
        ("id,kind\nA,mission,extra\nB,mission\nH1,hub\nH2,hub\n", "cells but the header has 2 columns"),
        ("id,kind\nA,mis\0sion\nB,mission\nH1,hub\nH2,hub\n", "binary file"),
        ('id,kind\n"A,mission\nB,mission\n', None),
        ("", "empty CSV file"),
        ("id\nA\n", "missing column(s) kind"),
        ("id,kind,colour\nA,mission,red\n", "unknown column(s) colour"),
    ],
)
def test_csv_quirks(tmp_path, content, needle) -> None:
    (tmp_path / "nodes.csv").write_text(content, encoding="utf-8")
    result = cli("validate", _with_nodes_csv(tmp_path, "nodes.csv"))
    if needle is None:
        assert result.exit_code in (0, 2, 3), result.output
    else:
        assert result.exit_code == 2 and needle in " ".join(result.output.split()), result.output


def test_csv_size_limit(tmp_path) -> None:
    (tmp_path / "nodes.csv").write_text(NODES_CSV + "".join(f"M{i},mission\n" for i in range(100_000)))
    result = cli("validate", _with_nodes_csv(tmp_path, "nodes.csv"), "--max-input-mb", "0.5")
    assert result.exit_code == 2 and "--max-input-mb" in result.output, result.output


# --- numbers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field, value",
    [
        (("scenarios", 0, "demands", 0, "units"), 1e30),
        (("hubs", 0, "fixed_cost"), 1e308),
        (("hubs", 0, "fixed_cost"), float("inf")),
        (("hubs", 0, "fixed_cost"), float("nan")),
        (("asset_types", 0, "holding_cost"), 2e10),
        (("options", "max_hubs"), 10**40),
        (("asset_types", 0, "fleet_limit"), float("inf")),
    ],
)
def test_numbers_the_solver_cannot_take_are_invalid_naming_field_and_row(tmp_path, field, value) -> None:
    data = yaml.safe_load(TINY.read_text())
    data.setdefault("options", {})
    _get(data, field[:-1])[field[-1]] = value
    path = tmp_path / "n.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    text = rejected(path, str(field[-1]))
    assert re.search(r"\[\d+\]|options", text), text
    assert cli("solve", path).exit_code == 2


def test_products_beyond_what_highs_takes_are_caught_in_the_model(tmp_path) -> None:
    data = yaml.safe_load(TINY.read_text())
    data["modes"][0]["cost_per_km"] = MAX_NUMBER
    data["links"][0]["distance_km"] = MAX_NUMBER
    data.setdefault("options", {})["crises_per_year"] = MAX_NUMBER
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rejected(path, "numbers too large for the solver", "beyond what the solver takes", codes=(2, 3))
    assert math.isclose(MAX_NUMBER, math.sqrt(HIGHS_INFINITY)) and HIGHS_INFINITY == 1e20


# --- ids printed literally ----------------------------------------------------------------
@pytest.mark.parametrize("hub", ["[/]", "[/bold]", "[bold red]H9", ":warning:", "[link=x]y"])
def test_ids_that_look_like_markup_are_printed_as_written(tmp_path, hub) -> None:
    data = yaml.safe_load(TINY.read_text())
    data["hubs"].append({"node": hub})
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = cli("validate", path)
    assert result.exit_code == 2 and hub in result.output, result.output
    as_json = cli("solve", path, "--json")
    assert as_json.exit_code == 2
    # a valid instance whose ids look like markup: the summary shows them as written
    path.write_text(yaml.safe_dump(_renamed(yaml.safe_load(TINY.read_text()), "H2", hub), sort_keys=False))
    solved = cli("solve", path)
    assert solved.exit_code == 0, solved.output
    assert hub in solved.output, solved.output


def _renamed(doc: Any, old: str, new: str) -> Any:
    if isinstance(doc, dict):
        return {k: _renamed(v, old, new) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_renamed(v, old, new) for v in doc]
    return new if doc == old else doc
