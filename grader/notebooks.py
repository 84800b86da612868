"""Notebook helpers shared by release, grading and the checks: reading untrusted files, normalising
what is committed, classifying nbgrader cells, and rebuilding a submission onto the released layout."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
HIDDEN_BLOCK_RE = re.compile(
    r"^[ \t]*" + re.escape(HIDDEN_BEGIN) + r".*?^[ \t]*" + re.escape(HIDDEN_END) + r"[^\n]*\n?",
    re.S | re.M,
)
MAX_NOTEBOOK_BYTES = 50 << 20


# --- cell kinds -------------------------------------------------------------------------------
def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_test_cell(cell) -> bool:
    """An autograded test cell: code, graded, not a solution."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_solution_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def answer_sources(nb) -> dict[str, str]:
    """grade_id -> source of the notebook's code answer cells (written answers, in markdown, left out)."""
    return {grade_id(c): c.source for c in nb.cells if is_solution_cell(c) and grade_id(c) and c.cell_type == "code"}


def test_cells(nb) -> list:
    return [c for c in nb.cells if is_test_cell(c)]


def hidden_line_ranges(source: str) -> list[tuple[int, int]]:
    """1-based inclusive line ranges of the hidden blocks of a test cell."""
    ranges, start = [], None
    for lineno, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(HIDDEN_BEGIN):
            start = lineno
        elif stripped.startswith(HIDDEN_END) and start is not None:
            ranges.append((start, lineno))
            start = None
    if start is not None:  # an unterminated block hides the rest of the cell
        ranges.append((start, len(source.splitlines())))
    return ranges


def strip_hidden_tests(source: str, note: str = "# (hidden tests ran here)\n") -> str:
    return HIDDEN_BLOCK_RE.sub(note, source)


# --- normalised files -------------------------------------------------------------------------
KEPT_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable")


def normalise(nb: NotebookNode) -> NotebookNode:
    """What we commit: no outputs, no execution counts, only the metadata that means something."""
    nb = copy.deepcopy(nb)
    nb.metadata = nbformat.from_dict(
        {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell["attachments"]:
            del cell["attachments"]
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def dumps(nb: NotebookNode) -> str:
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write(nb: NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(nb), encoding="utf-8")


def read(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


# --- untrusted submissions --------------------------------------------------------------------
class BadNotebook(ValueError):
    """A file that cannot be graded as a notebook; the message is shown to the TA and the student."""


def load_untrusted(path: Path) -> tuple[NotebookNode, list[str]]:
    """Parse a submitted file defensively. Returns the notebook (nbformat 4) and notes about it."""
    notes: list[str] = []
    size = path.stat().st_size
    if size == 0:
        raise BadNotebook("the file is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise BadNotebook(f"the file is {size / 2**20:.0f} MiB, over the {MAX_NOTEBOOK_BYTES >> 20} MiB limit")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadNotebook(f"not a notebook: the file is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise BadNotebook("not a notebook: valid JSON, but without the 'nbformat' field of a Jupyter notebook")
    major = data.get("nbformat")
    if major not in (3, 4):
        raise BadNotebook(f"unsupported notebook format version {major!r}")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises several kinds on malformed content
        raise BadNotebook(f"malformed notebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    if major == 3:
        notes.append("converted from notebook format 3 (cell metadata may be lost)")
    if not isinstance(nb.get("cells"), list):
        raise BadNotebook("malformed notebook: no list of cells")
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str):
            raise BadNotebook("malformed notebook: a cell's source is not text")
    return nb, notes


@dataclass
class Rebuilt:
    notebook: NotebookNode
    notes: list[str] = field(default_factory=list)
    answered: int = 0  # solution cells found in the submission


def rebuild_onto_release(release: NotebookNode, submitted: NotebookNode) -> Rebuilt:
    """Lay a submission onto the released notebook: every locked/test/markdown cell, the order and all
    nbgrader metadata come from the release; only the sources of the student's answer cells (matched
    by grade_id, last copy wins, as it would in a kernel) and the student's own extra code cells are
    kept. Deleted, reordered or duplicated cells and edited metadata therefore cannot change what is
    graded or how many points it is worth."""
    answers: dict[str, str] = {}
    extras_after: dict[str | None, list[NotebookNode]] = {}
    release_ids = {grade_id(c) for c in release.cells if grade_id(c)}
    solution_ids = {grade_id(c) for c in release.cells if is_solution_cell(c)}
    # provided cells without nbgrader metadata, recognised by their cell id or unchanged text
    provided = {c.get("id") for c in release.cells if c.get("id")}, {c.get("source", "") for c in release.cells}
    notes: list[str] = []
    seen_counts: dict[str, int] = {}
    anchor: str | None = None
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid in solution_ids:
            answers[gid] = cell.get("source", "")
            seen_counts[gid] = seen_counts.get(gid, 0) + 1
            anchor = gid
        elif gid in release_ids:
            anchor = gid  # a locked or test cell: the release's copy is used
        elif cell.get("id") in provided[0] or cell.get("source", "") in provided[1]:
            continue  # the release's own copy is used
        elif cell.get("cell_type") == "code" and cell.get("source", "").strip():
            extra = nbformat.v4.new_code_cell(cell["source"])
            extra.metadata = nbformat.from_dict({})
            extras_after.setdefault(anchor, []).append(extra)
    duplicated = sorted(g for g, n in seen_counts.items() if n > 1)
    if duplicated:
        notes.append(f"answer cells present more than once (the last copy is graded): {', '.join(duplicated)}")
    missing = sorted(solution_ids - answers.keys())
    if missing:
        notes.append(f"answer cells missing from the submission (graded as unanswered): {', '.join(missing)}")

    nb = copy.deepcopy(release)
    cells = list(extras_after.get(None, []))
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in answers:
            cell.source = answers[gid]
        cells.append(cell)
        cells.extend(extras_after.get(gid, []) if gid else [])
    nb.cells = cells
    return Rebuilt(normalise(nb), notes, answered=len(answers))
