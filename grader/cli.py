"""`llm901-grader`: the commands behind the Makefile, for TAs and instructors who run them directly."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .labs import BUILD, DEFAULT_COURSE, LabNotFound, all_labs, find_lab


def _labs(week: str | None):
    return [find_lab(week)] if week else all_labs()


def cmd_release(args) -> int:
    from .course import Course, build_zip, student_notebook_text

    course = Course(Path(args.course))
    for lab in _labs(args.week):
        course.release(lab)
        zipped = build_zip(course, lab)
        print(f"{lab.week}: released to {course.release_notebook(lab).parent}  zip: {zipped}")
        if student_notebook_text(course, lab) != lab.student.read_text():
            print(f"  note: {lab.student} is out of date; `make student WEEK={lab.week}` regenerates it")
    return 0


def cmd_student(args) -> int:
    """Regenerate student.ipynb from nbgrader's release (never hand-edit it)."""
    from . import notebooks
    from .course import Course, student_notebook_text

    with tempfile.TemporaryDirectory(prefix="llm901-release-") as tmp:
        course = Course(Path(tmp))
        for lab in _labs(args.week):
            notebooks.write(notebooks.normalise(notebooks.read(lab.solution)), lab.solution)
            lab.student.write_text(student_notebook_text(course, lab))
            print(f"{lab.week}: wrote {lab.student.relative_to(Path.cwd()) if lab.student.is_relative_to(Path.cwd()) else lab.student}")
    return 0


def cmd_grade(args) -> int:
    from .batch import grade
    from .course import Course
    from .report import summary, table

    lab = find_lab(args.week)
    course = Course(Path(args.course))
    result = grade(lab, Path(args.submissions), course, progress=not args.quiet, feedback=not args.no_feedback,
                   workers=args.workers, scheduler=args.scheduler, force=args.force, roster=args.roster)
    print(table(result))
    print()
    print(summary(result))
    if result.problems:
        print(f"\n{len(result.problems)} problem(s) or note(s); each student's is in the table above.")
    return 0


def cmd_feedback(args) -> int:
    from .course import Course

    course = Course(Path(args.course))
    lab = find_lab(args.week)
    result = course.api.generate_feedback(lab.week, force=True)
    print(f"feedback in {course.root / 'feedback'}" if result.get("success") else result.get("error", result.get("log")))
    return 0 if result.get("success") else 1


def cmd_export(args) -> int:
    """grades.csv of the whole gradebook; with --week and --roster also the course site's import files,
    from the gradebook as it is now (after manual grading in formgrader, say)."""
    from .batch import export_csv, gradebook_rows
    from .course import Course
    from .sites import export_for_site, read_roster

    course = Course(Path(args.course))
    print(export_csv(course))
    if args.roster:
        if not args.week:
            print("llm901-grader export: --roster needs --week", file=sys.stderr)
            return 2
        try:
            week = find_lab(args.week).week
        except LabNotFound:
            week = args.week  # an assignment of this course's gradebook that is not in weeks/ (any more)
        rows = gradebook_rows(course, week)
        pending = [r["folder"] for r in rows if r["needs_manual_grade"]]
        out = export_for_site(week, rows, read_roster(Path(args.roster)), course.root / "exports")
        print(f"{out.canvas}\n{out.plain}")
        if pending:
            print(f"still to grade by hand in formgrader ({len(pending)}): {', '.join(pending)}")
        if out.missing_students:
            print(f"on the roster, no submission ({len(out.missing_students)}): {', '.join(out.missing_students)}")
        if out.unmatched_submissions:
            print(f"submissions no roster entry matches ({len(out.unmatched_submissions)}): "
                  f"{', '.join(out.unmatched_submissions)}")
    return 0


def cmd_check(args) -> int:
    from .check import check_lab

    failed = 0
    for lab in _labs(args.week):
        started = time.monotonic()
        res = check_lab(lab, progress=not args.quiet)
        status = "ok" if res.ok else "FAILED"
        print(f"{lab.week} ({lab.name}): {status} in {time.monotonic() - started:.0f} s")
        for fact in res.facts:
            print(f"  {fact}")
        for failure in res.failures:
            print(f"  FAIL: {failure}")
        failed += not res.ok
    return 1 if failed else 0


