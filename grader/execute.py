"""Run one submission: student cells in the sandboxed kernel, test cells in the grader (judge.py).

This is the only place where a submission's code runs. It never raises for anything the student
did: a cell timeout, a kernel death, a memory bomb or a notebook that runs too long become error
outputs on the affected cells plus a line in the run report, and grading goes on with the next cell
(after restarting the kernel and replaying the cells that had worked, when it died).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import multiprocessing.util
import signal
import threading
import time
from dataclasses import asdict, dataclass, field

import nbformat
from papermill.parameterize import parameterize_notebook

from .diagnosis import DEFAULT_SECONDS, STARTUP_SECONDS, diagnoser_for, hint_output
from .judge import LocalStudent, RemoteStudent, judge_cell, new_namespace
from .kernel import KernelDied, StudentKernel
from .notebooks import grade_id, is_solution_cell, is_test_cell
from .sandbox import SandboxSpec, isolation_level


@dataclass
class Limits:
    cell_seconds: float = 120.0
    notebook_seconds: float = 600.0
    call_seconds: float = 60.0
    test_cell_seconds: float = 180.0
    memory_bytes: int = 3 << 30  # per process (RLIMIT_AS)
    max_processes: int = 256  # per process tree of the sandbox's uid (RLIMIT_NPROC)
    total_memory_bytes: int = 4 << 30  # all the submission's processes and tmpfs (its cgroup; 0: none)
    max_pids: int = 512  # tasks in its cgroup at once
    max_file_bytes: int = 256 << 20
    workdir_bytes: int = 512 << 20
    threads: int = 2
    max_restarts: int = 2


@dataclass
class RunReport:
    seconds: float = 0.0
    isolation: str = ""
    restarts: int = 0
    problems: list[str] = field(default_factory=list)
    tests: dict[str, bool] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # experiment cells not run (see is_experiment_cell)
    # failed test cell -> catalogued mistakes the student's functions behave like (diagnosis.py), best first
    diagnoses: dict[str, list] = field(default_factory=dict)
    diagnosis_seconds: float = 0.0  # wall time spent diagnosing (after the verdicts)
    prestarted: bool = False  # the first kernel was started while the previous submission ran


# --- the experiment: what grading does not run --------------------------------------------------
# A lab's experiment (training runs, sweeps, figures) is most of its run time, and no score depends
# on it: test cells are judged in the grader and call the student's functions, never the experiment's
# variables. Its code cells carry the cell tag `experiment`; grading a submission skips them and says
# so in the cell's output (hence in the feedback). `make check` still runs the solution's experiment.
EXPERIMENT_TAG = "experiment"
SKIPPED_NOTE = (
    "[not run by the grader: this cell is part of the lab's experiment (cell tag `experiment`). No test "
    "depends on it, so grading skips it to save time; run the notebook yourself to see its results.]\n"
)


def is_experiment_cell(cell) -> bool:
    """A code cell tagged `experiment` that is neither an answer nor a test cell (those always run)."""
    tags = cell.get("metadata", {}).get("tags") or []
    return (cell.get("cell_type") == "code" and isinstance(tags, list) and EXPERIMENT_TAG in tags
            and not is_test_cell(cell) and not is_solution_cell(cell))


def inject_parameters(nb, parameters: dict):
    """papermill's own injection: a cell tagged 'injected-parameters' after the 'parameters' cell."""
    nb = copy.deepcopy(nb)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "language": "python", "display_name": "Python 3"})
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # papermill looks for tags on every cell
    return parameterize_notebook(nb, parameters, kernel_name="python3", language="python")


def _error(ename: str, evalue: str):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _cell_label(index: int, cell) -> str:
    return grade_id(cell) or f"cell {index + 1}"


def sandbox_spec(limits: Limits, readonly_paths: list[str]) -> SandboxSpec:
    """A fresh spec (no uid, no share dir yet): one per submission, never shared between two."""
    return SandboxSpec(share_dir="", readonly_paths=list(readonly_paths), memory_bytes=limits.memory_bytes,
                       max_processes=limits.max_processes, max_file_bytes=limits.max_file_bytes,
                       workdir_bytes=limits.workdir_bytes, cgroup_memory_bytes=limits.total_memory_bytes,
                       cgroup_pids=limits.max_pids, cgroup_cpus=float(limits.threads),
                       env={"OMP_NUM_THREADS": str(limits.threads), "MKL_NUM_THREADS": str(limits.threads)})


