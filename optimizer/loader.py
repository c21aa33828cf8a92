"""Load an instance file: read → expand CSV tables → validate → freeze.

All problems found are raised together as one `InputError`, each naming the file and the
field or row, so a user fixes a file in one pass instead of one error per run.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from optimizer.errors import InputError
from optimizer.instance import Instance
from optimizer.schema import CSV_TABLES, InstanceSpec
from optimizer.validate import cross_check

DEFAULT_INSTANCE = "un-2009.yaml"


def default_instance_path() -> Path:
    """The bundled default instance (installed with the `instances` package)."""
    return Path(str(resources.files("instances").joinpath(DEFAULT_INSTANCE)))


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


def read_document(path: Path) -> dict[str, Any]:
    """Parse YAML or JSON into a mapping; syntax errors name the line."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an instance file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read file ({exc})") from exc
    if not text.strip():
        raise InputError(f"{path}: file is empty")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"{path}: YAML syntax error{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: the top level must be a mapping of sections (nodes, hubs, ...), got {type(data).__name__}")
    return data


def _read_csv_table(table: str, csv_path: Path, errors: list[str]) -> list[dict[str, Any]]:
    """Rows of a CSV table; empty cells are omitted so that defaults apply."""
    model = CSV_TABLES[table]
    if not csv_path.exists():
        errors.append(f"{table}: CSV file '{csv_path}' not found")
        return []
    try:
        with csv_path.open(newline="", encoding="utf-8") as fh:
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
            for row in reader:
                rows.append({k.strip(): v.strip() for k, v in row.items() if k is not None and v is not None and v.strip() != ""})
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        errors.append(f"{csv_path.name}: cannot read CSV ({exc})")
        return []


def _format_validation_error(exc: ValidationError, where: Locator) -> list[str]:
    out = []
    for e in exc.errors(include_url=False):
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        got = e.get("input")
        shown = "" if e["type"] in ("missing", "extra_forbidden") or isinstance(got, dict | list) else f" (got {got!r})"
        out.append(f"{where(tuple(e['loc']))}: {msg}{shown}")
    return out


def parse_spec(data: dict[str, Any], path: Path) -> InstanceSpec:
    """Validate a parsed document (CSV tables expanded) into an `InstanceSpec`."""
    errors: list[str] = []
    where = Locator(path=path, raw=data)
    data = dict(data)
    for table in CSV_TABLES:
        ref = data.get(table)
        if isinstance(ref, str):
            csv_path = (path.parent / ref).resolve()
            where.csv_tables[table] = csv_path
            data[table] = _read_csv_table(table, csv_path, errors)
    where.raw = data
    try:
        spec = InstanceSpec.model_validate(data)
    except ValidationError as exc:
        errors += _format_validation_error(exc, where)
        raise InputError(errors, headline=f"{path}: invalid instance ({len(errors)} problem(s))") from None
    errors += cross_check(spec, where)
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
