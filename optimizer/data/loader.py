"""Load an instance file: read → expand CSV tables → validate → freeze.

All problems found are raised together as one `InputError`, each naming the file and the
field or row, so a user fixes a file in one pass instead of one error per run.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import json
import os
import stat
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.schema import (
    CSV_TABLES,
    AssetType,
    FlatDemand,
    Hub,
    InstanceSpec,
    Link,
    Mode,
    Node,
    Options,
    Record,
    Route,
    Scenario,
)
from horizon.optimizer.data.validate import cross_check
from horizon.optimizer.errors import InputError

DEFAULT_INSTANCE = "un-2009.yaml"


@dataclass(frozen=True)
class ReadLimits:
    """What the loader accepts from a file: at most `max_bytes` per file (instance or CSV
    table; never more than that plus one byte is read), values nested at most `max_depth`
    deep, YAML aliases expanding to at most `ALIAS_GROWTH` times the document's own values,
    and CSV tables only inside the instance's folder unless `outside_tables`."""

    max_bytes: int = 200 * 1024 * 1024
    max_depth: int = 32
    outside_tables: bool = False


ALIAS_GROWTH = 10  # expanded values per value written, beyond `ALIAS_SLACK`
ALIAS_SLACK = 100_000
_LIMITS: list[ReadLimits] = [ReadLimits()]


def read_limits() -> ReadLimits:
    """The limits in force (set by `limits`; the defaults otherwise)."""
    return _LIMITS[-1]


@contextlib.contextmanager
def limits(value: ReadLimits) -> Iterator[ReadLimits]:
    """Load with `value` as the limits for the block (a command's --max-input-mb)."""
    _LIMITS.append(value)
    try:
        yield value
    finally:
        _LIMITS.pop()


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def read_bounded(path: Path, what: str, *, regular: bool = False) -> bytes:
    """The bytes of `path`, reading at most the size limit plus one byte (a device such as
    /dev/zero fails at once when `regular`, and after the limit otherwise)."""
    limit = read_limits().max_bytes
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        if regular and not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: {what} must be a regular file")
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise InputError(f"{path}: {what} is {_megabytes(st.st_size)}, above the {_megabytes(limit)} limit (--max-input-mb)")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{path}: {what} is larger than the {_megabytes(limit)} limit (--max-input-mb)")
    return data


def _shape(data: object) -> tuple[int, int]:
    """(depth, values) of a parsed document with YAML aliases expanded, without recursion:
    shared values are counted once per reference but walked once."""
    memo: dict[int, tuple[int, int]] = {}
    stack: list[tuple[object, bool]] = [(data, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, dict | list) or (id(node) in memo and not done):
            continue
        children = list(node.values()) if isinstance(node, dict) else node
        if not done:
            memo[id(node)] = (0, 0)  # a placeholder: a cycle (YAML `&a [*a]`) counts once
            stack.append((node, True))
            stack.extend((c, False) for c in children if isinstance(c, dict | list) and id(c) not in memo)
            continue
        depth, count = 0, 1
        for c in children:
            d, n = memo.get(id(c), (0, 1)) if isinstance(c, dict | list) else (0, 1)
            depth, count = max(depth, d), count + n
        memo[id(node)] = (depth + 1, count)
    return memo.get(id(data), (0, 1))


def _unique_values(data: object) -> int:
    seen: set[int] = set()
    stack, count = [data], 0
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, dict | list):
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(node.values() if isinstance(node, dict) else node)
    return count


def default_instance_path() -> Path:
    """The bundled default instance (installed with the `instances` package)."""
    return Path(str(resources.files("horizon.instances").joinpath(DEFAULT_INSTANCE)))