def run_submission(nb, limits: Limits, readonly_paths: list[str], parameters: dict | None = None,
                   skip_experiment: bool = False, prestart_next: bool = False, diagnosis: dict | None = None):
    """Execute `nb` (already laid onto the release) and return (executed notebook, RunReport).

    `skip_experiment`: cells tagged `experiment` are not run (grading); `prestart_next`: while this
    submission runs, a fresh sandboxed kernel is started for the next one in this process (see
    `take_spare_kernel`); the first kernel is such a spare when one is waiting. `diagnosis`
    ({"catalog_dir", "week", "solution", "seconds"}): a failed test cell is compared with the lab's
    catalog of mistakes (diagnosis.py) after its verdict."""
    started = time.monotonic()
    deadline = started + limits.notebook_seconds
    nb = inject_parameters(nb, parameters or {"FAST": True, "SEED": 0})
    report = RunReport(isolation=isolation_level())
    spec = sandbox_spec(limits, readonly_paths)
    kernel: StudentKernel | None = None
    replay: list[str] = []  # sources of the student cells that ran cleanly, for a restart
    namespace = new_namespace()
    execution_count = 0
    diagnoser = diagnoser_for(diagnosis)  # started at the first failed test (a passing batch pays nothing)

    def start_kernel() -> StudentKernel | None:
        k = StudentKernel(spec)
        try:
            k.start()
        except KernelDied as exc:
            report.problems.append(f"the kernel could not start: {exc}")
            k.shutdown()
            return None
        for source in replay:
            if time.monotonic() > deadline or k.execute(source, timeout=limits.cell_seconds).status != "ok":
                break
        return k

    try:
        kernel = take_spare_kernel(spec)
        if kernel is not None:
            spec = kernel.spec  # restarts after a death keep this submission's own sandbox uid
            report.prestarted = True
        else:
            kernel = start_kernel()
        if prestart_next:
            start_spare_kernel(sandbox_spec(limits, readonly_paths))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs, cell.execution_count = [], None
            label = _cell_label(index, cell)
            if skip_experiment and is_experiment_cell(cell):
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED_NOTE)]
                report.skipped.append(label)
                continue
            if time.monotonic() > deadline:
                cell.outputs = [_error("NotebookTimeout", f"not run: the notebook's time limit of {limits.notebook_seconds:.0f} s was reached")]
                if is_test_cell(cell):
                    report.tests[grade_id(cell)] = False
                if "notebook time limit" not in " ".join(report.problems):
                    report.problems.append(f"notebook time limit ({limits.notebook_seconds:.0f} s) reached at {label}")
                continue
            if is_test_cell(cell):
                if kernel is None or not kernel.alive():
                    cell.outputs = [_error("KernelDied", "not run: the student's kernel is not running")]
                    report.tests[grade_id(cell)] = False
                    continue
                student = RemoteStudent(kernel, call_timeout=limits.call_seconds)
                verdict = judge_cell(cell.source, grade_id(cell), student, namespace,
                                     time_limit=min(limits.test_cell_seconds, max(1.0, deadline - time.monotonic())),
                                     max_points=float(cell.metadata.get("nbgrader", {}).get("points") or 0) or None)
                execution_count += 1
                cell.outputs, cell.execution_count = verdict.outputs, execution_count
                for output in cell.outputs:
                    if output.get("output_type") == "execute_result":
                        output["execution_count"] = execution_count
                report.tests[grade_id(cell)] = verdict.passed
                if not verdict.passed and diagnoser is not None and verdict.calls:
                    # the verdict is decided: this only explains it, within the cell's own time limit
                    cell_left = min(limits.test_cell_seconds - verdict.seconds, deadline - time.monotonic())
                    budget = min(float(diagnosis.get("seconds", DEFAULT_SECONDS)), cell_left)
                    diagnosis_started = time.monotonic()
                    try:  # once per grading process, the first failed cell also waits for the lab's namespace
                        matches = diagnoser.diagnose(verdict.calls, budget, startup_seconds=min(STARTUP_SECONDS, cell_left - budget))
                    except Exception:  # noqa: BLE001 -- an explanation that fails is no explanation
                        matches = []
                    report.diagnosis_seconds = round(report.diagnosis_seconds + time.monotonic() - diagnosis_started, 3)
                    if matches:
                        report.diagnoses[grade_id(cell)] = matches
                        shown = hint_output(matches)
                        if shown is not None:
                            cell.outputs.append(shown)
                if kernel is not None and not kernel.alive():
                    report.problems.append(f"{kernel.memory_limit_text} exceeded in {label}" if kernel.memory_exceeded
                                           else f"the kernel died during {label}")
                if kernel is not None:
                    report.problems.extend(f"{note} in {label}" for note in kernel.limit_notes())
                continue
            if not cell.source.strip():
                continue
            if kernel is None or not kernel.alive():
                if report.restarts >= limits.max_restarts:
                    cell.outputs = [_error("KernelDied", "not run: the kernel died too often")]
                    continue
                report.restarts += 1
                kernel = start_kernel()
                if kernel is None:
                    cell.outputs = [_error("KernelDied", "not run: the kernel could not be restarted")]
                    continue
            run = kernel.execute(cell.source, timeout=min(limits.cell_seconds, max(1.0, deadline - time.monotonic())))
            execution_count += 1
            cell.outputs, cell.execution_count = run.outputs, execution_count
            if run.status == "ok":
                replay.append(cell.source)
            elif run.status == "timeout":
                cell.outputs.append(_error("CellTimeoutError", f"this cell ran longer than {limits.cell_seconds:.0f} s and was stopped"))
                report.problems.append(f"{label}: cell timeout ({limits.cell_seconds:.0f} s)")
            elif run.status == "died" and kernel.memory_exceeded:
                cell.outputs.append(_error(
                    "MemoryLimitExceeded", f"{kernel.memory_limit_text} exceeded in this cell: your processes "
                    "together (with the files they wrote in the notebook's folders) used more memory than a "
                    "submission may; the kernel was stopped and later cells run in a restarted kernel"))
                report.problems.append(f"{kernel.memory_limit_text} exceeded in {label}")
            elif run.status == "died":
                cell.outputs.append(_error(
                    "KernelDied", "the kernel died while running this cell (it may have exited, crashed, or run "
                    f"out of its {limits.memory_bytes >> 30} GiB of memory); later cells run in a restarted kernel"))
                report.problems.append(f"{label}: the kernel died")
            report.problems.extend(f"{note} in {label}" for note in kernel.limit_notes())
    finally:
        if kernel is not None:
            kernel.shutdown()
    report.seconds = round(time.monotonic() - started, 2)
    return nb, report


