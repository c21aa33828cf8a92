"""Pictures and reports of solutions: maps, response-time histograms, and a Markdown / HTML report a planner can send on.

Figures are drawn with matplotlib's Agg backend at a fixed size (``width × height`` inches at
``dpi``; no tight bounding box), so a picture is always ``width·dpi × height·dpi`` pixels.
Maps use an equirectangular lat/lon frame (x stretched by 1/cos of the mid latitude) over a
basemap of country outlines and coastlines from Natural Earth 1:110m (public domain; shipped in
``optimizer/results/data/countries-110m.json``, never downloaded). Made with Natural Earth.

A solution directory (`horizon solve --out DIR`, `horizon compare --save-solutions`) holds
``solution.json``; the instance it solved is found from ``--instance``, else ``instance.yaml``
in the directory (written by ``compare --save-solutions``), else the bundled default instance
when the names match.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import json
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.data.loader import default_instance_path, load_instance
from horizon.optimizer.errors import InputError
from horizon.optimizer.files import replacing, write_text
from horizon.optimizer.results.metrics import scenario_coverage, solution_metrics
from horizon.optimizer.results.solution import Solution, Timings

BASEMAP = Path(__file__).parent / "data" / "countries-110m.json"
BASEMAP_CREDIT = "Basemap: Made with Natural Earth (1:110m, public domain)"
LAND, BORDER, SEA = "#f2efe6", "#b9b2a2", "#dcebf3"
MAP_SIZE = (12.0, 7.0)
HIST_SIZE = (11.0, 4.5)
DPI = 100


# --- solution directories -----------------------------------------------------------------
def load_solution_dir(path: str | Path) -> Solution:
    """The `Solution` stored in DIR/solution.json."""
    path = Path(path)
    f = path / "solution.json"
    if not f.is_file():
        raise InputError(f"{path}: no solution.json (write one with `horizon solve --out DIR`)")
    try:
        d = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{f}: not a readable solution file ({exc})") from exc
    known = set(Solution.__dataclass_fields__)
    d = {k: v for k, v in d.items() if k in known}
    d["timings"] = Timings(**{k: v for k, v in (d.get("timings") or {}).items() if k in Timings.__dataclass_fields__})
    try:
        return Solution(**d)
    except TypeError as exc:
        raise InputError(f"{f}: missing solution fields ({exc})") from exc


def planning_info(path: str | Path) -> dict[str, Any]:
    """DIR/planning.json (policy and comparison settings) when present."""
    f = Path(path) / "planning.json"
    if f.is_file():
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
    return {}


def resolve_instance(solution_dir: str | Path, solution: Solution, instance_path: str | Path | None = None) -> Instance:
    """The instance a solution directory was solved from (see the module docstring)."""
    if instance_path is not None:
        inst = load_instance(instance_path)
    elif (Path(solution_dir) / "instance.yaml").is_file():
        inst = load_instance(Path(solution_dir) / "instance.yaml")
    elif solution.source and Path(solution.source).is_file():
        inst = load_instance(solution.source)
    else:
        default = load_instance(default_instance_path())
        if default.name != solution.instance:
            raise InputError(
                f"{solution_dir}: solution of instance '{solution.instance}'; give its file with --instance "
                "(only the bundled default instance is found automatically)"
            )
        inst = default
    if inst.name != solution.instance:
        raise InputError(f"--instance: the solution is of instance '{solution.instance}', the file is '{inst.name}'")
    return inst


# --- matplotlib ---------------------------------------------------------------------------
def pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise InputError("plots need matplotlib: pip install matplotlib") from exc
    return plt


def save_figure(fig: Any, out: str | Path, dpi: int) -> Path:
    """Save a figure atomically at its fixed size (PNG, SVG or PDF by extension)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        raise InputError(f"{out}: unsupported picture format '{suffix}' (use .png, .svg or .pdf)")
    try:
        with replacing(out) as tmp:
            fig.savefig(tmp, dpi=dpi, format=suffix[1:])
    finally:
        pyplot().close(fig)
    return out


def _type_colors(instance: Instance) -> dict[str, Any]:
    plt = pyplot()
    cmap = plt.get_cmap("tab10")
    palette = [cmap(i) for i in (0, 1, 2, 4, 5, 6, 8, 9, 7)]  # no red: red marks crises and unmet demand
    return {t.id: palette[i % len(palette)] for i, t in enumerate(instance.spec.asset_types)}


def money_text(x: float | None) -> str:
    if x is None:
        return "—"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{x / 1e6:,.2f} M"
    if a >= 1e4:
        return f"{x / 1e3:,.1f} k"
    return f"{x:,.2f}"


def short_number(x: float) -> str:
    """Axis ticks: 3 significant digits with a unit (20 M, 1.5 bn)."""
    a = abs(x)
    for scale, unit in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def default_scenario(instance: Instance, solution: Solution) -> str | None:
    """The scenario with the most dispatches (most movement to show); ties: most probable."""
    if not instance.spec.scenarios:
        return None
    count: dict[str, int] = defaultdict(int)
    for r in solution.dispatch:
        if r["hub"] != r["mission"]:
            count[r["scenario"]] += 1
    probs = instance.probabilities
    return max((s.id for s in instance.spec.scenarios), key=lambda s: (count[s], probs[s]))


