"""Run one submission: student cells in the sandboxed kernel, test cells in the grader (judge.py).

This is the only place where a submission's code runs. It never raises for anything the student
did: a cell timeout, a kernel death, a memory bomb or a notebook that runs too long become error
outputs on the affected cells plus a line in the run report, and grading goes on with the next cell
(after restarting the kernel and replaying the cells that had worked, when it died).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import nbformat
from papermill.parameterize import parameterize_notebook

from .judge import LocalStudent, RemoteStudent, judge_cell, new_namespace
from .kernel import KernelDied, StudentKernel
from .notebooks import grade_id, is_test_cell
from .sandbox import SandboxSpec, isolation_level


@dataclass
class Limits:
    cell_seconds: float = 120.0
    notebook_seconds: float = 600.0
    call_seconds: float = 60.0
    test_cell_seconds: float = 180.0
    memory_bytes: int = 3 << 30
    max_processes: int = 256
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


def run_submission(nb, limits: Limits, readonly_paths: list[str], parameters: dict | None = None):
    """Execute `nb` (already laid onto the release) and return (executed notebook, RunReport)."""
    started = time.monotonic()
    deadline = started + limits.notebook_seconds
    nb = inject_parameters(nb, parameters or {"FAST": True, "SEED": 0})
    report = RunReport(isolation=isolation_level())
    spec = SandboxSpec(share_dir="", readonly_paths=list(readonly_paths), memory_bytes=limits.memory_bytes,
                       max_processes=limits.max_processes, max_file_bytes=limits.max_file_bytes,
                       workdir_bytes=limits.workdir_bytes,
                       env={"OMP_NUM_THREADS": str(limits.threads), "MKL_NUM_THREADS": str(limits.threads)})
    kernel: StudentKernel | None = None
    replay: list[str] = []  # sources of the student cells that ran cleanly, for a restart
    namespace = new_namespace()
    execution_count = 0

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
        kernel = start_kernel()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs, cell.execution_count = [], None
            label = _cell_label(index, cell)
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
                                     time_limit=min(limits.test_cell_seconds, max(1.0, deadline - time.monotonic())))
                execution_count += 1
                cell.outputs, cell.execution_count = verdict.outputs, execution_count
                report.tests[grade_id(cell)] = verdict.passed
                if kernel is not None and not kernel.alive():
                    report.problems.append(f"the kernel died during {label}")
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
            elif run.status == "died":
                cell.outputs.append(_error(
                    "KernelDied", "the kernel died while running this cell (it may have exited, crashed, or run "
                    f"out of its {limits.memory_bytes >> 30} GiB of memory); later cells run in a restarted kernel"))
                report.problems.append(f"{label}: the kernel died")
    finally:
        if kernel is not None:
            kernel.shutdown()
    report.seconds = round(time.monotonic() - started, 2)
    return nb, report


def judge_locally(nb, student_namespace: dict, time_limit: float = 120.0) -> dict[str, bool]:
    """Judge every test cell of `nb` against definitions already in `student_namespace`, without a
    kernel. Used by the test suite for the wrong-implementation catalogs."""
    namespace = new_namespace()
    student = LocalStudent(student_namespace)
    results = {}
    for cell in nb.cells:
        if is_test_cell(cell):
            results[grade_id(cell)] = judge_cell(cell.source, grade_id(cell), student, namespace, time_limit).passed
    return results


def report_dict(report: RunReport) -> dict:
    return asdict(report)
