"""The planning workspace's data: settings a planner edits, the instance they make, runs and
their differences, map data, and opening uploaded files safely.

Settings are a plain JSON-able dict, one entry per thing a planner changes; `apply_settings`
turns them into a new `Instance` through the instance edits (`horizon.optimizer.data.edits`),
so the workspace changes nothing the Python API would not. The original file is never touched.
"""

from __future__ import annotations

import copy
import io
import math
import zipfile
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

from horizon.optimizer.data import edits
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import load_instance
from horizon.optimizer.data.schema import POLICIES
from horizon.optimizer.errors import HorizonError, InputError
from horizon.optimizer.results.report import default_scenario
from horizon.optimizer.results.solution import Solution

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # one uploaded file
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # all members of an uploaded zip, uncompressed
MAX_ZIP_MEMBERS = 200
INSTANCE_SUFFIXES = (".yaml", ".yml", ".json")
COST_PARTS = ("fixed", "holding", "dispatch", "penalty")


# --- settings -------------------------------------------------------------------------------
def base_settings(inst: Instance) -> dict[str, Any]:
    """The settings an instance has as loaded: the form's starting values."""
    o = inst.options
    return {
        "hubs": {h.node: {"status": h.status, "fixed_cost": h.fixed_cost, "capacity": h.capacity} for h in inst.spec.hubs},
        "types": {t.id: {"fleet_limit": t.fleet_limit, "holding_cost": t.holding_cost} for t in inst.spec.asset_types},
        "budget": o.budget,
        "min_hubs": o.min_hubs,
        "max_hubs": o.max_hubs,
        "crises_per_year": o.crises_per_year,
        "deadline_factor": 1.0,
        "policy": o.policy,
        "scenarios": {s.id: True for s in inst.spec.scenarios},
        "soft": o.deadlines == "soft",
        "penalty": o.penalty,
    }