# --- map ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _country_rings() -> tuple[Any, ...]:
    """Country rings (n × 2 arrays of lon, lat) of the shipped Natural Earth basemap; a ring
    crossing the antimeridian is unwrapped past ±180 and drawn twice (shifted by 360°)."""
    import numpy as np

    try:
        data = json.loads(BASEMAP.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):  # pragma: no cover - shipped with the package
        return ()
    rings = []
    for c in data.get("countries", []):
        for flat in c["rings"]:
            r = np.asarray(flat, dtype=float).reshape(-1, 2)
            jumps = np.abs(np.diff(r[:, 0])) > 180
            if jumps.any():
                r = r.copy()
                r[r[:, 0] < 0, 0] += 360
                rings.append(r - [360, 0])
            rings.append(r)
    return tuple(rings)


def _basemap(ax: Any, view: tuple[float, float, float, float], lw: float = 0.5) -> None:
    """Land and country borders under everything else, sea as the axes' background."""
    from matplotlib.collections import PolyCollection

    x0, x1, y0, y1 = view
    shown = [
        r for r in _country_rings() if r[:, 0].max() >= x0 and r[:, 0].min() <= x1 and r[:, 1].max() >= y0 and r[:, 1].min() <= y1
    ]
    ax.set_facecolor(SEA)
    ax.add_collection(PolyCollection(shown, facecolor=LAND, edgecolor=BORDER, linewidth=lw, zorder=0.5))


def _curve_points(
    ax: Any, a: tuple[float, float], b: tuple[float, float], rad: float, ts: Sequence[float]
) -> list[tuple[float, float]]:
    """Points at parameters `ts` of matplotlib's ``arc3,rad=rad`` curve from `a` to `b` (a
    quadratic Bézier in display space; returned in data coordinates)."""
    (ax_, ay), (bx, by) = ax.transData.transform(a), ax.transData.transform(b)
    mx, my = (ax_ + bx) / 2, (ay + by) / 2
    cx, cy = mx + rad * (by - ay), my - rad * (bx - ax_)
    weights = [((1 - t) ** 2, 2 * t * (1 - t), t**2) for t in ts]
    shown = [(p * ax_ + q * cx + r * bx, p * ay + q * cy + r * by) for p, q, r in weights]
    return [(float(x), float(y)) for x, y in ax.transData.inverted().transform(shown)]


def _curve_middle(ax: Any, a: tuple[float, float], b: tuple[float, float], rad: float) -> tuple[float, float]:
    """The middle of matplotlib's ``arc3,rad=rad`` curve from `a` to `b` (data coordinates)."""
    return _curve_points(ax, a, b, rad, (0.5,))[0]


ARC_SAMPLES = tuple(i / 12 for i in range(1, 12))  # where an arc counts as taken space for labels (ends excluded: markers)


