"""Query timeouts: one deadline per page request, enforced inside the engine.

A valid filter can be expensive (hundreds of `ilike` alternatives over a large table), and no
parse-time limit bounds that: only cancelling the running statement does. Every source takes
`timeout` (seconds, default 10, None disables); a page plus its count that runs longer raises
`crudql.QueryTimeoutError` (code `timeout`). How each engine cancels is the backend's business
(SQLite: a progress handler; PostgreSQL and MySQL: a cancel request from the `Watchdog` thread;
MongoDB: `maxTimeMS`; Python scans: a clock check between chunks).
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable

from .errors import QueryTimeoutError

__all__ = ["DEFAULT_TIMEOUT", "WATCHDOG", "Alarm", "Deadline", "Watchdog", "check_timeout"]

DEFAULT_TIMEOUT = 10.0


def check_timeout(timeout: float | None) -> float | None:
    """A source's `timeout` argument, validated."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    return float(timeout)


class Deadline:
    """The instant a request must be done by (monotonic clock)."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def check(self) -> None:
        """Raise the timeout error once the deadline has passed."""
        if time.monotonic() >= self.at:
            raise self.error()

    def error(self) -> QueryTimeoutError:
        return QueryTimeoutError(
            f"the query ran longer than the timeout of {self.seconds:g} s and was cancelled; "
            "narrow the filter (an indexed field, fewer alternatives) or ask for a smaller page"
        )


_MAX_EVERY = 1.0  # seconds: the longest interval an alarm with `every` backs off to


class Alarm:
    """A callback the watchdog runs at a deadline unless it is disarmed first; with `every`,
    again `every` seconds after that, then at doubling intervals (up to a second), until it is
    disarmed."""

    __slots__ = ("_callback", "_lock", "at", "done", "every", "fired")

    def __init__(self, at: float, callback: Callable[[], None], every: float | None = None) -> None:
        self.at = at
        self._callback = callback
        self._lock = threading.Lock()
        self.done = False
        self.fired = False
        self.every = every

    def fire(self) -> bool:
        """Run the callback (unless disarmed); True when it is due again at `at`."""
        # Under the alarm's lock: once `disarm` has returned, the callback can no longer run,
        # so a cancel request never reaches the connection's next statement.
        with self._lock:
            if self.done:
                return False
            self.fired = True
            try:
                self._callback()
            except Exception:
                pass
            if self.every is None:
                self.done = True
                return False
            self.at = time.monotonic() + self.every
            # Backing off: a request stuck where no cancel reaches it (a server gone quiet) does
            # not keep the one watchdog thread busy sending them.
            self.every = min(self.every * 2, _MAX_EVERY)
            return True

    def disarm(self) -> bool:
        """Stop the alarm; True when it had already fired."""
        with self._lock:
            self.done = True
            self._callback = _nothing  # a disarmed alarm waits in the heap: hold no connection
            return self.fired


def _nothing() -> None:
    pass


class Watchdog:
    """One daemon thread that runs alarms at their deadlines (started on first use).

    The thread sleeps until the earliest pending deadline (`_until`); `arm` wakes it only for
    an alarm due before that. With one timeout for every request, each new alarm is due after
    the ones before it: requests arm and disarm without waking the thread (a thread switch per
    request, measured on PostgreSQL), which wakes about once per timeout period instead."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Alarm]] = []
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._until = math.inf  # when the thread wakes up next by itself

    def arm(self, deadline: Deadline, callback: Callable[[], None], every: float | None = None) -> Alarm:
        """Run `callback` at the deadline (and, with `every`, again `every` seconds later, then at
        doubling intervals up to a second) unless the returned alarm is disarmed first."""
        alarm = Alarm(deadline.at, callback, every)
        with self._cond:
            heap = self._heap
            while heap and heap[0][2].done:  # finished requests' alarms
                heapq.heappop(heap)
            heapq.heappush(heap, (alarm.at, next(self._ids), alarm))
            if self._thread is None or not self._thread.is_alive():
                self._until = math.inf
                self._thread = threading.Thread(target=self._run, name="crudql-watchdog", daemon=True)
                self._thread.start()
            if alarm.at < self._until:
                self._until = alarm.at  # the thread wakes for it (and sets its own `_until`)
                self._cond.notify()
        return alarm

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._until = math.inf
                    self._cond.wait()
                at, _, alarm = self._heap[0]
                if alarm.done:
                    heapq.heappop(self._heap)
                    continue
                wait = at - time.monotonic()
                if wait > 0:
                    self._until = at
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if alarm.fire():  # due again: nothing else fires it, so no need to wake anyone
                with self._cond:
                    heapq.heappush(self._heap, (alarm.at, next(self._ids), alarm))


WATCHDOG = Watchdog()
