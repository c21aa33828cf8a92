"""The instance file format, as pydantic models.

These models are the single definition of what an instance file may contain: the loader
validates against them, `horizon schema` prints their JSON Schema, and the frozen records
they produce are what `Instance` holds. Field-level checks live here; checks that relate
several tables (references, duplicates, probabilities) live in `horizon.optimizer.data.validate`.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, get_args

import highspy
from pydantic import BaseModel, ConfigDict, Field

#: Who may serve whom (see `horizon.models.policies`): any hub any mission, each mission itself,
#: hubs their own region, or one hub everything.
Policy = Literal["pooled", "dedicated", "regional", "single-hub"]
POLICIES: tuple[str, ...] = get_args(Policy)

# HiGHS's infinity: a cost or bound at or above it is infinite to HiGHS (its options
# infinite_cost and infinite_bound, 1e20 by default; `highspy.kHighsInf` where it is finite).
HIGHS_INFINITY = float(highspy.kHighsInf) if math.isfinite(highspy.kHighsInf) else 1e20
# The largest number a field takes: the square root of HiGHS's infinity, so that a product
# of two fields (a rate times a distance, a cost times crises per year) stays finite for the
# solver. The built model is checked too (`horizon.models.linear.check_numbers`).
MAX_NUMBER = math.sqrt(HIGHS_INFINITY)
MAX_COUNT = 1_000_000  # hub counts, p

NonNeg = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, le=MAX_NUMBER, allow_inf_nan=False)]
Factor = Annotated[float, Field(ge=1.0, le=MAX_NUMBER, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Share = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Ident = Annotated[str, Field(min_length=1)]


class Record(BaseModel):
    """Immutable record; unknown keys are errors so that typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Mode(Record):
    """A way of moving (air, road, sea...). Costs are per unit moved."""

    id: Ident
    speed_kmh: Positive | None = Field(None, description="Speed used when a link gives only distance_km.")
    handling_hours: NonNeg = Field(0.0, description="Loading/staging hours added to every leg of this mode.")
    cost_per_km: NonNeg = Field(0.0, description="Cost per km per unit moved.")
    cost_per_hour: NonNeg = Field(0.0, description="Cost per travel hour per unit moved.")
    needs_lift: bool = Field(
        False,
        description="Force packages can only use this mode when carried by lift aircraft "
        "(air). Helicopters and aircraft fly it themselves.",
    )


class Node(Record):
    """A place in the network: a mission, a candidate hub, an airfield, a port..."""

    id: Ident
    kind: Ident = Field(description="mission, hub, airfield, port, ... Demands may only name missions.")
    name: str | None = None
    region: str | None = None
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None


class Link(Record):
    """A leg of the logistics network. Give distance_km, hours or both."""

    source: Ident = Field(alias="from")
    target: Ident = Field(alias="to")
    mode: Ident
    distance_km: NonNeg | None = None
    hours: NonNeg | None = Field(None, description="Travel hours; overrides distance / speed.")
    cost: NonNeg | None = Field(None, description="Cost per unit moved over this link; overrides the mode's rates.")
    bidirectional: bool = True


class GreatCircle(Record):
    """Derive links of one mode between listed nodes from great-circle distances."""

    mode: Ident
    nodes: list[Ident] | Literal["all"] = "all"
    max_km: Positive | None = Field(None, description="Only pairs at most this far apart.")
    detour_factor: Factor = 1.0


class Hub(Record):
    """A place where reserves can be stationed."""

    node: Ident
    fixed_cost: NonNeg = Field(0.0, description="Annual cost of keeping the hub open.")
    capacity: NonNeg | None = Field(None, description="Space for stationed units (in asset space units); none = unlimited.")
    status: Literal["candidate", "existing", "excluded"] = "candidate"
    holding_cost: dict[Ident, NonNeg] = Field(
        default_factory=dict, description="Per asset type overrides of the annual holding cost per unit."
    )
    lends_lift_to: list[Ident] = Field(
        default_factory=list, description="Hubs whose force dispatches may use airlift stationed here."
    )
    mission_reserve: bool = Field(
        False,
        description="An in-mission reserve at a mission's own node: it serves its mission, and is lent to "
        "other missions only in scenarios where its own mission is not in crisis.",
    )


