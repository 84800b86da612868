"""`check(condition, message, points=None)`: one step of a test cell that does not stop the cell.

A test cell written with asserts stops at its first failure, so a student sees one problem and loses
every point of the cell. With `check`, each step is reported: when the grader judges the cell
(judge.py), a failed check is recorded and the cell goes on; at its end the feedback lists every failed
check (a hidden one by its message only, never its source). The cell fails when any check failed,
unless it opts into partial credit: when its checks carry `points`, the cell's score is the sum of the
points of the checks that passed (capped at the cell's points), through nbgrader's own partial-credit
mechanism (the test cell's result is that number). A check without points in such a cell is required:
if it fails, the cell scores 0. An exception (the student's function raising) still ends the cell.

    from llm901_grader.checks import check
    check(torch.allclose(double(x), 2 * x), "double(x) must equal 2x", points=1)

Anywhere else (nbgrader's Validate runs the visible tests in the student's own kernel), a failed check
raises AssertionError with its message, as an assert would.
"""

from __future__ import annotations

import contextvars
import sys
from dataclasses import dataclass


@dataclass
class Check:
    passed: bool
    message: str
    points: float | None
    lineno: int | None


_collector: contextvars.ContextVar[list | None] = contextvars.ContextVar("llm901_checks", default=None)


def check(condition, message: str, points: float | None = None) -> bool:
    """Record one step of a test cell (see the module's docstring); returns whether it passed."""
    passed = bool(condition)
    collected = _collector.get()
    if collected is None:
        if not passed:
            raise AssertionError(message)
        return passed
    frame = sys._getframe(1)
    collected.append(Check(passed, str(message), None if points is None else float(points), frame.f_lineno))
    return passed


def collecting() -> tuple[list, contextvars.Token]:
    """Start collecting the checks of one test cell (judge.py); `stop(token)` ends it."""
    collected: list[Check] = []
    return collected, _collector.set(collected)


def stop(token: contextvars.Token) -> None:
    _collector.reset(token)


def partial_score(collected: list[Check], max_points: float) -> float | None:
    """The cell's score under partial credit, or None when the cell does not opt in (no check has points)."""
    if not any(c.points is not None for c in collected):
        return None
    if any(not c.passed and c.points is None for c in collected):
        return 0.0
    return max(0.0, min(float(max_points), sum(c.points for c in collected if c.passed and c.points is not None)))
