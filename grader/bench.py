"""`make bench`: how fast the grader is against plain nbgrader, on synthetic submissions of one lab.

Modes, each in its own process so that its peak memory can be read off:
  bare       each submission's answers with the lab's full test cells (hidden ones included), run
             in a plain kernel with nbclient, every cell even after an error: the notebook's own
             compute, what any grader has to execute; the overhead column is measured above it
  nbgrader   stock `nbgrader autograde` (its Execute, no sandbox, no judge), serial
  serial     our grader, one notebook at a time
  parallel   our grader, one worker per core
  dask       our grader on a 2-worker LocalCluster
  before     `parallel` with the experiment cells run and no pre-started kernel (the grader before #27)
  skip       `parallel` with the experiment cells skipped, no pre-started kernel
  after      `parallel` as configured by default: experiment cells skipped, next kernel pre-started
`--modes before,skip,after --week all` compares the last three on every lab, back to back per lab.
Every mode grades the same N submissions (a mix of correct, wrong and unanswered ones, with
FAST=True injected for the modes that do not inject it themselves). The numbers are ratios from
one run on one machine, not promises.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import notebooks
from .labs import BUILD, all_labs, find_lab
from .samples import answered, answers

MODES = ("bare", "nbgrader", "serial", "parallel", "dask")
COMPARE_MODES = ("before", "skip", "after")
SETTINGS = {"before": {"TrustedExecute": {"skip_experiment": False, "prestart_kernel": False}},
            "skip": {"TrustedExecute": {"skip_experiment": True, "prestart_kernel": False}}}
COMPARE_HEADING = "# Grading benchmark: experiment cells skipped and kernels pre-started (before / after)"


def make_submissions(lab, out: Path, n: int) -> None:
    """n submissions cycling through correct, one answer wrong, half unanswered, untouched."""
    ids = list(answers(lab))
    kinds = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            nb = answered(lab)
        elif kind == 1:
            nb = answered(lab, replace={ids[i % len(ids)]: answers(lab)[ids[i % len(ids)]].replace("return", "return 0 *", 1)})
        elif kind == 2:
            nb = answered(lab, keep_unanswered=set(ids[len(ids) // 2 :]))
        else:
            nb = notebooks.read(lab.student)
        kinds.append(kind)
        notebooks.write(nb, out / f"student{i:03d}" / "lab.ipynb")


def _peak_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"grader_mb": round(own), "largest_child_mb": round(children)}


def run_mode(mode: str, week: str, subs: Path, work: Path) -> dict:
    lab = find_lab(week)
    started = time.monotonic()
    scores: dict[str, float] = {}
    if mode == "bare":
        # The notebook's own compute, as any grader must run it: the submission's answers with the
        # lab's full test cells (hidden tests included), every cell executed even after an error,
        # in a plain kernel with nothing of the grading machinery around it.
        from nbclient import NotebookClient

        from .execute import inject_parameters

        for path in sorted(subs.glob("*/lab.ipynb")):
            submitted = {notebooks.grade_id(c): c.source for c in notebooks.read(path).cells if notebooks.grade_id(c)}
            nb = notebooks.read(lab.solution)
            for cell in nb.cells:
                if notebooks.is_solution_cell(cell):
                    cell.source = submitted.get(notebooks.grade_id(cell), cell.source)
            nb = inject_parameters(nb, {"FAST": True, "SEED": 0})
            NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=600,
                           resources={"metadata": {"path": str(work)}}).execute()
    elif mode == "nbgrader":
        from .course import Course
        from .execute import inject_parameters

        course = Course(work / "stock")
        course.release(lab)
        # stock configuration: nbgrader's own autograde preprocessors
        (course.root / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.course_id = 'llm901'\n"
                                                          f"c.CourseDirectory.root = {str(course.root)!r}\n")
        for path in sorted(subs.glob("*/lab.ipynb")):
            nb = inject_parameters(notebooks.read(path), {"FAST": True, "SEED": 0})
            notebooks.write(nb, course.submitted_notebook(lab, path.parent.name))
        subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", lab.week, "--force"],
                       cwd=course.root, check=False, capture_output=True)
        from nbgrader.api import Gradebook

        with Gradebook(course.gradebook_url, "llm901") as gb:
            for sub in gb.assignment_submissions(lab.week):
                scores[sub.student.id] = float(sub.score)
    else:
        from traitlets.config import Config

        from .batch import grade
        from .course import Course

        course = Course(work / mode, settings=Config(SETTINGS[mode]) if mode in SETTINGS else None)
        course.release(lab)
        kwargs: dict = {"workers": 1} if mode == "serial" else {"workers": os.cpu_count() or 2}
        cluster = None
        if mode == "dask":
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            kwargs = {"scheduler": cluster.scheduler_address}
        try:
            result = grade(lab, subs, course, progress=False, feedback=False, **kwargs)
        finally:
            if cluster is not None:
                cluster.close()
        scores = {s.folder: s.score for s in result.students}
        execution = [s.seconds for s in result.students]
        return {"mode": mode, "seconds": round(time.monotonic() - started, 1), "scores": scores,
                "mean_execution": round(sum(execution) / max(len(execution), 1), 2), **_peak_mb()}
    return {"mode": mode, "seconds": round(time.monotonic() - started, 1), "scores": scores, **_peak_mb()}


def _run_mode_in_subprocess(week: str, mode: str, work: Path) -> dict | None:
    """One mode in a fresh process (so that no mode inherits another's imports or caches); its JSON row,
    or None (with its stderr printed) when it failed."""
    print(f"bench: {week} {mode} ...", flush=True)
    done = subprocess.run([sys.executable, "-m", "llm901_grader.bench", "--week", week, "--run-mode", mode,
                           "--work", str(work)], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:])
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(weeks: list[str], n: int, out: Path) -> str:
    """`before` and `after`, back to back on each lab, on the same N submissions; a Markdown report
    (also written to `out` after each lab, so that an interrupted run keeps what it measured)."""
    rows: list[dict] = []
    for week in weeks:
        lab = find_lab(week)
        work = BUILD / "bench" / lab.week
        if work.exists():
            shutil.rmtree(work)
        make_submissions(lab, work / "subs", n)
        row = {"lab": lab.name, "load": [os.getloadavg()[0]]}
        for mode in COMPARE_MODES:
            result = _run_mode_in_subprocess(lab.week, mode, work)
            if result is None:
                continue
            row[mode] = result
            row["load"].append(os.getloadavg()[0])
        rows.append(row)
        _write_section(out, compare_report(rows, n))
    return compare_report(rows, n)


def _write_section(out: Path, text: str) -> None:
    """`text` first, then the sections of earlier runs of the other modes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = out.read_text() if out.exists() else ""
    sections = re.split(r"(?m)^(?=# )", previous)
    kept = "".join(sec for sec in sections if sec.strip() and not sec.startswith(COMPARE_HEADING))
    out.write_text(text + ("\n" + kept if kept else ""))


def compare_report(rows: list[dict], n: int) -> str:
    modes = [m for m in COMPARE_MODES if any(m in row for row in rows)]
    lines = [
        f"{COMPARE_HEADING}, {n} synthetic submissions per lab",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; run "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make bench MODES={','.join(modes)} WEEK=... N={n}`. "
        "Every mode grades with one worker per core (`make grade`'s default). before: experiment cells run, each "
        "kernel started when its submission starts; skip: experiment cells skipped; after (the default): "
        "skipped and the next kernel pre-started. s / submission = wall time / N; execution = the mean time "
        "a submission spent in a worker (kernel start, cells, tests).",
        "",
        "| lab | " + " | ".join(f"{m}: wall (s)" for m in modes) + " | " + " | ".join(f"{m}: s / submission" for m in modes)
        + " | speed-up after vs before | mean execution (s), " + " → ".join(modes) + " | scores identical "
        "| 1-min load at the start and after each mode |",
        "|---|" + "---|" * (2 * len(modes) + 4),
    ]
    for row in rows:
        got = [row.get(m) for m in modes]
        if not all(got):
            lines.append(f"| {row['lab']} | failed |" + " |" * (2 * len(modes) + 3))
            continue
        same = "yes" if all(g["scores"] == got[0]["scores"] for g in got) else "NO"
        speed = f"{row['before']['seconds'] / max(row['after']['seconds'], 1e-9):.2f}×" if "before" in row and "after" in row else "–"
        lines.append(f"| {row['lab']} | " + " | ".join(str(g["seconds"]) for g in got) + " | "
                     + " | ".join(f"{g['seconds'] / n:.1f}" for g in got) + f" | {speed} | "
                     + " → ".join(str(g["mean_execution"]) for g in got)
                     + f" | {same} | {', '.join(f'{x:.1f}' for x in row['load'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm901_grader.bench", description=__doc__)
    parser.add_argument("--week", default="w02-1")
    parser.add_argument("-n", type=int, default=40)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", default="bench/results.md")
    parser.add_argument("--run-mode", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_mode:  # a child process: one mode, JSON on stdout
        print(json.dumps(run_mode(args.run_mode, args.week, Path(args.work) / "subs", Path(args.work))))
        return 0

    if set(args.modes.split(",")) <= set(COMPARE_MODES):
        weeks = [lab.week for lab in all_labs()] if args.week == "all" else args.week.split(",")
        print(compare(weeks, args.n, Path(args.out)))
        return 0
    lab = find_lab(args.week)
    load_before = os.getloadavg()[0]
    work = BUILD / "bench"
    if work.exists():
        shutil.rmtree(work)
    make_submissions(lab, work / "subs", args.n)
    rows = []
    for mode in args.modes.split(","):
        result = _run_mode_in_subprocess(args.week, mode, work)
        if result is not None:
            rows.append(result)
    by = {r["mode"]: r for r in rows}
    n = args.n
    bare = by.get("bare", {}).get("seconds")
    lines = [
        f"# Grading benchmark: {lab.week}, {n} synthetic submissions",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; run {time.strftime('%Y-%m-%d')} by `make bench`; "
        f"1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| mode | wall time (s) | submissions / min | overhead / submission above bare (s) | grader peak (MB) | largest child peak (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        serial_mode = r["mode"] in ("nbgrader", "serial")  # overhead is a serial figure; parallel modes divide the work
        overhead = f"{(r['seconds'] - bare) / n:.2f}" if bare is not None and serial_mode else "–"
        lines.append(f"| {r['mode']} | {r['seconds']} | {60 * n / max(r['seconds'], 1e-9):.1f} | {overhead} | "
                     f"{r['grader_mb']} | {r['largest_child_mb']} |")
    if "nbgrader" in by and "parallel" in by:
        lines += ["", f"Speed-up of `parallel` over stock serial nbgrader: {by['nbgrader']['seconds'] / by['parallel']['seconds']:.2f}×."]
    if "serial" in by:
        same = all(by[m]["scores"] == by["serial"]["scores"] for m in ("parallel", "dask") if m in by)
        lines.append(f"Scores of parallel and Dask runs identical to our serial run: {'yes' if same else 'NO'}.")
    if "nbgrader" in by and "serial" in by:
        ours, stock = by["serial"]["scores"], by["nbgrader"]["scores"]
        differ = sorted(k for k in ours if abs(ours[k] - stock.get(k, -1)) > 1e-9)
        lines.append(f"Students whose score differs between stock nbgrader and ours: {len(differ)} "
                     "(expected 0 for honest submissions).")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
