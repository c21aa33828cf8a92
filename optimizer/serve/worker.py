"""The workspace's solves, run in a child process so that the page stays responsive.

A job is one solve, policy comparison or sweep of an instance. The child reports through a
queue: ``("progress", {...})`` a few times a second, then one ``("done", payload)`` or
``("error", {...})``. SIGUSR1 asks it to stop: every HiGHS run then ends as at a time limit
with its best plan kept (`horizon.optimizer.solve.events.MONITOR`), and the job returns it.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from horizon.optimizer.data.instance import Instance
from horizon.optimizer.errors import HorizonError
from horizon.optimizer.pipeline import require_plan, solve
from horizon.optimizer.planning.charts import plot_comparison, plot_sweep
from horizon.optimizer.planning.tools import compare_policies, sweep
from horizon.optimizer.results.metrics import solution_metrics
from horizon.optimizer.solve.events import MONITOR, Progress
from horizon.optimizer.solve.result import SolveOptions

STOP_SIGNAL = signal.SIGUSR1
STOP_REASON = "interrupted by the user"


def progress_dict(p: Progress) -> dict[str, Any]:
    return {"step": p.step, "elapsed": p.elapsed, "incumbent": p.incumbent, "bound": p.bound, "gap": p.gap}


def _on_stop(signum: int, frame: Any) -> None:
    MONITOR.request_stop(STOP_REASON)


def run_job(kind: str, instance: Instance, params: dict[str, Any], queue: Any) -> None:
    """The child's entry point: run job `kind` on `instance` and put its outcome on `queue`."""
    signal.signal(STOP_SIGNAL, _on_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal is the server's
    MONITOR.mip_bounds = kind == "solve"  # one full model solved with start "none": its bound holds
    last = [0.0]

    def listener(p: Progress) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2:
            last[0] = now
            queue.put(("progress", progress_dict(p)))

    done = threading.Event()

    def tick() -> None:  # elapsed time moves on even between the solver's reports
        while not done.wait(0.5):
            MONITOR.report()

    t0 = time.monotonic()
    with MONITOR.run(listener):
        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            outcome: tuple[str, Any] = ("done", _run(kind, instance, params))
        except HorizonError as exc:
            outcome = ("error", {"headline": exc.headline, "messages": exc.messages, "kind": type(exc).__name__})
        except Exception as exc:  # noqa: BLE001 - the page shows it; the server goes on
            outcome = ("error", {"headline": "internal error", "messages": [f"{type(exc).__name__}: {exc}"], "kind": "internal"})
        done.set()
        final = _final(time.monotonic() - t0)
        queue.put(("progress", {**progress_dict(final), "stopped": MONITOR.stop_requested()}))
        queue.put(outcome)


def _final(elapsed: float) -> Progress:
    m = MONITOR
    return Progress(m.step, m.incumbent, m.bound, elapsed)


def _options(params: dict[str, Any]) -> SolveOptions:
    limit = params.get("time_limit")
    return SolveOptions(time_limit=float(limit) if limit else None, start=str(params.get("start", "none")))


def _run(kind: str, instance: Instance, params: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    if kind == "solve":
        solution = require_plan(solve(instance, _options(params)))
        MONITOR.report(
            "stopped, best plan kept" if MONITOR.stop_requested() else "done", incumbent=solution.objective, bound=solution.bound
        )
        return {
            "solution": solution,
            "metrics": solution_metrics(instance, solution),
            "stopped": MONITOR.stop_requested(),
            "seconds": time.perf_counter() - t0,
        }
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "chart.png"
        if kind == "compare":
            comp = compare_policies(instance, options=_options({"start": "auto", **params}))
            plot_comparison(comp, png)
            table = [[label, *values] for label, values in comp.table()]
            return {
                "columns": ["", *[o.policy for o in comp.outcomes]],
                "rows": table,
                "png": png.read_bytes(),
                "seconds": time.perf_counter() - t0,
            }
        if kind == "sweep":
            values = params.get("values") or None
            result = sweep(instance, str(params["param"]), values, _options({"start": "auto", **params}))
            plot_sweep(result, png)
            rows = result.rows()
            cols = list(rows[0]) if rows else []
            return {
                "columns": cols,
                "rows": [[r[c] for c in cols] for r in rows],
                "notes": result.notes,
                "png": png.read_bytes(),
                "seconds": time.perf_counter() - t0,
            }
    raise HorizonError(f"unknown job '{kind}'")


def warm_up() -> None:
    """A no-op job: makes the process start method import this module (and the solver) once."""
    with contextlib.suppress(Exception):
        MONITOR.report()
