"""`make new-week WEEK=w03-2 SLUG=diffusion-lm`: a new lab folder in the course's format."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from . import notebooks
from .course import Course, student_notebook_text
from .labs import LAB_DIR_RE, WEEKS, Lab


def _meta(cell, grade_id: str, *, solution=False, grade=False, locked=False, points=None, tags=None):
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    if tags:
        cell.metadata["tags"] = tags
    cell.id = grade_id.replace("_", "-")[:64]
    return cell


def template(week: str, title: str):
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        _meta(md(f"# {week}: {title}\n\n**Papers.** Title (arXiv id) — one line on what it changed.\n\n"
                 "**You will** implement ... and reproduce ...\n\n**Time:** about 2 hours."), "intro", locked=True),
        _meta(code("FAST = False  # papermill sets FAST=True when grading\nSEED = 0"), "parameters",
              locked=True, tags=["parameters"]),
        _meta(code("import torch\n\nfrom llm901_shared.utils import seed_everything, set_threads\n\n"
                   "seed_everything(SEED)\nset_threads(2)"), "setup", locked=True),
        _meta(md("## 1. The first idea\n\nA short derivation: what is computed and why, in the paper's notation."),
              "section_1", locked=True),
        _meta(code('def first_exercise(x: torch.Tensor) -> torch.Tensor:\n    """Say what it returns, with shapes."""\n'
                   "    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"), "first_exercise", solution=True),
        _meta(code("import torch\n\nx = torch.randn(3, 4)\nout = first_exercise(x)\n"
                   'assert out.shape == x.shape, f"expected shape {tuple(x.shape)}, got {tuple(out.shape)}"\n'
                   "### BEGIN HIDDEN TESTS\n# properties or a library oracle on the same inputs; never a copy of the solution\n"
                   "### END HIDDEN TESTS"), "test_first_exercise", grade=True, locked=True, points=2),
        _meta(md("## Experiment\n\nWhat the paper's headline result says, and what the figure below should show."),
              "experiment_intro", locked=True),
        # every code cell of the experiment carries the tag `experiment`: grading skips them (no test may use them)
        _meta(code("steps = 20 if FAST else 200\n# train / measure, then plot with matplotlib"), "experiment", locked=True,
              tags=["experiment"]),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def new_week(week: str, slug: str, title: str = "") -> Path:
    name = f"{week}-{slug}"
    if not LAB_DIR_RE.match(name):
        raise ValueError(f"{name!r} is not of the form wNN-K-slug (lower case, digits and dashes)")
    path = WEEKS / name
    if path.exists():
        raise FileExistsError(path)
    lab = Lab(path)
    notebooks.write(notebooks.normalise(template(week, title or slug.replace("-", " ").title())), lab.solution)
    with tempfile.TemporaryDirectory(prefix="llm901-scaffold-") as tmp:
        lab.student.write_text(student_notebook_text(Course(Path(tmp)), lab))
    return path
