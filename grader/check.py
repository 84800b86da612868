"""`make check`: proves a lab is healthy through the real grading path.

1. solution.ipynb and student.ipynb are committed normalised (no outputs, no stray metadata);
2. student.ipynb is exactly nbgrader's release of solution.ipynb;
3. the release contains no solution code and no hidden test;
4. the solution, graded with FAST=True through the real grading path with its experiment run, gets
   full marks, and none of its cells raises (the experiment keeps working);
5. the solution graded like any submission (its `experiment` cells skipped) gets full marks too, and
   none of its cells raises: no test and no other cell depends on an experiment cell; the lab has
   experiment cells, and no answer or test cell is tagged `experiment`;
6. the untouched student notebook runs without crashing the grader and gets 0 on every test cell,
   each with a readable failure;
7. feedback shows no hidden test text;
8. given wrong implementations (the test suite passes the first entry of the lab's catalog), each,
   graded in the same batch, gets 0 on every test cell it must lose;
9. the lab's references.toml (what the integrity report flags) names only answer cells of the lab,
   and the solution's answers are not flagged by it.
"""

from __future__ import annotations

import html
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from . import notebooks
from .batch import grade
from .course import Course, student_notebook_text
from .execute import EXPERIMENT_TAG, is_experiment_cell
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


def raised(nb) -> list[str]:
    """'cell: ErrorName' for every code cell of an executed notebook whose output is an error."""
    out = []
    for index, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.cell_type == "code" and errors:
            out.append(f"{notebooks.grade_id(cell) or f'cell {index + 1}'}: {errors[-1].get('ename', 'error')}")
    return out


