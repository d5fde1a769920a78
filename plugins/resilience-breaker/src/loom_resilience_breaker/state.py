"""The circuit breaker state machine, one per provider and model.

::

                 failure_threshold failures in a row, or
                 failure_rate of the calls in the window (>= min_calls)
       CLOSED ─────────────────────────────────────────────────▶ OPEN
         ▲                                                        │
         │ the probe call succeeded            cooldown elapsed:  │
         │                                     the next caller    │
         │                                     is the probe       ▼
         └──────────────────────────────────────────────────── HALF-OPEN
                        the probe call failed ──▶ OPEN (the cool-down restarts)

- **closed**: calls go through; each outcome is counted.
- **open**: calls fail fast with :class:`~loom.errors.CircuitOpenError`
  (``retryable=False``, ``retry_after`` = the cool-down left).
- **half-open**: exactly one caller (the probe) goes through; others fail
  fast while it runs. If the probe ends neither in success nor in failure
  (cancelled, or an error that says nothing about the provider), the slot is
  freed and the next caller probes.

A caller asks :meth:`CircuitBreaker.acquire` for a :class:`Permit`, makes its
call, and reports the outcome with :meth:`~CircuitBreaker.record_success`,
:meth:`~CircuitBreaker.record_failure` or :meth:`~CircuitBreaker.release`.
Every state change bumps a *generation*; an outcome reported with a permit of
an older generation (a slow call that started before the circuit opened) is
ignored, so it can neither re-open nor close the circuit by accident.

Every method is synchronous and holds the breaker's :class:`threading.Lock`
only for a few assignments, never across an ``await``: one breaker can be
shared by concurrent tasks and threads. Methods that change the state return
the :class:`Transition` so the caller can report it as an event.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from loom.errors import CircuitOpenError

from loom_resilience_breaker.settings import BreakerSettings

State = Literal["closed", "open", "half_open"]
Clock = Callable[[], float]

#: Event kind for each state a transition enters.
EVENT_FOR_STATE: dict[State, str] = {
    "open": "breaker.opened",
    "half_open": "breaker.half_open",
    "closed": "breaker.closed",
}


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; report its outcome with the same permit."""

    generation: int
    probe: bool


@dataclass(frozen=True)
class Transition:
    """One state change, with the counts that caused it."""

    provider: str
    model: str
    previous: State
    state: State
    reason: str
    consecutive_failures: int
    window_calls: int
    window_failures: int
    cooldown: float
    times_opened: int

    @property
    def event_kind(self) -> str:
        """``breaker.opened``, ``breaker.half_open`` or ``breaker.closed``."""
        return EVENT_FOR_STATE[self.state]

    def event_data(self) -> dict[str, Any]:
        """The event's data: provider, model, previous state, reason and counts."""
        return {"provider": self.provider, "model": self.model, "previous": self.previous,
                "state": self.state, "reason": self.reason,
                "consecutive_failures": self.consecutive_failures,
                "window_calls": self.window_calls, "window_failures": self.window_failures,
                "cooldown": self.cooldown, "times_opened": self.times_opened}


@dataclass(frozen=True)
class BreakerSnapshot:
    """A consistent view of one breaker (for status displays and tests)."""

    provider: str
    model: str
    state: State
    reason: str
    consecutive_failures: int
    window_calls: int
    window_failures: int
    cooldown_left: float
    probe_in_flight: bool
    times_opened: int


