"""Edits of a loaded instance without writing files: what-if questions asked in code.

Each edit is a pure function: it takes a frozen `Instance` and returns a **new** one (the
original is unchanged, so variants can be compared side by side). The result is validated
like a file — field rules and the loader's cross-table checks — so a bad edit raises
`InputError` with the loader's messages, naming the table, row and field. An edit that names
something the instance does not have (a hub, an asset type, a scenario) says so and lists what
there is.

Edits compose: ``set_budget(scale_deadlines(inst, 1.5), 2e8)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import parse_spec
from horizon.optimizer.data.schema import POLICIES, InstanceSpec
from horizon.optimizer.errors import InputError

__all__ = [
    "keep_scenarios",
    "scale_deadlines",
    "set_budget",
    "set_crises_per_year",
    "set_fleet_limit",
    "set_holding_cost",
    "set_hub",
    "set_hub_count",
    "set_policy",
    "soften_deadlines",
]


def _validated(instance: Instance, spec: InstanceSpec) -> Instance:
    """The edited spec checked as the loader checks a file (`model_copy` does not validate)."""
    source = Path(instance.source)
    checked = parse_spec(spec.model_dump(by_alias=True), source)
    return Instance.from_spec(checked, source=instance.source)


def _options(instance: Instance, **updates: Any) -> Instance:
    spec = instance.spec
    return _validated(instance, spec.model_copy(update={"options": spec.options.model_copy(update=updates)}))


def _known(what: str, ident: str, known: Iterable[str]) -> None:
    names = list(known)
    if ident not in names:
        raise InputError(f"unknown {what} '{ident}' ({what}s: {', '.join(names)})")


# --- hubs and fleets --------------------------------------------------------------------------
def set_hub(
    inst: Instance, hub: str, *, status: str | None = None, fixed_cost: float | None = None, capacity: float | None = None
) -> Instance:
    """Change one hub; arguments left None keep their value.

    ``status``: ``candidate``, ``existing`` (forced open) or ``excluded`` (never opened; an
    excluded hub can be brought back). ``capacity=math.inf`` makes the hub's space unlimited.
    """
    _known("hub", hub, [h.node for h in inst.spec.hubs])
    updates: dict[str, Any] = {}
    if status is not None:
        updates["status"] = status
    if fixed_cost is not None:
        updates["fixed_cost"] = fixed_cost
    if capacity is not None:
        updates["capacity"] = None if capacity == math.inf else capacity
    hubs = [h.model_copy(update=updates) if h.node == hub else h for h in inst.spec.hubs]
    return _validated(inst, inst.spec.model_copy(update={"hubs": hubs}))


def _set_type(inst: Instance, asset_type: str, **updates: Any) -> Instance:
    _known("asset type", asset_type, inst.types)
    types = [t.model_copy(update=updates) if t.id == asset_type else t for t in inst.spec.asset_types]
    return _validated(inst, inst.spec.model_copy(update={"asset_types": types}))


def set_fleet_limit(inst: Instance, asset_type: str, limit: int | None) -> Instance:
    """Units of `asset_type` that exist or are pledged; None = unlimited."""
    return _set_type(inst, asset_type, fleet_limit=limit)


def set_holding_cost(inst: Instance, asset_type: str, cost: float) -> Instance:
    """The type's annual holding cost per unit (hubs' own `holding_cost` overrides still apply)."""
    return _set_type(inst, asset_type, holding_cost=cost)


# --- options ----------------------------------------------------------------------------------
def set_budget(inst: Instance, budget: float | None) -> Instance:
    """Cap annual fixed + holding cost; None = no budget."""
    return _options(inst, budget=budget)


def set_hub_count(inst: Instance, *, min_hubs: int | None = None, max_hubs: int | None = None) -> Instance:
    """Limits on the number of open hubs; a limit given as None is removed (as in the file)."""
    return _options(inst, min_hubs=min_hubs, max_hubs=max_hubs)


def set_crises_per_year(inst: Instance, rate: float) -> Instance:
    """Crisis windows expected per year: weighs crisis (dispatch, penalty) costs against annual ones."""
    return _options(inst, crises_per_year=rate)


def check_policy(policy: str) -> None:
    """InputError naming the choices unless `policy` is one of `POLICIES`."""
    if policy not in POLICIES:
        raise InputError(f"unknown policy '{policy}' (choose from {', '.join(POLICIES)})")


def policy_spec(base: InstanceSpec, policy: str) -> InstanceSpec:
    """`base` under a pooling policy: ``options.policy`` set (the eligible arcs follow it);
    single-hub also caps the hub count at one (``min_hubs`` dropped)."""
    check_policy(policy)
    updates: dict[str, Any] = {"policy": policy}
    if policy == "single-hub":
        updates |= {"max_hubs": 1, "min_hubs": None}
    return base.model_copy(update={"options": base.options.model_copy(update=updates)})


def set_policy(inst: Instance, policy: str) -> Instance:
    """Solve under a pooling policy: ``pooled``, ``dedicated``, ``regional`` or ``single-hub``.

    Unlike `horizon compare`, no mission hubs are added: under ``dedicated`` a mission needs a
    hub at its own node. ``single-hub`` sets ``max_hubs`` to 1 (`set_hub_count` changes it back).
    """
    return _validated(inst, policy_spec(inst.spec, policy))


def soft_spec(spec: InstanceSpec, penalty: float) -> InstanceSpec:
    """Soft deadlines with `penalty` per unmet unit (types with their own penalty keep it)."""
    return spec.model_copy(update={"options": spec.options.model_copy(update={"deadlines": "soft", "penalty": float(penalty)})})


def soften_deadlines(inst: Instance, penalty: float | None) -> Instance:
    """Soft deadlines, an unmet unit costing `penalty` (types' own penalties kept); None = hard again."""
    if penalty is None:
        return _options(inst, deadlines="hard", penalty=None)
    return _validated(inst, soft_spec(inst.spec, penalty))


# --- scenarios and deadlines ------------------------------------------------------------------
def scale_deadlines(inst: Instance, factor: float) -> Instance:
    """Every deadline × `factor` (final deadlines of service levels too; a factor scales itself)."""
    if not (math.isfinite(factor) and factor >= 0):
        raise InputError(f"deadline scale must be a finite number ≥ 0 (got {factor!r})")

    def times(x: float | None) -> float | None:
        return None if x is None else x * factor

    def upd(d: Any) -> Any:
        fields = {"deadline_hours": times(d.deadline_hours)}
        if d.final_deadline_hours is not None:
            fields["final_deadline_hours"] = times(d.final_deadline_hours)
        return d.model_copy(update=fields)

    spec = inst.spec
    updates: dict[str, Any] = {
        "scenarios": [s.model_copy(update={"demands": [upd(d) for d in s.demands]}) for s in spec.scenarios],
        "demands": [upd(d) for d in spec.demands],
    }
    level = spec.options.service_level
    if level is not None and level.final_deadline_hours is not None:
        level = level.model_copy(update={"final_deadline_hours": times(level.final_deadline_hours)})
        updates["options"] = spec.options.model_copy(update={"service_level": level})
    return _validated(inst, spec.model_copy(update=updates))


def keep_scenarios(inst: Instance, ids: Iterable[str]) -> Instance:
    """Only the scenarios `ids` (in file order), their probabilities renormalised to sum to 1.

    Weighted scenarios keep their weights (they are relative already).
    """
    keep = set(ids if not isinstance(ids, str) else [ids])
    known = [s.id for s in inst.spec.scenarios]
    for ident in sorted(keep - set(known)):
        _known("scenario", ident, known)
    if not keep:
        raise InputError("keep_scenarios: at least one scenario is needed")
    kept = [s for s in inst.spec.scenarios if s.id in keep]
    if all(s.probability is not None for s in kept):
        total = math.fsum(float(s.probability) for s in kept)  # type: ignore[arg-type]
        if total <= 0:
            raise InputError(f"keep_scenarios: the scenarios kept ({', '.join(s.id for s in kept)}) all have probability 0")
        kept = [s.model_copy(update={"probability": float(s.probability) / total}) for s in kept]  # type: ignore[arg-type]
    demands = [d for d in inst.spec.demands if d.scenario in keep]
    return _validated(inst, inst.spec.model_copy(update={"scenarios": kept, "demands": demands}))
