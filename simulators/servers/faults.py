"""Seeded fault injection: the transport failures and protocol quirks the contracts promise.

A plan draws, per request, either nothing or one fault kind from those the server supports.
Draws come from one seeded generator in request order, so the same seed and the same request
sequence give the same faults. A fault never changes what a retry of the request returns.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

TRANSPORT = ("http_500", "http_502", "http_503", "http_504", "slow", "truncated", "reset")


@dataclass
class FaultPlan:
    rate: float = 0.0
    seed: int = 0
    slow_seconds: float = 0.5  # the contract allows up to 30 s; tests cannot wait that long
    kinds: tuple[str, ...] | None = None  # restrict to these kinds (None: all the server has)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    log: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self, available: tuple[str, ...]) -> str | None:
        """The fault for the next request, or None; recorded in `log` either way."""
        kinds = [k for k in available if self.kinds is None or k in self.kinds]
        with self._lock:
            hit = self._rng.random() < self.rate and kinds
            fault = kinds[self._rng.randrange(len(kinds))] if hit else None
            self.log.append(fault or "-")
        return fault
