"""`make check` for every lab in weeks/, the demo batch, the release zip, `validate`, the nbgrader CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import catalog
from llm901_grader import notebooks
from llm901_grader.batch import grade
from llm901_grader.check import check_lab, hidden_test_lines, solution_lines
from llm901_grader.cli import main
from llm901_grader.course import Course, build_zip
from llm901_grader.labs import REPO, all_labs, find_lab
from llm901_grader.samples import demo_submissions

LABS = all_labs()


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.week)
def test_make_check(lab, tmp_path):
    """`make check`, plus the first wrong implementation of the lab's catalog graded in the same batch
    (the real pipeline; tests/test_catalogs.py judges every entry directly)."""
    result = check_lab(lab, course_root=tmp_path / "course", wrong=catalog.entries(lab)[:1])
    print("\n".join(result.facts))
    assert result.ok, "\n".join(result.failures)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    lab = find_lab("w02-1")
    base = tmp_path_factory.mktemp("demo")
    course = Course(base / "course")
    course.release(lab)
    demo_submissions(lab, base / "subs")
    return lab, course, grade(lab, base / "subs", course, progress=False)


def test_demo_scores(demo):
    lab, course, result = demo
    by = {s.folder: s for s in result.students}
    assert by["alice (correct)"].score == result.auto_max > 0  # the written answers wait for a TA
    assert 0 < by["bob (half done)"].score < result.auto_max
    assert by["carol (untouched)"].score == 0
    assert by["dave (edits tests)"].score == 0  # edited tests are restored from the release
    assert len(result.csv.read_text().splitlines()) == 1 + len(by)


def test_demo_integrity_flags(demo):
    """Flags for a person, scores untouched: erin imports what the tests compare against, and bob's
    half-done notebook shares alice's answers."""
    lab, course, result = demo
    by = {s.folder: s for s in result.students}
    assert by["erin (imports the reference)"].score == result.auto_max
    assert any("uses transformers" in f for f in by["erin (imports the reference)"].flags)
    assert any(f.startswith("similar to alice (correct)") for f in by["bob (half done)"].flags)
    assert not by["carol (untouched)"].flags
    assert (course.root / "reports" / f"{lab.week}-integrity.json").is_file()


def test_feedback_hides_hidden_tests(demo):
    lab, course, result = demo
    hidden = hidden_test_lines(notebooks.read(lab.solution))
    assert hidden, "the lab has hidden tests"
    for page in (course.root / "feedback").rglob("*.html"):
        text = page.read_text()
        assert not [h for h in hidden if h in text]


def test_nbgrader_cli_reads_the_course(demo):
    lab, course, result = demo
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for args in (["db", "student", "list"], ["db", "assignment", "list"], ["list"]):
        out = subprocess.run([Path(sys.executable).parent / "nbgrader", *args], cwd=course.root, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    listing = subprocess.run([Path(sys.executable).parent / "nbgrader", "db", "student", "list"], cwd=course.root,
                             env=env, capture_output=True, text=True, timeout=120).stdout
    assert "alice" in listing


def test_release_zip_has_no_solution_or_hidden_tests(demo):
    lab, course, result = demo
    zipped = build_zip(course, lab, out_dir=course.root.parent / "zip")
    solution = notebooks.read(lab.solution)
    secret = hidden_test_lines(solution) + solution_lines(solution)
    with zipfile.ZipFile(zipped) as zf:
        names = zf.namelist()
        assert f"{lab.name}/{lab.notebook_file}" in names and any(n.endswith(".whl") for n in names)
        text = zf.read(f"{lab.name}/{lab.notebook_file}").decode()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert not [s for s in secret if s in text]


@pytest.mark.parametrize("which,code", [("student", 1), ("solution", 0)])
def test_validate_exit_code(which, code, tmp_path):
    lab = find_lab("w02-1")
    path = tmp_path / "nb.ipynb"
    if which == "student":
        path.write_text(lab.student.read_text())
    else:
        from llm901_grader.samples import answered

        notebooks.write(answered(lab), path)
    assert main(["validate", str(path)]) == code


def test_new_week_scaffold_passes_check(tmp_path, monkeypatch):
    from llm901_grader import labs, scaffold
    from llm901_grader.labs import Lab

    monkeypatch.setattr(scaffold, "WEEKS", tmp_path)
    path = scaffold.new_week("w99-1", "scaffold-test", "Scaffold")
    result = check_lab(Lab(path), course_root=tmp_path / "course")
    assert result.ok, result.failures
    assert labs.LAB_DIR_RE.match(path.name)


def test_committed_notebooks_have_no_outputs():
    for lab in LABS:
        for path in (lab.solution, lab.student):
            assert path.read_text() == notebooks.dumps(notebooks.normalise(notebooks.read(path))), path
    assert (REPO / ".ci" / "run").exists()


def _text(cells) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in cells if c.cell_type == "code" for o in c.outputs)