def _number(value: Any, *, integer: bool = False, optional: bool = True) -> float | int | None:
    """A form value as a number: '' or None → None (when `optional`); else ValueError."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if optional:
            return None
        raise ValueError("a value is needed")
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        x = float(str(value).replace(",", "").replace("_", "")) if isinstance(value, str) else float(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"'{value}' is not a finite number")
    if integer:
        if not x.is_integer():
            raise ValueError(f"'{value}' is not a whole number")
        return int(x)
    return x


def apply_settings(base: Instance, settings: dict[str, Any]) -> tuple[Instance | None, dict[str, list[str]]]:
    """The instance `settings` make of `base`, or None and the errors by field key.

    Field keys: ``hub:ID:status|fixed_cost|capacity``, ``type:ID:fleet_limit|holding_cost``,
    ``budget``, ``min_hubs``, ``max_hubs``, ``crises_per_year``, ``deadline_factor``,
    ``policy``, ``scenarios``, ``penalty``; ``general`` for errors of the edits together.
    Each edit is checked on its own against `base` first, so every field's problem is listed.
    """
    start = base_settings(base)
    errors: dict[str, list[str]] = defaultdict(list)
    steps: list[tuple[str, Any]] = []  # (field key, edit: Instance -> Instance)

    def add(key: str, fn: Any) -> None:
        steps.append((key, fn))

    for hub, row in (settings.get("hubs") or {}).items():
        old = start["hubs"].get(hub)
        if old is None:
            errors[f"hub:{hub}:status"].append(f"unknown hub '{hub}'")
            continue
        status = row.get("status", old["status"])
        if status != old["status"]:
            add(f"hub:{hub}:status", lambda i, h=hub, s=status: edits.set_hub(i, h, status=s))
        for field in ("fixed_cost", "capacity"):
            try:
                value = _number(row.get(field, old[field]), optional=field == "capacity")
            except ValueError as exc:
                errors[f"hub:{hub}:{field}"].append(str(exc))
                continue
            if value != old[field]:
                if field == "capacity":
                    cap = math.inf if value is None else value
                    add(f"hub:{hub}:capacity", lambda i, h=hub, c=cap: edits.set_hub(i, h, capacity=c))
                else:
                    add(f"hub:{hub}:fixed_cost", lambda i, h=hub, c=value: edits.set_hub(i, h, fixed_cost=c))
    for t, row in (settings.get("types") or {}).items():
        old = start["types"].get(t)
        if old is None:
            errors[f"type:{t}:fleet_limit"].append(f"unknown asset type '{t}'")
            continue
        try:
            limit = _number(row.get("fleet_limit", old["fleet_limit"]))
            if limit != old["fleet_limit"]:
                add(f"type:{t}:fleet_limit", lambda i, t=t, v=limit: edits.set_fleet_limit(i, t, v))
        except ValueError as exc:
            errors[f"type:{t}:fleet_limit"].append(str(exc))
        try:
            cost = _number(row.get("holding_cost", old["holding_cost"]), optional=False)
            if cost != old["holding_cost"]:
                add(f"type:{t}:holding_cost", lambda i, t=t, v=cost: edits.set_holding_cost(i, t, v))
        except ValueError as exc:
            errors[f"type:{t}:holding_cost"].append(str(exc))
    try:
        budget = _number(settings.get("budget", start["budget"]))
        if budget != start["budget"]:
            add("budget", lambda i, v=budget: edits.set_budget(i, v))
    except ValueError as exc:
        errors["budget"].append(str(exc))
    counts: dict[str, Any] = {}
    for key in ("min_hubs", "max_hubs"):
        try:
            counts[key] = _number(settings.get(key, start[key]), integer=True)
        except ValueError as exc:
            errors[key].append(str(exc))
    if counts and (counts.get("min_hubs", start["min_hubs"]), counts.get("max_hubs", start["max_hubs"])) != (
        start["min_hubs"],
        start["max_hubs"],
    ):
        lo, hi = counts.get("min_hubs", start["min_hubs"]), counts.get("max_hubs", start["max_hubs"])
        key = "max_hubs" if hi != start["max_hubs"] else "min_hubs"
        add(key, lambda i, lo=lo, hi=hi: edits.set_hub_count(i, min_hubs=lo, max_hubs=hi))
    try:
        rate = _number(settings.get("crises_per_year", start["crises_per_year"]), optional=False)
        if rate != start["crises_per_year"]:
            add("crises_per_year", lambda i, v=rate: edits.set_crises_per_year(i, v))
    except ValueError as exc:
        errors["crises_per_year"].append(str(exc))
    try:
        factor = _number(settings.get("deadline_factor", 1.0), optional=False)
        if factor != 1.0:
            add("deadline_factor", lambda i, v=factor: edits.scale_deadlines(i, v))
    except ValueError as exc:
        errors["deadline_factor"].append(str(exc))
    scen = {**start["scenarios"], **(settings.get("scenarios") or {})}
    if not all(scen.values()):
        kept = [s for s, on in scen.items() if on]
        add("scenarios", lambda i, k=tuple(kept): edits.keep_scenarios(i, k))
    policy = settings.get("policy", start["policy"])
    if policy != start["policy"]:
        if policy not in POLICIES:
            errors["policy"].append(f"unknown policy '{policy}' (choose from {', '.join(POLICIES)})")
        else:
            add("policy", lambda i, p=policy: edits.set_policy(i, p))
    soft = bool(settings.get("soft", start["soft"]))
    try:
        penalty = _number(settings.get("penalty", start["penalty"]))
        if soft and penalty is None:
            errors["penalty"].append("soft deadlines need a penalty per unmet unit")
        elif (soft, penalty if soft else None) != (start["soft"], start["penalty"] if start["soft"] else None):
            add("penalty", lambda i, s=soft, p=penalty: edits.soften_deadlines(i, p if s else None))
    except ValueError as exc:
        errors["penalty"].append(str(exc))

    for key, fn in steps:  # each edit alone on the original: every field's problem is found
        try:
            fn(base)
        except HorizonError as exc:
            errors[key].extend(exc.messages)
    if errors:
        return None, dict(errors)
    inst = base
    for key, fn in steps:
        try:
            inst = fn(inst)
        except HorizonError as exc:
            errors["general"].extend(f"{key}: {m}" for m in exc.messages)
            return None, dict(errors)
    return inst, {}


def describe_changes(base: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    """Short phrases for what `settings` change against `base` (both full settings dicts)."""
    out: list[str] = []
    for hub, row in settings["hubs"].items():
        old = base["hubs"].get(hub, {})
        for field, value in row.items():
            if _same(old.get(field), value):
                continue
            out.append(f"hub {hub} {field.replace('_', ' ')} {_show(old.get(field))} → {_show(value)}")
    for t, row in settings["types"].items():
        old = base["types"].get(t, {})
        for field, value in row.items():
            if not _same(old.get(field), value):
                out.append(f"{t} {field.replace('_', ' ')} {_show(old.get(field))} → {_show(value)}")
    for key in ("budget", "min_hubs", "max_hubs", "crises_per_year", "deadline_factor", "policy"):
        if not _same(base.get(key), settings.get(key)):
            out.append(f"{key.replace('_', ' ')} {_show(base.get(key))} → {_show(settings.get(key))}")
    off = [s for s, on in settings["scenarios"].items() if not on]
    on_again = [s for s, on in settings["scenarios"].items() if on and not base["scenarios"].get(s, True)]
    if off:
        out.append(f"scenarios off: {', '.join(off)}")
    if on_again:
        out.append(f"scenarios on: {', '.join(on_again)}")
    if bool(base.get("soft")) != bool(settings.get("soft")) or (
        settings.get("soft") and not _same(base.get("penalty"), settings.get("penalty"))
    ):
        out.append(f"soft deadlines, penalty {_show(settings.get('penalty'))}" if settings.get("soft") else "hard deadlines")
    return out


def normalised(base: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` completed from `base` and with numbers parsed where they parse."""
    out = copy.deepcopy(base)
    for section in ("hubs", "types", "scenarios"):
        for key, value in (settings.get(section) or {}).items():
            if key in out[section]:
                if isinstance(value, dict):
                    out[section][key].update(value)
                else:
                    out[section][key] = bool(value)
    for key in ("budget", "min_hubs", "max_hubs", "crises_per_year", "deadline_factor", "policy", "soft", "penalty"):
        if key in settings:
            out[key] = settings[key]
    for row in list(out["hubs"].values()) + list(out["types"].values()):
        for k, v in row.items():
            row[k] = _parsed(v)
    for key in ("budget", "min_hubs", "max_hubs", "crises_per_year", "deadline_factor", "penalty"):
        out[key] = _parsed(out[key])
    return out


