"""A submission's whole footprint is bounded (its cgroup), and a batch survives being killed.

The cgroup tests need root and the memory/pids/cpu controllers (CI, a course server) and skip elsewhere;
the resume tests run anywhere. All use the small fixture lab and low limits, so they stay cheap.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_adversarial import with_extra
from test_sandbox import pids_of_uid, wait_no_pids
from traitlets.config import Config

from fixture_lab import make_fixture_lab
from llm901_grader import cgroups, notebooks
from llm901_grader.batch import GRADED_MARK, grade, safe_student_id
from llm901_grader.course import Course
from llm901_grader.samples import answered
from llm901_grader.sandbox import SandboxSpec, isolation_level, isolation_report, sandbox_argv

REPO = Path(__file__).resolve().parents[1]
FULL = 5.0
needs_cgroups = pytest.mark.skipif(
    cgroups.available() is None,
    reason=f"per-submission cgroups need root and the memory, pids and cpu controllers ({cgroups.why_not()})",
)

# Each child holds 200 MiB (far below the 3 GiB per-process limit); three of them and the kernel
# (~170 MiB with torch) exceed the 512 MiB total of the test configuration.
THREE_PROCESSES = """\
import os, time
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytes([1]) * (200 << 20)
        time.sleep(60)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print('all three finished')
"""
MANY_SLEEPERS = """\
import os, signal, time
sleepers = []
try:
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        sleepers.append(pid)
except OSError as exc:
    print('refused after', len(sleepers), exc)
for pid in sleepers:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""


def _settings(**extra) -> Config:
    settings = Config()
    settings.TrustedExecute.cell_timeout = 30.0
    settings.TrustedExecute.notebook_timeout = 120.0
    for key, value in extra.items():
        setattr(settings.TrustedExecute, key, value)
    return settings


def _ours_since(paths: list[str], since: float) -> list[str]:
    """Paths created after `since` (another grader on this machine may have its own)."""
    out = []
    for p in paths:
        try:
            if os.stat(p).st_ctime >= since - 1:
                out.append(p)
        except OSError:
            pass
    return out


def _all_groups() -> list[str]:
    layout = cgroups.available()
    if layout is None:
        return []
    return [os.path.join(root, n) for root in layout.hierarchies() for n in os.listdir(root)
            if n.startswith(cgroups.GROUP_PREFIX)]


def _all_share_dirs() -> list[str]:
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    return [str(p) for p in tmp.glob(f"{cgroups.SHARE_DIR_PREFIX}*")]


def test_isolation_report_says_whether_the_total_is_bounded():
    report = isolation_report(SandboxSpec(share_dir="/nonexistent"))
    assert "no cgroup" in report
    bounded = isolation_report(SandboxSpec(share_dir="/nonexistent", cgroup_procs=["x"], cgroup_memory_bytes=4 << 30,
                                           cgroup_pids=512))
    if "strict" in bounded.splitlines()[1]:
        assert "own cgroup: 4 GiB of RAM for all its processes together" in bounded


