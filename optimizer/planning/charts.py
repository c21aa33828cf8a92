"""Charts of the planner tools: a sweep's trade-off and the pooling policies side by side.

They draw with the same figure helpers as the maps (`horizon.optimizer.results.report`)
and sit here, above those, because they read the planner tools' results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from horizon.optimizer.planning.tools import Comparison, SweepResult
from horizon.optimizer.results.report import DPI, money_text, pyplot, save_figure, short_number

SWEEP_SIZE = (12.0, 5.0)


COMPARE_SIZE = (12.0, 5.0)


_LABELS = {
    "value": "value",
    "total_cost": "total annual cost",
    "annual_cost": "fixed + holding cost (what the budget caps)",
    "coverage_pct": "demand met within deadline (%)",
    "hubs_used": "hubs open",
}


def _label(metric: str, param: str) -> str:
    if metric == "value":
        return param
    if metric.startswith("units_"):
        return f"units of {metric[6:]} stationed"
    return _LABELS.get(metric, metric)


def plot_sweep(result: SweepResult, out: str | Path, *, size: tuple[float, float] = SWEEP_SIZE, dpi: int = DPI) -> Path:
    """Left: the trade-off with the Pareto frontier marked; right: cost parts and coverage."""
    plt = pyplot()
    import numpy as np

    rows = result.rows()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=size, dpi=dpi)
    fig.subplots_adjust(left=0.085, right=0.93, top=0.83, bottom=0.13, wspace=0.34)
    money_param = result.param == "budget"

    def tick(v: float) -> str:
        return short_number(v) if money_param else f"{v:g}"

    def val(r: dict[str, Any], m: str) -> float | None:
        return r["value"] if m == "value" else r.get(m)

    ok = [r for r in rows if r["status"] in ("optimal", "feasible")]
    xs = [val(r, result.x_metric) for r in ok]
    ys = [val(r, result.y_metric) for r in ok]
    a1.plot(xs, ys, "o-", color="#9aa7b0", lw=1, ms=5, label="solved points", zorder=2)
    front = sorted((val(r, result.x_metric), val(r, result.y_metric)) for r in ok if r["pareto"])
    if front:
        fx, fy = zip(*front)
        a1.step(fx, fy, where="post", color="#d62728", lw=1.5, alpha=0.6, zorder=3)
        a1.scatter(fx, fy, s=70, marker="*", color="#d62728", zorder=4, label="Pareto frontier")
    seen: set[tuple[float, float]] = set()
    for r in ok:
        x, y = val(r, result.x_metric), val(r, result.y_metric)
        if result.x_metric != "value" and x is not None and y is not None and (round(x, 6), round(y, 6)) not in seen:
            seen.add((round(x, 6), round(y, 6)))
            a1.annotate(tick(r["value"]), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7, color="#555")
    bad = [r for r in rows if r["status"] not in ("optimal", "feasible")]
    if bad and result.x_metric == "value":
        y0 = min(ys) if ys else 0.0
        a1.scatter([r["value"] for r in bad], [y0] * len(bad), marker="x", color="k", s=40, label="infeasible", zorder=4)
    a1.set_xlabel(_label(result.x_metric, result.param))
    a1.set_ylabel(_label(result.y_metric, result.param))
    a1.legend(fontsize=8, frameon=False)
    better = (
        f"better: {'lower' if result.x_better == 'low' else 'higher'} x, {'lower' if result.y_better == 'low' else 'higher'} y"
    )
    a1.set_title(f"Trade-off ({better})", fontsize=10, loc="left", pad=18)
    if result.y_metric in ("total_cost", "annual_cost"):
        a1.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: short_number(v)))
    if result.x_metric in ("total_cost", "annual_cost"):
        a1.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: short_number(v)))

    labels = [tick(r["value"]) for r in rows]
    pos = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    # Penalties are a modelling device (they can dwarf real spending): bars show what is spent.
    for part, color in (("fixed", "#4c72b0"), ("holding", "#55a868"), ("dispatch", "#dd8452")):
        v = np.array([r.get(part) or 0.0 for r in rows])
        if v.any():
            a2.bar(pos, v, bottom=bottom, color=color, label=part, width=0.7)
            bottom += v
    for i, r in enumerate(rows):
        if r["status"] not in ("optimal", "feasible"):
            a2.text(i, 0, "infeasible", rotation=90, ha="center", va="bottom", fontsize=8, color="#555")
    a2.set_xticks(pos, labels, fontsize=8, rotation=30 if money_param else 0)
    a2.set_xlabel(result.param)
    a2.set_ylabel("annual cost, penalties excluded")
    a2.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: short_number(v)))
    a2.legend(fontsize=8, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=4)
    cov = [r.get("coverage_pct") for r in rows]
    if any(c is not None for c in cov):
        a3 = a2.twinx()
        a3.plot(pos, [np.nan if c is None else c for c in cov], "D-", color="k", ms=4, lw=1, label="coverage %")
        a3.set_ylim(0, 105)
        a3.set_ylabel("demand met within deadline (%)")
    a2.set_title("Cost parts and coverage per point", fontsize=10, loc="left", pad=18)
    fig.suptitle(
        f"{result.instance.name}: sweep of {result.param} ({len(ok)} of {len(rows)} points solved)",
        fontsize=12,
        x=0.07,
        ha="left",
    )
    return save_figure(fig, out, dpi)


def plot_comparison(comparison: Comparison, out: str | Path, *, size: tuple[float, float] = COMPARE_SIZE, dpi: int = DPI) -> Path:
    """Cost parts per policy (stacked) and demand met within deadline."""
    plt = pyplot()
    import numpy as np

    ms = comparison.metrics()
    pols = [o.policy for o in comparison.outcomes]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=size, dpi=dpi, gridspec_kw={"width_ratios": [3, 2]})
    fig.subplots_adjust(left=0.08, right=0.97, top=0.82, bottom=0.1, wspace=0.3)
    pos = np.arange(len(pols))
    bottom = np.zeros(len(pols))
    parts = (("fixed", "#4c72b0"), ("holding", "#55a868"), ("dispatch", "#dd8452"), ("penalty", "#c44e52"))
    for part, color in parts:
        v = np.array([(ms[p].get("costs") or {}).get(part) or 0.0 for p in pols])
        if v.any():
            label = "penalty for unmet demand" if part == "penalty" else part
            a1.bar(pos, v, bottom=bottom, color=color, label=label, width=0.6)
            bottom += v
    for i, p in enumerate(pols):
        m = ms[p]
        if m.get("total_cost") is None:
            a1.text(i, 0, " infeasible", rotation=90, ha="center", va="bottom", fontsize=9, color="#555")
        else:
            sav = m.get("savings_vs_dedicated_pct")
            versus = ""
            if sav is not None and p != "dedicated":
                versus = f"\n{abs(sav):.0f}% {'below' if sav >= 0 else 'above'} dedicated"
            note = f"{money_text(m['total_cost'])}{versus}"
            a1.text(i, bottom[i], note, ha="center", va="bottom", fontsize=8)
    a1.set_xticks(pos, pols)
    a1.set_ylabel("annual cost")
    a1.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: short_number(v)))
    a1.set_ylim(0, max(bottom.max(), 1.0) * 1.18)
    a1.legend(fontsize=8, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2)
    a1.set_title("Total cost and its parts", fontsize=10, loc="left", pad=22)
    cov = [ms[p].get("coverage_pct") for p in pols]
    a2.bar(pos, [0 if c is None else c for c in cov], color="#8172b2", width=0.6)
    for i, c in enumerate(cov):
        a2.text(i, (c or 0) + 1, "—" if c is None else f"{c:.0f}%", ha="center", va="bottom", fontsize=8)
    a2.set_xticks(pos, pols)
    a2.set_ylim(0, 110)
    a2.set_ylabel("demand met within deadline (%)")
    a2.set_title("Coverage", fontsize=10, loc="left", pad=22)
    fig.suptitle(f"{comparison.base.name}: pooling policies", fontsize=12, x=0.08, ha="left")
    return save_figure(fig, out, dpi)