def _parsed(v: Any) -> Any:
    if isinstance(v, str) and v.strip() == "":
        return None
    if isinstance(v, str):
        try:
            x = float(v.replace(",", ""))
        except ValueError:
            return v
        return int(x) if x.is_integer() else x
    return v


def _same(a: Any, b: Any) -> bool:
    try:
        return a == b or (a is not None and b is not None and float(a) == float(b))
    except (TypeError, ValueError):
        return False


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10000:
        return f"{v:,}"
    return str(v)


# --- what the page shows of an instance and a run -------------------------------------------
def instance_view(inst: Instance) -> dict[str, Any]:
    """Names, the form's rows and the map's nodes of an instance."""
    return {
        "name": inst.name,
        "source": inst.source,
        "hubs": [{"id": h.node, "name": _node_name(inst, h.node)} for h in inst.spec.hubs],
        "types": [{"id": t.id, "category": t.category} for t in inst.spec.asset_types],
        "scenarios": [{"id": s.id, "probability": inst.probabilities.get(s.id)} for s in inst.spec.scenarios],
        "policies": list(POLICIES),
        "nodes": _nodes(inst),
        "missions": len(inst.missions),
    }


def _node_name(inst: Instance, ident: str) -> str:
    node = inst.nodes.get(ident)
    return (node.name if node is not None else None) or ident


def _nodes(inst: Instance) -> list[dict[str, Any]]:
    return [
        {"id": n.id, "name": n.name or n.id, "kind": n.kind, "lat": n.lat, "lon": n.lon}
        for n in inst.spec.nodes
        if n.lat is not None and n.lon is not None
    ]


def map_view(inst: Instance, sol: Solution) -> dict[str, Any]:
    """What the map draws: nodes, hubs (open, closed, excluded) with their units, dispatches."""
    units: dict[str, dict[str, float]] = defaultdict(dict)
    for r in sol.stationing:
        units[r["hub"]][r["asset_type"]] = float(r["units"])
    opened = set(sol.open_hubs)
    hubs = [
        {
            "id": h.node,
            "state": "open" if h.node in opened else ("excluded" if h.status == "excluded" else "closed"),
            "units": units.get(h.node, {}),
        }
        for h in inst.spec.hubs
    ]
    return {
        "nodes": _nodes(inst),
        "hubs": hubs,
        "scenarios": [s.id for s in inst.spec.scenarios],
        "default_scenario": default_scenario(inst, sol),
    }


def run_summary(run: dict[str, Any]) -> dict[str, Any]:
    m = run.get("metrics") or {}
    return {
        "id": run["id"],
        "label": run["label"],
        "status": run["status"],
        "objective": m.get("total_cost"),
        "coverage_pct": m.get("coverage_pct"),
        "open_hubs": m.get("open_hubs", []),
        "changes": run["changes"],
        "stopped": run.get("stopped", False),
        "seconds": run.get("seconds"),
    }


