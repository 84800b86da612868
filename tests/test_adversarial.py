"""One batch with one submission per attack, graded through the real `grade` path.

Each case says what the student gets and why. The attacks come from what nbgrader's default
autograde lets through on this stack (patched asserts, input transformers, a writable gradebook,
readable hidden tests, a kernel death dropping the submission) and from what a batch must survive
(bad files, hostile folder names, runaway code).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from fixture_lab import HIDDEN_MARKER, make_fixture_lab
from llm901_grader import notebooks
from llm901_grader.batch import grade, safe_student_id
from llm901_grader.course import Course
from llm901_grader.samples import answered
from llm901_grader.sandbox import isolation_level

FULL, NONE = 5.0, 0.0
RERUN = ["correct", "untouched", "invalid json", "edited metadata", "os._exit", "patches allclose"]
WRONG = {"double": "def double(x):\n    return 3 * x", "softmax_rows": "def softmax_rows(x):\n    return x / x.sum(-1, keepdim=True)"}


def with_extra(nb, source: str, after: str = "setup"):
    """Insert a student's own code cell after the cell `after`."""
    nb = copy.deepcopy(nb)
    index = next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == after)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def build_cases(lab, course_root: Path) -> dict[str, tuple[object, float, str]]:
    """folder -> (notebook | bytes | callable(folder), expected score, substring expected in the notes)."""
    good = answered(lab)
    wrong = answered(lab, replace=WRONG)
    gradebook = course_root / "gradebook.db"
    source_nb = course_root / "source" / lab.week / lab.notebook_file
    cases: dict[str, tuple[object, float, str]] = {
        "correct": (good, FULL, ""),
        "untouched": (notebooks.read(lab.student), NONE, ""),
        "invalid json": (b'{"cells": [', NONE, "not valid JSON"),
        "not a notebook": (b"\x89PNG\r\n\x1a\n\x00\x00binary", NONE, "not valid JSON"),
        "empty file": (b"", NONE, "empty"),
        "json not notebook": (b'{"hello": 1}', NONE, "nbformat"),
        "nbformat 3": (nbformat.writes(nbformat.convert(copy.deepcopy(good), 3)).encode(), FULL, "format 3"),
        "another lab": (nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), NONE, "none of"),
        "reordered and duplicated": (None, FULL, "more than once"),
        "edited metadata": (None, 3.0, ""),
        "kernel name": (None, FULL, ""),
        "huge output": (with_extra(good, "print('x' * 40_000_000)"), FULL, ""),
        "infinite loop": (with_extra(good, "while True:\n    pass"), FULL, "cell timeout"),
        "os._exit": (with_extra(good, "import os\nos._exit(3)"), FULL, "kernel died"),
        "sys.exit": (with_extra(good, "import sys\nsys.exit(3)"), FULL, ""),
        "fork bomb": (with_extra(good, "import os\nwhile True:\n    os.fork()"), FULL, ""),
        "memory bomb": (with_extra(good, "block = bytearray(50 * 2**30)"), FULL, ""),
        "big file": (with_extra(good, "with open('big.bin', 'wb') as f:\n    for _ in range(4096):\n        f.write(b'0' * 2**20)"), FULL, ""),
        "patches allclose": (with_extra(wrong, "import numpy as np, torch\ntorch.allclose = lambda *a, **k: True\n"
                                                "np.testing.assert_allclose = lambda *a, **k: None\n"
                                                "torch.Tensor.__eq__ = lambda *a: True"), NONE, ""),
        "patches AssertionError": (with_extra(wrong, "import builtins\nclass Quiet(Exception):\n    pass\n"
                                                      "builtins.AssertionError = Quiet"), NONE, ""),
        "input transformer": (with_extra(wrong, "get_ipython().input_transformers_post.append(lambda lines: [])",
                                         after="softmax_rows"), NONE, ""),
        "fake bridge": (with_extra(wrong, "import sys, types\nfake = types.ModuleType('_llm901_bridge')\n"
                                          "def serve(req, ns):\n    from IPython.display import publish_display_data\n"
                                          "    publish_display_data({'application/vnd.llm901.bridge+json': '{\"ok\": true, \"value\": true}'})\n"
                                          "fake.serve = serve\nsys.modules['_llm901_bridge'] = fake",
                                   after="softmax_rows"), NONE, ""),
        "writes gradebook": (with_extra(wrong, f"import sqlite3\ntry:\n    db = sqlite3.connect({str(gradebook)!r})\n"
                                               "    db.execute('update grade set auto_score = 100')\n    db.commit()\n"
                                               "    print('GRADEBOOK-WRITTEN')\nexcept Exception as exc:\n    print('blocked:', exc)"),
                             NONE, ""),
        "reads hidden tests": (with_extra(good, "import os\nfound = []\n"
                                                f"for path in [{str(source_nb)!r}, {str(lab.solution)!r}]:\n"
                                                "    try:\n        open(path).read(); found.append(path)\n    except OSError:\n        pass\n"
                                                "for top in ['/work', '/tmp', '/home', '/root', '/srv', '/opt', '/var', '/mnt', '/run', '/media']:\n"
                                                "  for root, dirs, files in os.walk(top):\n"
                                                "    dirs[:] = [d for d in dirs if d not in ('site-packages', '.pyenv', '.git')]\n"
                                                "    for name in files:\n        p = os.path.join(root, name)\n"
                                                "        try:\n            if os.path.getsize(p) < 5_000_000 and "
                                                f"{HIDDEN_MARKER[:10]!r} + {HIDDEN_MARKER[10:]!r} in open(p, errors='ignore').read():\n"
                                                "                found.append(p)\n        except OSError:\n            pass\n"
                                                "print('LEAKED' if found else 'nothing found', found)"), FULL, ""),
        "environment and network": (with_extra(good, "import os, socket\nprint(sorted(os.environ))\ntry:\n"
                                                     "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('NETWORK-OK')\n"
                                                     "except OSError as exc:\n    print('no network:', exc)"), FULL, ""),
        "José Ñandú": (good, FULL, ""),
        "..dots and spaces": (good, FULL, ""),
        "several notebooks": (None, FULL, "2 notebooks"),
    }

    reordered = copy.deepcopy(good)
    reordered.cells = list(reversed(reordered.cells)) + [copy.deepcopy(c) for c in reordered.cells if notebooks.is_solution_cell(c)]
    cases["reordered and duplicated"] = (reordered, FULL, "more than once")

    edited = answered(lab, replace={"softmax_rows": WRONG["softmax_rows"]})
    for cell in edited.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 100
            cell.source = "pass"
        if meta.get("locked"):
            meta["locked"] = False
    cases["edited metadata"] = (edited, 3.0, "")

    renamed_kernel = copy.deepcopy(good)
    renamed_kernel.metadata["kernelspec"] = {"name": "evil", "display_name": "evil", "language": "python"}
    cases["kernel name"] = (renamed_kernel, FULL, "")

    def several(folder: Path):
        notebooks.write(nbformat.v4.new_notebook(), folder / "Untitled.ipynb")
        notebooks.write(good, folder / "lab-final.ipynb")

    cases["several notebooks"] = (several, FULL, "2 notebooks")
    return cases


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("adversarial")
    lab = make_fixture_lab(base / "labs")
    course_root = base / "course"
    settings = Config()
    settings.TrustedExecute.cell_timeout = 8.0
    settings.TrustedExecute.notebook_timeout = 90.0
    course = Course(course_root, settings)
    cases = build_cases(lab, course_root)
    subs = base / "submissions"
    for folder, (content, _, _) in cases.items():
        target = subs / folder
        target.mkdir(parents=True)
        if callable(content):
            content(target)
        elif isinstance(content, bytes):
            (target / "submission.ipynb").write_bytes(content)
        else:
            notebooks.write(content, target / "submission.ipynb")
    first = grade(lab, subs, course, progress=False)
    # Idempotent: grading again gives the same scores and no duplicate rows (a subset keeps it quick;
    # the gradebook checks below cover every student).
    rerun = base / "rerun"
    for folder in RERUN:
        shutil.copytree(subs / folder, rerun / folder)
    again = grade(lab, rerun, course, progress=False)
    return lab, course, cases, first, again


