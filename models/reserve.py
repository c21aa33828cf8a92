r"""The reserve stationing model: where to open hubs, what to station, how to dispatch.

Sets: hubs :math:`H`, asset types :math:`K` (force packages :math:`F`, helicopters,
airlift :math:`L`), scenarios :math:`S`, demands :math:`d=(s,m,k)` with units :math:`D_d`
and deadline :math:`T_d`, eligible arcs :math:`a=(d,h,o)\in E` (option :math:`o` reaches
:math:`m` from :math:`h` within :math:`T_d`; built in `horizon.optimizer.network.graph`).

Variables: :math:`y_h\in\{0,1\}` open; :math:`z_{hk}\ge 0` stationed (integer unless the
type is divisible); :math:`x_a\ge 0` dispatched (integer unless divisible);
:math:`u_d\ge 0` unmet (soft deadlines only); :math:`\eta` worst-case scenario cost
(worst-case objective only). An arc moved by air names the hub :math:`g(a)` whose airlift
flies its sorties: its own hub, or a hub that lends it lift (with positioning time).

Each constraint family is one ``define_*`` function below, called in a fixed order by
`build_model`; each documents its formula and writes its rows as numpy triplets into a
`LinearModel` (vectorised: no per-element Python on the hot path). Blocks have structured
names (``open_hub``, ``stationed``, ``dispatch``, ``demand``, ``stock``...) shared with the
Pyomo model `LinearModel.to_pyomo` produces, so read-back is generic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from horizon.models.linear import INF, LinearModel
from horizon.optimizer.data.instance import Instance
from horizon.optimizer.network.graph import Arcs, Network


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
    arc_upper: np.ndarray  # most units an arc can carry: its demand (times options.max_share_per_arc)
    demand_units: np.ndarray
    stock_bound: np.ndarray  # per type: most units that could ever be worth stationing
    stocked: tuple[tuple[int, int], ...]  # (hub, type) pairs with a stationed variable
    stock_upper: np.ndarray  # per stocked pair: most units that hub could ever use of that type
    pledges: tuple[tuple[int, int, int], ...] = ()  # (hub, type, contributor) with a pledged variable

    @property
    def stocked_hub(self) -> np.ndarray:
        return np.array([h for h, _ in self.stocked], dtype=np.int64)

    @property
    def stocked_type(self) -> np.ndarray:
        return np.array([k for _, k in self.stocked], dtype=np.int64)

    def stock_position(self) -> np.ndarray:
        """(hubs × types) array: position of z[h, k] in the `stationed` block, -1 if absent."""
        pos = np.full((len(self.hubs), len(self.types)), -1, dtype=np.int64)
        if self.stocked:
            pos[self.stocked_hub, self.stocked_type] = np.arange(len(self.stocked))
        return pos

    def sigma(self) -> np.ndarray:
        """Sorties per crisis window per type (1 for types that are not airlift)."""
        return np.array(
            [
                float(self.instance.types[t].sorties_per_window or 1.0) if self.instance.types[t].category == "airlift" else 1.0
                for t in self.types
            ]
        )


@dataclass(frozen=True)
class FirstStage:
    """The stationed variables' index and bounds, shared by scenario sub-models."""

    stocked: tuple[tuple[int, int], ...]
    stock_bound: np.ndarray
    stock_upper: np.ndarray