@pytest.mark.skipif(isolation_level() != "strict", reason="strict sandbox needs root with namespace rights")
def test_the_sandbox_dies_with_the_grader(tmp_path):
    """A grader killed with SIGKILL cannot stop its kernels: each launcher watches the process that
    started it and takes its sandbox down when that process is gone."""
    share = Path(tempfile.mkdtemp(prefix="llm901-t-"))
    try:
        spec = SandboxSpec(share_dir=str(share))
        argv = sandbox_argv([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(120)"], spec)
        grader = subprocess.Popen(
            [sys.executable, "-c", "import subprocess, sys, time\n"
             f"p = subprocess.Popen({argv!r}, start_new_session=True)\ntime.sleep(120)"],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert grader.stdout.readline().strip() == "ready"
        assert pids_of_uid(spec.uid)
        os.kill(grader.pid, signal.SIGKILL)
        grader.wait()
        assert wait_no_pids(spec.uid, timeout=10.0) == []
    finally:
        shutil.rmtree(share, ignore_errors=True)


@pytest.fixture(scope="module")
def limited_batch(tmp_path_factory):
    if cgroups.available() is None:
        pytest.skip(f"per-submission cgroups need root and the memory, pids and cpu controllers ({cgroups.why_not()})")
    base = tmp_path_factory.mktemp("limits")
    lab = make_fixture_lab(base / "labs")
    good = answered(lab)
    subs = base / "subs"
    notebooks.write(good, subs / "correct" / "a.ipynb")
    notebooks.write(with_extra(good, THREE_PROCESSES), subs / "three processes" / "a.ipynb")
    notebooks.write(with_extra(good, MANY_SLEEPERS), subs / "many sleepers" / "a.ipynb")
    started = time.time()
    course = Course(base / "course", _settings(total_memory_mb=512, max_pids=64))
    # two workers: the hostile submissions run at the same time as the correct one
    result = grade(lab, subs, course, progress=False, workers=2)
    return lab, course, result, started


@needs_cgroups
def test_processes_together_over_the_memory_limit(limited_batch):
    lab, course, result, _ = limited_batch
    by = {s.folder: s for s in result.students}
    assert by["correct"].score == FULL and not by["correct"].notes
    hog = by["three processes"]
    assert any(n.startswith("memory limit (512 MiB) exceeded in cell ") for n in hog.notes), hog.notes
    assert hog.score == FULL, "the rest of the notebook is graded in a restarted kernel"
    executed = notebooks.read(course.autograded_notebook(lab, safe_student_id("three processes")))
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert [o["ename"] for o in errors] == ["MemoryLimitExceeded"]
    assert "all three finished" not in str([c.outputs for c in executed.cells if c.cell_type == "code"])
    html = course.feedback_html(lab, safe_student_id("three processes")).read_text()
    assert "memory limit (512 MiB) exceeded in this cell" in html


@needs_cgroups
def test_many_sleeping_processes_hit_the_pids_limit(limited_batch):
    lab, course, result, _ = limited_batch
    sleepers = next(s for s in result.students if s.folder == "many sleepers")
    assert sleepers.score == FULL
    assert any(n.startswith("process limit (64 tasks) reached in cell ") for n in sleepers.notes), sleepers.notes
    executed = notebooks.read(course.autograded_notebook(lab, safe_student_id("many sleepers")))
    text = str([c.outputs for c in executed.cells if c.cell_type == "code"])
    assert "refused after" in text
    refused = int(text.split("refused after ")[1].split()[0])
    assert refused < 64


@needs_cgroups
def test_a_normal_run_leaves_no_cgroup_or_share_dir(limited_batch):
    _, _, _, started = limited_batch
    assert _ours_since(cgroups.stale_groups(), started) == []
    assert _ours_since(cgroups.stale_share_dirs(), started) == []
    mine = f"{os.getpid()}-"
    assert not [g for g in _all_groups() if os.path.basename(g).startswith(cgroups.GROUP_PREFIX + mine)]
    assert not [d for d in _all_share_dirs() if os.path.basename(d).startswith(cgroups.SHARE_DIR_PREFIX + mine)]


# --- resuming a killed batch ------------------------------------------------------------------------------


def _scores(result) -> dict:
    return {s.folder: (s.score, s.tests) for s in result.students}


@pytest.fixture(scope="module")
def resume_case(tmp_path_factory):
    base = tmp_path_factory.mktemp("resume")
    lab = make_fixture_lab(base / "labs")
    subs = base / "subs"
    notebooks.write(answered(lab), subs / "a correct" / "a.ipynb")
    notebooks.write(answered(lab, replace={"double": WRONG_DOUBLE}), subs / "b wrong" / "b.ipynb")
    notebooks.write(notebooks.read(lab.student), subs / "c untouched" / "c.ipynb")
    (subs / "d broken").mkdir()
    (subs / "d broken" / "d.ipynb").write_text("{")
    return lab, subs, base


WRONG_DOUBLE = "def double(x):\n    return x + 1"
EXECUTED = {safe_student_id(f) for f in ("a correct", "b wrong", "c untouched")}


def _marked(course_root: Path, lab) -> set[str]:
    return {p.parent.parent.name for p in (course_root / "autograded").glob(f"*/{lab.week}/{GRADED_MARK}")}


def test_a_killed_batch_resumes_where_it_stopped(resume_case):
    lab, subs, base = resume_case
    course_root = base / "killed"
    started = time.time()
    # the TA's command (default settings: what a result depends on must be the same in both runs)
    argv = [sys.executable, "-m", "llm901_grader.cli", "grade", "--week", str(lab.path), "--course", str(course_root),
            "--workers", "1", "--quiet", "--no-feedback", str(subs)]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not _marked(course_root, lab) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the grader and everything in its session, at once
        proc.wait()
    done_before = _marked(course_root, lab)
    assert 1 <= len(done_before) < len(EXECUTED), f"the kill came too late to test anything: {done_before}"
    mtimes = {sid: course_root.joinpath("autograded", sid, lab.week, lab.notebook_file).stat().st_mtime
              for sid in done_before}

    # the same command again (in-process here, to look at the result)
    course = Course(course_root)
    resumed = grade(lab, subs, course, progress=False, workers=1, feedback=False)
    assert set(resumed.resumed) == done_before
    assert {s.student_id for s in resumed.students if s.seconds > 0} == EXECUTED - done_before
    for sid, mtime in mtimes.items():
        assert course_root.joinpath("autograded", sid, lab.week, lab.notebook_file).stat().st_mtime == mtime

    # every student once, with the scores and notes of an uninterrupted run
    db = sqlite3.connect(str(course_root / "gradebook.db"))
    assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == 4
    assert db.execute("select count(*) from student").fetchone()[0] == 4
    uninterrupted = grade(lab, subs, Course(base / "uninterrupted"), progress=False, workers=1, feedback=False)
    assert _scores(resumed) == _scores(uninterrupted)
    assert {s.folder: s.notes for s in resumed.students} == {s.folder: s.notes for s in uninterrupted.students}

    # what the killed run left (its cgroups, share dirs, orphaned kernels) is gone after the re-run
    assert _ours_since(cgroups.stale_groups(), started) == []
    assert _ours_since(cgroups.stale_share_dirs(), started) == []

    # a changed file is graded again, the others are kept; --force grades again what did not change
    notebooks.write(answered(lab), subs / "b wrong" / "b.ipynb")
    changed = grade(lab, subs, course, progress=False, workers=1, feedback=False)
    assert set(changed.resumed) == EXECUTED - {safe_student_id("b wrong")}
    assert next(s for s in changed.students if s.folder == "b wrong").score == FULL
    one = base / "one"
    (one / "a correct").mkdir(parents=True)
    (one / "a correct" / "a.ipynb").write_bytes((subs / "a correct" / "a.ipynb").read_bytes())
    forced = grade(lab, one, course, progress=False, workers=1, feedback=False, force=True)
    assert forced.resumed == [] and forced.students[0].seconds > 0 and forced.students[0].score == FULL
