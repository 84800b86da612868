"""A student's self-check, one configuration for both ways of asking: `llm901-grader validate` and
nbgrader's Validate button in JupyterLab (the released zip's `nbgrader_config.py` loads this module).

As the grader runs a notebook: `FAST=True` injected after the `parameters` cell, the cells tagged
`experiment` skipped, the visible tests only (the release has no hidden ones), in the student's kernel.

All of it is configuration of nbgrader's `Execute` (timeout, skipped tag, two nbclient hooks), because
that is what the Validate button's server handler honours: it builds a stock `Validator`, whose list of
preprocessors is not configurable (a `Validator.preprocessors` setting is ignored with a warning, which
is how `llm901-grader validate` silently ran without its stderr filter until this module).
"""

from __future__ import annotations

import nbformat
from traitlets.config import Config

from .execute import inject_parameters
from .notebooks import is_test_cell

CELL_TIMEOUT = 600  # seconds per cell; the grader's own limits are in TrustedExecute
GRADING_PARAMETERS = {"FAST": True}

NBGRADER_CONFIG_FILE = '''\
# Written by llm901-grader. nbgrader's Validate button (JupyterLab started in this folder) checks the
# notebook exactly as `llm901-grader validate` does: FAST=True, experiment cells skipped, visible tests.
from llm901_grader.validate import validate_config

c = get_config()  # noqa: F821
c.merge(validate_config())
'''


class _Hooks:
    """nbclient hooks for one validation. nbgrader zeroes a test cell that printed anything on stderr,
    so a library's warning would fail correct code: each test cell's stderr is dropped when the next
    cell starts (the hook that would run after the last cell is not called by nbconvert's synchronous
    path, so an empty cell is appended whose start ends the last one)."""

    def __init__(self, parameters: dict):
        self.parameters = parameters
        self.finished_test_cell = None

    def on_notebook_start(self, notebook, **_):
        if self.parameters:  # papermill's cell after the `parameters` cell; in place, cells are about to run
            notebook.cells[:] = inject_parameters(notebook, self.parameters).cells
        notebook.cells.append(nbformat.v4.new_markdown_cell(""))

    def on_cell_start(self, cell, **_):
        previous, self.finished_test_cell = self.finished_test_cell, cell if is_test_cell(cell) else None
        if previous is not None:
            previous.outputs = [o for o in previous.get("outputs", []) if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]


def validate_config(full: bool = False, experiment: bool = False) -> Config:
    """Configuration for nbgrader's Validator: as graded by default; `experiment` also runs the
    experiment (FAST=True); `full` runs everything with the notebook's own parameters (FAST=False)."""
    config = Config()
    config.Execute.timeout = CELL_TIMEOUT
    hooks = _Hooks({} if full else GRADING_PARAMETERS)
    config.Execute.on_notebook_start = hooks.on_notebook_start
    config.Execute.on_cell_start = hooks.on_cell_start
    if not (full or experiment):
        config.Execute.skip_cells_with_tag = "experiment"  # nbclient's own switch; no test needs them
    return config


# --- what the student reads: tests named by what they check -------------------------------------------
def _defined_functions(source: str) -> list[str]:
    import ast

    try:
        return [n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    except SyntaxError:
        return []


def test_labels(nb) -> dict[str, dict]:
    """Each test cell's source -> {"grade_id", "points", "functions" (the answer functions it calls)}."""
    from .judge import free_names
    from .notebooks import grade_id, is_solution_cell

    answer_functions = {name for c in nb.cells if c.cell_type == "code" and is_solution_cell(c)
                        for name in _defined_functions(c.source)}
    labels = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and is_test_cell(cell):
            try:
                called = sorted(free_names(cell.source) & answer_functions)
            except SyntaxError:
                called = []
            labels[cell.source] = {"grade_id": grade_id(cell), "functions": called,
                                   "points": cell.metadata.get("nbgrader", {}).get("points", 0)}
    return labels


def label(info: dict | None, source: str) -> str:
    """'test_adamw_step (adamw_step, 3 points)', or the cell's first line when it is not a known test."""
    if info is None:
        return (source.splitlines() or [""])[0]
    what = ", ".join(info["functions"]) or "no graded function"
    return f"{info['grade_id']} ({what}, {info['points']:g} point{'s' if info['points'] != 1 else ''})"


def function_summary(nb, failed_sources: list[str]) -> list[str]:
    """One line per graded function: passed, failed (which tests), or not attempted (still the stub)."""
    from .notebooks import is_solution_cell

    labels = test_labels(nb)
    failing: dict[str, list[str]] = {}
    for source in failed_sources:
        info = labels.get(source)
        for fn in (info or {}).get("functions", []):
            failing.setdefault(fn, []).append(info["grade_id"])
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_solution_cell(cell):
            continue
        stub = "raise NotImplementedError" in cell.source
        for fn in _defined_functions(cell.source):
            if stub:
                lines.append(f"  {fn}: not attempted")
            elif fn in failing:
                lines.append(f"  {fn}: failed ({', '.join(failing[fn])})")
            else:
                lines.append(f"  {fn}: passed")
    return lines