class AssetType(Record):
    """A kind of reserve: a force package, a helicopter, or a lift aircraft."""

    id: Ident
    category: Literal["force", "helicopter", "airlift"]
    name: str | None = None
    holding_cost: NonNeg = Field(0.0, description="Annual cost per unit stationed.")
    fleet_limit: NonNeg | None = Field(None, description="Units that exist or are pledged; none = unlimited.")
    readiness_hours: NonNeg = Field(0.0, description="Notice-to-move, added to every response time.")
    modes: list[Ident] = Field(default_factory=list, description="Modes this type may move by.")
    space: NonNeg = Field(1.0, description="Hub space one unit takes.")
    lift: dict[Ident, Positive] = Field(
        default_factory=dict,
        description="Force packages only: sorties of each airlift type one unit needs to move by air (alternatives).",
    )
    sorties_per_window: Positive | None = Field(
        None, description="Airlift only: sorties one aircraft flies within a crisis window."
    )
    speed_kmh: Positive | None = Field(
        None, description="Aircraft: own cruise speed on lift modes (helicopters self-deploy; airlift carries forces)."
    )
    range_km: Positive | None = Field(None, description="Aircraft: longest leg without a fuel stop.")
    cost_per_flight_hour: NonNeg | None = Field(
        None, description="Airlift: cost per flight hour per sortie when carrying forces."
    )
    penalty: NonNeg | None = Field(None, description="Soft deadlines: cost per unmet unit (default: options.penalty).")
    divisible: bool = Field(False, description="Units may be split (continuous); classic location models use this.")


class Demand(Record):
    """Units of one asset type a mission needs within a deadline, in one scenario."""

    mission: Ident
    type: Ident
    units: Positive
    deadline_hours: NonNeg | None = Field(None, description="None = no deadline.")
    final_deadline_hours: NonNeg | None = Field(
        None, description="Service levels: the second, longer deadline for the rest (default: options.service_level)."
    )


class FlatDemand(Demand):
    """A demand row of the top-level `demands` table (names its scenario)."""

    scenario: Ident


class LinkRef(Record):
    """Links between two nodes (both directions), of one mode or of any."""

    source: Ident = Field(alias="from")
    target: Ident = Field(alias="to")
    mode: Ident | None = None


class SlowLinks(Record):
    """Travel hours multiplied by `factor` on matching links (unset fields match any)."""

    source: Ident | None = Field(None, alias="from")
    target: Ident | None = Field(None, alias="to")
    mode: Ident | None = None
    factor: Factor


class Disruption(Record):
    """A crisis's effect on the network: an airfield closed, a road cut by the rains."""

    closed_nodes: list[Ident] = Field(default_factory=list, description="Nodes no route may use (nor a hub there dispatch).")
    closed_links: list[LinkRef] = Field(default_factory=list)
    slow_links: list[SlowLinks] = Field(default_factory=list)


class Scenario(Record):
    """A set of crises that happen at the same time."""

    id: Ident
    name: str | None = None
    description: str | None = None
    probability: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    weight: NonNeg | None = None
    demands: list[Demand] = Field(default_factory=list)
    disruption: Disruption | None = Field(None, description="Links or nodes closed or slowed in this scenario.")


class Route(Record):
    """An explicit hub-to-mission response, bypassing the network (e.g. a cost matrix)."""

    hub: Ident
    mission: Ident
    type: Ident | None = Field(None, description="Only for this asset type; none = all types.")
    hours: NonNeg = 0.0
    cost: NonNeg = 0.0


class Classic(Record):
    """Solve a classic location model on this instance (see README, 'Classic models')."""

    model: Literal["cflp", "uflp", "p_median", "lscp", "mclp", "p_center", "backup"]
    p: Annotated[Count, Field(ge=1)] | None = Field(None, description="Number of hubs (p-median, MCLP, p-center, backup).")
    radius: NonNeg | None = Field(
        None, description="Coverage radius in hours (LSCP, MCLP, backup); default: the demands' deadlines."
    )
    formulation: Literal["auto", "assignment", "levels", "benders"] = Field(
        "auto",
        description="p-median, UFLP, p-center: the site-choice levels or Benders model, or the reserve model's "
        "assignment form; auto picks by size and structure (the others take only assignment).",
    )


