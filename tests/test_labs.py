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
    assert by["alice (correct)"].score == result.max_score > 0
    assert 0 < by["bob (half done)"].score < result.max_score
    assert by["carol (untouched)"].score == 0
    assert by["dave (edits tests)"].score == 0  # edited tests are restored from the release
    assert len(result.csv.read_text().splitlines()) == 1 + len(by)


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
