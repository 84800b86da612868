"""Diagnosis: a failed test names the catalogued mistake the student's functions behave like.

- the comparison of plain data (structure, shapes, tolerance);
- self-recognition on a few labs: every catalog entry, judged directly (as tests/test_catalogs.py does)
  and diagnosed through `diagnosis.Matcher` on the calls its failed test cells recorded, is diagnosed as
  itself or as an entry that behaves identically on those calls (top-1, >= 90 % per lab);
- no false diagnosis: the solution, correct answers in another style and the untouched notebook get none;
- one real batch through `grade()` on the fixture lab with a small catalog: the hint in the feedback
  HTML (a `show_hint: False` entry's hint never), the names in the table and `<week>-mistakes.json`,
  and no catalog at all switches diagnosis off.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
import torch
from traitlets.config import Config

from catalog import entries as catalog
from fixture_lab import make_fixture_lab
from llm901_grader import notebooks
from llm901_grader.diagnosis import HINT_PREFIX, Matcher, Mismatch, diagnose_locally, distance, lab_namespace
from llm901_grader.labs import find_lab
from llm901_grader.samples import answered


def student_namespace(lab, replace: dict[str, str]) -> dict:
    """As tests/test_catalogs.py builds it (not imported: that module imports every lab's catalog)."""
    return lab_namespace(lab.solution, replace)


SELF_RECOGNITION_LABS = ["w02-1", "w05-1"]  # cheap ones; every lab is measured by hand (see the README)


def test_distance_structure_shapes_and_tolerance():
    x = torch.randn(4, 5)
    assert distance(x, x.clone()) == 0.0
    assert distance(x * (1 + 1e-6), x) <= 1.0  # a reordered float32 sum
    assert distance(2 * x, x) > 1.0
    with pytest.raises(Mismatch):
        distance(x, x.T)
    with pytest.raises(Mismatch):
        distance((x, x), [x])
    assert distance({"m": x, "step": 1}, {"m": x, "step": 1}) == 0.0
    assert distance({"m": x, "step": 2}, {"m": x, "step": 1}) > 1.0
    assert distance(torch.tensor(3.0), 3.0) == 0.0
    assert distance(float("nan"), float("nan")) == 0.0
    assert math.isinf(distance(torch.tensor([1.0, float("nan")]), torch.tensor([1.0, 2.0])))


def test_checks_report_every_failure_and_partial_credit():
    from llm901_grader.checks import check
    from llm901_grader.judge import LocalStudent, judge_cell, new_namespace

    with pytest.raises(AssertionError, match="outside the grader"):  # Validate: in the kernel, as an assert
        check(False, "outside the grader")
    student = LocalStudent({"double": lambda x: 3 * x})
    verdict = judge_cell(CHECKED_TEST_DOUBLE, "test_double", student, new_namespace(), 30, max_points=3)
    assert not verdict.passed and [o["output_type"] for o in verdict.outputs] == ["stream", "execute_result"]
    assert verdict.outputs[1]["data"]["text/plain"] == "1"
    assert "line 5" in verdict.outputs[0]["text"] and "(in the hidden tests): HIDDEN-CHECK-MESSAGE" in verdict.outputs[0]["text"]
    assert [c["fn"] for c in verdict.calls] == ["double", "double", "double"]
    no_partial = judge_cell(CHECKED_TEST_DOUBLE.replace(", points=1", ""), "t", student, new_namespace(), 30, max_points=3)
    assert [o["output_type"] for o in no_partial.outputs] == ["error"] and len(no_partial.outputs[0]["traceback"]) == 2
    correct = judge_cell(CHECKED_TEST_DOUBLE, "t", LocalStudent({"double": lambda x: 2 * x}), new_namespace(), 30, max_points=3)
    assert correct.passed and not correct.outputs


def _self_recognition(week: str) -> tuple[int, int, list]:
    lab = find_lab(week)
    nb = notebooks.read(lab.solution)
    entries = catalog(lab)
    matcher = Matcher(lab.solution, entries)
    recognised, misses = 0, []
    for entry in entries:
        results = diagnose_locally(nb, student_namespace(lab, {entry["cell"]: entry["source"]}), matcher,
                                   only=set(entry["loses"]))
        found = [m for passed, m in results.values() if not passed and m]
        if any(m[0]["name"] == entry["name"] or any(x["name"] == entry["name"] and x["closeness"] == m[0]["closeness"]
                                                    for x in m) for m in found):
            recognised += 1
        else:
            misses.append((entry["name"], [[x["name"] for x in m] for m in found]))
    return recognised, len(entries), misses


@pytest.mark.parametrize("week", SELF_RECOGNITION_LABS)
def test_every_entry_is_diagnosed_as_itself(week):
    recognised, total, misses = _self_recognition(week)
    assert recognised >= 0.9 * total, f"{week}: {recognised}/{total} recognised; missed {misses}"


OTHER_STYLE = {  # correct answers written differently from the solution (w05-1)
    "lion_step": '''def lion_step(param, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    b1, b2 = betas
    m = state["m"] if "m" in state else torch.zeros_like(param)
    direction = (b1 * m + (1 - b1) * grad).sign()
    updated = param - lr * (direction + weight_decay * param)
    return updated, {"m": b2 * m + (1 - b2) * grad}
''',
    "matrix_inverse_root": '''def matrix_inverse_root(A, p, eps=0.0):
    A = A + eps * torch.eye(A.shape[-1], dtype=A.dtype)
    L, Q = torch.linalg.eigh(A)
    return (Q * L.clamp_min(1e-30) ** (-1.0 / p)) @ Q.transpose(-1, -2)
''',
}


def test_no_false_diagnosis_for_correct_or_untouched_w05_1():
    lab = find_lab("w05-1")
    nb = notebooks.read(lab.solution)
    matcher = Matcher(lab.solution, catalog(lab))
    for label, replace in (("solution", {}), ("other style", OTHER_STYLE)):
        results = diagnose_locally(nb, student_namespace(lab, replace), matcher)
        assert all(passed for passed, _ in results.values()), f"{label}: {results}"
    # the untouched notebook: every answer raises NotImplementedError; no entry behaves like that
    untouched = {notebooks.grade_id(c): c.source for c in notebooks.read(lab.student).cells if notebooks.is_solution_cell(c)}
    results = diagnose_locally(nb, student_namespace(lab, untouched), matcher)
    assert not any(passed for passed, _ in results.values())
    assert not any(matches for _, matches in results.values()), results


# --- one real batch ------------------------------------------------------------------------------------
FIXTURE_CATALOG = '''
WRONG_IMPLEMENTATIONS = [
    {"name": "double_triples", "cell": "double", "why": "multiplies by three",
     "hint": "Your function scales its input by the wrong factor.",
     "source": "def double(x):\\n    return 3 * x\\n", "loses": ["test_double"]},
    {"name": "double_squares", "cell": "double", "why": "squares",
     "hint": "Your function is not linear in its input.",
     "source": "def double(x):\\n    return x * x\\n", "loses": ["test_double"]},
    {"name": "softmax_plain_normalise", "cell": "softmax_rows", "why": "divides by the sum, no exp",
     "hint": "SECRET-TOO-REVEALING: exponentiate before normalising.", "show_hint": False,
     "source": "def softmax_rows(x):\\n    return x / x.sum(-1, keepdim=True)\\n", "loses": ["test_softmax_rows"]},
]
'''


CHECKED_TEST_DOUBLE = """from llm901_grader.checks import check
import torch

x = torch.arange(6.0).reshape(2, 3)
check(torch.allclose(double(x), 2 * x), 'double(x) must equal 2x', points=1)
check(tuple(double(torch.zeros(3)).shape) == (3,), 'double keeps the shape', points=1)
### BEGIN HIDDEN TESTS
y = torch.randn(4, 5)
check(torch.allclose(double(y), y + y), 'HIDDEN-CHECK-MESSAGE wrong on random input', points=1)
### END HIDDEN TESTS
"""


@pytest.fixture(scope="module")
def fixture_batch(tmp_path_factory):
    from llm901_grader.batch import grade
    from llm901_grader.course import Course, student_notebook_text

    base = tmp_path_factory.mktemp("diagnosis")
    lab = make_fixture_lab(base / "labs")
    # test_double as independent checks with partial credit (checks.py), its hidden one included
    solution = notebooks.read(lab.solution)
    cell = next(c for c in solution.cells if notebooks.grade_id(c) == "test_double")
    cell.source = CHECKED_TEST_DOUBLE
    notebooks.write(solution, lab.solution)
    with tempfile.TemporaryDirectory() as tmp:
        lab.student.write_text(student_notebook_text(Course(Path(tmp)), lab))
    (base / "catalog").mkdir()
    (base / "catalog" / "w00_1.py").write_text(FIXTURE_CATALOG)
    subs = base / "subs"
    made = {
        "triples": answered(lab, replace={"double": "def double(x):\n    y = x + x\n    return y + x"}),
        "plain normalise": answered(lab, replace={"softmax_rows": "def softmax_rows(t):\n    return t / t.sum(dim=-1, keepdim=True)"}),
        "halves": answered(lab, replace={"double": "def double(x):\n    return x / 2"}),  # not catalogued
        "correct": answered(lab),
        "untouched": notebooks.read(lab.student),
    }
    for folder, nb in made.items():
        notebooks.write(nb, subs / folder / "lab.ipynb")
    course = Course(base / "course", Config({"TrustedExecute": {"catalog_dir": str(base / "catalog")}}))
    result = grade(lab, subs, course, progress=False, workers=1)
    return lab, course, result


@pytest.mark.slow
def test_batch_feedback_table_and_mistakes_report(fixture_batch):
    from llm901_grader.report import table

    lab, course, result = fixture_batch
    by = {s.folder: s for s in result.students}
    assert by["triples"].diagnoses == {"test_double": ["double_triples"]}
    assert by["plain normalise"].diagnoses == {"test_softmax_rows": ["softmax_plain_normalise"]}
    for folder in ("halves", "correct", "untouched"):
        assert by[folder].diagnoses == {}, folder
    assert by["triples"].score == by["halves"].score  # a diagnosis never changes a score
    # partial credit: triples and halves keep the shape check's point, the untouched notebook raises
    assert by["triples"].tests["test_double"] == by["halves"].tests["test_double"] == 1.0
    assert by["untouched"].tests["test_double"] == 0.0 and by["correct"].tests["test_double"] == 3.0
    html = course.feedback_html(lab, by["triples"].student_id).read_text()
    assert HINT_PREFIX + "Your function scales its input by the wrong factor." in html
    assert "double_triples" not in html  # students read the hint, never the entry's name or its why
    assert "double(x) must equal 2x" in html and "HIDDEN-CHECK-MESSAGE" in html  # every failed check
    assert "check(torch.allclose(double(y)" not in html  # a hidden check shows its message, never its source
    assert "partial credit: 1 of 3 points" in html
    hidden = course.feedback_html(lab, by["plain normalise"].student_id).read_text()
    assert "SECRET-TOO-REVEALING" not in hidden and HINT_PREFIX not in hidden  # show_hint: False
    assert "likely: test_double: double_triples" in table(result)
    mistakes = json.loads((course.root / "reports" / f"{lab.week}-mistakes.json").read_text())
    assert mistakes["test_double"]["failed"] == 3  # triples, halves, untouched
    assert mistakes["test_double"]["mistakes"] == [{"name": "double_triples", "students": 1}]
    assert (course.root / "reports" / f"{lab.week}-mistakes.png").is_file()


@pytest.mark.slow
def test_no_catalog_no_diagnosis(fixture_batch, tmp_path):
    from llm901_grader.preprocessors import TrustedExecute

    lab, course, _ = fixture_batch
    assert TrustedExecute(config=Config({"TrustedExecute": {"catalog_dir": str(tmp_path)},
                                         "CourseDirectory": {"root": str(course.root)}})).diagnosis_settings(lab.week) is None
    assert TrustedExecute(config=course.config).diagnosis_settings(lab.week) is not None
    assert Path(TrustedExecute(config=course.config).diagnosis_settings(lab.week)["solution"]).is_file()


def test_validate_names_tests_by_grade_id_function_and_points():
    from llm901_grader.validate import function_summary, label, test_labels

    lab = find_lab("w05-1")
    nb = answered(lab, keep_unanswered={"shampoo_step"})
    labels = test_labels(nb)
    by_id = {info["grade_id"]: (source, info) for source, info in labels.items()}
    source, info = by_id["test_adamw_step"]
    assert label(info, source) == f"test_adamw_step (adamw_step, {info['points']:g} points)"
    summary = function_summary(nb, [source])
    assert "  adamw_step: failed (test_adamw_step)" in summary
    assert "  shampoo_step: not attempted" in summary and "  lion_step: passed" in summary


def test_a_catalog_entry_that_hangs_is_stopped_at_the_deadline(tmp_path):
    import time

    from llm901_grader import bridge
    from llm901_grader.diagnosis import Diagnoser

    lab = make_fixture_lab(tmp_path / "labs")
    (tmp_path / "w00_1.py").write_text(
        'WRONG_IMPLEMENTATIONS = [{"name": "hangs", "cell": "double", "why": "", "loses": [],\n'
        '                          "source": "def double(x):\\n    while True:\\n        pass\\n"}]\n')
    diagnoser = Diagnoser(str(tmp_path), lab.week, str(lab.solution))
    x = torch.ones(3)
    calls = [{"fn": "double", "args": bridge.encode([x]), "kwargs": bridge.encode({}), "result": bridge.encode(3 * x)}]
    try:
        started = time.monotonic()
        assert diagnoser.diagnose(calls, 1.0, startup_seconds=120) == []  # starts it, then the entry hangs
        assert diagnoser.proc is None, "a subprocess past its deadline is killed, not waited for"
        assert time.monotonic() - started < 125
    finally:
        diagnoser.kill()