# --- a kernel started ahead of time ----------------------------------------------------------------
# Starting a sandboxed kernel (launcher, namespaces, ipykernel and its imports) takes seconds of wall
# time in which the submission cannot run. With prestart, the process that grades submission k starts
# a *fresh* kernel for submission k+1 in a background thread, and k+1 takes it when its spec (limits,
# read-only paths, environment) is the same; otherwise it is shut down and a kernel starts as before.
# Isolation is unchanged: the spare has its own SandboxSpec (own uid, own share dir, own namespaces),
# has run nothing, and is used by exactly one submission; a kernel is never reused. A spare left over
# is shut down by `discard_spare_kernel` (the batch calls it at its end, and worker processes at exit).
_spare_lock = threading.Lock()
_spare: dict = {"kernel": None, "thread": None, "key": None}
_spare_finaliser = None


def _spec_key(spec: SandboxSpec) -> str:
    fields = asdict(spec)
    fields.pop("share_dir"), fields.pop("uid")
    return json.dumps(fields, sort_keys=True)


def start_spare_kernel(spec: SandboxSpec) -> None:
    """Start a fresh kernel for the next submission run by this process (replacing any spare)."""
    global _spare_finaliser
    discard_spare_kernel()
    kernel = StudentKernel(dataclasses.replace(spec, share_dir="", uid=None))

    def boot() -> None:
        try:
            kernel.start()
        except Exception:  # noqa: BLE001 -- the next submission then starts its own and reports why
            kernel.shutdown()

    thread = threading.Thread(target=boot, name="llm901-spare-kernel", daemon=True)
    with _spare_lock:
        _spare.update(kernel=kernel, thread=thread, key=_spec_key(spec))
    if _spare_finaliser is None:  # worker processes skip atexit; multiprocessing's finalisers run
        _spare_finaliser = multiprocessing.util.Finalize(None, discard_spare_kernel, exitpriority=100)
    thread.start()


def take_spare_kernel(spec: SandboxSpec) -> StudentKernel | None:
    """The waiting spare if it started and was made for `spec`'s settings, else None."""
    with _spare_lock:
        kernel, thread, key = _spare["kernel"], _spare["thread"], _spare["key"]
        _spare.update(kernel=None, thread=None, key=None)
    if kernel is None:
        return None
    thread.join()
    if key != _spec_key(spec) or not kernel.alive():
        kernel.shutdown()
        return None
    return kernel


def discard_spare_kernel() -> None:
    with _spare_lock:
        kernel, thread = _spare["kernel"], _spare["thread"]
        _spare.update(kernel=None, thread=None, key=None)
    if kernel is not None:
        thread.join()
        kernel.shutdown()