def plot_map(
    instance: Instance,
    solution: Solution,
    out: str | Path,
    scenario: str | None = None,
    *,
    size: tuple[float, float] = MAP_SIZE,
    dpi: int = DPI,
) -> Path:
    """Missions, hubs (opened / not), stationed assets and a scenario's dispatch arcs on lat/lon.

    `scenario`: a scenario id, ``"all"`` (every scenario's arcs, thin), or None (the scenario
    with the most dispatches).
    """
    plt = pyplot()
    from matplotlib.lines import Line2D

    nodes = {n.id: n for n in instance.spec.nodes if n.lat is not None and n.lon is not None}
    if not nodes:
        raise InputError(f"{instance.name}: no node has lat/lon; a map needs coordinates")
    scen_ids = [s.id for s in instance.spec.scenarios]
    if scenario is None:
        scenario = default_scenario(instance, solution)
    elif scenario != "all" and scenario not in scen_ids:
        raise InputError(f"--scenario: unknown scenario '{scenario}' (scenarios: {', '.join(scen_ids)})")
    shown = scen_ids if scenario == "all" else [scenario] if scenario else []
    colors = _type_colors(instance)
    hubs = {h.node: h for h in instance.hubs}
    opened = set(solution.open_hubs)
    stock: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in solution.stationing:
        stock[r["hub"]].append((r["asset_type"], float(r["units"])))
    crisis_missions = {d.mission for d in instance.demands if d.scenario in shown} if scenario != "all" else set()

    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    fig.subplots_adjust(left=0.06, right=0.80, top=0.88, bottom=0.07)
    # Dispatch arcs (hub → mission), lent lift (lift hub → hub) dashed.
    probs = instance.probabilities
    arc_units: dict[tuple[str, str, str], float] = defaultdict(float)
    lent: set[tuple[str, str, str]] = set()
    own: dict[tuple[str, str], float] = defaultdict(float)
    for r in solution.dispatch:
        if r["scenario"] not in shown:
            continue
        if r["hub"] == r["mission"]:
            own[(r["hub"], r["asset_type"])] += float(r["units"])
        else:
            arc_units[(r["hub"], r["mission"], r["asset_type"])] += float(r["units"])
        if r.get("lift_hub") and r["lift_hub"] != r["hub"]:
            lift_type = r["route"].split(":", 1)[1] if r["route"].startswith("air:") else r["asset_type"]
            lent.add((r["lift_hub"], r["hub"], lift_type))
    # The view: the open hubs, the shown scenario's missions and the arcs' ends (all nodes when
    # that is most of the map), padded and stretched to the axes' shape; an overview beside it
    # shows the whole instance when the view is a zoom.
    focus = set(opened) | crisis_missions | {h for (h, _, _) in arc_units} | {m for (_, m, _) in arc_units}
    focus |= {g for (g, _, _) in lent} | {h for (_, h) in own}
    everything = _extent([nodes[i] for i in nodes])
    box = _extent([nodes[i] for i in focus if i in nodes]) or everything
    zoom = box is not everything and (box[1] - box[0]) * (box[3] - box[2]) < 0.35 * (
        (everything[1] - everything[0]) * (everything[3] - everything[2])
    )
    if not zoom:
        box = everything
    pos = ax.get_position()
    x0, x1, y0, y1, k = _fit_view(box, (pos.height * size[1]) / (pos.width * size[0]))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(k, adjustable="box")
    _basemap(ax, (x0, x1, y0, y1))
    span = max(x1 - x0, (y1 - y0) * k)
    step = 20 if span > 120 else 10 if span > 40 else 5 if span > 15 else 2 if span > 6 else 1
    ax.grid(True, color="#8aa1b1", linewidth=0.4, alpha=0.5, zorder=0.6)
    ax.xaxis.set_major_locator(plt.MultipleLocator(step))
    ax.yaxis.set_major_locator(plt.MultipleLocator(step))
    ax.axhline(0, color="#8aa1b1", linewidth=0.8, alpha=0.6, zorder=0.6)
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    if zoom:
        _overview(fig, nodes, instance, opened, crisis_missions, (x0, x1, y0, y1), everything)

    thin = scenario == "all"
    if thin:  # every scenario: one arc per hub, mission and type, as wide as its largest dispatch
        widest: dict[tuple[str, str, str], float] = defaultdict(float)
        for r in solution.dispatch:
            if r["hub"] != r["mission"]:
                key = (r["hub"], r["mission"], r["asset_type"])
                widest[key] = max(widest[key], float(r["units"]))
        arc_units = widest
    ax.apply_aspect()
    offsets = defaultdict(int)
    counts: list[tuple[float, float, str, Any]] = []
    trail: list[tuple[float, float]] = []  # points along the drawn arcs (data coordinates)
    for (h, m, k), u in sorted(arc_units.items()):
        if h not in nodes or m not in nodes:
            continue
        i = offsets[(h, m)]
        offsets[(h, m)] += 1
        rad = 0.12 * ((i + 1) // 2) * (1 if i % 2 else -1) + (0.06 if not thin else 0.0)
        a, b = (nodes[h].lon, nodes[h].lat), (nodes[m].lon, nodes[m].lat)
        ax.annotate(
            "",
            xy=b,
            xytext=a,
            arrowprops=dict(
                arrowstyle="-|>",
                color=colors.get(k, "k"),
                lw=arc_width(u, thin),
                alpha=0.45 if thin else 0.9,
                shrinkA=7,
                shrinkB=7,
                mutation_scale=9 if thin else 14,
                connectionstyle=f"arc3,rad={rad}",
            ),
            zorder=2,
        )
        if not thin:
            counts.append((*_curve_middle(ax, a, b, rad), f"{u:g}", colors.get(k, "k")))
            trail += _curve_points(ax, a, b, rad, ARC_SAMPLES)
    for x, y, text, color in counts:  # units on each arc
        ax.text(
            x,
            y,
            text,
            fontsize=8,
            fontweight="bold",
            ha="center",
            va="center",
            color="#111",
            zorder=3.5,
            bbox=dict(boxstyle="circle,pad=0.18", fc="white", ec=color, lw=1.2),
        )
    for g, h, k in sorted(lent):
        if g in nodes and h in nodes:
            ax.plot(
                [nodes[g].lon, nodes[h].lon],
                [nodes[g].lat, nodes[h].lat],
                linestyle=(0, (4, 3)),
                color=colors.get(k, "k"),
                lw=1.2,
                alpha=0.8,
                zorder=2,
            )
    for (h, k), u in own.items():
        if h in nodes:
            ax.scatter(
                [nodes[h].lon], [nodes[h].lat], s=420 + 60 * u, facecolors="none", edgecolors=[colors.get(k, "k")], lw=2, zorder=3
            )

    # Other nodes (airfields, ports): small dots.
    other = [n for n in nodes.values() if n.kind != "mission" and n.id not in hubs]
    if other:
        ax.scatter([n.lon for n in other], [n.lat for n in other], s=8, color="#9aa7b0", zorder=3)
    # Hubs.
    closed = [nodes[h] for h in hubs if h in nodes and h not in opened]
    open_nodes = [nodes[h] for h in hubs if h in nodes and h in opened]
    ax.scatter(
        [n.lon for n in closed],
        [n.lat for n in closed],
        marker="s",
        s=70,
        facecolors="white",
        edgecolors="#7a8791",
        lw=1.2,
        zorder=4,
    )
    ax.scatter(
        [n.lon for n in open_nodes], [n.lat for n in open_nodes], marker="s", s=150, color="#1b5e20", edgecolors="black", zorder=4
    )
    # Missions.
    mis = [nodes[m] for m in instance.missions if m in nodes]
    calm = [n for n in mis if n.id not in crisis_missions]
    hot = [n for n in mis if n.id in crisis_missions]
    ax.scatter([n.lon for n in calm], [n.lat for n in calm], s=45, color="#1f77b4", edgecolors="white", lw=0.8, zorder=5)
    ax.scatter([n.lon for n in hot], [n.lat for n in hot], s=80, color="#d62728", edgecolors="black", lw=0.8, zorder=5)

    # Labels: ids; open hubs also list what they station. Greedy placement avoids overlaps.
    ax.apply_aspect()  # final axes box, so that text extents are measured where they will be
    renderer = fig.canvas.get_renderer()
    from matplotlib.transforms import Bbox

    placed: list[Any] = []
    for n in nodes.values():  # markers count as taken space
        px, py = ax.transData.transform((n.lon, n.lat))
        r = 7 if n.id in hubs or n.id in instance.missions else 3
        placed.append(Bbox.from_extents(px - r, py - r, px + r, py + r))
    for x, y, _, _ in counts:  # and the unit counts on the arcs
        px, py = ax.transData.transform((x, y))
        placed.append(Bbox.from_extents(px - 8, py - 8, px + 8, py + 8))
    for x, y in trail:  # and the arcs themselves, their arrowheads most of all
        px, py = ax.transData.transform((x, y))
        placed.append(Bbox.from_extents(px - 4, py - 4, px + 4, py + 4))
    frame = ax.get_window_extent(renderer)
    labelled = [(n, True) for n in open_nodes] + [(n, False) for n in hot if n.id not in opened]
    labelled += [(n, False) for n in calm if n.id not in opened]
    labelled += [(n, False) for n in closed if n.id not in instance.missions]
    for n, is_open in labelled:
        if not (x0 <= n.lon <= x1 and y0 <= n.lat <= y1):
            continue
        text = n.id
        if is_open and stock.get(n.id):
            text += "\n" + " ".join(f"{k}×{u:g}" for k, u in stock[n.id])
        place_label(ax, renderer, n, text, is_open, n.id in instance.missions, placed, frame)

    # Legend.
    handles = [
        Line2D([], [], marker="s", ls="", color="#1b5e20", markeredgecolor="black", markersize=9, label="hub, opened"),
        Line2D(
            [], [], marker="s", ls="", markerfacecolor="white", markeredgecolor="#7a8791", markersize=7, label="hub, not opened"
        ),
        Line2D([], [], marker="o", ls="", color="#1f77b4", markersize=6, label="mission"),
    ]
    if scenario != "all":
        handles.append(
            Line2D([], [], marker="o", ls="", color="#d62728", markeredgecolor="black", markersize=7, label="mission in crisis")
        )
    if other:
        handles.append(Line2D([], [], marker="o", ls="", color="#9aa7b0", markersize=3, label="airfield / port"))
    used_types = sorted({k for (_, _, k) in arc_units} | {k for (_, k) in own} | {k for (_, _, k) in lent})
    handles += [Line2D([], [], color=colors[k], lw=2.5, label=f"dispatch: {k}") for k in used_types if k in colors]
    if arc_units:
        most = max(arc_units.values())
        sizes = sorted({1.0, float(math.ceil(most))}) if most > 1 else [1.0]
        for u in sizes:
            label = f"{u:g} unit{'s' if u != 1 else ''}" + (" (most)" if thin and u == sizes[-1] else "")
            handles.append(Line2D([], [], color="#555", lw=arc_width(u, thin), label=label))
    if lent:
        handles.append(Line2D([], [], color="#555", lw=1.2, ls=(0, (4, 3)), label="lent airlift (positioning)"))
    if own:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                markerfacecolor="none",
                markeredgecolor="#555",
                markersize=12,
                label="served from own node",
            )
        )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False, labelspacing=0.6)
    fig.text(0.995, 0.008, BASEMAP_CREDIT, fontsize=7, color="#777", ha="right", va="bottom")

    cost = money_text(solution.objective) + f" {solution.currency}"
    if scenario == "all":
        what = "dispatch arcs of all scenarios"
    elif scenario:
        s = next(x for x in instance.spec.scenarios if x.id == scenario)
        what = f"scenario '{scenario}' (p = {probs[scenario]:.2f})" + (f": {s.name}" if s.name else "")
    else:
        what = "no scenario"
    title = f"{instance.name}: {len(opened)} hub(s) open, annual cost {cost} ({solution.status})"
    fig.text(0.05, 0.955, title, fontsize=12, va="center")
    fig.text(0.05, 0.918, _clip(what, 150), fontsize=9, color="#333", va="center")
    return save_figure(fig, out, dpi)


