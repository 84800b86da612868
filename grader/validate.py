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