def test_experiment_cells_are_skipped_when_graded(tmp_path):
    """Grading skips the cells tagged `experiment` and says so in the output and the feedback; answer
    cells and the student's own cells still run; a student in `experiment_students` (`make check`'s
    solution) runs them; worker results are used as they are (no serial re-run)."""
    from traitlets.config import Config

    from fixture_lab import make_fixture_lab
    from llm901_grader.samples import answered

    lab = make_fixture_lab(tmp_path / "labs")
    subs = tmp_path / "subs"
    mine = answered(lab)
    mine.cells.append(notebooks.nbformat.v4.new_code_cell("print('my own cell ran')"))
    notebooks.write(mine, subs / "graded" / "a.ipynb")
    notebooks.write(answered(lab), subs / "shown" / "b.ipynb")
    course = Course(tmp_path / "course", Config({"TrustedExecute": {"experiment_students": ["shown"]}}))
    result = grade(lab, subs, course, progress=False, workers=2)
    assert {s.folder: (s.score, s.notes) for s in result.students} == {"graded": (5, []), "shown": (5, [])}
    graded = notebooks.read(course.autograded_notebook(lab, "graded"))
    experiment = next(c for c in graded.cells if notebooks.grade_id(c) == "experiment")
    assert "not run by the grader" in _text([experiment])
    assert "experiment ran" not in _text(graded.cells) and "my own cell ran" in _text(graded.cells)
    assert "not run by the grader" in course.feedback_html(lab, "graded").read_text()
    assert "experiment ran, FAST = True" in _text(notebooks.read(course.autograded_notebook(lab, "shown")).cells)


def test_prestarted_kernel_is_fresh_and_cleaned_up():
    """The next submission's kernel starts while the current one runs; it has run nothing before
    (nothing of the previous submission is in it), and a spare left over is shut down."""
    from llm901_grader import execute
    from llm901_grader.labs import SHARED

    def notebook(source):
        cell = notebooks.nbformat.v4.new_code_cell(source)
        return notebooks.nbformat.v4.new_notebook(cells=[cell])

    limits = execute.Limits(cell_seconds=60, notebook_seconds=120)
    first, report1 = execute.run_submission(notebook("secret = 41\nimport os\nprint(os.getuid())"), limits,
                                            [str(SHARED)], prestart_next=True)
    assert execute._spare["kernel"] is not None
    second, report2 = execute.run_submission(notebook("import os\nprint('secret' in globals(), os.getuid())"), limits,
                                             [str(SHARED)], prestart_next=True)
    assert report2.prestarted and not report2.problems
    assert _text(second.cells).split()[0] == "False"
    if report1.isolation == "strict":  # a fresh sandbox uid per submission
        assert _text(first.cells).split()[-1] != _text(second.cells).split()[-1]
    spare = execute._spare["kernel"]
    execute._spare["thread"].join()
    proc = spare.proc
    execute.discard_spare_kernel()
    assert execute._spare["kernel"] is None and proc.poll() is not None