def judge_locally(nb, student_namespace: dict, time_limit: float = 120.0, only=None) -> dict[str, bool]:
    """Judge the test cells of `nb` (those whose grade_id is in `only`, or all) against definitions
    already in `student_namespace`, without a kernel. Used by the test suite for the
    wrong-implementation catalogs. Test cells never share variables, so any subset judges alike."""
    namespace = new_namespace()
    student = LocalStudent(student_namespace)
    results = {}
    for cell in nb.cells:
        if is_test_cell(cell) and (only is None or grade_id(cell) in only):
            results[grade_id(cell)] = judge_cell(cell.source, grade_id(cell), student, namespace, time_limit).passed
    return results


def report_dict(report: RunReport) -> dict:
    return asdict(report)


# --- running submissions elsewhere (worker processes, a Dask cluster) -----------------------------
# nbgrader's autograde does sanitize -> execute -> save grades in one call, and writes the gradebook.
# To run many submissions at once without concurrent gradebook writers, the batch first executes
# every submission in workers (`execute_job`, plain JSON in and out, so it runs on a Dask worker as
# well as in a local process), keeps the results in PRECOMPUTED, and then lets nbgrader autograde
# each submission serially: TrustedExecute finds the result for exactly the same code and uses it
# instead of executing again. Anything that does not match is executed on the spot, so the result
# can never differ from a serial run.
PRECOMPUTED: dict[str, dict] = {}


def code_key(nb, parameters: dict, skip_experiment: bool = False) -> str:
    """What an execution depends on: the code cells' sources, in order, which of them are skipped
    as experiment cells, and the parameters."""
    import hashlib

    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    skipped = [i for i, c in enumerate(nb.cells) if skip_experiment and is_experiment_cell(c)]
    return hashlib.sha256(json.dumps([sources, skipped, parameters], sort_keys=True).encode()).hexdigest()


def with_locked_sources(nb, source_nb):
    """The notebook as nbgrader's OverwriteCells will leave it: locked and test cells take the source
    notebook's text (for test cells: with their hidden blocks)."""
    nb = copy.deepcopy(nb)
    master = {grade_id(c): c for c in source_nb.cells if grade_id(c)}
    for cell in nb.cells:
        ref = master.get(grade_id(cell))
        meta = ref.metadata.get("nbgrader", {}) if ref is not None else {}
        if ref is not None and (meta.get("locked") or meta.get("grade")) and not meta.get("solution"):
            cell.source = ref.source
    return nb


def execute_job(job: dict) -> dict:
    """Run one submission given as plain data; returns plain data (see PRECOMPUTED)."""
    nb = nbformat.reads(job["notebook"], as_version=4)
    parameters = job.get("parameters") or {"FAST": True, "SEED": 0}
    limits = Limits(**job.get("limits", {}))
    skip = bool(job.get("skip_experiment", False))
    key = code_key(nb, parameters, skip)
    from .labs import SHARED  # this machine's copy: a Dask worker has its own checkout

    def overdue(signum, frame):
        raise TimeoutError("the grading worker exceeded the notebook time limit")

    # A last guard for the worker itself (the notebook deadline normally ends a run long before).
    previous = signal.signal(signal.SIGALRM, overdue) if threading.current_thread() is threading.main_thread() else None
    if previous is not None:
        signal.alarm(int(limits.notebook_seconds + 120))
    try:
        executed, report = run_submission(nb, limits, [str(SHARED), *job.get("readonly_paths", [])], parameters,
                                          skip_experiment=skip, prestart_next=bool(job.get("prestart", False)),
                                          diagnosis=job.get("diagnosis"))
    finally:
        if previous is not None:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    return {
        "key": key,
        "cells": [nbformat.writes(nbformat.v4.new_notebook(cells=[c])) for c in executed.cells],
        "report": report_dict(report),
        "id": job.get("id"),
    }


def apply_precomputed(nb, parameters: dict, skip_experiment: bool = False):
    """nbgrader's sanitized notebook with a precomputed execution applied, or None when there is none."""
    result = PRECOMPUTED.get(code_key(nb, parameters, skip_experiment))
    if result is None:
        return None
    executed = [nbformat.reads(text, as_version=4).cells[0] for text in result["cells"]]
    target = inject_parameters(nb, parameters)
    if len(executed) != len(target.cells):
        return None
    for mine, theirs in zip(target.cells, executed, strict=True):
        if mine.cell_type != theirs.cell_type or mine.source != theirs.source:
            return None
        if mine.cell_type == "code":
            mine.outputs, mine.execution_count = theirs.outputs, theirs.execution_count
    target.metadata["llm901"] = result["report"]
    return target
