"""The course's own settings a TA edits: due dates and the late policy (`<COURSE>/course.toml`).

nbgrader does the rest with its own machinery: the due date is the assignment's `duedate` in the
gradebook, the submission time is the `timestamp.txt` beside the submitted notebook (the course
site's time when it gave one, else the file's modification time), nbgrader computes how late that is
and its `AssignLatePenalties` preprocessor asks our `PerDayLatePenalty` plugin for the penalty.
"""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float
from traitlets.config import Config

SETTINGS_FILE = "course.toml"
TEMPLATE = """\
# Course settings for llm901-grader (this course directory only). Uncomment and edit.
#
# [due]                      # due dates per lab (ISO 8601; without a zone, UTC)
# "w02-1" = "2026-10-05T23:59:00-04:00"
#
# [late]                     # applied by nbgrader's AssignLatePenalties when a lab has a due date
# penalty_per_day = 0.10     # fraction of the earned score taken per started day late
# max_penalty = 1.0          # cap on that fraction (1.0: a very late submission scores 0)
# grace_minutes = 15         # minutes after the due date that do not count
"""


def read_settings(course_root: Path) -> dict:
    path = Path(course_root) / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def write_template(course_root: Path) -> None:
    path = Path(course_root) / SETTINGS_FILE
    if not path.exists():
        path.write_text(TEMPLATE)


def due_date(course_root: Path, week: str) -> datetime | None:
    """The lab's due date as naive UTC (nbgrader's convention), or None."""
    value = read_settings(course_root).get("due", {}).get(week)
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


class PerDayLatePenalty(LateSubmissionPlugin):
    """A fraction of the earned score per started day late, after a grace period, up to a cap."""

    penalty_per_day = Float(0.0, help="fraction of the earned score taken per started day late").tag(config=True)
    max_penalty = Float(1.0, help="cap on the fraction taken").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after the due date that do not count").tag(config=True)

    def fraction(self, total_seconds_late: float) -> float:
        late = total_seconds_late - 60 * self.grace_minutes
        if late <= 0:
            return 0.0
        return min(self.max_penalty, self.penalty_per_day * math.ceil(late / 86400))

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        fraction = self.fraction(total_seconds_late)
        return score * fraction if fraction > 0 else None


def configure_late_policy(c: Config, course_root: str) -> None:
    late = read_settings(Path(course_root)).get("late", {})
    c.AssignLatePenalties.plugin_class = PerDayLatePenalty
    for key in ("penalty_per_day", "max_penalty", "grace_minutes"):
        if key in late:
            setattr(c.PerDayLatePenalty, key, float(late[key]))


def describe_lateness(seconds_late: float, penalty: float) -> str:
    if seconds_late <= 0:
        return ""
    days, rest = divmod(int(seconds_late), 86400)
    hours = rest // 3600
    when = f"{days} d {hours} h" if days else f"{hours} h {(rest % 3600) // 60} min"
    return f"late by {when}" + (f" (penalty {penalty:g} points)" if penalty else " (no penalty)")