LABEL_DIRECTIONS = ((1, 0.7), (1, -0.7), (-1, 0.7), (-1, -0.7), (0, 1), (0, -1), (1, 0), (-1, 0))


def place_label(
    ax: Any, renderer: Any, n: Any, text: str, is_open: bool, is_mission: bool, placed: list[Any], frame: Any
) -> None:
    """Put a node's label where it overlaps no other label, marker or arc count: eight
    directions at growing distances, the first free spot kept (a leader line when it is far);
    when none is free, the spot with the least overlap. The label's box joins `placed`."""
    style: dict[str, Any] = dict(fontsize=8 if is_open else 7.5, zorder=6, color="#111" if is_open or is_mission else "#555")
    if is_open:
        style |= dict(fontweight="bold", bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#1b5e20", lw=0.6, alpha=0.92))
    else:
        style |= dict(bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.6))
    best: tuple[float, Any, Any] | None = None
    for dist in (8, 16, 26, 38):
        for dx, dy in LABEL_DIRECTIONS:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            far = dist > 16
            t = ax.annotate(
                text,
                (n.lon, n.lat),
                xytext=(dx * dist, dy * dist),
                textcoords="offset points",
                ha=ha,
                va=va,
                arrowprops=dict(arrowstyle="-", color="#777", lw=0.6, shrinkA=0, shrinkB=5) if far else None,
                **style,
            )
            bb = t.get_window_extent(renderer).expanded(1.04, 1.08)
            outside = bb.x0 < frame.x0 or bb.x1 > frame.x1 or bb.y0 < frame.y0 or bb.y1 > frame.y1
            overlap = sum(_overlap_area(bb, p) for p in placed) + (1e6 if outside else 0.0) + dist * 0.01
            if best is None or overlap < best[0]:
                if best is not None:
                    best[1].remove()
                best = (overlap, t, bb)
            else:
                t.remove()
            if overlap < 1.0:
                placed.append(bb)
                return
    assert best is not None
    placed.append(best[2])


