"""A two-exercise lab built on the fly: small enough that a batch of attacks grades in seconds each,
and shaped like every real lab (parameters cell, answer cells, visible + hidden tests)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from llm901_grader import notebooks
from llm901_grader.course import Course, student_notebook_text
from llm901_grader.labs import Lab

HIDDEN_MARKER = "SECRET_HIDDEN_MARKER_7f3a"  # appears only in hidden tests: finding it anywhere leaks them


def _c(kind, source, gid, **meta):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False, "grade_id": gid,
                                 "schema_version": 3, **meta}
    cell.id = gid.replace("_", "-")
    return cell


WRITTEN_ID = "written_why"  # the optional written question (a manually graded answer cell)


def written_cells():
    return [
        _c("md", "**Written question (2 points, graded by a TA).** Why is doubling linear?", "written_why_prompt",
           locked=True),
        _c("md", "Because 2(x + y) = 2x + 2y and 2(ax) = a(2x).", WRITTEN_ID, solution=True, grade=True, points=2),
    ]


def solution_notebook(written: bool = False):
    params = _c("code", "FAST = False\nSEED = 0", "parameters", locked=True)
    params.metadata["tags"] = ["parameters"]
    experiment = _c("code", "print('experiment ran, FAST =', FAST)", "experiment", locked=True)
    experiment.metadata["tags"] = ["experiment"]  # skipped when a submission is graded
    return nbformat.v4.new_notebook(cells=[
        _c("md", "# w00-1: fixture", "intro", locked=True),
        params,
        _c("code", "import torch", "setup", locked=True),
        _c("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double", solution=True),
        _c("code", "import numpy as np\nimport torch\n\nx = torch.arange(6.0).reshape(2, 3)\n"
                   "assert torch.allclose(double(x), 2 * x), 'double(x) must equal 2x'\n"
                   f"### BEGIN HIDDEN TESTS\n# {HIDDEN_MARKER}\ny = torch.randn(4, 5)\n"
                   "np.testing.assert_allclose(double(y).numpy(), (y + y).numpy(), rtol=1e-6, err_msg='wrong on random input')\n"
                   "### END HIDDEN TESTS", "test_double", grade=True, locked=True, points=3),
        _c("code", "def softmax_rows(x):\n    ### BEGIN SOLUTION\n    return torch.softmax(x, dim=-1)\n    ### END SOLUTION",
           "softmax_rows", solution=True),
        _c("code", "import torch\n\nx = torch.randn(3, 7)\np = softmax_rows(x)\n"
                   "assert torch.allclose(p.sum(-1), torch.ones(3)), 'each row must sum to one'\n"
                   f"### BEGIN HIDDEN TESTS\nsecret_{HIDDEN_MARKER} = 100.0\n"
                   f"assert torch.allclose(softmax_rows(x + secret_{HIDDEN_MARKER}), p, atol=1e-6), 'softmax must be shift-invariant'\n"
                   "assert bool((p > 0).all()), 'probabilities must be positive'\n"
                   "### END HIDDEN TESTS", "test_softmax_rows", grade=True, locked=True, points=2),
        experiment,
        *(written_cells() if written else []),
    ])  # fmt: skip


def make_fixture_lab(parent: Path | None = None, written: bool = False) -> Lab:
    parent = Path(parent or tempfile.mkdtemp(prefix="llm901-fixture-"))
    lab = Lab(parent / "w00-1-fixture")
    notebooks.write(notebooks.normalise(solution_notebook(written)), lab.solution)
    with tempfile.TemporaryDirectory(prefix="llm901-fixture-course-") as tmp:
        lab.student.write_text(student_notebook_text(Course(Path(tmp)), lab))
    return lab
