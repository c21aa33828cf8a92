"""Two searches side by side, sharing plans and bounds (``--start concurrent``).

HiGHS's branch and bound keeps one core busy (a 45 s solve of the 25-scenario model used
48 s of CPU on this 2-core machine), and on large extensive forms the two starts are good
at different things: the LP neighbourhood finds plans early, hubs first proves the better
bound (docs/scale.md). So the calling process runs the default search (LP-neighbourhood
start, then the full solve) and a second process runs hubs first (hubs-only relaxation,
then the plan within its hubs, then the full solve), each on its own core. Through two
queues each streams to the other:

* every plan it finds (feasible for the full model: the neighbourhood's, the fixed-hub
  MIP's, the full solve's), which the other's full solve takes as an incumbent;
* every valid bound it proves (the hubs-only relaxation's, the full solve's), as each run
  ends.

A search stops when the best plan known to it meets the best bound known to it (within
``mip_gap``), so one search's plan and the other's bound can prove the optimum together.
The result is the best plan either found, against the better of the two bounds. Nothing is
written to disk; the second process is stopped when the first finishes.

On large models the two also share the proof (``optimizer.hubsets``): the first process
declares itself a helper (``ready``); hubs first then leaves the plans within hub sets
(the fixed-hub MIPs) to it, one ``assign`` at a time, each answered by a ``report``, while
it runs the hubs-only relaxation and the master rounds itself. The first process gives up
its own full solve at the first assignment: on these models that solve closes no gap the
search does not close sooner (docs/scale.md).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import queue
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

import highspy
import numpy as np

from models.linear import LinearModel
from optimizer.solve import START_AUTO_COLUMNS, SolveOptions, SolveResult, relative_gap, solve_highs, within_gap

POLL_SECONDS = 0.2  # how often a running search looks at its inbox
PROVEN = ("optimal", "infeasible", "unbounded")  # a first search ending so needs nothing from the peer
STOP_SECONDS = 30.0  # how long the second process is given to stop before it is terminated


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
            e.interrupt(bool(self.stopped or (plans and self.done(primal)) or (yield_work and self.assignments)))

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


def _second_search(lm: LinearModel, options: SolveOptions, inbox: Any, outbox: Any, deadline: float) -> None:
    """The second process: hubs first, then the full solve, streaming plans and bounds."""
    share = Exchange(inbox, outbox, options.mip_gap)
    limit = None if options.time_limit is None else max(1.0, deadline - time.time())
    try:
        result, values = solve_highs(lm, replace(options, start="hubs-first", time_limit=limit), share)
    except KeyboardInterrupt:
        return
    except Exception as exc:  # noqa: BLE001 - reported by the first search, which goes on alone
        share.send_note(f"failed: {type(exc).__name__}: {exc}")
        sys.exit(1)
    if values is not None and result.objective is not None:
        share.send_plan(result.objective, values)
    share.send_bound(result.bound if result.status in ("optimal", "feasible", "no_solution") else None)
    share.send_note(result.message.replace("Interrupted by user", "stopped"))


def solve_concurrent(lm: LinearModel, options: SolveOptions) -> tuple[SolveResult, np.ndarray | None]:
    """The default search here and hubs first in a second process; the best of both.

    The second search gets the same options (time limit counted from now) but writes no
    log and no model file. It starts ``options.second_after`` seconds in (at the first poll
    after that, from this search's HiGHS callback), or never if this search is done first."""
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn")  # a fresh interpreter: HiGHS's threads do not survive fork
    to_peer, from_peer = ctx.Queue(), ctx.Queue()
    deadline = time.time() + (float(options.time_limit) if options.time_limit is not None else 0.0)
    worker_options = replace(options, verbose=False, log_file=None, write_model=None)
    peer = Peer(
        ctx.Process(
            target=_second_search, args=(lm, worker_options, to_peer, from_peer, deadline), daemon=True, name="horizon-hubs-first"
        ),
        time.monotonic() + max(0.0, float(options.second_after)),
    )
    share = Exchange(from_peer, to_peer, options.mip_gap)
    share.peer_gone = lambda: peer.started and not peer.process.is_alive()
    if lm.n_cols >= START_AUTO_COLUMNS:
        share.offer_help()  # the fixed-hub models of hubs first's hub-set search run here
    peer.due()
    share.on_poll = peer.due
    proven = False  # a proof here leaves the peer nothing to add: no need to wait for its last words
    try:
        # the default search: the LP neighbourhood on large models, HiGHS alone on small ones
        first = "lp-neighbourhood" if lm.n_cols >= START_AUTO_COLUMNS else "none"
        result, values = solve_highs(lm, replace(options, start=first), share)
        proven = result.status in PROVEN
    finally:
        share.on_poll = None
        if peer.started:
            _stop(peer.process, share, wait=not proven)
        for q in (to_peer, from_peer):
            q.close()
            q.cancel_join_thread()
    seconds = time.perf_counter() - t0
    if not peer.started:  # solved before the second search was due: this search's result
        return replace(result, seconds=seconds), values
    return merge(result, values, share, peer.process.exitcode, seconds)


class Peer:
    """The second process, started once `at` (a `time.monotonic` instant) has come."""

    def __init__(self, process: BaseProcess, at: float) -> None:
        self.process, self.at = process, at
        self.started = False

    def due(self) -> None:
        if not self.started and time.monotonic() >= self.at:
            self.started = True
            self.process.start()


def _stop(peer: BaseProcess, share: Exchange, wait: bool = True) -> None:
    """Ask the peer to stop and read what it sends until it has gone (`wait`), or read what
    it has sent and terminate it.

    Reading while waiting matters: a process exits only once its queue is flushed, and a
    process killed while writing leaves half a message that would block the reader. So
    the peer is terminated only after `STOP_SECONDS` (at once without `wait`), and its
    queue is not read after that.
    """
    share.stop_peer()
    share.poll(force=True)  # what it has sent so far (all that is read without `wait`)
    end = time.monotonic() + (STOP_SECONDS if wait else 0.0)
    while peer.is_alive() and time.monotonic() < end:
        share.poll(force=True)
        peer.join(0.05)
    if peer.is_alive():
        peer.terminate()
        peer.join(STOP_SECONDS)
        return
    share.poll(force=True)


def merge(
    result: SolveResult, values: np.ndarray | None, share: Exchange, peer_exit: int | None, seconds: float
) -> tuple[SolveResult, np.ndarray | None]:
    """This search's result with the peer's best plan and bound; the status follows from them."""
    note = f"concurrent: hubs first in a second process sent {share.plans_received} plan(s)" + (
        f", bound {share.bound:.6g}" if share.bound is not None else ", no bound"
    )
    if share.note:
        note += f" ({share.note})"
    if peer_exit not in (0, None, -signal.SIGTERM):  # terminated by us after the run
        note += f" (it ended with exit code {peer_exit})"
    if result.status in ("infeasible", "unbounded", "error"):
        return replace(result, seconds=seconds, message=f"{result.message}; {note}"), values
    objective = result.objective if values is not None else None
    took_peer = False
    if share.plan is not None and (objective is None or share.plan[0] < objective - 1e-9 * max(1.0, abs(share.plan[0]))):
        objective, values, took_peer = share.plan[0], share.plan[1], True
    own = result.bound
    bound = share.best_bound(own)
    if objective is not None and bound is not None and not consistent(objective, bound):
        # the peer's bound contradicts a feasible plan: keep this search's own
        note += f"; its bound {share.bound:.6g} is above a feasible plan and is ignored"
        bound = own
    if objective is None:
        return replace(result, bound=bound, seconds=seconds, message=f"{result.message}; {note}"), None
    if bound is not None:
        bound = min(bound, objective)
    gap = relative_gap(objective, bound) if bound is not None else None
    optimal = (result.status == "optimal" and not took_peer) or within_gap(gap, share.mip_gap)
    if optimal and gap == 0.0:
        bound = objective
    if took_peer:
        note += "; its plan is the best"
    head = result.message
    if optimal and result.status != "optimal":
        head = f"Optimal (the best plan meets the best bound of the two searches); this process: {result.message}"
    merged = replace(
        result,
        status="optimal" if optimal else "feasible",
        objective=objective,
        bound=bound,
        gap=gap,
        has_solution=True,
        seconds=seconds,
        message=f"{head}; {note}",
    )
    return merged, values