def _overlap_area(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def arc_width(units: float, thin: bool = False) -> float:
    """Line width of a dispatch arc carrying `units` (wider with more units, capped at 6)."""
    u = min(max(float(units), 0.0), 6.0)
    return 0.6 + 0.5 * u if thin else 1.0 + 1.1 * u


def _extent(nodes: Sequence[Any]) -> tuple[float, float, float, float] | None:
    """(lon0, lon1, lat0, lat1) of nodes, None if there are none."""
    if not nodes:
        return None
    lons, lats = [n.lon for n in nodes], [n.lat for n in nodes]
    return min(lons), max(lons), min(lats), max(lats)


def _fit_view(box: tuple[float, float, float, float], shape: float) -> tuple[float, float, float, float, float]:
    """Padded limits around `box`, widened so that the map fills axes of height/width `shape`.

    Equirectangular: one degree of longitude is drawn cos(mid latitude) times as long as one of
    latitude (returned as the aspect k = 1/cos).
    """
    lon0, lon1, lat0, lat1 = box
    pad_x = max(2.0, 0.10 * (lon1 - lon0))
    pad_y = max(2.0, 0.10 * (lat1 - lat0))
    x0, x1, y0, y1 = lon0 - pad_x, lon1 + pad_x, lat0 - pad_y, lat1 + pad_y
    k = 1.0 / max(0.2, math.cos(math.radians((lat0 + lat1) / 2)))
    want_h = (x1 - x0) * shape / k  # latitude span that fills the axes at this width
    if want_h > y1 - y0:
        mid, half = (y0 + y1) / 2, want_h / 2
        y0, y1 = mid - half, mid + half
    else:
        want_w = (y1 - y0) * k / shape
        mid, half = (x0 + x1) / 2, want_w / 2
        x0, x1 = mid - half, mid + half
    if y0 < -90 or y1 > 90:
        shift = (-90 - y0) if y0 < -90 else (90 - y1)
        y0, y1 = max(-90.0, y0 + shift), min(90.0, y1 + shift)
    return x0, x1, y0, y1, k


def _overview(
    fig: Any,
    nodes: dict[str, Any],
    instance: Instance,
    opened: set[str],
    crisis: set[str],
    view: tuple[float, float, float, float],
    everything: tuple[float, float, float, float],
) -> None:
    """A small map of the whole instance with the zoomed view outlined (below the legend)."""
    from matplotlib.patches import Rectangle

    ov = fig.add_axes((0.815, 0.07, 0.175, 0.30))
    x0, x1, y0, y1, k = _fit_view(everything, 0.30 * fig.get_figheight() / (0.175 * fig.get_figwidth()))
    ov.set_xlim(x0, x1)
    ov.set_ylim(y0, y1)
    ov.set_aspect(k, adjustable="box")
    _basemap(ov, (x0, x1, y0, y1), lw=0.25)
    ov.set_xticks([])
    ov.set_yticks([])
    mis = [nodes[m] for m in instance.missions if m in nodes]
    ov.scatter(
        [n.lon for n in mis], [n.lat for n in mis], s=6, color=["#d62728" if n.id in crisis else "#1f77b4" for n in mis], zorder=3
    )
    hubs = [nodes[h] for h in opened if h in nodes]
    ov.scatter([n.lon for n in hubs], [n.lat for n in hubs], s=14, marker="s", color="#1b5e20", zorder=4)
    vx0, vx1, vy0, vy1 = view
    ov.add_patch(Rectangle((vx0, vy0), vx1 - vx0, vy1 - vy0, fill=False, ec="k", lw=0.8, zorder=5))
    ov.set_title("overview", fontsize=8, loc="left")


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


# --- response-time histogram -----------------------------------------------------------------
def plot_histogram(
    instance: Instance, solution: Solution, out: str | Path, *, size: tuple[float, float] = HIST_SIZE, dpi: int = DPI
) -> Path:
    """Dispatched units by response time (stacked by type) and by share of their deadline.

    Every scenario's dispatches count, each unit weighted by its scenario's probability (the
    y axis is expected units per crisis window). Unmet units (soft deadlines) are shown apart.
    """
    plt = pyplot()
    import numpy as np

    probs = instance.probabilities
    colors = _type_colors(instance)
    types = [t.id for t in instance.spec.asset_types]
    rows = [r for r in solution.dispatch if probs.get(r["scenario"], 0) > 0]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=size, dpi=dpi)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.85, bottom=0.13, wspace=0.25)
    hours = np.array([float(r["response_hours"]) for r in rows])
    weights = np.array([probs[r["scenario"]] * float(r["units"]) for r in rows])
    top = float(hours.max()) if len(hours) else 1.0
    bins = np.linspace(0, max(top, 1.0) * 1.02, 25)
    data = [hours[[r["asset_type"] == k for r in rows]] for k in types]
    wts = [weights[[r["asset_type"] == k for r in rows]] for k in types]
    used = [i for i, d in enumerate(data) if len(d)]
    if used:
        a1.hist(
            [data[i] for i in used],
            bins=bins,
            weights=[wts[i] for i in used],
            stacked=True,
            color=[colors[types[i]] for i in used],
            label=[types[i] for i in used],
            edgecolor="white",
            linewidth=0.5,
        )
        mean = float(np.average(hours, weights=weights)) if weights.sum() > 0 else 0.0
        a1.axvline(mean, color="k", ls="--", lw=1)
        a1.text(mean, a1.get_ylim()[1] * 0.97, f" mean {mean:.1f} h", va="top", fontsize=8)
        a1.axvline(top, color="#d62728", ls=":", lw=1)
        a1.text(top, a1.get_ylim()[1] * 0.87, f"worst {top:.1f} h ", va="top", ha="right", fontsize=8, color="#d62728")
        a1.legend(fontsize=8, frameon=False)
    else:
        a1.text(0.5, 0.5, "no dispatches", ha="center", va="center", transform=a1.transAxes)
    a1.set_xlabel("response time (h)")
    a1.set_ylabel("expected units per crisis window")
    a1.set_title("Response time of dispatched units", fontsize=10, loc="left")

    share = np.array(
        [100.0 * float(r["response_hours"]) / float(r["deadline_hours"]) if r.get("deadline_hours") else np.nan for r in rows]
    )
    ok = ~np.isnan(share)
    unmet = math.fsum(probs.get(r["scenario"], 0) * float(r["units"]) for r in solution.unmet)
    # tiered deadlines (service levels) allow part of a demand after its first deadline
    top_share = max(100.0, 5 * math.ceil(float(np.nanmax(share)) / 5) if ok.any() else 100.0)
    if ok.any():
        kinds = [i for i in used if (ok & np.array([r["asset_type"] == types[i] for r in rows])).any()]
        masks = [ok & np.array([r["asset_type"] == types[i] for r in rows]) for i in kinds]
        a2.hist(
            [share[m] for m in masks],
            bins=np.arange(0, top_share + 5, 5),
            weights=[weights[m] for m in masks],
            stacked=True,
            color=[colors[types[i]] for i in kinds],
            edgecolor="white",
            linewidth=0.5,
        )
    a2.axvline(100, color="#d62728", lw=1.2)
    if unmet > 0:
        a2.bar([top_share + 7.5], [unmet], width=5, color="#d62728", alpha=0.7)
        a2.text(top_share + 7.5, unmet, f"unmet\n{unmet:.2g}", ha="center", va="bottom", fontsize=8, color="#d62728")
    a2.set_xlim(0, top_share + 15)
    a2.set_xlabel("response time as % of the deadline")
    a2.set_ylabel("expected units per crisis window")
    a2.set_title("Slack against deadlines", fontsize=10, loc="left")
    fig.suptitle(
        f"{instance.name}: response times ({solution.status}, {len(instance.spec.scenarios)} scenarios)",
        fontsize=12,
        x=0.07,
        ha="left",
    )
    return save_figure(fig, out, dpi)


