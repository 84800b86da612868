"""Submissions made from a lab's own notebooks: for `make demo`, `make check` and the test suite.

Nothing here is committed as a notebook: every sample is derived from solution.ipynb and
student.ipynb, so it follows the lab as the lab changes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from . import notebooks
from .labs import Lab

SOLUTION_MARKER_RE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


def answers(lab: Lab) -> dict[str, str]:
    """grade_id -> the solution cell's source as a student would write it (markers removed)."""
    nb = notebooks.read(lab.solution)
    return {
        notebooks.grade_id(c): SOLUTION_MARKER_RE.sub("", c.source)
        for c in nb.cells
        if notebooks.is_solution_cell(c) and notebooks.grade_id(c)
    }


def answered(lab: Lab, replace: dict[str, str] | None = None, keep_unanswered: set[str] = frozenset()):
    """The student notebook with every answer filled in from the solution, except the cells named
    in `keep_unanswered`; `replace` substitutes other sources (e.g. a catalogued wrong version)."""
    nb = notebooks.read(lab.student)
    sources = answers(lab)
    for cell in nb.cells:
        gid = notebooks.grade_id(cell)
        if gid in (replace or {}):
            cell.source = replace[gid]
        elif gid in sources and gid not in keep_unanswered:
            cell.source = sources[gid]
    return nb


def _reference_user(lab: Lab) -> dict:
    """A correct submission whose first answer also imports what the hidden tests compare against (the
    lab's references.toml): the integrity report flags it, its score is untouched."""
    from .integrity import ALL_CELLS, declared_references

    declared = declared_references(lab)
    sources = answers(lab)
    for cell, names in declared.items():
        target = next(iter(sources)) if cell == ALL_CELLS else cell
        module = next((n for n in names if not n.startswith(".")), None)
        if target in sources and module:
            top = module.split(".")[0]
            edited = f"import {top}  # the library the tests compare with\n" + sources[target]
            return {"erin (imports the reference)": ("lab.ipynb", answered(lab, replace={target: edited}))}
    return {}


def _catalogued_mistake(lab: Lab) -> dict:
    """A correct submission but for one answer, the first mistake of the lab's catalog (preferring one
    whose hint students may read): the table names it and the feedback shows its hint (diagnosis.py).
    None without a catalog (a release zip has none)."""
    from .diagnosis import default_catalog_dir, load_catalog

    entries = [e for e in load_catalog(default_catalog_dir(), lab.week) if e.get("cell") in answers(lab)]
    if not entries:
        return {}
    entry = next((e for e in entries if e.get("hint") and e.get("show_hint", True)), entries[0])
    return {"frank (one common mistake)": ("lab (1).ipynb", answered(lab, replace={entry["cell"]: entry["source"]}))}


def demo_submissions(lab: Lab, out: Path) -> dict[str, Path]:
    """The submissions `make demo` grades (four; a fifth where the lab declares references, a sixth
    with a catalogued mistake where the lab has a catalog). Folder names and file names vary, as a
    course site's would."""
    solution_ids = list(answers(lab))
    half = set(solution_ids[len(solution_ids) // 2 :])
    untouched = notebooks.read(lab.student)
    tampered = copy.deepcopy(untouched)
    for cell in tampered.cells:
        if notebooks.is_test_cell(cell):
            cell.source = "# tests removed by the student\npass\n"
            cell.metadata["nbgrader"]["points"] = 100
    made = {
        "alice (correct)": ("rope_lab_final.ipynb", answered(lab)),
        **_reference_user(lab),
        "bob (half done)": (f"{lab.name}.ipynb", answered(lab, keep_unanswered=half)),
        "carol (untouched)": ("Untitled.ipynb", untouched),
        "dave (edits tests)": ("submission.ipynb", tampered),
        **_catalogued_mistake(lab),
    }
    paths = {}
    for folder, (filename, nb) in made.items():
        path = out / folder / filename
        notebooks.write(nb, path)
        paths[folder] = path
    return paths