class CircuitBreaker:
    """The circuit of one provider and model; see the module docstring."""

    def __init__(self, provider: str, model: str, settings: BreakerSettings | None = None,
                 clock: Clock = time.monotonic) -> None:
        self.provider = provider
        self.model = model
        self._settings = settings or BreakerSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._generation = 0
        self._reason = ""
        self._opened_at = 0.0
        self._consecutive = 0
        self._window: deque[tuple[float, bool]] = deque()
        self._window_failures = 0
        self._probe_in_flight = False
        self._times_opened = 0

    @property
    def settings(self) -> BreakerSettings:
        """The thresholds in force."""
        return self._settings

    def configure(self, settings: BreakerSettings) -> None:
        """Use new thresholds from now on; the state and counts are kept."""
        with self._lock:
            self._settings = settings

    @property
    def state(self) -> State:
        """The current state (an open circuit stays open until a caller probes)."""
        return self._state

    def snapshot(self) -> BreakerSnapshot:
        """The state and counts, read under the lock."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            left = 0.0
            if self._state == "open":
                left = max(0.0, self._opened_at + self._settings.cooldown - now)
            return BreakerSnapshot(self.provider, self.model, self._state, self._reason,
                                   self._consecutive, len(self._window), self._window_failures,
                                   left, self._probe_in_flight, self._times_opened)

    # ------------------------------------------------------------ the machine

    def acquire(self) -> tuple[Permit, Transition | None]:
        """Leave to call, or :class:`~loom.errors.CircuitOpenError` to fail fast.

        Returns the permit and, when this caller moved the circuit from open
        to half-open (it is the probe), that transition.
        """
        with self._lock:
            now = self._clock()
            if self._state == "closed":
                return Permit(self._generation, probe=False), None
            if self._state == "open":
                left = self._opened_at + self._settings.cooldown - now
                if left > 0:
                    raise self._refusal(f"retry in {left:.3g}s", left)
                transition = self._move(
                    "half_open", f"cool-down of {self._settings.cooldown:g}s elapsed; "
                                 "letting one probe call through")
                self._probe_in_flight = True
                return Permit(self._generation, probe=True), transition
            if self._probe_in_flight:
                raise self._refusal("a probe call is in flight", 0.0)
            self._probe_in_flight = True
            return Permit(self._generation, probe=True), None

    def record_success(self, permit: Permit) -> Transition | None:
        """The provider answered. A successful probe closes the circuit."""
        with self._lock:
            if permit.generation != self._generation:
                return None
            if permit.probe:
                self._probe_in_flight = False
                return self._move("closed", "the probe call succeeded")
            self._consecutive = 0
            self._count(self._clock(), failed=False)
            return None

    def record_failure(self, permit: Permit) -> Transition | None:
        """The provider failed. Opens the circuit when a threshold is crossed,
        or again when this was the probe."""
        with self._lock:
            if permit.generation != self._generation:
                return None
            now = self._clock()
            if permit.probe:
                self._probe_in_flight = False
                return self._open(now, "the probe call failed")
            self._consecutive += 1
            self._count(now, failed=True)
            s = self._settings
            if self._consecutive >= s.failure_threshold:
                return self._open(now, f"{self._consecutive} consecutive failures "
                                       f"(failure_threshold = {s.failure_threshold})")
            calls, failures = len(self._window), self._window_failures
            if calls >= s.min_calls and failures / calls >= s.failure_rate:
                return self._open(now, f"{failures} of {calls} calls failed in the last "
                                       f"{s.window_seconds:g}s (failure_rate = {s.failure_rate:g})")
            return None

    def release(self, permit: Permit) -> None:
        """The call ended without telling anything about the provider
        (cancelled, or another layer's error): only frees the probe slot."""
        with self._lock:
            if permit.generation == self._generation and permit.probe:
                self._probe_in_flight = False

    def tripped_error(self, cause: BaseException) -> CircuitOpenError:
        """The error for the call whose failure just opened the circuit: a
        :class:`~loom.errors.CircuitOpenError` that names the failure, so
        outer layers stop retrying this provider at once."""
        with self._lock:
            left = 0.0
            if self._state == "open":
                left = max(0.0, self._opened_at + self._settings.cooldown - self._clock())
            return self._refusal(f"opened by this call's failure ({type(cause).__name__}: "
                                 f"{cause}); retry in {left:.3g}s", left)

    # --------------------------------------------------------------- helpers

    def _refusal(self, detail: str, left: float) -> CircuitOpenError:
        model = f" model {self.model!r}" if self.model else ""
        return CircuitOpenError(
            f"circuit open for provider {self.provider!r}{model} ({self._reason}); {detail}",
            provider=self.provider, retryable=False, retry_after=max(0.0, left))

    def _open(self, now: float, reason: str) -> Transition:
        self._times_opened += 1
        transition = self._move("open", reason)
        self._opened_at = now
        return transition

    def _move(self, state: State, reason: str) -> Transition:
        transition = Transition(
            self.provider, self.model, self._state, state, reason, self._consecutive,
            len(self._window), self._window_failures, self._settings.cooldown,
            self._times_opened)
        self._state = state
        self._reason = reason
        self._generation += 1
        if state != "half_open":
            self._consecutive = 0
            self._window.clear()
            self._window_failures = 0
        return transition

    def _count(self, now: float, *, failed: bool) -> None:
        self._window.append((now, failed))
        self._window_failures += failed
        self._prune(now)

    def _prune(self, now: float) -> None:
        horizon = now - self._settings.window_seconds
        while self._window and self._window[0][0] <= horizon:
            _, failed = self._window.popleft()
            self._window_failures -= failed


class BreakerBoard:
    """Every circuit breaker of one plugin instance, keyed by provider and model.

    The installed plugin keeps one board for the whole process, so runs of
    every session share what they learn about a provider. Thread-safe.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def breaker(self, provider: str, model: str,
                settings: BreakerSettings | None = None) -> CircuitBreaker:
        """The breaker of ``provider``/``model`` (created closed on first use);
        ``settings``, when given, become its thresholds."""
        key = (provider, model)
        with self._lock:
            found = self._breakers.get(key)
            if found is None:
                found = CircuitBreaker(provider, model, settings, self.clock)
                self._breakers[key] = found
                return found
        if settings is not None and settings != found.settings:
            found.configure(settings)
        return found

    def get(self, provider: str, model: str = "") -> CircuitBreaker | None:
        """The breaker of ``provider``/``model`` if one was created."""
        with self._lock:
            return self._breakers.get((provider, model))

    def snapshots(self) -> list[BreakerSnapshot]:
        """A snapshot of every breaker, sorted by provider and model."""
        with self._lock:
            breakers = sorted(self._breakers.items())
        return [b.snapshot() for _, b in breakers]

    def reset(self) -> None:
        """Forget every breaker (all circuits closed again)."""
        with self._lock:
            self._breakers.clear()
