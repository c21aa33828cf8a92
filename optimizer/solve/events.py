"""What a running solve tells the outside (progress), and how the outside asks it to stop.

A solve runs deep below the command that started it: a start strategy, a Benders master, a
hub-set search, a second process. The command (or a web page, or a notebook) wants to show
progress and to stop the solve while keeping its best plan. Rather than thread a callback
through every layer, the solve layer reports to one `Monitor` per process, and every HiGHS
run polls it: Ctrl-C, like HiGHS's own time limit, ends the run with its incumbent kept.
A signal is process-wide too, so one monitor per process is the honest shape.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One report: where the solve is, its best plan and bound so far (minimised objective)."""

    step: str  # e.g. "branch and bound", "hub-set search: 7 sets left"
    incumbent: float | None = None
    bound: float | None = None
    elapsed: float = 0.0  # seconds since the monitor's run began

    @property
    def gap(self) -> float | None:
        if self.incumbent is None or self.bound is None:
            return None
        return max(0.0, self.incumbent - self.bound) / max(abs(self.incumbent), 1e-10)


Listener = Callable[[Progress], None]


class Monitor:
    """The process's progress and stop channel (see the module docstring)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self.reason = ""  # why a stop was asked for, e.g. "interrupted by the user"
        self.step = ""
        self.incumbent: float | None = None
        self.bound: float | None = None
        # HiGHS MIP runs report their dual bound too: set by a caller whose every MIP run is on
        # the full model (``start="none"``), where that bound holds for the problem.
        self.mip_bounds = False

    # --- stopping ---------------------------------------------------------------------------
    def request_stop(self, reason: str = "interrupted by the user") -> None:
        self.reason = self.reason or reason
        self._stop.set()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    # --- progress ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def run(self, listener: Listener | None = None) -> Iterator[Monitor]:
        """One solve from the caller's side: fresh state and clock, `listener` attached, the
        stop request cleared on entry (a previous run's Ctrl-C does not stop this one)."""
        with self._lock:
            self._stop.clear()
            self.reason = ""
            self._t0 = time.monotonic()
            self.step, self.incumbent, self.bound = "", None, None
            if listener is not None:
                self._listeners.append(listener)
        try:
            yield self
        finally:
            with self._lock:
                if listener is not None and listener in self._listeners:
                    self._listeners.remove(listener)

    def report(self, step: str | None = None, *, incumbent: float | None = None, bound: float | None = None) -> None:
        """Tell the listeners; an incumbent only counts when it improves, a bound when it rises."""
        with self._lock:
            if step is not None:
                self.step = step
            if incumbent is not None and (self.incumbent is None or incumbent < self.incumbent):
                self.incumbent = incumbent
            if bound is not None and (self.bound is None or bound > self.bound):
                self.bound = bound
            event = Progress(self.step, self.incumbent, self.bound, time.monotonic() - self._t0)
            listeners = list(self._listeners)
        for fn in listeners:
            with contextlib.suppress(Exception):  # a display failure never ends a solve
                fn(event)


MONITOR = Monitor()
