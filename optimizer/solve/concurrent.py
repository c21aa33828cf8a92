"""Two searches side by side, sharing plans and bounds (``--start concurrent``).

HiGHS's branch and bound keeps one core busy (a 45 s solve of the 25-scenario model used
48 s of CPU on this 2-core machine), and on large extensive forms hubs first proves far
better bounds than branch and bound (docs/scale.md). So the calling process runs plain
branch and bound (`FIRST_SEARCH`) and a second process runs hubs first (hubs-only
relaxation, then the plan within its hubs, then the full solve), each on its own core.
Plain branch and bound here, rather than the LP-neighbourhood start, makes the pair never
worse than HiGHS alone on a time limit: the neighbourhood's LP and sub-MIP took most of a
60 s limit at 120 scenarios and left a plan 4 % dearer (docs/lab/starts.md). Through two
queues each streams to the other:

* every plan it finds (feasible for the full model: the fixed-hub MIP's, the full
  solve's), which the other's full solve takes as an incumbent;
* every valid bound it proves (the hubs-only relaxation's, the full solve's), as each run
  ends.

A search stops when the best plan known to it meets the best bound known to it (within
``mip_gap``), so one search's plan and the other's bound can prove the optimum together.
The result is the best plan either found, against the better of the two bounds. Nothing is
written to disk; the second process is stopped when the first finishes.

On large models the two also share the proof (``horizon.optimizer.solve.hubsets``): the first process
declares itself a helper (``ready``); hubs first then leaves the plans within hub sets
(the fixed-hub MIPs) to it, one ``assign`` at a time, each answered by a ``report``, while
it runs the hubs-only relaxation and the master rounds itself. The first process gives up
its own full solve at the first assignment: on these models that solve closes no gap the
search does not close sooner (docs/scale.md).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

import numpy as np

from horizon.models.linear import LinearModel
from horizon.optimizer.solve.events import MONITOR
from horizon.optimizer.solve.exchange import Exchange, consistent
from horizon.optimizer.solve.result import Incumbent, SolveOptions, SolveResult, relative_gap, within_gap
from horizon.optimizer.solve.starts import START_AUTO_COLUMNS, single_search

PROVEN = ("optimal", "infeasible", "unbounded")  # a first search ending so needs nothing from the peer
STOP_SECONDS = 30.0  # how long the second process is given to stop before it is terminated
INTERRUPT_SECONDS = 0.5  # the same after Ctrl-C (`MONITOR`): what it sent by then is kept
LIMIT_SECONDS = 0.25  # the same past the time limit
FIRST_SEARCH = "none"  # this process's search on large models (see `solve_concurrent`)
# Below this time limit this process keeps its branch and bound rather than serve the peer's
# hub-set search: at 120 scenarios and 60 s, serving left a plan 18 % dearer than HiGHS
# alone (docs/lab/starts.md); the 10-minute proofs at 200 scenarios need the help.
HELP_MIN_SECONDS = 600.0


def _second_search(lm: LinearModel | None, options: SolveOptions, inbox: Any, outbox: Any, deadline: float) -> None:
    """The second process: hubs first, then the full solve, streaming plans and bounds.
    Ctrl-C reaches the whole process group: this process ignores it (inherited from
    `Peer.due`, and set here once more) and stops when the first process tells it to."""
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if lm is None:  # the model comes first on the queue (see `solve_concurrent`)
        first = inbox.get()
        if first[0] != "model":
            return
        lm = first[1]
    share = Exchange(inbox, outbox, options.mip_gap)
    limit = None if options.time_limit is None else max(0.1, deadline - time.time())
    try:
        result, values = single_search(lm, replace(options, start="hubs-first", time_limit=limit), share)
    except KeyboardInterrupt:
        return
    except Exception as exc:  # noqa: BLE001 - reported by the first search, which goes on alone
        share.send_note(f"failed: {type(exc).__name__}: {exc}")
        sys.exit(1)
    if values is not None and result.objective is not None:
        share.send_plan(result.objective, values)
    share.send_bound(result.bound if result.status in ("optimal", "feasible", "no_solution") else None)
    share.send_note(result.message.replace("Interrupted by user", "stopped"))


def solve_concurrent(
    lm: LinearModel, options: SolveOptions, incumbent: Incumbent | None = None
) -> tuple[SolveResult, np.ndarray | None]:
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
            target=_second_search,
            args=(None, worker_options, to_peer, from_peer, deadline),
            daemon=True,
            name="horizon-hubs-first",
        ),
        time.monotonic() + max(0.0, float(options.second_after)),
    )
    # The model goes through the queue (its feeder thread), not as the process's argument: a
    # spawned process reads its arguments only once its interpreter has started, and a large
    # model written to that pipe kept this search waiting (3 s on a loaded 2-core machine)
    peer.on_start = lambda: to_peer.put(("model", lm))
    share = Exchange(from_peer, to_peer, options.mip_gap)
    share.peer_gone = lambda: peer.started and not peer.process.is_alive()
    if lm.n_cols >= START_AUTO_COLUMNS and (options.time_limit is None or options.time_limit >= HELP_MIN_SECONDS):
        # the fixed-hub models of hubs first's hub-set search run here, in place of this
        # process's branch and bound: worth it for a proof, not within a short limit
        share.offer_help()
    peer.due()
    share.on_poll = peer.due
    proven = False  # a proof here leaves the peer nothing to add: no need to wait for its last words
    try:
        first = FIRST_SEARCH if lm.n_cols >= START_AUTO_COLUMNS else "none"
        result, values = single_search(lm, replace(options, start=first), share, incumbent)
        proven = result.status in PROVEN
    finally:
        share.on_poll = None
        if peer.started:
            grace = 0.0 if proven else STOP_SECONDS
            if MONITOR.stop_requested():
                grace = min(grace, INTERRUPT_SECONDS)
            elif options.time_limit is not None:
                grace = min(grace, max(0.0, deadline - time.time()) + LIMIT_SECONDS)
            _stop(peer.process, share, grace)
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
        self.on_start: Callable[[], None] = lambda: None  # run once the process has started

    def due(self) -> None:
        if not self.started and time.monotonic() >= self.at and not MONITOR.stop_requested():
            self.started = True
            with _sigint_ignored():  # the child inherits it from birth: no KeyboardInterrupt in its start-up
                self.process.start()
            self.on_start()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored for the block, when this is the main thread (else left as it is)."""
    try:
        saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


def _stop(peer: BaseProcess, share: Exchange, grace: float = STOP_SECONDS) -> None:
    """Ask the peer to stop and read what it sends until it has gone, for `grace` seconds
    at most; then read what it has sent and terminate it.

    Reading while waiting matters: a process exits only once its queue is flushed, and a
    process killed while writing leaves half a message that would block the reader. So
    the peer is terminated only after `grace` (`STOP_SECONDS`; 0 when this search proved
    the result), and its queue is not read after that.
    """
    share.stop_peer()
    share.poll(force=True)  # what it has sent so far (all that is read without a grace)
    end = time.monotonic() + grace
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
