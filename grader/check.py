"""`make check`: proves a lab is healthy through the real grading path.

1. solution.ipynb and student.ipynb are committed normalised (no outputs, no stray metadata);
2. student.ipynb is exactly nbgrader's release of solution.ipynb;
3. the release contains no solution code and no hidden test;
4. the solution, graded with FAST=True like any submission, gets full marks;
5. the untouched student notebook runs without crashing the grader and gets 0 on every test cell,
   each with a readable failure;
6. feedback shows no hidden test text;
7. given wrong implementations (the test suite passes the first entry of the lab's catalog), each,
   graded in the same batch, gets 0 on every test cell it must lose.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import notebooks
from .batch import grade
from .course import Course, student_notebook_text
from .labs import BUILD, Lab
from .samples import answered


@dataclass
class CheckResult:
    lab: Lab
    failures: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _secret_lines(nb, begin: str, end: str, counts) -> list[str]:
    """Distinctive lines between `begin` and `end` markers that appear nowhere else in the notebook
    (a line that is also in the visible text, like a seeded generator, gives nothing away)."""
    inside_lines, outside_lines = [], set()
    for cell in nb.cells:
        inside = False
        for ln in cell.source.splitlines():
            if begin in ln:
                inside = True
            elif end in ln:
                inside = False
            elif inside and counts(cell):
                inside_lines.append(ln.strip())
            else:
                outside_lines.add(ln.strip())
    return [ln for ln in inside_lines if len(ln) >= 24 and not ln.startswith("#") and ln not in outside_lines]


def hidden_test_lines(nb) -> list[str]:
    return _secret_lines(nb, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", notebooks.is_test_cell)


def solution_lines(nb) -> list[str]:
    return _secret_lines(nb, "### BEGIN SOLUTION", "### END SOLUTION", notebooks.is_solution_cell)


def check_lab(lab: Lab, course_root: Path | None = None, progress: bool = False,
              wrong: list[dict] | None = None) -> CheckResult:
    """`wrong`: catalog entries (dicts with name, cell, source, loses; see tests/catalog/__init__.py)."""
    res = CheckResult(lab)
    for path in (lab.solution, lab.student):
        if not path.exists():
            res.failures.append(f"{path.name} is missing")
            return res
        text = path.read_text()
        if text != notebooks.dumps(notebooks.normalise(notebooks.read(path))):
            res.failures.append(f"{path.name} is not normalised (outputs or metadata committed): run `make student` / "
                                "`llm901-grader normalise`")
    root = course_root or BUILD / "check" / lab.week
    if root.exists():
        shutil.rmtree(root)
    course = Course(root)
    expected = student_notebook_text(course, lab)
    if lab.student.read_text() != expected:
        res.failures.append("student.ipynb differs from nbgrader's release of solution.ipynb: run `make student WEEK=...`")
    solution = notebooks.read(lab.solution)
    released_text = course.release_notebook(lab).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        if marker in released_text:
            res.failures.append(f"the release contains '{marker}'")
    leaked = [ln for ln in hidden_test_lines(solution) + solution_lines(solution) if ln in released_text]
    if leaked:
        res.failures.append(f"the release contains solution or hidden-test lines, e.g. {leaked[0]!r}")

    subs = root.parent / f"{lab.week}-submissions"
    if subs.exists():
        shutil.rmtree(subs)
    notebooks.write(answered(lab), subs / "solution" / "solution.ipynb")
    (subs / "student").mkdir(parents=True)
    shutil.copy(lab.student, subs / "student" / "student.ipynb")
    for i, entry in enumerate(wrong or []):
        notebooks.write(answered(lab, replace={entry["cell"]: entry["source"]}), subs / f"wrong{i}" / "lab.ipynb")
    result = grade(lab, subs, course, progress=progress)
    by_id = {s.student_id: s for s in result.students}
    for i, entry in enumerate(wrong or []):
        kept = [t for t in entry["loses"] if by_id[f"wrong{i}"].tests.get(t, 0) > 0]
        res.facts.append(f"wrong implementation {entry['name']}: {by_id[f'wrong{i}'].score:g}/{result.max_score:g}")
        if kept:
            res.failures.append(f"wrong implementation {entry['name']} keeps its points on {', '.join(kept)}")
    sol, stu = by_id["solution"], by_id["student"]
    res.facts.append(f"solution: {sol.score:g}/{sol.max_score:g} in {sol.seconds:.1f} s (FAST=True, graded)")
    res.facts.append(f"student:  {stu.score:g}/{stu.max_score:g} in {stu.seconds:.1f} s")
    if sol.score != sol.max_score or sol.max_score <= 0:
        lost = [t for t, v in sol.tests.items() if v < result.test_max.get(t, 0)]
        res.failures.append(f"the solution scores {sol.score:g}/{sol.max_score:g} (loses {', '.join(lost)}); notes: {sol.notes}")
    if sol.notes:
        res.failures.append(f"grading the solution reported problems: {sol.notes}")
    if any(v > 0 for t, v in stu.tests.items() if result.test_max.get(t, 0) > 0):
        res.failures.append(f"the untouched student notebook scores on {[t for t, v in stu.tests.items() if v > 0]}")
    executed = notebooks.read(course.autograded_notebook(lab, "student"))
    for cell in notebooks.test_cells(executed):
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if not errors or not str(errors[-1].get("evalue", "")).strip():
            res.failures.append(f"{notebooks.grade_id(cell)}: the student notebook fails it without a readable message")
    hidden = hidden_test_lines(solution)
    for who in ("solution", "student"):
        page = course.feedback_html(lab, who)
        if not page.exists():
            res.failures.append(f"no feedback was generated for the {who} submission")
            continue
        text = html.unescape(page.read_text())
        shown = [ln for ln in hidden if ln in text]
        if shown:
            res.failures.append(f"feedback for the {who} submission shows hidden test text, e.g. {shown[0]!r}")
    return res