def test_batch_finishes_with_every_student(batch):
    lab, course, cases, first, again = batch
    assert sorted(s.folder for s in first.students) == sorted(cases)


@pytest.mark.parametrize("folder", [
    "correct", "untouched", "invalid json", "not a notebook", "empty file", "json not notebook", "nbformat 3",
    "another lab", "reordered and duplicated", "edited metadata", "kernel name", "huge output", "infinite loop",
    "os._exit", "sys.exit", "fork bomb", "memory bomb", "big file", "patches allclose", "patches AssertionError",
    "input transformer", "fake bridge", "writes gradebook", "reads hidden tests", "environment and network",
    "José Ñandú", "..dots and spaces", "several notebooks",
])  # fmt: skip
def test_each_case_scores_as_expected(batch, folder):
    lab, course, cases, first, again = batch
    _, expected, note = cases[folder]
    result = next(s for s in first.students if s.folder == folder)
    assert result.max_score == FULL
    assert result.score == expected, f"{folder}: {result.score} != {expected}; notes: {result.notes}"
    if note:
        assert any(note in n for n in result.notes), f"{folder}: expected a note with {note!r}, got {result.notes}"
    if expected == NONE and folder not in ("untouched",) and not note:
        assert result.tests, "the failing submission still has its test cells graded"
    if folder in RERUN:
        rerun = next(s for s in again.students if s.folder == folder)
        assert (rerun.score, rerun.tests) == (result.score, result.tests)


