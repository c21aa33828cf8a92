"""One search's side of the channel between two concurrent searches.

The start strategies and the hub-set search talk through it (plans, bounds, assignments of
fixed-hub models) without knowing whether a peer exists: `horizon.optimizer.solve.concurrent`
creates the pair of queues and the second process.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import highspy
import numpy as np

from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.result import relative_gap, within_gap

POLL_SECONDS = 0.2  # how often a running search looks at its inbox


class Exchange:
    """One search's side of the channel: what it has heard from the other, what it sends.

    ``watch`` attaches HiGHS callbacks for one run: sending plans and bounds, taking the
    peer's plans as incumbents, and interrupting when the run's work is done (the peer
    asked to stop, or the best plan known meets the best bound known).
    """

    def __init__(self, inbox: Any, outbox: Any, mip_gap: float) -> None:
        self.inbox, self.outbox = inbox, outbox
        self.mip_gap = float(mip_gap)
        self.plan: tuple[float, np.ndarray] | None = None  # the best plan the peer sent
        self.bound: float | None = None  # the best bound the peer sent
        self.stopped = False
        self.note = ""  # what the peer said it did, when it finished first
        self.plans_received = 0
        self.plans_given = 0  # peer plans handed to HiGHS as incumbents
        self._sent_bound = -math.inf
        self._sent_plan = math.inf
        self._polled = 0.0
        self._parent = os.getppid()
        self.on_poll: Callable[[], None] | None = None  # run at each poll (the delayed peer's start)
        self.peer_gone: Callable[[], bool] = lambda: False  # the peer process has ended
        # sharing the hub-set search: the helper's side (the first process) ...
        self.serving = False  # this search takes assignments (and gives up its full solve for them)
        self.assignments: list[tuple[tuple[int, ...], np.ndarray, float | None, float]] = []
        # ... and the coordinator's (hubs first)
        self.helper = False  # the peer takes assignments
        self.assigned: dict[tuple[int, ...], float | None] = {}  # sent, not reported: key -> cut
        self.reports: list[tuple[tuple[int, ...], str, float | None]] = []

    # --- messages ------------------------------------------------------------------------
    def poll(self, force: bool = False) -> None:
        """Read what the peer sent (at most every `POLL_SECONDS` unless forced)."""
        now = time.monotonic()
        if not force and now - self._polled < POLL_SECONDS:
            return
        self._polled = now
        if self.on_poll is not None:
            self.on_poll()
        if os.getppid() != self._parent:  # the process that started this one has gone
            self.stopped = True
        while True:
            try:
                message = self.inbox.get_nowait()
            except (queue.Empty, OSError, EOFError, ValueError):
                return
            kind = message[0]
            if kind == "plan":
                objective, values = float(message[1]), message[2]
                if self.plan is None or objective < self.plan[0]:
                    self.plan = (objective, values)
                self.plans_received += 1
            elif kind == "bound":
                value = float(message[1])
                self.bound = value if self.bound is None else max(self.bound, value)
            elif kind == "stop":
                self.stopped = True
            elif kind == "note":
                self.note = str(message[1])
            elif kind == "ready":
                self.helper = True
            elif kind == "assign":
                self.assignments.append((tuple(message[1]), np.asarray(message[2], dtype=float), message[3], float(message[4])))
            elif kind == "report":
                key = tuple(message[1])
                self.reports.append((key, str(message[2]), None if message[3] is None else float(message[3])))

    def _send(self, message: tuple) -> None:
        with contextlib.suppress(OSError, ValueError, AssertionError):  # the peer has gone
            self.outbox.put(message)

    def send_plan(self, objective: float, values: np.ndarray) -> None:
        """A plan feasible for the full model (sent only when it improves on the last)."""
        if math.isfinite(objective) and objective < self._sent_plan:
            self._sent_plan = objective
            self._send(("plan", float(objective), np.asarray(values, dtype=float).copy()))

    def send_bound(self, bound: float | None) -> None:
        """A valid lower bound on the full model's optimum (sent when it rises)."""
        if bound is not None and math.isfinite(bound) and bound > self._sent_bound:
            self._sent_bound = float(bound)
            self._send(("bound", float(bound)))

    def send_note(self, text: str) -> None:
        self._send(("note", text))

    def stop_peer(self) -> None:
        self._send(("stop",))

    # --- the shared hub-set search -------------------------------------------------------
    def offer_help(self) -> None:
        """Tell the peer this search takes assignments (sent once, at the start)."""
        self.serving = True
        self._send(("ready",))

    def idle_helper(self) -> bool:
        """Whether the peer takes assignments and has none outstanding."""
        return self.helper and not self.assigned and not self.peer_gone()

    def assign(self, hubs: np.ndarray, cut: float | None, scale: float) -> tuple[int, ...]:
        """Ask the peer to solve the full model with the hubs fixed to `hubs`, under the
        cost cut ``cost ≤ cut`` (None: none); `scale` divides the cut row's coefficients."""
        key = tuple(int(v) for v in np.round(hubs))
        self.assigned[key] = cut
        self._send(("assign", key, np.round(np.asarray(hubs, dtype=float)), cut, float(scale)))
        return key

    def report(self, key: tuple[int, ...], status: str, bound: float | None) -> None:
        """The end of an assignment: its status and bound (its plans went as ``plan``)."""
        self._send(("report", key, status, bound))

    def best_bound(self, own: float | None = None) -> float | None:
        bounds = [b for b in (own, self.bound) if b is not None and math.isfinite(b)]
        return max(bounds) if bounds else None

    def done(self, primal: float | None, own_bound: float | None = None) -> bool:
        """Whether the best plan known (this run's `primal` or the peer's) meets the best bound.

        A plan well below the bound means a wrong bound, not a proof: never done then."""
        plans = [p for p in (primal, self.plan[0] if self.plan else None) if p is not None and math.isfinite(p)]
        bound = self.best_bound(own_bound)
        if not plans or bound is None:
            return False
        best = min(plans)
        return consistent(best, bound) and within_gap(relative_gap(best, bound), self.mip_gap)

    # --- callbacks -----------------------------------------------------------------------
    @contextlib.contextmanager
    def watch(self, h: highspy.Highs, *, plans: bool, inject: bool, yield_work: bool = False) -> Iterator[None]:
        """Callbacks for one run on `h`: `plans`, its incumbents are plans of the full model
        (sent, and a plan meeting the peer's bound ends the run); `inject`, the peer's plans
        become its incumbents; `yield_work`, an assignment from the peer ends the run.

        Bounds are sent only from finished runs (`send_bound` with the run's result): the
        dual bound a MIP callback reports mid-run is not one (at 400 scenarios it read
        567.5 M on a model with a 555.3 M plan)."""
        given = [math.inf]  # objective of the last peer plan handed to this run

        def on_interrupt(e: Any) -> None:
            self.poll()
            primal = float(e.data_out.mip_primal_bound) if plans else None
            # set either way: HiGHS keeps the flag from one run to the next on the same object
            stop = self.stopped or MONITOR.stop_requested()
            e.interrupt(bool(stop or (plans and self.done(primal)) or (yield_work and self.assignments)))

        def on_improving(e: Any) -> None:
            out = e.data_out
            self.send_plan(float(out.objective_function_value), np.asarray(out.mip_solution, dtype=float))

        def on_user_solution(e: Any) -> None:
            self.poll()
            if self.plan is None:
                return
            objective, values = self.plan
            primal = float(e.data_out.mip_primal_bound)
            if objective < given[0] and objective < primal - 1e-9 * max(1.0, abs(objective)):
                given[0] = objective
                e.data_in.setSolution(np.asarray(values, dtype=float))
                self.plans_given += 1

        # HiGHS calls the MIP interrupt callback a few times a second, in the root's cut
        # loop too (88 times in a 30 s root at 25 scenarios), so polling there is cheap
        subscribed = [(h.cbMipInterrupt, on_interrupt)]
        if plans:
            subscribed.append((h.cbMipImprovingSolution, on_improving))
        if inject:
            subscribed.append((h.cbMipUserSolution, on_user_solution))
        for event, fn in subscribed:
            event.subscribe(_guarded(fn))
        try:
            yield
        finally:
            h.clearCallbacks()


def consistent(plan: float, bound: float) -> bool:
    """A bound above a feasible plan by more than round-off is wrong."""
    return bound <= plan + 1e-6 * max(1.0, abs(plan))


def _guarded(fn: Any) -> Any:
    """A callback that never raises into HiGHS (an exception there ends the run in error):
    a failure to exchange only costs the exchange."""

    def run(e: Any) -> None:
        with contextlib.suppress(Exception):
            fn(e)

    return run
