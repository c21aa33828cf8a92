r"""The reserve stationing model: where to open hubs, what to station, how to dispatch.

Sets: hubs :math:`H`, asset types :math:`K` (force packages :math:`F`, helicopters,
airlift :math:`L`), scenarios :math:`S`, demands :math:`d=(s,m,k)` with units :math:`D_d`
and deadline :math:`T_d`, eligible arcs :math:`a=(d,h,o)\in E` (option :math:`o` reaches
:math:`m` from :math:`h` within :math:`T_d`; built in `optimizer.network`).

Variables: :math:`y_h\in\{0,1\}` open; :math:`z_{hk}\ge 0` stationed (integer unless the
type is divisible); :math:`x_a\ge 0` dispatched (integer unless divisible);
:math:`u_d\ge 0` unmet (soft deadlines only); :math:`v_{sghl}\ge 0` lift sorties hub
:math:`g` flies for hub :math:`h` (only where :math:`g` lends lift to :math:`h`);
:math:`\eta` worst-case scenario cost (worst-case objective only).

Each constraint family is one ``define_*`` function below, called in a fixed order by
`build_model`; each documents its formula. Variable and constraint components have
structured names (``open_hub``, ``stationed``, ``dispatch``...) so that read-back is generic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from optimizer.instance import Instance
from optimizer.network import Arcs, Network


@dataclass(frozen=True)
class ModelData:
    """Index arrays and groupings the constraint families share (computed once)."""

    instance: Instance
    network: Network
    arcs: Arcs
    hubs: tuple[str, ...]
    types: tuple[str, ...]
    scenarios: tuple[str, ...]
    arc_scenario: np.ndarray
    arc_type: np.ndarray
    arc_sorties: np.ndarray  # lift sorties per unit (0 when the option needs no lift)
    arc_lift: np.ndarray  # lift type index, -1 when none
    arc_integer: np.ndarray
    demand_units: np.ndarray
    stock_bound: np.ndarray  # per type: most units that could ever be worth stationing
    stocked: tuple[tuple[int, int], ...]  # (hub, type) pairs with a stationed variable
    lend: tuple[tuple[int, int, int, int], ...] = field(default=())  # (s, lender g, borrower h, lift l)


def prepare(instance: Instance, network: Network, arcs: Arcs) -> ModelData:
    """Derive the model's index arrays from the instance and the eligible arcs."""
    hubs = tuple(h.node for h in instance.hubs)
    types = tuple(t.id for t in instance.spec.asset_types)
    scenarios = tuple(s.id for s in instance.spec.scenarios)
    t_pos = {t: i for i, t in enumerate(types)}
    s_pos = {s: i for i, s in enumerate(scenarios)}
    demands = instance.demands
    d_scen = np.array([s_pos[d.scenario] for d in demands], dtype=np.int64)
    d_type = np.array([t_pos[d.type] for d in demands], dtype=np.int64)
    d_units = np.array([d.units for d in demands], dtype=float)
    opt_lift = np.array([-1] * len(arcs.option_keys), dtype=np.int64)
    opt_sorties = np.zeros(len(arcs.option_keys))
    for i, (t, name) in enumerate(arcs.option_keys):
        opt = next(o for o in network.options[t] if o.name == name)
        if opt.lift_type is not None:
            opt_lift[i] = t_pos[opt.lift_type]
            opt_sorties[i] = opt.sorties
    arc_type = d_type[arcs.demand] if len(arcs) else np.zeros(0, dtype=np.int64)
    divisible = np.array([instance.types[t].divisible for t in types], dtype=bool)

    # Upper bound on useful stock per type: the peak scenario demand (plus, for lift, the
    # aircraft-equivalents of the sorties every force demand could need), capped by the fleet.
    peak = np.zeros(len(types))
    for s in range(len(scenarios)):
        mask = d_scen == s
        per_type = np.bincount(d_type[mask], weights=d_units[mask], minlength=len(types))
        for k, t in enumerate(types):
            spec = instance.types[t]
            if spec.category == "airlift" and spec.sorties_per_window:
                sorties = sum(d_units[i] * instance.types[types[d_type[i]]].lift.get(t, 0.0) for i in np.flatnonzero(mask))
                per_type[k] += np.ceil(sorties / spec.sorties_per_window - 1e-9)
        peak = np.maximum(peak, per_type)
    for k, t in enumerate(types):
        limit = instance.types[t].fleet_limit
        if limit is not None:
            peak[k] = min(peak[k], float(limit))

    used = set(zip(arcs.hub.tolist(), arc_type.tolist()))
    lift_arcs = opt_lift[arcs.option] >= 0 if len(arcs) else np.zeros(0, dtype=bool)
    lift_use = set(zip(arcs.hub[lift_arcs].tolist(), opt_lift[arcs.option][lift_arcs].tolist()))
    hub_pos = {h: i for i, h in enumerate(hubs)}
    lend = []
    lenders: dict[int, list[int]] = defaultdict(list)
    for hub in instance.hubs:
        for other in hub.lends_lift_to:
            if other in hub_pos and other != hub.node:
                lenders[hub_pos[other]].append(hub_pos[hub.node])
    if lenders and lift_arcs.any():
        borrow = set(
            zip(
                d_scen[arcs.demand][lift_arcs].tolist(),
                arcs.hub[lift_arcs].tolist(),
                opt_lift[arcs.option][lift_arcs].tolist(),
            )
        )
        for s, h, lt in sorted(borrow):
            for g in lenders.get(h, []):
                lend.append((s, g, h, lt))
                lift_use.add((g, lt))
    stocked = tuple(sorted(used | lift_use))
    return ModelData(
        instance=instance,
        network=network,
        arcs=arcs,
        hubs=hubs,
        types=types,
        scenarios=scenarios,
        arc_scenario=d_scen[arcs.demand] if len(arcs) else np.zeros(0, dtype=np.int64),
        arc_type=arc_type,
        arc_sorties=opt_sorties[arcs.option] if len(arcs) else np.zeros(0),
        arc_lift=opt_lift[arcs.option] if len(arcs) else np.zeros(0, dtype=np.int64),
        arc_integer=~divisible[arc_type] if len(arcs) else np.zeros(0, dtype=bool),
        demand_units=d_units,
        stock_bound=peak,
        stocked=stocked,
        lend=tuple(lend),
    )