def run_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What changes from run `a` to run `b`: hubs, units per hub and type, costs, service."""
    sa, sb = a["solution"], b["solution"]
    ma, mb = a["metrics"], b["metrics"]
    ha, hb = set(sa.open_hubs), set(sb.open_hubs)
    ua: dict[tuple[str, str], float] = defaultdict(float)
    ub: dict[tuple[str, str], float] = defaultdict(float)
    for r in sa.stationing:
        ua[(r["hub"], r["asset_type"])] += float(r["units"])
    for r in sb.stationing:
        ub[(r["hub"], r["asset_type"])] += float(r["units"])
    moved = [
        {
            "hub": h,
            "asset_type": t,
            "a": ua.get((h, t), 0.0),
            "b": ub.get((h, t), 0.0),
            "change": ub.get((h, t), 0.0) - ua.get((h, t), 0.0),
        }
        for h, t in sorted(set(ua) | set(ub))
        if ub[(h, t)] != ua[(h, t)]
    ]
    costs = []
    for part in COST_PARTS:
        x, y = float(sa.costs.get(part, 0.0)), float(sb.costs.get(part, 0.0))
        costs.append({"part": part, "a": x, "b": y, "change": y - x})
    costs.append({"part": "total", "a": sa.objective, "b": sb.objective, "change": _delta(sa.objective, sb.objective)})
    service = []
    for key, label in (
        ("coverage_pct", "demand met within deadline (%)"),
        ("worst_response_hours", "worst response (h)"),
        ("mean_response_hours", "mean response (h)"),
        ("units_total", "units stationed"),
    ):
        service.append(
            {"metric": label, "key": key, "a": ma.get(key), "b": mb.get(key), "change": _delta(ma.get(key), mb.get(key))}
        )
    return {
        "a": a["id"],
        "b": b["id"],
        "hubs_opened": sorted(hb - ha),
        "hubs_closed": sorted(ha - hb),
        "units": moved,
        "costs": costs,
        "service": service,
        "settings": describe_changes(a["settings"], b["settings"]),
    }


def _delta(x: Any, y: Any) -> float | None:
    return None if x is None or y is None else float(y) - float(x)


# --- opening files --------------------------------------------------------------------------
def open_upload(name: str, data: bytes, folder: Path) -> Instance:
    """Load an uploaded instance: YAML or JSON, or a zip of an instance YAML and its CSV tables.

    The zip is refused when it is malformed, holds paths outside its root (absolute, ``..``,
    links), too many members or too much data. Files land in `folder`; InputError otherwise.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"{name}: the file is {len(data) / 2**20:.1f} MiB, over the {MAX_UPLOAD_BYTES // 2**20} MiB limit")
    base = PurePosixPath(name.replace("\\", "/")).name or "instance.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    if base.lower().endswith(".zip"):
        return load_instance(_unzip(base, data, folder))
    if not base.lower().endswith(INSTANCE_SUFFIXES):
        raise InputError(f"{base}: not an instance file (upload .yaml, .yml, .json, or a .zip of an instance and its CSV tables)")
    path = folder / base
    path.write_bytes(data)
    return load_instance(path)


def _unzip(name: str, data: bytes, folder: Path) -> Path:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"{name}: not a valid zip archive ({exc})") from None
    with archive:
        if len(members) > MAX_ZIP_MEMBERS:
            raise InputError(f"{name}: {len(members)} files in the archive, over the limit of {MAX_ZIP_MEMBERS}")
        bad = [m.filename for m in members if not _safe_member(m)]
        if bad:
            raise InputError([f"{name}: '{b}' lies outside the archive's root (absolute path, '..' or a link)" for b in bad])
        total = sum(m.file_size for m in members)
        if total > MAX_UNZIPPED_BYTES:
            raise InputError(f"{name}: {total / 2**20:.0f} MiB uncompressed, over the {MAX_UNZIPPED_BYTES // 2**20} MiB limit")
        files = [m for m in members if not m.is_dir()]
        candidates = [m for m in files if m.filename.lower().endswith(INSTANCE_SUFFIXES) and "__MACOSX" not in m.filename]
        if not candidates:
            raise InputError(f"{name}: no instance file (.yaml, .yml or .json) in the archive")
        depth = min(len(PurePosixPath(m.filename).parts) for m in candidates)
        top = [m for m in candidates if len(PurePosixPath(m.filename).parts) == depth]
        if len(top) > 1:
            raise InputError(
                f"{name}: several instance files at the top of the archive ({', '.join(m.filename for m in top)}); keep one"
            )
        root = folder.resolve()
        try:
            for m in files:
                target = (root / m.filename).resolve()
                if root not in target.parents:
                    raise InputError(f"{name}: '{m.filename}' lies outside the archive's root")
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(m) as src:
                    target.write_bytes(src.read(MAX_UNZIPPED_BYTES + 1))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(f"{name}: the archive is damaged ({exc})") from None
        return root / top[0].filename


def _safe_member(m: zipfile.ZipInfo) -> bool:
    name = m.filename.replace("\\", "/")
    p = PurePosixPath(name)
    if name.startswith("/") or p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":"):
        return False
    mode = (m.external_attr >> 16) & 0o170000
    return mode != 0o120000  # a symbolic link