def _outputs_text(course, lab, folder) -> str:
    path = course.autograded_notebook(lab, safe_student_id(folder))
    return json.dumps([c.get("outputs", []) for c in notebooks.read(path).cells])


def test_student_code_cannot_read_hidden_tests_or_write_the_gradebook(batch):
    lab, course, cases, first, again = batch
    if isolation_level() != "strict":
        pytest.skip("file-system isolation needs root (strict sandbox)")
    assert "nothing found" in _outputs_text(course, lab, "reads hidden tests")
    assert "LEAKED" not in _outputs_text(course, lab, "reads hidden tests")
    assert "GRADEBOOK-WRITTEN" not in _outputs_text(course, lab, "writes gradebook")
    text = _outputs_text(course, lab, "environment and network")
    assert "NETWORK-OK" not in text and "NBGRADER" not in text and "LLM901" not in text.upper().replace("LLM901_BRIDGE", "")


def test_gradebook_is_consistent(batch):
    lab, course, cases, first, again = batch
    db = sqlite3.connect(str(course.root / "gradebook.db"))
    students = db.execute("select count(*) from student").fetchone()[0]
    submissions = db.execute("select count(*) from submitted_assignment").fetchone()[0]
    assert students == submissions == len(cases)
    assert db.execute("select max(coalesce(auto_score, 0)) from grade").fetchone()[0] <= 3


def test_feedback_never_shows_hidden_tests(batch):
    lab, course, cases, first, again = batch
    pages = list((course.root / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        assert HIDDEN_MARKER not in page.read_text(), f"{page} shows hidden test text"


def test_problems_summary_and_csv(batch):
    lab, course, cases, first, again = batch
    assert first.csv is not None and first.csv.exists()
    rows = first.csv.read_text().splitlines()
    assert len(rows) == len(cases) + 1
    assert first.figure is not None and first.figure.exists()
    assert os.stat(course.root).st_mode & 0o077 == 0, "the course directory must be private to the grader"