def _lin(coefs: list[float], variables: list[pyo.Var], constant: float = 0.0) -> LinearExpression:
    return LinearExpression(constant=constant, linear_coefs=coefs, linear_vars=variables)


def _groups(keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unique rows of `keys` (n × c int array) and, for each, the positions holding it."""
    if len(keys) == 0:
        return np.zeros((0, keys.shape[1] if keys.ndim > 1 else 1), dtype=np.int64), []
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    return uniq, [order[bounds[i] : bounds[i + 1]] for i in range(len(uniq))]


# --- variables ---------------------------------------------------------------------------
def define_variables(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Decision variables, created only where they can matter.

    :math:`y_h` for every hub that is not excluded (existing hubs: :math:`y_h = 1` as a bound);
    :math:`z_{hk}` only for (hub, type) pairs some eligible arc or lift use needs, with
    :math:`0 \le z_{hk} \le \bar z_k` (peak scenario need, capped by the fleet);
    :math:`0 \le x_a \le D_{d(a)}` only for eligible arcs; :math:`u_d` only when soft.
    """
    inst = data.instance
    m.open_hub = pyo.Var(range(len(data.hubs)), domain=pyo.Binary)
    for i, hub in enumerate(inst.hubs):
        if hub.status == "existing":
            m.open_hub[i].setlb(1)
    divisible = {k: inst.types[t].divisible for k, t in enumerate(data.types)}
    m.stationed = pyo.Var(
        data.stocked,
        domain=pyo.NonNegativeReals,
        bounds=lambda _m, h, k: (0, float(data.stock_bound[k])),
    )
    for h, k in data.stocked:
        if not divisible[k]:
            m.stationed[h, k].domain = pyo.NonNegativeIntegers
    ub = data.demand_units[data.arcs.demand]
    m.dispatch = pyo.Var(range(len(data.arcs)), domain=pyo.NonNegativeReals, bounds=lambda _m, a: (0, float(ub[a])))
    for a in np.flatnonzero(data.arc_integer).tolist():
        m.dispatch[a].domain = pyo.NonNegativeIntegers
    if inst.options.deadlines == "soft":
        m.unmet = pyo.Var(
            range(len(inst.demands)),
            domain=pyo.NonNegativeReals,
            bounds=lambda _m, d: (0, float(data.demand_units[d])),
        )
    if data.lend:
        m.lent_sorties = pyo.Var(range(len(data.lend)), domain=pyo.NonNegativeReals)


# --- constraint families ------------------------------------------------------------------
def define_demand(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Every demand is met by eligible dispatches, or counted unmet (soft deadlines).

    .. math:: \sum_{a \in E(d)} x_a + u_d = D_d \quad \forall d
    """
    soft = data.instance.options.deadlines == "soft"
    uniq, groups = _groups(data.arcs.demand.reshape(-1, 1))
    by_demand = {int(u[0]): g for u, g in zip(uniq, groups)}
    rows = {}
    for d, units in enumerate(data.demand_units):
        arcs = by_demand.get(d, np.zeros(0, dtype=np.int64)).tolist()
        coefs = [1.0] * len(arcs)
        variables = [m.dispatch[a] for a in arcs]
        if soft:
            coefs.append(1.0)
            variables.append(m.unmet[d])
        rows[d] = (float(units), _lin(coefs, variables), float(units))
    m.demand = pyo.Constraint(range(len(data.demand_units)), rule=lambda _m, d: rows[d])


def define_stock(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Per scenario, a hub dispatches at most what it stations; lift flies the force sorties.

    Forces and helicopters (:math:`k \notin L`):
    :math:`\sum_{a=(s,h,\cdot,k)} x_a \le z_{hk}` for every scenario :math:`s`.

    Airlift :math:`l` with :math:`\sigma_l` sorties per aircraft in a crisis window; a force
    unit of type :math:`k` moved by air needs :math:`\lambda_{kl}` sorties; aircraft sent to
    missions fly no sorties for others; lent sorties move between hubs:

    .. math:: \sigma_l \sum_{a=(s,h,\cdot,l)} x_a + \sum_{a=(s,h,\cdot,k,\mathrm{air}:l)} \lambda_{kl} x_a
              - \sum_g v_{sghl} + \sum_{h'} v_{shh'l} \le \sigma_l z_{hl}
    """
    inst = data.instance
    arcs = data.arcs
    rows: dict[tuple[int, int, int], tuple[list[float], list]] = defaultdict(lambda: ([], []))
    sigma = {
        k: float(inst.types[t].sorties_per_window or 1.0) if inst.types[t].category == "airlift" else 1.0
        for k, t in enumerate(data.types)
    }
    keys = np.stack([data.arc_scenario, arcs.hub, data.arc_type], axis=1) if len(arcs) else np.zeros((0, 3), dtype=np.int64)
    uniq, groups = _groups(keys)
    for (s, h, k), g in zip(uniq.tolist(), groups):
        coefs, variables = rows[(s, h, k)]
        coefs.extend([sigma[k]] * len(g))
        variables.extend(m.dispatch[a] for a in g.tolist())
    lifted = np.flatnonzero(data.arc_lift >= 0)
    if len(lifted):
        lkeys = np.stack([data.arc_scenario[lifted], arcs.hub[lifted], data.arc_lift[lifted]], axis=1)
        uniq, groups = _groups(lkeys)
        for (s, h, lt), g in zip(uniq.tolist(), groups):
            coefs, variables = rows[(s, h, lt)]
            sel = lifted[g]
            coefs.extend(data.arc_sorties[sel].tolist())
            variables.extend(m.dispatch[a] for a in sel.tolist())
    for i, (s, g, h, lt) in enumerate(data.lend):
        coefs, variables = rows[(s, h, lt)]
        coefs.append(-1.0)
        variables.append(m.lent_sorties[i])
        coefs, variables = rows[(s, g, lt)]
        coefs.append(1.0)
        variables.append(m.lent_sorties[i])
    index = sorted(rows)

    def rule(_m: pyo.ConcreteModel, s: int, h: int, k: int) -> tuple:
        coefs, variables = rows[(s, h, k)]
        return (None, _lin(coefs + [-sigma[k]], variables + [m.stationed[h, k]]), 0.0)

    m.stock = pyo.Constraint(index, rule=rule)


def define_hub_capacity(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Stationed units fit the hub's space, and only in open hubs.

    .. math:: \sum_k a_k z_{hk} \le cap_h\, y_h \quad \text{(hubs with a capacity)}
    .. math:: z_{hk} \le \bar z_k\, y_h \quad \text{(linking, every stationed variable)}
    """
    inst = data.instance
    by_hub: dict[int, list[int]] = defaultdict(list)
    for h, k in data.stocked:
        by_hub[h].append(k)
    cap_rows = {}
    for h, ks in by_hub.items():
        cap = inst.hubs[h].capacity
        if cap is not None:
            coefs = [float(inst.types[data.types[k]].space) for k in ks] + [-float(cap)]
            cap_rows[h] = _lin(coefs, [m.stationed[h, k] for k in ks] + [m.open_hub[h]])
    m.hub_capacity = pyo.Constraint(sorted(cap_rows), rule=lambda _m, h: (None, cap_rows[h], 0.0))
    m.stock_link = pyo.Constraint(
        data.stocked,
        rule=lambda _m, h, k: (None, _lin([1.0, -float(data.stock_bound[k])], [m.stationed[h, k], m.open_hub[h]]), 0.0),
    )


def define_strong_linking(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Strong linking: no dispatch from a closed hub, arc by arc (tightens the relaxation).

    .. math:: x_a \le D_{d(a)}\, y_{h(a)} \quad \forall a \in E

    Skipped when ``options.strong_linking`` is false; the weak form is implied by
    ``stock`` and ``stock_link``.
    """
    if not data.instance.options.strong_linking:
        return
    ub = data.demand_units[data.arcs.demand]
    hub = data.arcs.hub
    m.strong_link = pyo.Constraint(
        range(len(data.arcs)),
        rule=lambda _m, a: (None, _lin([1.0, -float(ub[a])], [m.dispatch[a], m.open_hub[int(hub[a])]]), 0.0),
    )


def define_fleet(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""No more units of a type are stationed than exist or are pledged.

    .. math:: \sum_h z_{hk} \le U_k \quad \forall k \text{ with a fleet limit}
    """
    by_type: dict[int, list[int]] = defaultdict(list)
    for h, k in data.stocked:
        by_type[k].append(h)
    rows = {}
    for k, hs in by_type.items():
        limit = data.instance.types[data.types[k]].fleet_limit
        if limit is not None:
            rows[k] = _lin([1.0] * len(hs), [m.stationed[h, k] for h in hs])
            rows[k] = (None, rows[k], float(limit))
    m.fleet = pyo.Constraint(sorted(rows), rule=lambda _m, k: rows[k])


def _annual_cost(m: pyo.ConcreteModel, data: ModelData) -> LinearExpression:
    inst = data.instance
    coefs = [float(h.fixed_cost) for h in inst.hubs]
    variables = [m.open_hub[i] for i in range(len(data.hubs))]
    for h, k in data.stocked:
        coefs.append(inst.holding_cost(inst.hubs[h], data.types[k]))
        variables.append(m.stationed[h, k])
    return _lin(coefs, variables)


def define_budget(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Annual fixed and holding cost within the budget, when one is given.

    .. math:: \sum_h f_h y_h + \sum_{hk} c_{hk} z_{hk} \le B
    """
    budget = data.instance.options.budget
    if budget is not None:
        m.budget = pyo.Constraint(expr=_annual_cost(m, data) <= float(budget))


def define_hub_count(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Bounds on the number of open hubs.

    .. math:: P_{min} \le \sum_h y_h \le P_{max}
    """
    o = data.instance.options
    if o.min_hubs is None and o.max_hubs is None:
        return
    body = _lin([1.0] * len(data.hubs), [m.open_hub[i] for i in range(len(data.hubs))])
    lo = float(o.min_hubs) if o.min_hubs is not None else None
    hi = float(o.max_hubs) if o.max_hubs is not None else None
    m.hub_count = pyo.Constraint(expr=(lo, body, hi))


def scenario_cost_terms(m: pyo.ConcreteModel, data: ModelData) -> dict[int, tuple[list[float], list]]:
    """Per scenario: dispatch cost and unmet penalty terms (coefficients, variables)."""
    terms: dict[int, tuple[list[float], list]] = {s: ([], []) for s in range(len(data.scenarios))}
    cost = data.arcs.cost
    for a in np.flatnonzero(cost != 0).tolist():
        coefs, variables = terms[int(data.arc_scenario[a])]
        coefs.append(float(cost[a]))
        variables.append(m.dispatch[a])
    if hasattr(m, "unmet"):
        s_pos = {s: i for i, s in enumerate(data.scenarios)}
        for d, row in enumerate(data.instance.demands):
            coefs, variables = terms[s_pos[row.scenario]]
            coefs.append(data.instance.penalty(row.type))
            variables.append(m.unmet[d])
    return terms


def define_objective(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Annual cost plus the expected (or worst) crisis cost.

    Expected: :math:`\min \sum_h f_h y_h + \sum_{hk} c_{hk} z_{hk} + \sum_s p_s
    (\sum_{a \in s} g_a x_a + \sum_{d \in s} \pi_k u_d)`.

    Worst case: replace the expectation by :math:`\eta` with
    :math:`\eta \ge \sum_{a \in s} g_a x_a + \sum_{d \in s} \pi_k u_d` for every scenario.
    """
    annual = _annual_cost(m, data)
    terms = scenario_cost_terms(m, data)
    probs = data.instance.probabilities
    coefs = list(annual.linear_coefs)
    variables = list(annual.linear_vars)
    if data.instance.options.objective == "worst_case":
        m.worst_scenario_cost = pyo.Var(domain=pyo.NonNegativeReals)
        m.worst_case = pyo.Constraint(
            [s for s in terms if terms[s][0]],
            rule=lambda _m, s: (None, _lin(terms[s][0] + [-1.0], terms[s][1] + [m.worst_scenario_cost]), 0.0),
        )
        coefs.append(1.0)
        variables.append(m.worst_scenario_cost)
    else:
        for s, (c, v) in terms.items():
            p = probs[data.scenarios[s]]
            coefs.extend(p * x for x in c)
            variables.extend(v)
    m.total_cost = pyo.Objective(expr=_lin(coefs, variables), sense=pyo.minimize)


#: The constraint families, in the order they are added (rows appear in this order).
FAMILIES = (
    define_variables,
    define_demand,
    define_stock,
    define_hub_capacity,
    define_strong_linking,
    define_fleet,
    define_budget,
    define_hub_count,
    define_objective,
)


def build_model(instance: Instance, network: Network, arcs: Arcs) -> tuple[pyo.ConcreteModel, ModelData]:
    """Build the Pyomo model of record (and the index data read-back needs)."""
    data = prepare(instance, network, arcs)
    m = pyo.ConcreteModel(name=instance.name)
    for family in FAMILIES:
        family(m, data)
    return m, data