def prepare(instance: Instance, network: Network, arcs: Arcs, first_stage: FirstStage | None = None) -> ModelData:
    """Derive the model's index arrays from the instance and the eligible arcs.

    `first_stage` fixes the (hub, type) pairs that get a stationed variable and their upper
    bounds (by default: the pairs some arc or lift use needs, each bounded by the most that
    hub could dispatch of that type in any one scenario, see `_pair_need`);
    scenario sub-models for decomposition pass those of the full instance so that every
    sub-model has the same first-stage variables with the same bounds.
    """
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
    lift_use = set(zip(arcs.lift_hub[lift_arcs].tolist(), opt_lift[arcs.option][lift_arcs].tolist()))
    stocked = tuple(sorted(used | lift_use))
    arc_upper = _arc_upper(d_units[arcs.demand], ~divisible[arc_type], instance.options.max_share_per_arc)
    if first_stage is not None:
        stocked, peak, upper = first_stage.stocked, first_stage.stock_bound, first_stage.stock_upper
    else:
        sigma = np.array([float(instance.types[t].sorties_per_window or 1.0) for t in types])
        need = _pair_need(
            arcs, d_scen, arc_type, arc_upper, d_units, opt_lift, opt_sorties, sigma, (len(scenarios), len(hubs), len(types))
        )
        sh, sk = (np.array([p[i] for p in stocked], dtype=np.int64) for i in (0, 1))
        upper = np.minimum(need[sh, sk], peak[sk]) if stocked else np.zeros(0)
    contribs = instance.contributors_of
    pledges = tuple((h, k, c) for h, k in stocked for c in contribs.get(types[k], ()) if instance.accepts_hub(c, hubs[h]))
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
        arc_upper=arc_upper,
        demand_units=d_units,
        stock_bound=peak,
        stocked=stocked,
        stock_upper=upper,
        pledges=pledges,
    )


def _arc_upper(units: np.ndarray, integer: np.ndarray, share: float | None) -> np.ndarray:
    """Units an arc may carry: the demand, or its share for one hub (whole units if integer)."""
    if share is None:
        return units.astype(float)
    cap = units * share
    return np.where(integer, np.floor(cap + 1e-9), cap)


