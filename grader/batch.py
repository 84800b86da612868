"""Grade a class: collect submissions, lay them onto the release, autograde with nbgrader (our
TrustedExecute inside), then feedback, the grades CSV, a summary figure and a table.

Nothing a single submission contains can stop the batch: every per-student failure becomes a zero
for exactly the affected parts and a reason in the table.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from tqdm.auto import tqdm

from . import cgroups, notebooks
from .course import Course
from .execute import PRECOMPUTED, discard_spare_kernel, execute_job, with_locked_sources
from .labs import Lab
from .sites import NOT_STUDENTS


@dataclass
class Submission:
    folder: str  # the folder name as the course site wrote it
    student_id: str  # a safe nbgrader id derived from it
    notebook: Path | None = None
    notes: list[str] = field(default_factory=list)
    problem: str = ""  # set when nothing could be graded
    site: dict = field(default_factory=dict)  # what the course site said: site_id, timestamp, ...

    def timestamp(self) -> str | None:
        """The submission time nbgrader records: the site's, else the notebook file's modification time."""
        if self.site.get("timestamp"):
            when = datetime.fromisoformat(self.site["timestamp"]).astimezone(UTC)
        elif self.notebook is not None and self.notebook.exists():
            when = datetime.fromtimestamp(self.notebook.stat().st_mtime, UTC)
        else:
            return None
        return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


@dataclass
class StudentResult:
    folder: str
    student_id: str
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    tests: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # integrity flags, for a person to look at; no score changed
    raw_score: float = 0.0  # before a late penalty
    needs_manual_grade: bool = False  # written answers wait for a TA (formgrader)
    late: str = ""  # how late and the penalty, when the lab has a due date
    site: dict = field(default_factory=dict)
    diagnoses: dict[str, list[str]] = field(default_factory=dict)  # failed test -> catalogued mistakes, best first


@dataclass
class BatchResult:
    lab: Lab
    course: Course
    students: list[StudentResult]
    max_score: float
    test_max: dict[str, float]
    manual_max: float = 0.0  # points of the written questions, graded by a TA in formgrader
    csv: Path | None = None
    figure: Path | None = None
    seconds: float = 0.0
    workers: int = 1  # 0: a Dask cluster
    resumed: list[str] = field(default_factory=list)  # student ids graded by an earlier run, not run again
    integrity: object = None  # integrity.IntegrityReport
    layout: str = "folders"  # how the submissions came (sites.collect_site)
    collection: list[str] = field(default_factory=list)  # files nothing was graded from, and why
    site_export: object = None  # sites.SiteExport, when a roster was given
    feedback_packages: Path | None = None
    mistakes: Path | None = None  # reports/<week>-mistakes.json
    manual_cells: list[str] = field(default_factory=list)  # grade ids of the written questions

    @property
    def auto_max(self) -> float:
        """The points the batch itself can give (the written questions' wait for a TA)."""
        return self.max_score - self.manual_max

    @property
    def problems(self) -> list[str]:
        return [f"{s.folder}: {n}" for s in self.students for n in s.notes]


# --- collecting -------------------------------------------------------------------------------
SAFE_ID_RE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_student_id(folder: str) -> str:
    """An nbgrader student id from whatever the course site named the folder (spaces, unicode, dots)."""
    ascii_name = unicodedata.normalize("NFKD", folder).encode("ascii", "ignore").decode()
    sid = SAFE_ID_RE.sub("_", ascii_name).strip("._-") or "student"
    if sid != folder:
        sid = f"{sid}-{hashlib.sha1(folder.encode('utf-8', 'surrogateescape')).hexdigest()[:6]}"
    return sid[:64]


def _lab_match(path: Path, ids: set[str]) -> int:
    try:
        nb, _ = notebooks.load_untrusted(path)
    except notebooks.BadNotebook:
        return -1
    return len({notebooks.grade_id(c) for c in nb.cells} & ids)


def collect(submissions: Path, release_ids: set[str]) -> list[Submission]:
    out: list[Submission] = []
    taken: set[str] = set()
    for folder in sorted(submissions.iterdir(), key=lambda p: p.name):
        name = folder.name
        if name in NOT_STUDENTS:
            continue
        sid = safe_student_id(name)
        while sid in taken:
            sid = f"{sid}_"
        taken.add(sid)
        sub = Submission(name, sid)
        out.append(sub)
        if folder.is_symlink() or not folder.is_dir():
            sub.problem = "not a folder of notebooks (files must be under <submissions>/<student>/)"
            continue
        candidates = [
            p for p in folder.rglob("*.ipynb")
            if ".ipynb_checkpoints" not in p.parts and not p.is_symlink() and p.is_file()
        ]  # fmt: skip
        if not candidates:
            sub.problem = "no .ipynb file in the folder"
            continue
        if len(candidates) > 1:
            # the notebook that holds most of this lab's cells, then the newest
            ranked = sorted(candidates, key=lambda p: (_lab_match(p, release_ids), p.stat().st_mtime, p.name))
            sub.notebook = ranked[-1]
            sub.notes.append(f"{len(candidates)} notebooks in the folder; graded {sub.notebook.relative_to(folder)}")
        else:
            sub.notebook = candidates[0]
    return out


# --- grading ----------------------------------------------------------------------------------
def _zero_submission(course: Course, lab: Lab, student_id: str) -> None:
    """A submission with nothing gradable: recorded in the gradebook with zero on every cell."""
    with Gradebook(course.gradebook_url, course.coursedir.course_id) as gb:
        gb.update_or_create_student(student_id)
        submission = gb.update_or_create_submission(lab.week, student_id)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.manual_score = None
                grade.needs_manual_grade = False
        gb.db.commit()


def _stage(course: Course, lab: Lab, release_nb, sub: Submission) -> bool:
    """Write the rebuilt submission into submitted/; False when there is nothing to grade."""
    dest_dir = course.submitted_notebook(lab, sub.student_id).parent
    if dest_dir.exists():
        shutil.rmtree(dest_dir)  # a re-run grades what is submitted now, nothing left from before
    for stale in (course.autograded_notebook(lab, sub.student_id).parent,
                  course.feedback_html(lab, sub.student_id).parent):
        if stale.exists():
            shutil.rmtree(stale)
    if sub.problem or sub.notebook is None:
        return False
    try:
        nb, notes = notebooks.load_untrusted(sub.notebook)
    except notebooks.BadNotebook as exc:
        sub.problem = str(exc)
        return False
    sub.notes.extend(notes)
    rebuilt = notebooks.rebuild_onto_release(release_nb, nb)
    if rebuilt.answered == 0:
        sub.problem = f"none of {lab.week}'s answer cells are in this notebook (another lab's notebook, or cells were re-created)"
        return False
    sub.notes.extend(rebuilt.notes)
    notebooks.write(rebuilt.notebook, course.submitted_notebook(lab, sub.student_id))
    (dest_dir / "timestamp.txt").write_text(sub.timestamp())
    return True


def _autograde(course: Course, lab: Lab, sub: Submission) -> float:
    started = time.monotonic()
    result = course.api.autograde(lab.week, sub.student_id, force=True, create=True)
    if not result.get("success"):
        tail = (result.get("error") or result.get("log") or "").strip().splitlines()[-1:] or ["unknown error"]
        sub.problem = f"nbgrader could not grade the notebook: {tail[0][:300]}"
        _zero_submission(course, lab, sub.student_id)
        return time.monotonic() - started
    executed = course.autograded_notebook(lab, sub.student_id)
    if executed.exists():
        report = notebooks.read(executed).metadata.get("llm901", {})
        sub.notes.extend(report.get("problems", []))
    return time.monotonic() - started


# --- resuming a batch ---------------------------------------------------------------------------
# A run killed half-way (Ctrl-C, kill -9, a reboot) is resumed by running the same command again: a
# student whose graded result is complete and whose file has not changed since is not executed again
# (like nbgrader's own autograde without --force). "Complete" is a mark written beside the autograded
# notebook after nbgrader committed the gradebook and wrote the feedback; it holds a checksum of
# everything the result depends on: the student's file, the lab's source notebook, the grading settings.
GRADED_MARK = ".llm901-graded.json"


def _grading_key(course: Course, lab: Lab, sub: Submission, settings: dict) -> str | None:
    if sub.problem or sub.notebook is None:
        return None  # nothing to execute anyway
    digest = hashlib.sha256()
    for part in (sub.notebook.name.encode("utf-8", "surrogateescape"), sub.notebook.read_bytes(),
                 course.source_notebook(lab).read_bytes(), json.dumps(settings, sort_keys=True).encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _graded_mark(course: Course, lab: Lab, student_id: str) -> Path:
    return course.autograded_notebook(lab, student_id).parent / GRADED_MARK


def _previous_result(course: Course, lab: Lab, sub: Submission, key: str | None, gb: Gradebook) -> dict | None:
    """What the mark of an earlier, complete grading of exactly this submission holds, else None."""
    mark = _graded_mark(course, lab, sub.student_id)
    if key is None or not mark.is_file() or not course.autograded_notebook(lab, sub.student_id).is_file():
        return None
    try:
        data = json.loads(mark.read_text())
        gb.find_submission(lab.week, sub.student_id)
    except (OSError, ValueError, MissingEntry):
        return None
    return data if isinstance(data, dict) and data.get("key") == key else None


def _mark_graded(course: Course, lab: Lab, sub: Submission, key: str | None) -> None:
    if key is None or sub.problem or not course.autograded_notebook(lab, sub.student_id).is_file():
        return
    mark = _graded_mark(course, lab, sub.student_id)
    tmp = mark.with_name(mark.name + ".tmp")
    tmp.write_text(json.dumps({"key": key, "notes": sub.notes}))
    os.replace(tmp, mark)  # atomic: a mark is complete or absent


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def precompute(course: Course, lab: Lab, subs: list[Submission], workers: int, scheduler: str | None,
               progress: bool, on_result=None) -> dict[str, float]:
    """Execute staged submissions concurrently (local processes, or Dask workers at `scheduler`),
    leave each result in execute.PRECOMPUTED and call `on_result(submission)` as it arrives, so that
    nbgrader records it while the workers go on. Returns seconds per student."""
    from .preprocessors import TrustedExecute

    trusted = TrustedExecute(config=course.config)
    settings = trusted.job_settings(workers=workers, week=lab.week)
    source_nb = notebooks.read(course.source_notebook(lab))
    jobs = [
        {"id": sub.student_id, **settings, "skip_experiment": trusted.skips_experiment(sub.student_id),
         "notebook": notebooks.dumps(with_locked_sources(notebooks.read(course.submitted_notebook(lab, sub.student_id)), source_nb))}
        for sub in subs
    ]  # fmt: skip
    for i, job in enumerate(jobs):
        # a spare kernel for the next job of the same worker (execute.py), not after the last ones,
        # and not on a Dask cluster, whose workers this batch does not shut down itself
        job["prestart"] = bool(settings["prestart"] and not scheduler and i < len(jobs) - workers)
    seconds: dict[str, float] = {}
    client = None
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        executor = client.get_executor()
    else:
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
    by_id = {sub.student_id: sub for sub in subs}
    try:
        futures = {executor.submit(execute_job, job): job["id"] for job in jobs}
        bar = tqdm(as_completed(futures), total=len(futures), desc=f"running {lab.week} ({workers if not scheduler else 'dask'})",
                   unit="nb", disable=not progress, dynamic_ncols=True)
        for future in bar:
            sid = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a worker lost: the serial pass executes this one itself
                by_id[sid].notes.append(f"parallel run failed ({type(exc).__name__}); graded serially")
                continue
            PRECOMPUTED[result["key"]] = result
            seconds[sid] = float(result["report"].get("seconds", 0.0))
            if on_result is not None:
                on_result(by_id[sid])
    finally:
        executor.shutdown(wait=True)
        if client is not None:
            client.close()
    return seconds


def grade(lab: Lab, submissions: Path, course: Course, progress: bool = True, feedback: bool = True,
          workers: int | None = None, scheduler: str | None = None, force: bool = False,
          roster: Path | None = None) -> BatchResult:
    """Grade every student under `submissions`: one folder per student, a course site's flat folder
    of named files, or its bulk-download zip (sites.py); `roster` (the site's gradebook export) adds
    the site's import files. With workers > 1 (default: one per core) or a
    Dask `scheduler` address, notebooks execute concurrently; the gradebook is written by this
    process alone, one submission after another. A submission already graded, unchanged, by an
    earlier run (say one that was killed) is kept as it is, unless `force`."""
    started = time.monotonic()
    workers = workers or default_workers()
    # What an earlier, killed run left (its kernels' cgroups and share dirs) goes before this one starts,
    # also when this process has graded before (a kernel's start cleans only once per process).
    try:
        cgroups.clean_stale()
    except OSError:
        pass
    release_path = course.ensure_released(lab)
    release_nb = notebooks.read(release_path)
    release_ids = {notebooks.grade_id(c) for c in release_nb.cells if notebooks.grade_id(c)}
    from . import policy, sites

    collected = sites.collect_site(Path(submissions), course.root / "collected" / lab.week)
    subs = collect(collected.root, release_ids)
    for sub in subs:
        sub.site = collected.site.get(sub.folder, {})
    policy.write_template(course.root)  # a commented course.toml for the TA to fill in
    policy.configure_late_policy(course.config, str(course.root))  # as the file is now, not at Course()
    due = policy.due_date(course.root, lab.week)
    with Gradebook(course.gradebook_url, course.coursedir.course_id) as gb:
        gb.update_or_create_assignment(lab.week, duedate=due)
    from .preprocessors import TrustedExecute

    trusted = TrustedExecute(config=course.config)
    settings = {k: v for k, v in trusted.job_settings(week=lab.week).items() if k != "prestart"}
    late_policy = policy.read_settings(course.root).get("late", {})
    keys = {sub.student_id: _grading_key(course, lab, sub, {**settings, "skip_experiment": trusted.skips_experiment(sub.student_id),
                                                            "timestamp": sub.timestamp(), "due": str(due), "late": late_policy})
            for sub in subs}
    resumed: list[str] = []
    if not force:
        with Gradebook(course.gradebook_url, course.coursedir.course_id) as gb:
            for sub in subs:
                previous = _previous_result(course, lab, sub, keys[sub.student_id], gb)
                if previous is not None:
                    sub.notes = [str(n) for n in previous.get("notes", [])]
                    resumed.append(sub.student_id)
    staged = []
    for sub in subs:
        if sub.student_id in resumed:
            continue
        if _stage(course, lab, release_nb, sub):
            staged.append(sub)
        else:
            _zero_submission(course, lab, sub.student_id)
    recorded: dict[str, float] = {}

    def record(sub: Submission) -> None:
        """nbgrader's autograde (gradebook writes) and feedback, in this process only."""
        recorded[sub.student_id] = _autograde(course, lab, sub)
        if feedback and course.autograded_notebook(lab, sub.student_id).exists():
            course.api.generate_feedback(lab.week, sub.student_id, force=True)
        _mark_graded(course, lab, sub, keys[sub.student_id])  # last: the gradebook has committed

    seconds: dict[str, float] = {}
    try:
        if staged and (workers > 1 or scheduler):
            seconds = precompute(course, lab, staged, workers, scheduler, progress, on_result=record)
        rest = [sub for sub in staged if sub.student_id not in recorded]  # serial, or lost by a worker
        bar = tqdm(rest, desc=f"grading {lab.week}", unit="nb", disable=not progress or not rest, dynamic_ncols=True)
        for sub in bar:
            bar.set_postfix_str(sub.folder[:24])
            record(sub)
    finally:
        PRECOMPUTED.clear()
        discard_spare_kernel()  # the serial pass's spare, if one is left
        from .diagnosis import shutdown_all

        shutdown_all()  # the serial pass's diagnosis subprocess (workers' end with them)
    for sid, spent in recorded.items():
        seconds[sid] = seconds.get(sid, 0.0) + spent
    result = collect_results(course, lab, subs, seconds)
    result.layout, result.collection = collected.layout, collected.messages
    result.integrity = _integrity(course, lab, release_nb, subs, result)
    reports = course.root / "reports"
    sites.write_students(reports / f"{lab.week}-students.json",
                         {s.student_id: {"folder": s.folder, **s.site} for s in subs})
    if feedback:
        result.feedback_packages = course.root / "feedback-packages" / lab.week
        for s in result.students:
            sites.package_feedback(course.feedback_html(lab, s.student_id).parent,
                                   result.feedback_packages / f"{sites.upload_name(s.folder)}.zip")
    if roster is not None:
        rows = [{"folder": s.folder, "student_id": s.student_id, "score": s.score, "max_score": s.max_score,
                 "site": s.site} for s in result.students]
        result.site_export = sites.export_for_site(lab.week, rows, sites.read_roster(Path(roster)),
                                                   course.root / "exports")
    result.csv = export_csv(course)
    result.mistakes = write_mistakes(result)
    from .report import summary_figure

    result.figure = summary_figure(result)
    result.seconds = time.monotonic() - started
    result.workers = workers if not scheduler else 0
    result.resumed = resumed
    (course.root / "reports").mkdir(exist_ok=True)
    problems = {s.folder: s.notes for s in result.students if s.notes}
    if result.collection:
        problems["(not graded: files of the download)"] = result.collection
    (course.root / "reports" / f"{lab.week}-problems.json").write_text(json.dumps(problems, indent=1, ensure_ascii=False))
    return result


def _integrity(course: Course, lab: Lab, release_nb, subs: list[Submission], result: BatchResult):
    """The integrity report over every staged notebook (also those kept from an earlier run)."""
    from .integrity import integrity_report

    staged = {s.student_id: course.submitted_notebook(lab, s.student_id) for s in subs
              if not s.problem and course.submitted_notebook(lab, s.student_id).is_file()}
    report = integrity_report(lab, release_nb, staged, names={s.student_id: s.folder for s in subs},
                              out_dir=course.root / "reports")
    for student in result.students:
        student.flags = report.flags_for(student.student_id)
    return report


def collect_results(course: Course, lab: Lab, subs: list[Submission], seconds: dict[str, float]) -> BatchResult:
    from .policy import describe_lateness

    students = []
    test_max: dict[str, float] = {}
    manual_max = 0.0
    manual_cells: list[str] = []
    with Gradebook(course.gradebook_url, course.coursedir.course_id) as gb:
        assignment = gb.find_assignment(lab.week)
        max_score = float(assignment.max_score)
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                test_max[cell.name] = float(cell.max_score)
                if cell.cell_type == "markdown":
                    manual_max += float(cell.max_score)
                    manual_cells.append(cell.name)
        for sub in subs:
            res = StudentResult(sub.folder, sub.student_id, max_score=max_score, seconds=round(seconds.get(sub.student_id, 0.0), 1),
                                site=sub.site)
            try:
                submission = gb.find_submission(lab.week, sub.student_id)
                res.raw_score = float(submission.score)
                penalty = float(submission.late_submission_penalty or 0.0)
                res.score = res.raw_score - penalty
                res.late = describe_lateness(submission.total_seconds_late, penalty)
                res.needs_manual_grade = bool(submission.needs_manual_grade)
                for nb in submission.notebooks:
                    for g in nb.grades:
                        res.tests[g.name] = float(g.score)
            except MissingEntry:
                sub.problem = sub.problem or "no submission recorded"
            res.notes = ([sub.problem] if sub.problem else []) + sub.notes
            res.diagnoses = _diagnoses(course, lab, sub.student_id)
            students.append(res)
    result = BatchResult(lab, course, students, max_score, test_max, manual_max)
    result.manual_cells = manual_cells
    return result


def _diagnoses(course: Course, lab: Lab, student_id: str) -> dict[str, list[str]]:
    """What diagnosis.py found for a student, from the run report in the autograded notebook."""
    path = course.autograded_notebook(lab, student_id)
    if not path.is_file():
        return {}
    try:
        found = notebooks.read(path).metadata.get("llm901", {}).get("diagnoses", {}) or {}
        return {str(test): [str(m["name"]) for m in matches] for test, matches in found.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def mistakes_report(result: BatchResult, top: int = 5) -> dict:
    """Per test cell: how many students failed it, and the most frequent diagnoses with counts."""
    from collections import Counter

    report = {}
    for test, points in sorted(result.test_max.items()):
        failed = [s for s in result.students if points > 0 and s.tests.get(test, 0.0) < points]
        if not failed or test in result.manual_cells:  # a written answer waits for a TA, it has not failed
            continue
        counts = Counter(name for s in failed for name in s.diagnoses.get(test, [])[:1])
        report[test] = {"failed": len(failed), "diagnosed": sum(1 for s in failed if s.diagnoses.get(test)),
                        "mistakes": [{"name": n, "students": c} for n, c in counts.most_common(top)]}
    return report


def write_mistakes(result: BatchResult) -> Path:
    """COURSE/reports/<week>-mistakes.json and its figure <week>-mistakes.png."""
    reports = result.course.root / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    data = mistakes_report(result)
    target = reports / f"{result.lab.week}-mistakes.json"
    target.write_text(json.dumps(data, indent=1))
    from .report import mistakes_figure

    mistakes_figure(result, data, reports / f"{result.lab.week}-mistakes.png")
    return target


def export_csv(course: Course) -> Path:
    """nbgrader's own CSV export of the whole gradebook."""
    from nbgrader.plugins import CsvExportPlugin

    target = course.root / "grades.csv"
    plugin = CsvExportPlugin(config=course.config)
    plugin.to = str(target)
    with Gradebook(course.gradebook_url, course.coursedir.course_id) as gb:
        plugin.export(gb)
    _add_folder_column(target, course.root / "reports")
    os.chmod(target, 0o600)
    return target


def _add_folder_column(target: Path, reports: Path) -> None:
    """nbgrader's columns, then the submission's folder as the course site named it (the student id
    is a safe form of it), and the site's user id when the site gave one."""
    import csv

    known: dict[tuple[str, str], dict] = {}
    for path in reports.glob("*-students.json"):
        week = path.name.removesuffix("-students.json")
        try:
            for sid, info in json.loads(path.read_text()).items():
                known[(week, sid)] = info
        except (OSError, ValueError):
            continue
    with open(target, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return
    header = rows[0]
    col_a, col_s = header.index("assignment"), header.index("student_id")
    with open(target, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*header, "folder", "site_id"])
        for row in rows[1:]:
            info = known.get((row[col_a], row[col_s]), {})
            w.writerow([*row, info.get("folder", ""), info.get("site_id", "")])


def gradebook_rows(course: Course, week: str) -> list[dict]:
    """Every recorded submission of `week` as the course site export needs it, scores as nbgrader has
    them now (automatic and, once a TA graded in formgrader, manual points; late penalty taken)."""
    students = json.loads((course.root / "reports" / f"{week}-students.json").read_text()) if (
        course.root / "reports" / f"{week}-students.json").is_file() else {}
    rows = []
    with Gradebook(course.gradebook_url, course.coursedir.course_id) as gb:
        assignment = gb.find_assignment(week)
        for submission in assignment.submissions:
            sid = submission.student.id
            info = students.get(sid, {})
            rows.append({"folder": info.get("folder", sid), "student_id": sid,
                         "score": float(submission.score) - float(submission.late_submission_penalty or 0.0),
                         "max_score": float(assignment.max_score), "needs_manual_grade": bool(submission.needs_manual_grade),
                         "site": {k: v for k, v in info.items() if k != "folder"}})
    return sorted(rows, key=lambda r: r["folder"])
