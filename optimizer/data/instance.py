"""The frozen, validated problem data every later stage reads.

`Instance` is built once from a validated `InstanceSpec` and never changes; variants (a
different deadline scale, one more hub) are new instances made with `Instance.derive`.
It resolves what the file leaves implicit — excluded hubs dropped, scenario weights
normalised to probabilities, inline and flat demand tables merged — so that the network
and the model never re-interpret the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from horizon.optimizer.data.schema import AssetType, Hub, InstanceSpec, Mode, Node


@dataclass(frozen=True, slots=True)
class DemandRow:
    """One crisis demand: `units` of `type` at `mission` within `deadline` hours in `scenario`."""

    scenario: str
    mission: str
    type: str
    units: float
    deadline: float | None
    final_deadline: float | None = None  # service levels: all units by then (share by `deadline`)

    @property
    def reach(self) -> float | None:
        """The deadline that decides which hubs may serve at all."""
        return self.final_deadline if self.final_deadline is not None else self.deadline


@dataclass(frozen=True)
class Instance:
    """Validated problem data. Construct with `Instance.from_spec` (or the loader)."""

    spec: InstanceSpec
    source: str = "<memory>"

    @classmethod
    def from_spec(cls, spec: InstanceSpec, source: str = "<memory>") -> Instance:
        return cls(spec=spec, source=source)

    def derive(self, **updates: Any) -> Instance:
        """A new instance with top-level spec fields replaced (e.g. `options=...`)."""
        return Instance(spec=self.spec.model_copy(update=updates), source=self.source)

    # --- lookups -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def options(self):  # noqa: ANN201 - the pydantic Options record
        return self.spec.options

    @cached_property
    def nodes(self) -> dict[str, Node]:
        return {n.id: n for n in self.spec.nodes}

    @cached_property
    def modes(self) -> dict[str, Mode]:
        return {m.id: m for m in self.spec.modes}

    @cached_property
    def types(self) -> dict[str, AssetType]:
        return {t.id: t for t in self.spec.asset_types}

    @cached_property
    def hubs(self) -> tuple[Hub, ...]:
        """Hubs the model may open (excluded ones dropped), in file order."""
        return tuple(h for h in self.spec.hubs if h.status != "excluded")

    @cached_property
    def missions(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.spec.nodes if n.kind == "mission")

    @cached_property
    def probabilities(self) -> dict[str, float]:
        """Scenario probabilities; weights are normalised, a lone missing value is uniform."""
        scen = self.spec.scenarios
        if all(s.probability is not None for s in scen):
            return {s.id: float(s.probability) for s in scen}  # type: ignore[arg-type]
        weights = [s.weight if s.weight is not None else 1.0 for s in scen]
        total = sum(weights) or 1.0
        return {s.id: w / total for s, w in zip(scen, weights)}

    @cached_property
    def demands(self) -> tuple[DemandRow, ...]:
        """All demands, inline ones first, then the flat table, in file order."""
        pairs = [(s.id, d) for s in self.spec.scenarios for d in s.demands]
        pairs += [(d.scenario, d) for d in self.spec.demands]
        level = self.options.service_level
        rows = []
        for scenario, d in pairs:
            final = None
            if level is not None and d.deadline_hours is not None:
                if d.final_deadline_hours is not None:
                    final = d.final_deadline_hours
                elif level.final_deadline_hours is not None:
                    final = max(level.final_deadline_hours, d.deadline_hours)
                elif level.final_deadline_factor is not None:
                    final = level.final_deadline_factor * d.deadline_hours
            rows.append(DemandRow(scenario, d.mission, d.type, float(d.units), d.deadline_hours, final))
        return tuple(rows)

    @cached_property
    def contributors_of(self) -> dict[str, tuple[int, ...]]:
        """Contributor positions per asset type (types without contributors are absent)."""
        out: dict[str, list[int]] = {}
        for i, c in enumerate(self.spec.contributors):
            for t in c.units:
                out.setdefault(t, []).append(i)
        return {t: tuple(v) for t, v in out.items()}

    def will_deploy(self, contributor: int, mission: str) -> bool:
        c = self.spec.contributors[contributor]
        return mission not in c.exclude_missions and self.nodes[mission].region not in c.exclude_regions

    def accepts_hub(self, contributor: int, hub: str) -> bool:
        c = self.spec.contributors[contributor]
        return not c.hubs or hub in c.hubs

    @cached_property
    def has_mission_reserves(self) -> bool:
        return any(h.mission_reserve for h in self.hubs)

    @cached_property
    def in_crisis(self) -> dict[str, frozenset[str]]:
        """Missions with a demand, per scenario."""
        out: dict[str, set[str]] = {s.id: set() for s in self.spec.scenarios}
        for d in self.demands:
            out[d.scenario].add(d.mission)
        return {s: frozenset(m) for s, m in out.items()}

    def holding_cost(self, hub: Hub, type_id: str) -> float:
        return float(hub.holding_cost.get(type_id, self.types[type_id].holding_cost))

    def penalty(self, type_id: str) -> float:
        t = self.types[type_id]
        if t.penalty is not None:
            return float(t.penalty)
        return float(self.options.penalty or 0.0)

    def lift_types(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.spec.asset_types if t.category == "airlift")

    def summary(self) -> dict[str, int]:
        return {
            "nodes": len(self.spec.nodes),
            "missions": len(self.missions),
            "hubs": len(self.hubs),
            "links": len(self.spec.links),
            "asset_types": len(self.spec.asset_types),
            "scenarios": len(self.spec.scenarios),
            "demands": len(self.demands),
        }
