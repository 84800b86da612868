"""Where things are: the repository, its labs (weeks/wNN-K-slug) and the default course directory."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WEEKS = REPO / "weeks"
SHARED = REPO / "shared"
BUILD = REPO / "build"
DEFAULT_COURSE = BUILD / "course"

LAB_DIR_RE = re.compile(r"^(w\d\d-\d)-[a-z0-9][a-z0-9-]*$")


class LabNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Lab:
    """One lab folder. `week` (e.g. 'w02-1') is the nbgrader assignment id; `name` (the folder
    name, e.g. 'w02-1-rope-yarn') is the notebook id inside the assignment."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def week(self) -> str:
        match = LAB_DIR_RE.match(self.name)
        assert match, self.name
        return match.group(1)

    @property
    def solution(self) -> Path:
        return self.path / "solution.ipynb"

    @property
    def student(self) -> Path:
        return self.path / "student.ipynb"

    @property
    def notebook_file(self) -> str:
        """The file name the release gives the notebook (and the one graded submissions get)."""
        return f"{self.name}.ipynb"


def all_labs() -> list[Lab]:
    if not WEEKS.is_dir():
        return []
    return [Lab(p) for p in sorted(WEEKS.iterdir()) if p.is_dir() and LAB_DIR_RE.match(p.name)]


def find_lab(key: str) -> Lab:
    """Accept 'w02-1', 'w02-1-rope-yarn' or a path to the lab folder."""
    key = key.strip().rstrip("/")
    candidate = Path(key)
    if candidate.is_dir() and LAB_DIR_RE.match(candidate.resolve().name):
        return Lab(candidate.resolve())
    matches = [lab for lab in all_labs() if lab.name == key or lab.week == key or lab.name.startswith(key + "-")]
    if len(matches) != 1:
        known = ", ".join(lab.week for lab in all_labs()) or "none"
        raise LabNotFound(f"no single lab matches {key!r} (labs: {known})")
    return matches[0]
