"""Step timing shared by the importers: report each step's start and record its duration."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

Progress = Callable[[str], None]


class _HasTimings(Protocol):
    timings: dict[str, float]


def _noop(_: str) -> None:
    return None


class StepTimer:
    """Call with the name of each step as it starts (``""`` to close the last one).

    The duration of every finished step goes to ``report.timings``; ``progress`` hears the
    name of each new step.
    """

    def __init__(self, report: _HasTimings, progress: Progress | None = None) -> None:
        self.report, self.progress = report, progress or _noop
        self.step, self.t0 = "", time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        if self.step:
            self.report.timings[self.step] = round(now - self.t0, 3)
        self.step, self.t0 = step, now
        if step:
            self.progress(step)
