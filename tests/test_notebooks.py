"""Submissions are laid onto the release: what students edit outside their answers does not count."""

import copy

import nbformat

from llm901_grader import notebooks
from llm901_grader.judge import free_names


def _cell(kind, source, **meta):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if meta:
        cell.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False, "locked": False, **meta}
    return cell


def release():
    return nbformat.v4.new_notebook(cells=[
        _cell("md", "# Lab", grade_id="intro", locked=True),
        _cell("code", "def f(x):\n    raise NotImplementedError()", grade_id="f", solution=True),
        _cell("code", "assert f(1) == 2", grade_id="test_f", grade=True, locked=True, points=3),
        _cell("code", "def g(x):\n    raise NotImplementedError()", grade_id="g", solution=True),
        _cell("code", "assert g(1) == 3", grade_id="test_g", grade=True, locked=True, points=2),
    ])  # fmt: skip


def test_answers_kept_everything_else_from_release():
    sub = release()
    sub.cells[1].source = "def f(x):\n    return 2 * x"
    sub.cells[2].source = "pass"  # a student "fixing" a test
    sub.cells[2].metadata["nbgrader"]["points"] = 100
    rebuilt = notebooks.rebuild_onto_release(release(), sub)
    cells = rebuilt.notebook.cells
    assert cells[1].source == "def f(x):\n    return 2 * x"
    assert cells[2].source == "assert f(1) == 2" and cells[2].metadata["nbgrader"]["points"] == 3
    assert rebuilt.answered == 2 and not rebuilt.notes


def test_reordered_duplicated_deleted_and_extra_cells():
    sub = release()
    sub.cells[3].source = "def g(x):\n    return 1"
    late = nbformat.from_dict(dict(sub.cells[3]))
    late.source = "def g(x):\n    return 3"
    helper = nbformat.v4.new_code_cell("def helper():\n    return 1")
    sub.cells = [sub.cells[4], sub.cells[3], helper, late]  # reordered, f deleted, g duplicated, helper added
    rebuilt = notebooks.rebuild_onto_release(release(), sub)
    ids = [notebooks.grade_id(c) for c in rebuilt.notebook.cells]
    assert ids == ["intro", "f", "test_f", "g", None, "test_g"]
    assert rebuilt.notebook.cells[3].source == "def g(x):\n    return 3"  # last copy wins
    assert rebuilt.notebook.cells[4].source.startswith("def helper")
    assert "raise NotImplementedError" in rebuilt.notebook.cells[1].source
    assert any("more than once" in n for n in rebuilt.notes) and any("missing" in n for n in rebuilt.notes)


def test_renamed_grade_id_becomes_an_extra_cell():
    sub = release()
    sub.cells[1].source = "def f(x):\n    return 2 * x"
    sub.cells[1].metadata["nbgrader"]["grade_id"] = "something_else"
    rebuilt = notebooks.rebuild_onto_release(release(), sub)
    assert any(c.source == "def f(x):\n    return 2 * x" and not notebooks.grade_id(c) for c in rebuilt.notebook.cells)


def test_hidden_blocks():
    src = "a = 1\n### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS\nb = 2\n"
    assert notebooks.hidden_line_ranges(src) == [(2, 4)]
    assert "secret" not in notebooks.strip_hidden_tests(src) and "b = 2" in notebooks.strip_hidden_tests(src)


def test_normalise_drops_outputs_and_metadata():
    nb = release()
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    nb.cells[1].execution_count = 3
    nb.cells[1].metadata["collapsed"] = True
    nb.metadata["widgets"] = {"x": 1}
    out = notebooks.normalise(nb)
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None
    assert "collapsed" not in out.cells[1].metadata and "widgets" not in out.metadata


def test_free_names():
    src = "import torch\nfrom math import pi\nx = torch.ones(2)\ndef h(a):\n    return a + k\nassert f(x) == [y for y in z]\n"
    assert free_names(src) == {"k", "f", "z"}


def test_provided_cells_without_metadata_are_not_duplicated():
    rel = release()
    rel.cells.insert(1, nbformat.v4.new_code_cell("FAST = False"))
    sub = copy.deepcopy(rel)
    sub.cells[2].source = "def f(x):\n    return 2 * x"
    rebuilt = notebooks.rebuild_onto_release(rel, sub)
    assert [c.source for c in rebuilt.notebook.cells].count("FAST = False") == 1
