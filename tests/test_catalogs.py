"""Every catalogued wrong implementation loses points.

Each lab's catalog (`tests/catalog/wNN_K.py`, a list `WRONG_IMPLEMENTATIONS`) is checked two ways:
- directly, every entry: the lab's answer cells are executed in-process with one of them replaced,
  and the test cells it must lose (hidden blocks included) are judged by the grader's own `judge_cell`
  through `LocalStudent`, which passes values through the same plain-data codec as the kernel
  bridge. This is the grading path minus the kernel, so it runs in seconds per lab;
- through the real pipeline, the first entry of each catalog, graded in the same batch as the lab's
  `make check` (tests/test_labs.py), so a lab costs one graded batch in CI.
"""

from __future__ import annotations

import pytest

from catalog import entries as catalog
from llm901_grader import notebooks
from llm901_grader.diagnosis import lab_namespace
from llm901_grader.execute import judge_locally
from llm901_grader.labs import all_labs
from llm901_grader.samples import answers

LABS = [lab for lab in all_labs() if catalog(lab)]
ENTRIES = [(lab, entry) for lab in LABS for entry in catalog(lab)]


def student_namespace(lab, replace: dict[str, str]) -> dict:
    """Run the lab's setup and answer cells (not its experiment) the way a kernel would: the grader's
    own builder, the one its diagnosis runs catalog entries in."""
    return lab_namespace(lab.solution, replace)


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.week)
def test_catalog_is_big_enough_and_solution_passes(lab):
    entries = catalog(lab)
    assert len(entries) >= 6, f"{lab.week}: a catalog needs at least 6 wrong implementations"
    test_ids = {notebooks.grade_id(c) for c in notebooks.test_cells(notebooks.read(lab.solution))}
    for entry in entries:
        assert entry["cell"] in answers(lab), f"{entry['name']}: no answer cell {entry['cell']!r}"
        assert set(entry["loses"]) <= test_ids, f"{entry['name']}: unknown test cells {entry['loses']}"
    results = judge_locally(notebooks.read(lab.solution), student_namespace(lab, {}))
    assert all(results.values()), f"the solution fails {[t for t, ok in results.items() if not ok]}"


@pytest.mark.parametrize("lab,entry", ENTRIES, ids=lambda x: x["name"] if isinstance(x, dict) else x.week)
def test_wrong_implementation_loses_points(lab, entry):
    results = judge_locally(notebooks.read(lab.solution), student_namespace(lab, {entry["cell"]: entry["source"]}),
                            only=set(entry["loses"]))  # the cells it must lose; the others cannot change that
    survived = [t for t in entry["loses"] if results.get(t)]
    assert not survived, f"{entry['name']} ({entry['why']}) passes {survived}"