@dataclass
class Locator:
    """Renders a pydantic-style location as 'file: table[row] (id X).field' or a CSV row."""

    path: Path
    raw: dict[str, Any] = field(default_factory=dict)
    csv_tables: dict[str, Path] = field(default_factory=dict)

    def __call__(self, loc: tuple[object, ...]) -> str:
        if not loc:
            return self.path.name
        head, rest = str(loc[0]), list(loc[1:])
        if head in self.csv_tables and rest and isinstance(rest[0], int):
            row = rest.pop(0)
            # CSV row numbers count data rows from 1; the header is line 1 of the file.
            text = f"{self.csv_tables[head].name} row {row + 1} (line {row + 2})"
            return text + (f", column '{'.'.join(map(str, rest))}'" if rest else "")
        text = f"{self.path.name}: {head}"
        node: Any = self.raw.get(head)
        for part in rest:
            if isinstance(part, int):
                text += f"[{part}]"
                node = node[part] if isinstance(node, list) and part < len(node) else None
                if isinstance(node, dict):
                    ident = node.get("id", node.get("node"))
                    if isinstance(ident, str | int):
                        text += f" (id '{ident}')"
            else:
                text += f".{part}"
                node = node.get(part) if isinstance(node, dict) else None
        return text


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one, so a second
    `hubs:` section or a repeated field would quietly replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges may be overridden by explicit keys
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable key: the base class reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key '{key}' (first given on line {first + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(ValueError):
    """A JSON object repeats a key (json keeps the last one silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key, [k for k, _ in pairs])
        out[key] = value
    return out


def read_document(path: Path) -> dict[str, Any]:
    """Parse YAML or JSON into a mapping; syntax errors name the line."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an instance file")
    try:
        raw = read_bounded(path, "the instance file")
        if b"\0" in raw:
            raise InputError(f"{path}: a binary file, not a YAML or JSON instance")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read file ({exc})") from exc
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    if text.startswith("\ufeff"):  # a byte-order mark from a Windows editor
        text = text[1:]
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=_unique_keys)
        else:
            data = yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except _DuplicateKey as exc:
        raise InputError(f"{path}: duplicate key '{exc.args[0]}' in a JSON object (keys: {', '.join(exc.args[1])})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path}: YAML syntax error{where}: {problem}") from exc
    except (RecursionError, MemoryError):
        raise InputError(f"{path}: values nested too deeply (at most {read_limits().max_depth} levels)") from None
    depth, expanded = _shape(data)
    if depth > read_limits().max_depth:
        raise InputError(f"{path}: values nested {depth} levels deep (at most {read_limits().max_depth})")
    if expanded > ALIAS_SLACK and expanded > ALIAS_GROWTH * _unique_values(data):
        raise InputError(f"{path}: YAML aliases expand to {expanded:,} values, far more than the file holds (an alias bomb?)")
    if data is None:
        raise InputError(f"{path}: file has no content (only comments or blank lines)")
    if not isinstance(data, dict):
        raise InputError(
            f"{path}: the top level must be a mapping of sections (nodes, hubs, ...), got {_kind(data)}"
            + (" (a bare string: is this the right file?)" if isinstance(data, str) else "")
        )
    return data


def _kind(value: object) -> str:
    """A user's name for a parsed YAML/JSON value's type."""
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _table_path(table: str, ref: str, path: Path) -> Path:
    """Where the CSV table `ref` of the instance `path` is: a regular file inside the
    instance's folder (anywhere, with `ReadLimits.outside_tables`). An `InputError` names
    the path only: nothing of a file that fails this check is read."""
    if "\0" in ref:
        raise InputError(f"{path.name}: {table}: {ref!r} is not a usable CSV file name")
    folder = path.parent.resolve()
    csv_path = (folder / ref).resolve()
    if not read_limits().outside_tables and not csv_path.is_relative_to(folder):
        raise InputError(
            f"{path.name}: {table}: CSV table '{ref}' is outside the instance's folder {folder} "
            "(use --allow-outside-tables to read it)"
        )
    if not csv_path.exists():
        raise InputError(f"{csv_path.name}: CSV file for {table} not found (looked for {csv_path})")
    if csv_path.is_dir():
        raise InputError(f"{table}: '{csv_path}' is a directory, not a CSV file")
    if not csv_path.is_file():
        raise InputError(f"{table}: '{csv_path}' is not a regular file")
    return csv_path