def experiment_tag_problems(nb) -> list[str]:
    """The lab marks its experiment, and only cells that may be skipped."""
    problems = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags") or []
        if EXPERIMENT_TAG in tags and (notebooks.is_test_cell(cell) or notebooks.is_solution_cell(cell)):
            problems.append(f"{notebooks.grade_id(cell)} is an answer or test cell tagged `{EXPERIMENT_TAG}` "
                            "(such cells always run): remove the tag")
    if not any(is_experiment_cell(c) for c in nb.cells):
        problems.append(f"no code cell is tagged `{EXPERIMENT_TAG}`: tag the experiment's code cells (metadata.tags), "
                        "which grading skips")
    return problems


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
    # "solution" is graded with its experiment (it must keep working); every other submission as any
    # student's, experiment skipped
    course = Course(root, settings=Config({"TrustedExecute": {"experiment_students": ["solution"]}}))
    expected = student_notebook_text(course, lab)
    if lab.student.read_text() != expected:
        res.failures.append("student.ipynb differs from nbgrader's release of solution.ipynb: run `make student WEEK=...`")
    solution = notebooks.read(lab.solution)
    res.failures.extend(experiment_tag_problems(solution))
    released_text = course.release_notebook(lab).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        if marker in released_text:
            res.failures.append(f"the release contains '{marker}'")
    written = [ln.strip() for c in solution.cells if c.cell_type == "markdown" and notebooks.is_solution_cell(c)
               for ln in c.source.splitlines() if len(ln.strip()) >= 24]  # the model answers of written questions
    leaked = [ln for ln in hidden_test_lines(solution) + solution_lines(solution) + written if ln in released_text]
    if leaked:
        res.failures.append(f"the release contains solution or hidden-test lines, e.g. {leaked[0]!r}")

    subs = root.parent / f"{lab.week}-submissions"
    if subs.exists():
        shutil.rmtree(subs)
    notebooks.write(answered(lab), subs / "solution" / "solution.ipynb")
    notebooks.write(answered(lab), subs / "solution_graded" / "solution.ipynb")
    (subs / "student").mkdir(parents=True)
    shutil.copy(lab.student, subs / "student" / "student.ipynb")
    for i, entry in enumerate(wrong or []):
        notebooks.write(answered(lab, replace={entry["cell"]: entry["source"]}), subs / f"wrong{i}" / "lab.ipynb")
    result = grade(lab, subs, course, progress=progress)
    by_id = {s.student_id: s for s in result.students}
    for i, entry in enumerate(wrong or []):
        kept = [t for t in entry["loses"] if by_id[f"wrong{i}"].tests.get(t, 0) > 0]
        diagnosed = sorted({n for names in by_id[f"wrong{i}"].diagnoses.values() for n in names[:1]})
        res.facts.append(f"wrong implementation {entry['name']}: {by_id[f'wrong{i}'].score:g}/{result.max_score:g}"
                         + (f", diagnosed as {', '.join(diagnosed)}" if diagnosed else ""))
        if kept:
            res.failures.append(f"wrong implementation {entry['name']} keeps its points on {', '.join(kept)}")
    sol, graded, stu = by_id["solution"], by_id["solution_graded"], by_id["student"]
    skipped = notebooks.read(course.autograded_notebook(lab, "solution_graded")).metadata.get("llm901", {}).get("skipped", [])
    res.facts.append(f"solution: {sol.score:g}/{sol.max_score:g} in {sol.seconds:.1f} s (FAST=True, graded, experiment run)")
    res.facts.append(f"solution: {graded.score:g}/{graded.max_score:g} in {graded.seconds:.1f} s graded as a student's "
                     f"({len(skipped)} experiment cells skipped)")
    res.facts.append(f"student:  {stu.score:g}/{stu.max_score:g} in {stu.seconds:.1f} s")
    if result.manual_max:
        res.facts.append(f"written questions: {result.manual_max:g} points, graded by hand (not part of the check)")
    for who, run in (("the solution", sol), ("the solution graded as a student's (experiment skipped)", graded)):
        if run.score != result.auto_max or result.auto_max <= 0:
            lost = [t for t, v in run.tests.items() if v < result.test_max.get(t, 0)]
            res.failures.append(f"{who} scores {run.score:g}/{result.auto_max:g} automatic points (loses {', '.join(lost)}); "
                                f"notes: {run.notes}")
        if run.notes:
            res.failures.append(f"grading {who} reported problems: {run.notes}")
    for who, sid in (("the solution", "solution"), ("the solution graded as a student's", "solution_graded")):
        errors = raised(notebooks.read(course.autograded_notebook(lab, sid)))
        if errors:
            res.failures.append(f"cells of {who} raise: {', '.join(errors)}"
                                + (" (a cell depends on an experiment cell)" if sid == "solution_graded" else ""))
    for who, run in (("the solution", sol), ("the untouched student notebook", stu)):
        if run.diagnoses:  # diagnosis.py must never name a mistake the submission does not make
            res.failures.append(f"{who} is diagnosed with catalogued mistakes: {run.diagnoses}")
    if any(v > 0 for t, v in stu.tests.items() if result.test_max.get(t, 0) > 0):
        res.failures.append(f"the untouched student notebook scores on {[t for t, v in stu.tests.items() if v > 0]}")
    executed = notebooks.read(course.autograded_notebook(lab, "student"))
    for cell in notebooks.test_cells(executed):
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if not errors or not str(errors[-1].get("evalue", "")).strip():
            res.failures.append(f"{notebooks.grade_id(cell)}: the student notebook fails it without a readable message")
    from .integrity import ALL_CELLS, declared_references

    answer_ids = {notebooks.grade_id(c) for c in solution.cells if notebooks.is_solution_cell(c)}
    unknown = sorted(set(declared_references(lab)) - answer_ids - {ALL_CELLS})
    if unknown:
        res.failures.append(f"references.toml names cells that are not answer cells: {', '.join(unknown)}")
    flagged = result.integrity.reference_flags.get("solution") if result.integrity else None
    if flagged:
        res.failures.append(f"the solution's answers use what references.toml declares as the tests' reference: {flagged}")
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