def cmd_validate(args) -> int:
    """A student's self-check: run the notebook and its visible tests, in the kernel. By default as the
    grader runs it (FAST=True, the cells tagged `experiment` skipped), so the answer comes quickly;
    --experiment also runs the experiment (FAST=True), --full runs everything with FAST=False."""
    from nbgrader.validator import Validator

    from .validate import validate_config

    path = Path(args.notebook).resolve()
    results = Validator(config=validate_config(full=args.full, experiment=args.experiment)).validate(str(path))
    problems = 0
    for cell in results.get("type_changed", []):
        problems += 1
        print(f"CHANGED CELL TYPE ({cell['old_type']} -> {cell['new_type']}):\n{cell['source'][:300]}\n")
    for cell in results.get("changed", []):
        problems += 1
        print(f"A LOCKED OR TEST CELL WAS EDITED (the grader restores it):\n{cell['source'][:300]}\n")
    from .notebooks import read
    from .validate import function_summary, label, test_labels

    try:
        notebook = read(path)
        labels = test_labels(notebook)
    except Exception:  # noqa: BLE001 -- naming is a courtesy: without it, the plain report
        notebook, labels = None, {}
    failed = results.get("failed", [])
    for cell in failed:
        problems += 1
        # the first line stays the cell's first source line: what nbgrader's Validate dialog shows (and
        # tests/test_browser.py compares); the test's name, function and points follow
        first = cell["source"].splitlines()[0] if cell["source"] else ""
        info = labels.get(cell["source"])
        named = f"\n  test: {label(info, cell['source'])}" if info else ""
        print(f"FAILED: {first}{named}\n{cell['raw_error']}\n")
    skipped = "" if (args.full or args.experiment) else " (experiment cells not run, as when graded: --experiment runs them)"
    summary = function_summary(notebook, [cell["source"] for cell in failed]) if notebook is not None else []
    if summary:
        print("graded functions (visible tests):")
        print("\n".join(summary))
    if problems:
        print(f"{problems} problem(s) in {path.name}{skipped}")
        return 1
    print(f"{path.name}: every visible test passes{skipped}")
    return 0


def cmd_demo(args) -> int:
    from .batch import grade
    from .course import Course, build_zip
    from .report import summary, table
    from .samples import demo_submissions

    lab = find_lab(args.week)
    course_root = Path(args.course)
    if course_root.exists():
        shutil.rmtree(course_root)
    course = Course(course_root)
    course.release(lab)
    zipped = build_zip(course, lab)
    print(f"released {lab.week} -> {course.release_notebook(lab)}  (zip: {zipped})")
    subs = BUILD / "samples" / lab.week
    if subs.exists():
        shutil.rmtree(subs)
    demo_submissions(lab, subs)
    print(f"sample submissions in {subs}")
    result = grade(lab, subs, course, progress=not args.quiet)
    print(table(result))
    print()
    print(summary(result))
    return 0


def cmd_new_week(args) -> int:
    from .scaffold import new_week

    path = new_week(args.week, args.slug, args.title)
    print(f"created {path}; edit solution.ipynb, then `make student WEEK={args.week}` and `make check WEEK={args.week}`")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm901-grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help_, week=True, week_required=False, course=True):
        p = sub.add_parser(name, help=help_)
        if week:
            p.add_argument("--week", "-w", required=week_required, help="lab id, e.g. w02-1 (default: every lab)")
        if course:
            p.add_argument("--course", default=str(DEFAULT_COURSE), help="nbgrader course directory (default build/course)")
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
        p.set_defaults(func=func)
        return p

    add("release", cmd_release, "nbgrader release (+ zip) of a lab")
    add("student", cmd_student, "regenerate weeks/*/student.ipynb from solution.ipynb", course=False)
    g = add("grade", cmd_grade, "grade every <submissions>/<student>/*.ipynb", week_required=True)
    g.add_argument("submissions", help="one sub-folder per student, a course site's folder of named files "
                   "(Canvas, Blackboard), or its bulk-download zip")
    g.add_argument("--roster", default=None, help="the course site's gradebook export (CSV): writes its import "
                   "files to <course>/exports/ and lists who is missing")
    g.add_argument("--no-feedback", action="store_true")
    g.add_argument("--workers", type=int, default=None, help="notebooks run at once (default: one per core)")
    g.add_argument("--scheduler", default=None, help="a Dask scheduler address (tcp://host:8786) to run notebooks on")
    g.add_argument("--force", action="store_true",
                   help="re-grade every submission (default: keep those already graded and unchanged, "
                        "e.g. after an interrupted run)")
    add("feedback", cmd_feedback, "regenerate feedback HTML", week_required=True)
    e = add("export", cmd_export, "write grades.csv from the gradebook (and the course site's import with --roster)")
    e.add_argument("--roster", default=None, help="the course site's gradebook export (CSV); needs --week")
    add("check", cmd_check, "prove a lab healthy through the real grading path", course=False)
    v = add("validate", cmd_validate, "run a notebook's visible tests (student self-check)", week=False, course=False)
    v.add_argument("notebook")
    v.add_argument("--full", action="store_true", help="run everything with FAST=False (the whole experiment)")
    v.add_argument("--experiment", action="store_true",
                   help="also run the cells tagged `experiment` (with FAST=True), which grading skips")
    d = add("demo", cmd_demo, "release a lab, grade bundled samples, print the table", course=False)
    d.set_defaults(week="w02-1")
    d.add_argument("--course", default=str(BUILD / "demo-course"))
    n = add("new-week", cmd_new_week, "scaffold weeks/wNN-K-slug/", week=False, course=False)
    n.add_argument("week", help="e.g. w03-2")
    n.add_argument("slug", help="e.g. diffusion-lm")
    n.add_argument("--title", default="")

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LabNotFound as exc:
        print(f"llm901-grader: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