def _read_csv_table(table: str, csv_path: Path, errors: list[str]) -> list[dict[str, Any]]:
    """Rows of a CSV table; empty cells are omitted so that defaults apply."""
    model = CSV_TABLES[table]
    try:
        raw = read_bounded(csv_path, f"the CSV table for {table}", regular=True)
        if b"\0" in raw:
            errors.append(f"{csv_path.name}: a binary file (NUL bytes), not a CSV table for {table}")
            return []
        # utf-8-sig: spreadsheets save "CSV UTF-8" with a byte-order mark before the header.
        with io.StringIO(raw.decode("utf-8-sig"), newline="") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            allowed = {f.alias or name for name, f in model.model_fields.items()}
            required = {f.alias or name for name, f in model.model_fields.items() if f.is_required()}
            missing = sorted(required - set(header))
            unknown = sorted(set(header) - allowed)
            if not header:
                errors.append(f"{csv_path.name}: empty CSV file (a header row is needed)")
                return []
            if missing:
                errors.append(f"{csv_path.name}: missing column(s) {', '.join(missing)} (needed for {table})")
            if unknown:
                errors.append(f"{csv_path.name}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
            if missing or unknown:
                return []
            rows = []
            for number, row in enumerate(reader, start=1):
                extra = row.get(None)  # type: ignore[call-overload]
                if extra and any(cell.strip() for cell in extra):
                    errors.append(
                        f"{csv_path.name} row {number} (line {reader.line_num}): {len(header) + len(extra)} cells "
                        f"but the header has {len(header)} columns"
                    )
                rows.append({k.strip(): v.strip() for k, v in row.items() if k is not None and v is not None and v.strip() != ""})
            return rows
    except InputError as exc:
        errors.extend(exc.messages)
        return []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        errors.append(f"{csv_path.name}: cannot read CSV ({exc})")
        return []


def _model_at(loc: tuple[object, ...], model: type[BaseModel] = InstanceSpec) -> type[BaseModel] | None:
    """The record model a pydantic error location points into (None when unknown)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = {f.alias or name: f for name, f in current.model_fields.items()}
        fields.update(current.model_fields)
        info = fields.get(str(part))
        if info is None:
            return current if part == loc[-1] else None
        current = _record_in(info.annotation)
    return current


def _record_in(annotation: object) -> type[BaseModel] | None:
    """The BaseModel inside an annotation such as `list[Hub]` or `Options | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _record_in(arg)
            if found is not None:
                return found
    return None


def _suggest(loc: tuple[object, ...]) -> str:
    """' (did you mean 'x'?)' for a misspelt field name, else ''."""
    model = _model_at(loc)
    if model is None or not loc:
        return ""
    names = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.55)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _format_validation_error(exc: ValidationError, where: Locator, prefix: tuple[object, ...] = ()) -> list[str]:
    out = []
    for e in exc.errors(include_url=False):
        msg = e["msg"]
        loc = prefix + tuple(e["loc"])
        if e["type"] == "extra_forbidden":
            msg = "unknown field" + _suggest(loc)
        elif e["type"] == "missing":
            msg = "required field is missing"
        got = e.get("input")
        shown = "" if e["type"] in ("missing", "extra_forbidden") or isinstance(got, dict | list) else f" (got {got!r})"
        out.append(f"{where(loc)}: {msg}{shown}")
    return out


#: Top-level list tables and their row models (for the partial check after schema errors).
ROW_MODELS: dict[str, type[Record]] = {
    "modes": Mode,
    "nodes": Node,
    "links": Link,
    "hubs": Hub,
    "asset_types": AssetType,
    "scenarios": Scenario,
    "demands": FlatDemand,
    "routes": Route,
}


def _row_id(row: object) -> str | None:
    if isinstance(row, dict):
        ident = row.get("id", row.get("node"))
        if isinstance(ident, str | int | float):
            return str(ident)
    return None


def _partial_cross_check(data: dict[str, Any], where: Locator, incomplete: dict[str, set[str] | None]) -> list[str]:
    """Cross-table checks over the rows that did validate, after schema errors elsewhere.

    So that one run reports a wrong number and a dangling reference together. Rows that
    failed are left out; references to their ids and whole-table checks are skipped (see
    `cross_check`), and locations keep the rows' original numbers.
    """
    fields: dict[str, Any] = {}
    positions: dict[str, list[int]] = {}
    for table, model in ROW_MODELS.items():
        raw = data.get(table)
        if raw is None:
            continue
        if not isinstance(raw, list):
            incomplete[table] = None
            continue
        keep, where_from = [], []
        for i, row in enumerate(raw):
            try:
                keep.append(model.model_validate(row))
                where_from.append(i)
            except ValidationError:
                ids = incomplete.setdefault(table, set())
                ident = _row_id(row)
                if ids is not None and ident is not None:
                    ids.add(ident)
                elif ident is None:
                    incomplete[table] = None
        fields[table] = keep
        positions[table] = where_from
    try:
        fields["options"] = Options.model_validate(data.get("options") or {})
    except ValidationError:
        fields["options"] = Options()
        incomplete["options"] = None
    for required in ("nodes", "hubs", "asset_types", "scenarios"):
        if required not in fields:
            fields[required] = []
            incomplete[required] = None
    spec = InstanceSpec.model_construct(**fields)

    def renumbered(loc: tuple[object, ...]) -> str:
        if len(loc) > 1 and isinstance(loc[1], int) and str(loc[0]) in positions:
            loc = (loc[0], positions[str(loc[0])][loc[1]], *loc[2:])
        return where(loc)

    return cross_check(spec, renumbered, incomplete)


def parse_spec(data: dict[str, Any], path: Path) -> InstanceSpec:
    """Validate a parsed document (CSV tables expanded) into an `InstanceSpec`."""
    errors: list[str] = []
    where = Locator(path=path, raw=data)
    data = dict(data)
    incomplete: dict[str, set[str] | None] = {}
    for table in CSV_TABLES:
        ref = data.get(table)
        if isinstance(ref, str):
            try:
                csv_path = _table_path(table, ref, path)
            except InputError as exc:
                errors.extend(exc.messages)
                data[table] = []
                incomplete[table] = None
                continue
            except (OSError, ValueError) as exc:
                errors.append(f"{path.name}: {table}: {ref!r} is not a usable CSV file name ({exc})")
                data[table] = []
                incomplete[table] = None
                continue
            where.csv_tables[table] = csv_path
            before = len(errors)
            data[table] = _read_csv_table(table, csv_path, errors)
            if len(errors) > before:
                incomplete[table] = None
    where.raw = data
    try:
        spec = InstanceSpec.model_validate(data)
    except ValidationError as exc:
        errors += _format_validation_error(exc, where)
        errors += _partial_cross_check(data, where, incomplete)
        raise InputError(errors, headline=f"{path}: invalid instance ({len(errors)} problem(s))") from None
    errors += cross_check(spec, where, incomplete)
    if errors:
        raise InputError(errors, headline=f"{path}: invalid instance ({len(errors)} problem(s))")
    return spec


def load_instance(path: str | Path | None = None) -> Instance:
    """Read, validate and freeze an instance file (the bundled default when `path` is None)."""
    p = Path(path) if path is not None else default_instance_path()
    data = read_document(p)
    spec = parse_spec(data, p)
    return Instance.from_spec(spec, source=str(p))


def instance_json_schema() -> dict[str, Any]:
    """JSON Schema of the instance format (what `horizon schema` prints)."""
    return InstanceSpec.model_json_schema(by_alias=True)