def _pair_need(
    arcs: Arcs,
    d_scen: np.ndarray,
    arc_type: np.ndarray,
    arc_upper: np.ndarray,
    d_units: np.ndarray,
    opt_lift: np.ndarray,
    opt_sorties: np.ndarray,
    sigma: np.ndarray,
    shape: tuple[int, int, int],
) -> np.ndarray:
    r"""(hubs × types) array: the most units of a type a hub could use in any one scenario.

    Stock beyond it is never dispatched, so capping :math:`z_{hk}` there (and in the
    linking row :math:`z_{hk} \le M_{hk} y_h`) keeps every optimum while tightening the
    relaxation: with one bound per type, a hub that reaches one small mission got the
    big-M of the busiest. A unit counts once per (demand, hub) whatever the options; lift
    counts its own missions' units plus the sorties it could fly, in aircraft (rounded up).
    """
    n_s, n_h, n_k = shape
    need = np.zeros(shape)
    if len(arcs) == 0:
        return np.zeros((n_h, n_k))
    # direct use: units each (demand, hub) could take, summed per (scenario, hub, type)
    dh, first, inverse = np.unique(arcs.demand * n_h + arcs.hub, return_index=True, return_inverse=True)
    units = np.minimum(np.bincount(inverse.ravel(), weights=arc_upper, minlength=len(dh)), d_units[dh // n_h])
    np.add.at(need, (d_scen[dh // n_h], dh % n_h, arc_type[first]), units)
    # lift use: sorties each (demand, lift hub, lift type) could need, in aircraft-windows
    lifted = np.flatnonzero(opt_lift[arcs.option] >= 0)
    if len(lifted):
        lift = opt_lift[arcs.option[lifted]]
        sorties = opt_sorties[arcs.option[lifted]] * d_units[arcs.demand[lifted]]
        key = (arcs.demand[lifted] * n_h + arcs.lift_hub[lifted]) * n_k + lift
        order = np.lexsort((-sorties, key))
        keep = order[np.r_[True, key[order][1:] != key[order][:-1]]]
        d, g, ll = arcs.demand[lifted][keep], arcs.lift_hub[lifted][keep], lift[keep]
        np.add.at(need, (d_scen[d], g, ll), sorties[keep] / sigma[ll])
    return np.ceil(need - 1e-9).max(axis=0)


def _unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows of an (n × c) int array and, for each input row, its unique row number."""
    if len(keys) == 0:
        return np.zeros((0, keys.shape[1]), dtype=np.int64), np.zeros(0, dtype=np.int64)
    # Encode each row as one integer (mixed radix) so the 1-D unique runs: `axis=0` is ~30x slower.
    keys = np.asarray(keys, dtype=np.int64)
    low = keys.min(axis=0)
    span = keys.max(axis=0) - low + 1
    if float(np.prod(span.astype(float))) < 2**62:
        code = np.zeros(len(keys), dtype=np.int64)
        for j in range(keys.shape[1]):
            code = code * span[j] + (keys[:, j] - low[j])
        codes, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        return keys[first], inverse.ravel()
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    return uniq, inverse.ravel()


def _ones(n: int) -> np.ndarray:
    return np.ones(n, dtype=float)


# --- variables ---------------------------------------------------------------------------
def define_variables(lm: LinearModel, data: ModelData) -> None:
    r"""Decision variables, created only where they can matter.

    :math:`y_h` for every hub that is not excluded (existing hubs: :math:`y_h = 1` as a bound);
    :math:`z_{hk}` only for (hub, type) pairs some eligible arc or lift use needs, with
    :math:`0 \le z_{hk} \le \bar z_k` (peak scenario need, capped by the fleet);
    :math:`0 \le x_a \le \bar x_a` only for eligible arcs; :math:`u_d` only when soft;
    :math:`\eta` only for the worst-case objective.
    """
    inst = data.instance
    existing = np.array([h.status == "existing" for h in inst.hubs], dtype=float)
    lm.add_vars("open_hub", len(data.hubs), lower=existing, upper=1.0, integer=True, keys=data.hubs)
    divisible = np.array([inst.types[t].divisible for t in data.types], dtype=bool)
    kk = data.stocked_type
    lm.add_vars(
        "stationed",
        len(data.stocked),
        upper=data.stock_upper,
        integer=~divisible[kk] if len(kk) else False,
        keys=[(data.hubs[h], data.types[k]) for h, k in data.stocked],
    )
    groups = _split_groups(data)
    integer = data.arc_integer.copy()
    if groups is not None:
        integer[groups[0] >= 0] = False
    lm.add_vars("dispatch", len(data.arcs), upper=data.arc_upper, integer=integer)
    if groups is not None:
        row_of, keys, upper = groups
        lm.add_vars("units", len(keys), upper=upper, integer=True, keys=keys)
    if data.pledges:
        pk = np.array([k for _, k, _ in data.pledges], dtype=np.int64)
        lm.add_vars(
            "pledged",
            len(data.pledges),
            upper=data.stock_bound[pk],
            integer=~divisible[pk],
            keys=[(data.hubs[h], data.types[k], inst.spec.contributors[c].id) for h, k, c in data.pledges],
        )
    if inst.options.deadlines == "soft":
        lm.add_vars("unmet", len(inst.demands), upper=data.demand_units)
    if inst.options.objective == "worst_case":
        lm.add_vars("worst_scenario_cost", 1)


def _split_groups(data: ModelData) -> tuple[np.ndarray, list[tuple], np.ndarray] | None:
    """With ``split_loads``: (group of each arc or -1, group keys, group upper bounds).

    A group is an indivisible demand's arcs from one hub (and one contributor) when there
    are two or more of them; its unit count is integral, the arcs' loads are not. Arcs
    alone in their group keep an integral dispatch (the same thing, one column fewer).
    """
    if not data.instance.options.split_loads or len(data.arcs) == 0:
        return None
    arcs = data.arcs
    uniq, row_of = _unique_rows(np.stack([arcs.demand, arcs.hub, arcs.contributor], axis=1))
    size = np.bincount(row_of, minlength=len(uniq))
    chosen = (size[row_of] >= 2) & data.arc_integer
    sel = np.flatnonzero(np.bincount(row_of[chosen], minlength=len(uniq)) > 0)
    renum = np.full(len(uniq), -1, dtype=np.int64)
    renum[sel] = np.arange(len(sel))
    group = np.where(chosen, renum[row_of], -1)
    upper = np.minimum(
        np.bincount(group[chosen], weights=data.arc_upper[chosen], minlength=len(sel)), data.demand_units[uniq[sel, 0]]
    )
    demands, contributors = data.instance.demands, data.instance.spec.contributors
    keys = [
        (demands[d].scenario, data.hubs[h], demands[d].mission, demands[d].type, contributors[c].id if c >= 0 else None)
        for d, h, c in uniq[sel].tolist()
    ]
    return group, keys, upper


# --- constraint families ------------------------------------------------------------------
def define_split_loads(lm: LinearModel, data: ModelData) -> None:
    r"""Split loads: whole units per (demand, hub), loads split freely across its options.

    .. math:: \sum_{a \in E(d),\, h(a)=h} x_a = n_{dh}, \quad n_{dh} \in \mathbb{Z}_{\ge 0}

    (only when ``options.split_loads``, for indivisible types with two or more options from
    the hub; the arcs' :math:`x_a` are then continuous).
    """
    if "units" not in lm.vars:
        return
    group = _split_groups(data)[0]
    sel = np.flatnonzero(group >= 0)
    n = lm.vars["units"].size
    lm.add_rows(
        "split_loads",
        n,
        np.concatenate([group[sel], np.arange(n)]),
        np.concatenate([lm.vars["dispatch"].col(sel), lm.vars["units"].col(np.arange(n))]),
        np.concatenate([_ones(len(sel)), -_ones(n)]),
        lower=0.0,
        upper=0.0,
    )


def define_demand(lm: LinearModel, data: ModelData) -> None:
    r"""Every demand is met by eligible dispatches, or counted unmet (soft deadlines).

    .. math:: \sum_{a \in E(d)} x_a + u_d = D_d \quad \forall d
    """
    x = lm.vars["dispatch"]
    n_arcs, n_dem = len(data.arcs), len(data.demand_units)
    rows, cols = [data.arcs.demand], [x.col(np.arange(n_arcs))]
    if "unmet" in lm.vars:
        rows.append(np.arange(n_dem))
        cols.append(lm.vars["unmet"].col(np.arange(n_dem)))
    r, c = np.concatenate(rows), np.concatenate(cols)
    lm.add_rows("demand", n_dem, r, c, _ones(len(r)), lower=data.demand_units, upper=data.demand_units)


def define_stock(lm: LinearModel, data: ModelData) -> None:
    r"""Per scenario, a hub dispatches at most what it stations; lift flies the force sorties.

    Forces and helicopters (:math:`k \notin L`):
    :math:`\sum_{a=(s,h,\cdot,k)} x_a \le z_{hk}` for every scenario :math:`s`.

    Airlift :math:`l` with :math:`\sigma_l` sorties per aircraft in a crisis window; a force
    unit of type :math:`k` moved by air needs :math:`\lambda_{kl}` sorties, flown by the
    aircraft of hub :math:`g(a)`; aircraft sent to missions fly no sorties for others:

    .. math:: \sigma_l \sum_{a=(s,h,\cdot,l)} x_a + \sum_{a:\, s(a)=s,\, g(a)=h,\, \mathrm{air}:l} \lambda_{kl} x_a
              \le \sigma_l z_{hl}
    """
    arcs, x = data.arcs, lm.vars["dispatch"]
    sigma = data.sigma()
    a_all = np.arange(len(arcs))
    lifted = np.flatnonzero(data.arc_lift >= 0)
    keys = [np.stack([data.arc_scenario, arcs.hub, data.arc_type], axis=1)]
    cols = [x.col(a_all)]
    vals = [sigma[data.arc_type]]
    keys.append(np.stack([data.arc_scenario[lifted], arcs.lift_hub[lifted], data.arc_lift[lifted]], axis=1))
    cols.append(x.col(lifted))
    vals.append(data.arc_sorties[lifted])
    uniq, row_of = _unique_rows(np.concatenate(keys).reshape(-1, 3))
    pos = data.stock_position()
    z = lm.vars["stationed"].col(pos[uniq[:, 1], uniq[:, 2]])
    n = len(uniq)
    lm.add_rows(
        "stock",
        n,
        np.concatenate([row_of, np.arange(n)]),
        np.concatenate(cols + [z]),
        np.concatenate(vals + [-sigma[uniq[:, 2]]]),
        upper=0.0,
        keys=[(data.scenarios[s], data.hubs[h], data.types[k]) for s, h, k in uniq.tolist()],
    )


def define_contributors(lm: LinearModel, data: ModelData) -> None:
    r"""Contributor caveats: who provides the units, where they may be and where they go.

    For a type :math:`k` with contributors :math:`C_k`, stationed units are split by
    contributor (:math:`w_{hkc}` only at hubs :math:`c` accepts), each contributor's units
    serve only the missions it deploys to (arcs carry their contributor :math:`c(a)`,
    created only where :math:`c` accepts the hub and the mission), within its pledge:

    .. math:: z_{hk} = \sum_{c \in C_k} w_{hkc}
    .. math:: \sum_{a=(s,h,\cdot,k),\, c(a)=c} x_a \le w_{hkc} \quad \forall s
    .. math:: \sum_h w_{hkc} \le U_{kc}
    """
    if not data.pledges:
        return
    inst, arcs = data.instance, data.arcs
    w, z, x = lm.vars["pledged"], lm.vars["stationed"], lm.vars["dispatch"]
    pos = data.stock_position()
    pledge = np.array(data.pledges, dtype=np.int64)
    n = len(pledge)
    # split: z[h,k] - sum_c w[h,k,c] = 0, one row per contributed (h, k)
    hk, row_of = _unique_rows(pledge[:, :2])
    lm.add_rows(
        "contributor_split",
        len(hk),
        np.concatenate([np.arange(len(hk)), row_of]),
        np.concatenate([z.col(pos[hk[:, 0], hk[:, 1]]), w.col(np.arange(n))]),
        np.concatenate([_ones(len(hk)), -_ones(n)]),
        lower=0.0,
        upper=0.0,
        keys=[(data.hubs[h], data.types[k]) for h, k in hk.tolist()],
    )
    # per scenario, a contributor's dispatch from a hub within its units there
    w_pos = {tuple(p): i for i, p in enumerate(pledge.tolist())}
    mine = np.flatnonzero(arcs.contributor >= 0)
    keys = np.stack([data.arc_scenario[mine], arcs.hub[mine], data.arc_type[mine], arcs.contributor[mine]], axis=1)
    uniq, row_of = _unique_rows(keys.reshape(-1, 4))
    w_cols = w.col(np.array([w_pos[(h, k, c)] for _, h, k, c in uniq.tolist()], dtype=np.int64))
    m = len(uniq)
    lm.add_rows(
        "contributor_stock",
        m,
        np.concatenate([row_of, np.arange(m)]),
        np.concatenate([x.col(mine), w_cols]),
        np.concatenate([_ones(len(mine)), -_ones(m)]),
        upper=0.0,
        keys=[(data.scenarios[s], data.hubs[h], data.types[k], inst.spec.contributors[c].id) for s, h, k, c in uniq.tolist()],
    )
    # pledges
    kc, row_of = _unique_rows(pledge[:, 1:])
    limit = np.array([inst.spec.contributors[c].units[data.types[k]] for k, c in kc.tolist()], dtype=float)
    lm.add_rows(
        "pledge",
        len(kc),
        row_of,
        w.col(np.arange(n)),
        _ones(n),
        upper=limit,
        keys=[(data.types[k], inst.spec.contributors[c].id) for k, c in kc.tolist()],
    )


def define_hub_capacity(lm: LinearModel, data: ModelData) -> None:
    r"""Stationed units fit the hub's space, and only in open hubs.

    .. math:: \sum_k a_k z_{hk} \le cap_h\, y_h \quad \text{(hubs with a capacity)}
    .. math:: z_{hk} \le \bar z_k\, y_h \quad \text{(linking, every stationed variable)}
    """
    inst = data.instance
    y, z = lm.vars["open_hub"], lm.vars["stationed"]
    hh, kk = data.stocked_hub, data.stocked_type
    cap = np.array([np.nan if h.capacity is None else float(h.capacity) for h in inst.hubs])
    capped = np.flatnonzero(~np.isnan(cap))
    row_of = np.full(len(data.hubs), -1, dtype=np.int64)
    row_of[capped] = np.arange(len(capped))
    space = np.array([float(inst.types[t].space) for t in data.types])
    sel = np.flatnonzero(row_of[hh] >= 0) if len(hh) else np.zeros(0, dtype=np.int64)
    lm.add_rows(
        "hub_capacity",
        len(capped),
        np.concatenate([row_of[hh[sel]], np.arange(len(capped))]),
        np.concatenate([z.col(sel), y.col(capped)]),
        np.concatenate([space[kk[sel]], -cap[capped]]),
        upper=0.0,
        keys=[data.hubs[h] for h in capped],
    )
    n = len(data.stocked)
    idx = np.arange(n)
    lm.add_rows(
        "stock_link",
        n,
        np.concatenate([idx, idx]),
        np.concatenate([z.col(idx), y.col(hh)]),
        np.concatenate([_ones(n), -data.stock_upper]) if n else np.zeros(0),
        upper=0.0,
        keys=z.keys,
    )


def define_strong_linking(lm: LinearModel, data: ModelData) -> None:
    r"""Strong linking: no dispatch from a closed hub, per (demand, hub) (tightens the relaxation).

    .. math:: \sum_{a \in E(d):\; h \in \{h(a), g(a)\}} x_a \le \bar x_{dh}\, y_h
              \quad \forall (d, h) \text{ with such an arc}

    (an arc needs its own hub open, and the hub :math:`g(a)` whose lent lift it flies), with
    :math:`\bar x_{dh} = \min(D_d, \sum_a \bar x_a)` (arcs capped by ``max_share_per_arc``
    when set). One row per (demand, hub) rather than per arc: a hub reaching a mission by
    several options (road, air by either lift type) otherwise lets the relaxation send
    :math:`D_d y_h` by *each* of them.
    Skipped when ``options.strong_linking`` is false; the weak form is implied by ``stock``
    and ``stock_link``.
    """
    if not data.instance.options.strong_linking:
        return
    arcs, x, y = data.arcs, lm.vars["dispatch"], lm.vars["open_hub"]
    lent = np.flatnonzero((arcs.lift_hub >= 0) & (arcs.lift_hub != arcs.hub))
    # an arc needs its own hub open, and its lending hub when it flies on lent lift
    keys = np.concatenate(
        [np.stack([arcs.demand, arcs.hub], axis=1), np.stack([arcs.demand[lent], arcs.lift_hub[lent]], axis=1)]
    ).reshape(-1, 2)
    arc_of = np.concatenate([np.arange(len(arcs)), lent])
    uniq, row_of = _unique_rows(keys)
    n = len(uniq)
    cap = np.minimum(np.bincount(row_of, weights=data.arc_upper[arc_of], minlength=n), data.demand_units[uniq[:, 0]])
    lm.add_rows(
        "strong_link",
        n,
        np.concatenate([row_of, np.arange(n)]),
        np.concatenate([x.col(arc_of), y.col(uniq[:, 1])]),
        np.concatenate([_ones(len(arc_of)), -cap]),
        upper=0.0,
    )


def define_fleet(lm: LinearModel, data: ModelData) -> None:
    r"""No more units of a type are stationed than exist or are pledged.

    .. math:: \sum_h z_{hk} \le U_k \quad \forall k \text{ with a fleet limit}
    """
    limits = np.array(
        [np.nan if data.instance.types[t].fleet_limit is None else float(data.instance.types[t].fleet_limit) for t in data.types]
    )
    limited = np.flatnonzero(~np.isnan(limits))
    row_of = np.full(len(data.types), -1, dtype=np.int64)
    row_of[limited] = np.arange(len(limited))
    kk = data.stocked_type
    sel = np.flatnonzero(row_of[kk] >= 0) if len(kk) else np.zeros(0, dtype=np.int64)
    lm.add_rows(
        "fleet",
        len(limited),
        row_of[kk[sel]],
        lm.vars["stationed"].col(sel),
        _ones(len(sel)),
        upper=limits[limited],
        keys=[data.types[k] for k in limited],
    )


def define_service_level(lm: LinearModel, data: ModelData) -> None:
    r"""Tiered deadlines: a share :math:`\beta` of demand arrives by the first deadline.

    Arcs exist up to each demand's final deadline :math:`T'_d` (so ``demand`` makes all
    units arrive by then); on-time arcs :math:`E^1(d)` meet the first deadline :math:`T_d`:

    .. math:: \sum_{a \in E^1(d)} x_a + u_d \ge \beta D_d \quad \text{(scope demand)}
    .. math:: \sum_{d \in s} \big(\sum_{a \in E^1(d)} x_a + u_d\big) \ge \beta \sum_{d \in s} D_d
              \quad \text{(scope scenario)}

    :math:`u_d` (soft deadlines only) lets penalised shortfalls stand in for late units.
    """
    level = data.instance.options.service_level
    if level is None:
        return
    demands = data.instance.demands
    tiered = np.array([d.final_deadline is not None for d in demands], dtype=bool)
    if not tiered.any():
        return
    deadline = np.array([np.inf if d.deadline is None else d.deadline for d in demands])
    arcs = data.arcs
    on_time = tiered[arcs.demand] & (arcs.hours <= deadline[arcs.demand] + 1e-9)
    group = (
        np.arange(len(demands))
        if level.scope == "demand"
        else np.array([data.scenarios.index(d.scenario) for d in demands], dtype=np.int64)
    )
    keys, row_of = np.unique(group[tiered], return_inverse=True)
    row_of_demand = np.full(len(demands), -1, dtype=np.int64)
    row_of_demand[np.flatnonzero(tiered)] = row_of
    sel = np.flatnonzero(on_time)
    rows, cols = [row_of_demand[arcs.demand[sel]]], [lm.vars["dispatch"].col(sel)]
    if "unmet" in lm.vars:
        t_idx = np.flatnonzero(tiered)
        rows.append(row_of_demand[t_idx])
        cols.append(lm.vars["unmet"].col(t_idx))
    r = np.concatenate(rows)
    need = np.bincount(row_of, weights=data.demand_units[tiered], minlength=len(keys)) * level.share
    label = [f"d{k}" for k in keys] if level.scope == "demand" else [data.scenarios[k] for k in keys]
    lm.add_rows("service_level", len(keys), r, np.concatenate(cols), _ones(len(r)), lower=need, keys=label)


def annual_cost(lm: LinearModel, data: ModelData) -> tuple[np.ndarray, np.ndarray]:
    """(columns, coefficients) of the annual fixed + holding cost."""
    inst = data.instance
    fixed = np.array([float(h.fixed_cost) for h in inst.hubs])
    holding = np.array([inst.holding_cost(inst.hubs[h], data.types[k]) for h, k in data.stocked])
    y, z = lm.vars["open_hub"], lm.vars["stationed"]
    return (
        np.concatenate([y.col(np.arange(len(fixed))), z.col(np.arange(len(holding)))]),
        np.concatenate([fixed, holding]),
    )


def define_budget(lm: LinearModel, data: ModelData) -> None:
    r"""Annual fixed and holding cost within the budget, when one is given.

    .. math:: \sum_h f_h y_h + \sum_{hk} c_{hk} z_{hk} \le B
    """
    budget = data.instance.options.budget
    if budget is not None:
        cols, vals = annual_cost(lm, data)
        lm.add_rows("budget", 1, np.zeros(len(cols), dtype=np.int64), cols, vals, upper=float(budget))


def define_hub_count(lm: LinearModel, data: ModelData) -> None:
    r"""Bounds on the number of open hubs.

    .. math:: P_{min} \le \sum_h y_h \le P_{max}
    """
    o = data.instance.options
    if o.min_hubs is None and o.max_hubs is None:
        return
    n = len(data.hubs)
    lm.add_rows(
        "hub_count",
        1,
        np.zeros(n, dtype=np.int64),
        lm.vars["open_hub"].col(np.arange(n)),
        _ones(n),
        lower=-INF if o.min_hubs is None else float(o.min_hubs),
        upper=INF if o.max_hubs is None else float(o.max_hubs),
    )


def scenario_costs(lm: LinearModel, data: ModelData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scenario, column, cost) of every crisis-cost term: dispatch costs and unmet penalties."""
    x = lm.vars["dispatch"]
    scen, cols, vals = [data.arc_scenario], [x.col(np.arange(len(data.arcs)))], [data.arcs.cost]
    if "unmet" in lm.vars:
        inst = data.instance
        s_pos = {s: i for i, s in enumerate(data.scenarios)}
        scen.append(np.array([s_pos[d.scenario] for d in inst.demands], dtype=np.int64))
        cols.append(lm.vars["unmet"].col(np.arange(len(inst.demands))))
        vals.append(np.array([inst.penalty(d.type) for d in inst.demands]))
    return np.concatenate(scen), np.concatenate(cols), np.concatenate(vals)


def define_objective(lm: LinearModel, data: ModelData) -> None:
    r"""Annual cost plus the expected (or worst) crisis cost.

    Expected: :math:`\min \sum_h f_h y_h + \sum_{hk} c_{hk} z_{hk} + \rho \sum_s p_s
    (\sum_{a \in s} g_a x_a + \sum_{d \in s} \pi_k u_d)`, where :math:`\rho` is
    ``options.crises_per_year`` (crisis windows a year), so that all terms are annual.

    Worst case: replace the expectation by :math:`\rho\eta` with
    :math:`\eta \ge \sum_{a \in s} g_a x_a + \sum_{d \in s} \pi_k u_d` for every scenario.
    """
    lm.add_cost(*annual_cost(lm, data))
    rate = float(data.instance.options.crises_per_year)
    scen, cols, vals = scenario_costs(lm, data)
    if "worst_scenario_cost" in lm.vars:
        eta = lm.vars["worst_scenario_cost"].col(0)
        n = len(data.scenarios)
        lm.add_rows(
            "worst_case",
            n,
            np.concatenate([scen, np.arange(n)]),
            np.concatenate([cols, np.full(n, eta)]),
            np.concatenate([vals, -_ones(n)]),
            upper=0.0,
            keys=data.scenarios,
        )
        lm.add_cost(np.array([eta]), np.array([rate]))
    else:
        p = np.array([data.instance.probabilities[s] for s in data.scenarios])
        lm.add_cost(cols, rate * p[scen] * vals)


#: The model's parts, in the order they are added (columns and rows appear in this order).
FAMILIES = (
    define_variables,
    define_demand,
    define_split_loads,
    define_stock,
    define_contributors,
    define_hub_capacity,
    define_strong_linking,
    define_fleet,
    define_service_level,
    define_budget,
    define_hub_count,
    define_objective,
)


def build_model(
    instance: Instance, network: Network, arcs: Arcs, first_stage: FirstStage | None = None
) -> tuple[LinearModel, ModelData]:
    """Build the reserve model (matrix form; `LinearModel.to_pyomo` gives the Pyomo model)."""
    data = prepare(instance, network, arcs, first_stage)
    lm = LinearModel(name=instance.name)
    for family in FAMILIES:
        family(lm, data)
    return lm, data