# --- sweep and comparison charts ------------------------------------------------------------


# --- report -------------------------------------------------------------------------------
def _cents(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}"


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{digits}f}" if not float(x).is_integer() or digits else f"{x:,.0f}"
    return str(x)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    align = align or ["l"] * len(headers)
    line = "| " + " | ".join(headers) + " |"
    sep = "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"
    body = ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join([line, sep, *body])


def report_markdown(
    instance: Instance,
    solution: Solution,
    figures: dict[str, str],
    info: dict[str, Any] | None = None,
) -> str:
    """The report text (Markdown); `figures` maps a caption to an image reference."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("horizon")
    except PackageNotFoundError:  # pragma: no cover
        ver = "dev"
    info = info or {}
    m = solution_metrics(instance, solution)
    o = instance.options
    cur = o.currency
    out: list[str] = []
    out.append(f"# Reserve plan: {instance.name}")
    out.append("")
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    out.append(f"*Prepared with horizon {ver} ({solution.solver} {solution.solver_version}) on {stamp}.*")
    if instance.spec.description:
        out += ["", f"> {' '.join(instance.spec.description.split())}"]
    out += ["", "## Summary", ""]
    gap = "—" if solution.gap is None else f"{100 * solution.gap:.3g} %"
    policy = info.get("policy")
    if policy:
        out.append(f"- **Pooling policy:** {policy} ({_POLICY_TEXT.get(policy, '')})")
    out += [
        f"- **Solution:** {solution.status} (gap {gap}); total annual cost **{money_text(m['total_cost'])} {cur}**.",
        f"- **Hubs open ({m['hubs_used']}):** {', '.join(m['open_hubs']) or 'none'}.",
        f"- **Units stationed:** {', '.join(f'{k} {u:g}' for k, u in m['units'].items() if u) or 'none'} "
        f"({m['units_total']:g} in all).",
        f"- **Demand met within deadline:** {_fmt(m['coverage_pct'])} % (probability-weighted, all scenarios).",
        f"- **Response time:** mean {_fmt(m['mean_response_hours'])} h, worst {_fmt(m['worst_response_hours'])} h.",
    ]
    out += ["", "## Assumptions", ""]
    out += [
        f"- All costs are in {cur}, a year unless said otherwise.",
        f"- {len(instance.missions)} missions, {len(instance.hubs)} candidate hubs, "
        f"{len(instance.spec.asset_types)} reserve types, "
        f"{len(instance.spec.scenarios)} crisis scenarios ({len(instance.demands)} demands).",
        f"- Deadlines are **{o.deadlines}**"
        + (
            " (every demand must be met in time)."
            if o.deadlines == "hard"
            else f" (an unmet unit costs its type's penalty; default {money_text(o.penalty)})."
        ),
        f"- Objective: **{o.objective.replace('_', ' ')}** crisis cost, {o.crises_per_year:g} crisis window(s) a year, plus "
        "annual hub and holding costs.",
    ]
    if o.budget is not None:
        out.append(f"- Budget on annual fixed + holding cost: {money_text(o.budget)}.")
    if o.min_hubs is not None or o.max_hubs is not None:
        out.append(
            f"- Hub count between {o.min_hubs if o.min_hubs is not None else 0} and "
            f"{o.max_hubs if o.max_hubs is not None else 'any'}."
        )
    if getattr(o, "split_loads", False):
        out.append("- Split loads: a unit's loads may fly on several lift types (or partly by road); units per hub stay whole.")
    level = getattr(o, "service_level", None)
    if level is not None:
        out.append(f"- Service level: {100 * level.share:g} % of units within the deadline, the rest by the final deadline.")
    contributors = getattr(instance.spec, "contributors", None) or []
    if contributors:
        out.append(
            "- Contributors: "
            + "; ".join(f"{c.id} ({', '.join(f'{k} {u:g}' for k, u in c.units.items())})" for c in contributors)
            + " — with their caveats on hubs, missions and regions."
        )
    disrupted = [s.id for s in instance.spec.scenarios if getattr(s, "disruption", None)]
    if disrupted:
        out.append(f"- Network disruptions in scenario(s): {', '.join(disrupted)}.")
    settings = info.get("settings") or {}
    if settings.get("mission_hubs_added"):
        out.append(
            f"- For the policy comparison every mission with demands is also a candidate hub "
            f"({len(settings['mission_hubs_added'])} added, fixed cost {money_text(settings.get('mission_hub_fixed_cost'))})."
        )
    out += ["", "Reserve types:", ""]
    out.append(
        _table(
            ["type", "category", f"holding / year ({cur})", "fleet limit", "readiness (h)", "space"],
            [
                [
                    t.id + (f" ({t.name})" if t.name else ""),
                    t.category,
                    _cents(t.holding_cost),
                    "unlimited" if t.fleet_limit is None else f"{t.fleet_limit:g}",
                    f"{t.readiness_hours:g}",
                    f"{t.space:g}",
                ]
                for t in instance.spec.asset_types
            ],
            ["l", "l", "r", "r", "r", "r"],
        )
    )
    out += ["", "## Costs", ""]
    costs = solution.costs
    parts = [
        ("fixed (hubs)", costs.get("fixed")),
        ("holding (stationed units)", costs.get("holding")),
        ("dispatch (expected, annual)", costs.get("dispatch")),
        ("penalty for unmet demand (expected, annual)", costs.get("penalty")),
    ]
    if "worst_scenario" in costs:
        parts.append(("worst scenario crisis cost", costs["worst_scenario"]))
    parts.append(("**total (objective)**", solution.objective))
    out.append(_table(["part", f"annual cost ({cur})"], [[p, _cents(v)] for p, v in parts], ["l", "r"]))
    out += ["", "## Hubs and stationing", ""]
    types = [t.id for t in instance.spec.asset_types]
    stock: dict[str, dict[str, float]] = defaultdict(dict)
    for r in solution.stationing:
        stock[r["hub"]][r["asset_type"]] = float(r["units"])
    rows = []
    for h in instance.hubs:
        if h.node not in solution.open_hubs:
            continue
        rows.append(
            [h.node, _cents(h.fixed_cost), "—" if h.capacity is None else f"{h.capacity:g}"]
            + [f"{stock[h.node].get(k, 0):g}" if stock[h.node].get(k) else "" for k in types]
        )
    out.append(
        _table(["hub", f"fixed / year ({cur})", "capacity"] + types, rows, ["l", "r", "r"] + ["r"] * len(types))
        if rows
        else "No hub is open."
    )
    closed = [h.node for h in instance.hubs if h.node not in solution.open_hubs]
    if closed:
        out += ["", f"Not opened: {', '.join(closed)}."]
    contributions = getattr(solution, "contributions", None) or []
    if contributions:
        out += ["", "Units by contributor:", ""]
        out.append(
            _table(
                ["hub", "type", "contributor", "units"],
                [[r["hub"], r["asset_type"], r["contributor"], f"{float(r['units']):g}"] for r in contributions],
                ["l", "l", "l", "r"],
            )
        )
    out += ["", "## Coverage per scenario", ""]
    cov = scenario_coverage(instance, solution)
    out.append(
        _table(
            [
                "scenario",
                "p",
                "missions",
                "units demanded",
                "unmet",
                "met in time",
                "mean resp. (h)",
                "worst resp. (h)",
                "served from",
            ],
            [
                [
                    c["scenario"],
                    f"{c['probability']:.3f}",
                    " ".join(c["missions"]),
                    f"{c['demanded']:g}",
                    f"{c['unmet']:g}",
                    f"{c['coverage_pct']:.0f} %",
                    _fmt(c["mean_response_hours"]),
                    _fmt(c["worst_response_hours"]),
                    " ".join(c["hubs"]),
                ]
                for c in cov
            ],
            ["l", "r", "l", "r", "r", "r", "r", "r", "l"],
        )
    )
    levels = getattr(solution, "service_levels", None) or []
    if levels:
        out += ["", "Service levels (tiered deadlines):", ""]
        out.append(
            _table(
                ["scenario", "tier", "units due", "units in time", "share"],
                [
                    [
                        r["scenario"],
                        r["tier"],
                        f"{float(r['units_due']):g}",
                        f"{float(r['units_within']):g}",
                        f"{100 * float(r['share']):.0f} %",
                    ]
                    for r in levels
                ],
                ["l", "l", "r", "r", "r"],
            )
        )
    if solution.unmet:
        out += ["", "Unmet within deadline:", ""]
        out.append(
            _table(
                ["scenario", "mission", "type", "units"],
                [[r["scenario"], r["mission"], r["asset_type"], f"{float(r['units']):g}"] for r in solution.unmet],
                ["l", "l", "l", "r"],
            )
        )
    if figures:
        out += ["", "## Figures", ""]
        for caption, ref in figures.items():
            out += [f"![{caption}]({ref})", "", f"*{caption}*", ""]
    out += [
        "",
        "---",
        "",
        'Model and definitions: see horizon\'s README ("The model"). Basemap made with Natural Earth. '
        "Costs are annual; crisis costs are "
        "probability-weighted per crisis window times crises per year. Coverage = share of demanded units met within "
        "their deadline, weighted by scenario probability.",
    ]
    return "\n".join(out).rstrip() + "\n"


_POLICY_TEXT = {
    "pooled": "any open hub serves any mission it reaches in time",
    "dedicated": "each mission holds its own reserve at its own node and serves only itself",
    "regional": "hubs serve only missions of their own region",
    "single-hub": "the best single hub serves everything",
}

_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }}
th, td {{ border: 1px solid #ccd; padding: 0.25em 0.6em; }}
th {{ background: #eef2f6; }}
img {{ max-width: 100%; border: 1px solid #dde; }}
blockquote {{ color: #555; border-left: 3px solid #ccd; margin-left: 0; padding-left: 1em; }}
</style></head><body>
{body}
</body></html>
"""


