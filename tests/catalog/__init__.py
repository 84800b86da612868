"""Catalogs of realistic wrong implementations, one module per lab: `tests/catalog/wNN_K.py`.

Each module defines `WRONG_IMPLEMENTATIONS`, a list of dicts:
    name    short id of the mistake
    cell    grade_id of the answer cell it replaces (one graded function per answer cell)
    why     the mistake in one line, as a student would make it
    source  the complete replacement source of that cell
    loses   grade_ids of the test cells that must fail with it (the other answers are correct; a mistake
            in a function that others call also fails those functions' tests)
    hint    one sentence for the student who made this mistake, shown under the failed test when the
            grader's diagnosis recognises it: it names the symptom or the concept, never the fix
    show_hint  (optional, default True) False when any useful hint would give the answer away: the
            diagnosis still counts the entry in the class's mistakes report
`tests/test_catalogs.py` proves every entry loses those points (see its docstring for how).
"""

import importlib


def entries(lab) -> list[dict]:
    """The catalog of a lab (a `llm901_grader.labs.Lab`), or [] if it has none yet."""
    try:
        module = importlib.import_module(f"catalog.{lab.week.replace('-', '_')}")
    except ModuleNotFoundError:
        return []
    return module.WRONG_IMPLEMENTATIONS
