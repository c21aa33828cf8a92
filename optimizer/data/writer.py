"""Writing instances back to files: YAML, with big tables in CSV files beside it.

Used by the generator and the OR-Library importers. Every file is written to a temp file
and renamed into place (the YAML last), so a failure leaves nothing half-written.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from horizon.optimizer.data.schema import CSV_TABLES, InstanceSpec
from horizon.optimizer.files import replacing_all


def _rows(spec: InstanceSpec, table: str) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True) for r in getattr(spec, table)]


def _csv_cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def _csv_ok(rows: list[dict[str, Any]]) -> bool:
    return all(not isinstance(v, list | dict) for r in rows for v in r.values())


def _csv_text(rows: list[dict[str, Any]], table: str) -> str:
    model = CSV_TABLES[table]
    order = [f.alias or name for name, f in model.model_fields.items()]
    if "scenario" in order:  # flat demands: the scenario column first
        order = ["scenario"] + [c for c in order if c != "scenario"]
    present = {k for r in rows for k in r}
    header = [c for c in order if c in present]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_csv_cell(r[c]) if c in r else "" for c in header])
    return buf.getvalue()


def write_instance(spec: InstanceSpec, path: str | Path, csv_threshold: int | None = 500) -> list[Path]:
    """Write `spec` as a YAML instance file; tables of `csv_threshold` rows or more go to CSV.

    CSV candidates are the big tables nodes, links and demands (scenario demands are moved
    to the flat ``demands`` table), and hubs, scenarios and routes when they are big too and
    hold only scalar columns (a hub's holding_cost mapping needs YAML). A CSV
    is named ``<yaml stem>.<table>.csv`` beside the YAML and referenced by relative path.
    ``csv_threshold=None`` writes everything into the YAML. Every file is written to a
    temp file first and renamed into place, the YAML last. Returns the paths written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    data["name"] = spec.name
    data["options"] = spec.options.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["nodes"], data["hubs"], data["scenarios"] = _rows(spec, "nodes"), _rows(spec, "hubs"), _rows(spec, "scenarios")
    data["asset_types"] = _rows(spec, "asset_types")
    for key in ("links", "demands", "routes"):
        if getattr(spec, key):
            data[key] = _rows(spec, key)

    def big(rows: list[dict[str, Any]]) -> bool:
        return csv_threshold is not None and len(rows) >= csv_threshold

    csv_tables: dict[str, list[dict[str, Any]]] = {}
    flat = [{"scenario": s["id"], **d} for s in data["scenarios"] for d in s.get("demands", [])] + data.get("demands", [])
    if big(flat):
        for s in data["scenarios"]:
            s.pop("demands", None)
        csv_tables["demands"] = flat
        data.pop("demands", None)
    for table in ("nodes", "links", "hubs", "scenarios", "routes"):
        rows = data.get(table, [])
        if big(rows) and _csv_ok(rows):
            csv_tables[table] = rows
    texts: dict[Path, str] = {}
    for table, rows in csv_tables.items():
        target = path.with_name(f"{path.stem}.{table}.csv")
        texts[target] = _csv_text(rows, table)
        data[table] = target.name
    ordered = {k: data[k] for k in InstanceSpec.model_fields if k in data}
    header = f"# {spec.name}: written by horizon\n"
    texts[path] = header + yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, width=130, allow_unicode=True)
    targets = list(texts)
    with replacing_all(targets) as temps:
        for tmp, target in zip(temps, targets):
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(texts[target])
    return targets