def write_report(
    instance: Instance,
    solution: Solution,
    out: str | Path,
    *,
    scenario: str | None = None,
    info: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the report (``.md``: pictures in ``<stem>_files/``; ``.html``: pictures embedded).

    Returns the files written.
    """
    out = Path(out)
    fmt = out.suffix.lower()
    if fmt not in (".md", ".html", ".htm"):
        raise InputError(f"{out}: unsupported report format '{fmt}' (use .md or .html)")
    out.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    has_coords = any(n.lat is not None and n.lon is not None for n in instance.spec.nodes)
    with tempfile.TemporaryDirectory() as tmp:
        pics: dict[str, Path] = {}
        if has_coords:
            pics["map"] = plot_map(instance, solution, Path(tmp) / "map.png", scenario)
        pics["response"] = plot_histogram(instance, solution, Path(tmp) / "response-times.png")
        scen = scenario or default_scenario(instance, solution)
        captions = {
            "map": f"Hubs, stationed units and the dispatches of scenario '{scen}'"
            if scen != "all"
            else "Hubs, stationed units and all dispatches",
            "response": "Response times of dispatched units (left) and their share of the deadline (right)",
        }
        if fmt == ".md":
            folder = out.with_name(f"{out.stem}_files")
            folder.mkdir(exist_ok=True)
            refs = {}
            for key, p in pics.items():
                target = folder / p.name
                os.replace(p, target) if p.parent == target.parent else target.write_bytes(p.read_bytes())
                written.append(target)
                refs[captions[key]] = f"{folder.name}/{p.name}"
            text = report_markdown(instance, solution, refs, info)
        else:
            refs = {
                captions[k]: "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode("ascii") for k, p in pics.items()
            }
            md = report_markdown(instance, solution, refs, info)
            from markdown_it import MarkdownIt

            body = MarkdownIt("commonmark").enable("table").render(md)
            text = _HTML.format(title=f"Reserve plan: {instance.name}", body=body)
    write_text(out, text)
    return [out, *written]