class ServiceLevel(Record):
    """Tiered deadlines: a share of demand within the deadline, all of it within a longer one."""

    share: Share = Field(description="Share of units due within deadline_hours.")
    final_deadline_hours: NonNeg | None = Field(
        None,
        description="Deadline for the rest (all units); without it or a factor, only demands "
        "with their own final_deadline_hours are tiered.",
    )
    final_deadline_factor: Factor | None = Field(
        None, description="Or: the final deadline as a multiple of each demand's deadline."
    )
    scope: Literal["demand", "scenario"] = Field(
        "demand", description="Share per demand, or of all units of a scenario (weighted by units)."
    )


class Options(Record):
    """Model options."""

    deadlines: Literal["hard", "soft"] = "hard"
    penalty: NonNeg | None = Field(None, description="Soft deadlines: default cost per unmet unit.")
    objective: Literal["expected", "worst_case"] = "expected"
    crises_per_year: Positive = Field(
        1.0,
        description="Crisis windows expected per year: scales the probability-weighted crisis cost "
        "so that it is annual like fixed and holding costs.",
    )
    currency: Annotated[str, Field(min_length=1, max_length=8, pattern=r"^\S+$")] = Field(
        "USD", description="Currency of every cost in the instance (shown in tables, reports and charts), e.g. USD, EUR."
    )
    budget: NonNeg | None = Field(None, description="Cap on annual fixed + holding cost.")
    min_hubs: Count | None = None
    max_hubs: Count | None = None
    split_loads: bool = Field(
        False,
        description="A unit's loads may be split across the options of its hub (part by one lift type, "
        "part by another, or by road): units per (demand, hub) stay whole, loads per option need not.",
    )
    strong_linking: bool = Field(True, description="Add dispatch <= demand x open per (demand, hub) (tighter relaxation).")
    dispatch_cost: Literal["network", "hours", "none"] = Field(
        "network",
        description="Cost per dispatched unit: the path cost over the network, the response hours "
        "(demand-weighted time, as in p-median), or none (pure coverage models).",
    )
    max_share_per_arc: Share | None = Field(
        None,
        description="Most of a demand one hub may send (0.5: every demand is served by at least two hubs, "
        "as in backup coverage). Indivisible types round the cap down to whole units.",
    )
    classic: Classic | None = None
    service_level: ServiceLevel | None = None
    lend_mission_reserves: bool = Field(True, description="Whether hubs marked mission_reserve may serve other missions at all.")
    policy: Policy = Field(
        "pooled",
        description="Pooling policy: pooled (any open hub serves any mission it reaches in time), dedicated (each "
        "mission only from a hub at its own node), regional (hubs serve their own region), single-hub (at most one hub).",
    )
    great_circle: list[GreatCircle] = Field(default_factory=list)


class Contributor(Record):
    """A troop- or asset-contributing country and its caveats."""

    id: Ident
    name: str | None = None
    units: dict[Ident, NonNeg] = Field(description="Units pledged per asset type (force packages and helicopters).")
    hubs: list[Ident] = Field(default_factory=list, description="Hubs where its units may be stationed (empty: any).")
    exclude_missions: list[Ident] = Field(default_factory=list, description="Missions it will not deploy to.")
    exclude_regions: list[str] = Field(default_factory=list, description="Regions (node attribute) it will not deploy to.")


class InstanceSpec(Record):
    """Top level of an instance file. Tables may be given as CSV paths relative to the file."""

    name: str = "instance"
    description: str | None = None
    options: Options = Field(default_factory=Options)
    modes: list[Mode] = Field(default_factory=list)
    nodes: list[Node]
    links: list[Link] = Field(default_factory=list)
    hubs: list[Hub]
    asset_types: list[AssetType]
    scenarios: list[Scenario]
    demands: list[FlatDemand] = Field(default_factory=list, description="Optional flat demand table (with a scenario column).")
    routes: list[Route] = Field(default_factory=list)
    contributors: list[Contributor] = Field(
        default_factory=list,
        description="Who provides the units of a type, where they may be stationed and where they will not go. "
        "A type listed by any contributor has only the contributors' units.",
    )


#: Top-level keys that may be a CSV path instead of a list of rows (their columns must be
#: scalar fields; list- or mapping-valued fields such as a hub's holding_cost need YAML).
CSV_TABLES: dict[str, type[Record]] = {
    "nodes": Node,
    "links": Link,
    "hubs": Hub,
    "scenarios": Scenario,
    "demands": FlatDemand,
    "routes": Route,
}
