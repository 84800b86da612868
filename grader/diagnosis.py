"""Which catalogued mistake does a failing submission behave like?

Every lab has a catalog of realistic wrong implementations (`tests/catalog/wNN_K.py`, format in
`tests/catalog/__init__.py`). When a test cell fails, judge.py has already recorded the calls it made
to the student's functions, as the plain data that crossed the bridge (arguments and results). Here
each catalog entry whose answer cell defines one of the called functions is called on the same
arguments, in a lab namespace built from the solution with that entry's cell replaced, and compared
with what the student's function returned. An entry that matches on every recorded call is the
diagnosis; several are ranked by how closely they match. It is reported to the TA (table,
`<week>-mistakes.json`) and, as the entry's `hint` (unless `show_hint` is False), under the failed
test in the feedback.

Trust and cost. Catalog and solution code are the course's own: they run in a grader-side subprocess
(`serve`), never in the student's kernel; the student's data reaches it only as validated plain data.
The verdict is decided before any of this runs, so nothing here changes a score. A request has a
deadline (a few seconds, never past the cell's time limit); a subprocess that overruns it is killed.
Catalogs live in the repository only (not in the wheel students get): without one, diagnosis is off.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import bridge

DEFAULT_SECONDS = 5.0  # per failing test cell (and never beyond that cell's own time limit)
# Once per grading process and lab: the subprocess builds the solution's namespace (imports torch, runs
# the setup cells; ~3 CPU-s for w05-1) at the first failed test cell, which may wait this long for it.
STARTUP_SECONDS = 30.0
# Tolerance. The student's result and the entry's are computed on the very same inputs and dtypes, so a
# correct reordering of float32 arithmetic differs by ~1e-6 relative; catalogued mistakes change
# results by far more (a missing factor, a wrong axis, an off-by-one). rtol 1e-4 plus an absolute term
# of 1e-5 of the result's own scale (so near-zero entries of a tensor do not need relative precision)
# accepts the first and separates the second; half precision gets 1e-2.
RTOL, ATOL_OF_SCALE, HALF_RTOL = 1e-4, 1e-5, 1e-2
SEPARATION = 20.0  # see Matcher.diagnose


# --- where catalogs are ---------------------------------------------------------------------------
def default_catalog_dir() -> Path:
    from .labs import REPO

    return REPO / "tests" / "catalog"


def catalog_file(catalog_dir: str | Path, week: str) -> Path:
    return Path(catalog_dir) / f"{week.replace('-', '_')}.py"


def load_catalog(catalog_dir: str | Path, week: str) -> list[dict]:
    """The catalog's entries, or [] when it is absent or cannot be imported (diagnosis is then off)."""
    path = catalog_file(catalog_dir, week)
    if not path.is_file():
        return []
    try:
        spec = importlib.util.spec_from_file_location(f"llm901_catalog_{week.replace('-', '_')}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return [e for e in module.WRONG_IMPLEMENTATIONS if isinstance(e, dict) and e.get("source")]
    except Exception:  # noqa: BLE001 -- a broken catalog switches diagnosis off, never grading
        return []


def defined_functions(source: str) -> set[str]:
    """Top-level functions an answer cell defines (one graded function per answer cell)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def lab_namespace(solution_path: str | Path, replace: dict[str, str] | None = None) -> dict:
    """The solution's setup and answer cells (not its tests, not its experiment), run as a kernel would
    with FAST=True, answer cells by grade_id in `replace` substituted: what `tests/test_catalogs.py`'s
    `student_namespace` builds."""
    from . import notebooks

    nb = notebooks.read(Path(solution_path))
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    last_answer = max((i for i, c in enumerate(code_cells) if notebooks.is_solution_cell(c)), default=-1)
    namespace: dict = {"__name__": "__main__"}
    for i, cell in enumerate(code_cells):
        if notebooks.is_test_cell(cell) or "experiment" in (cell.metadata.get("tags") or []):
            continue
        if i > last_answer and not notebooks.is_solution_cell(cell):
            break
        source = (replace or {}).get(notebooks.grade_id(cell), cell.source)
        if "parameters" in (cell.metadata.get("tags") or []):
            source = re.sub(r"^FAST\s*=.*$", "FAST = True", source, flags=re.M)
        exec(compile(source, f"<solution {notebooks.grade_id(cell)}>", "exec"), namespace)
    return namespace


# --- comparing plain data -----------------------------------------------------------------------------
class Mismatch(Exception):
    pass


def _as_array(value):
    import numpy as np

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.dtype in (torch.float16, torch.bfloat16):
            return value.float().numpy(), True
        return value.numpy(), False
    if isinstance(value, np.ndarray):
        return value, value.dtype == np.float16
    return None, False


def distance(student, expected) -> float:
    """0 for identical plain data, <= 1 within tolerance, > 1 (or Mismatch) otherwise. Structure
    (containers, lengths, keys, shapes) must be the same; numbers compare by value, whatever their type."""
    import numpy as np

    a, a_half = _as_array(student)
    b, b_half = _as_array(expected)
    if a is not None or b is not None:
        if a is None or b is None:
            if a is not None and a.ndim == 0 and isinstance(expected, (int, float, bool)):
                return distance(a.item(), expected)
            if b is not None and b.ndim == 0 and isinstance(student, (int, float, bool)):
                return distance(student, b.item())
            raise Mismatch("array against non-array")
        if a.shape != b.shape:
            raise Mismatch(f"shape {a.shape} != {b.shape}")
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":
            return 0.0 if np.array_equal(a, b) else math.inf
        a, b = a.astype(np.complex128 if "c" in (a.dtype.kind, b.dtype.kind) else np.float64), b.astype(
            np.complex128 if "c" in (a.dtype.kind, b.dtype.kind) else np.float64)
        if a.size == 0:
            return 0.0
        same_nan = np.isnan(a) == np.isnan(b)
        if not same_nan.all():
            return math.inf
        same_inf = np.isinf(a) == np.isinf(b)
        finite = np.isfinite(a) & np.isfinite(b)
        if not same_inf.all() or not (a[~finite & ~np.isnan(a)] == b[~finite & ~np.isnan(b)]).all():
            return math.inf
        if not finite.any():
            return 0.0
        a, b = a[finite], b[finite]
        rtol = HALF_RTOL if (a_half or b_half) else RTOL
        scale = float(np.abs(b).max())
        bound = rtol * np.abs(b) + ATOL_OF_SCALE * scale + 1e-30
        return float((np.abs(a - b) / bound).max())
    if isinstance(student, bool) or isinstance(expected, bool) or isinstance(student, str) or isinstance(expected, str) \
            or student is None or expected is None or isinstance(student, bytes) or isinstance(expected, bytes):
        if type(student) is not type(expected) and not (isinstance(student, (bool, int)) and isinstance(expected, (bool, int))):
            raise Mismatch("different types")
        return 0.0 if student == expected else math.inf
    if isinstance(student, (int, float, complex)) and isinstance(expected, (int, float, complex)):
        if isinstance(student, complex) or isinstance(expected, complex):
            return 0.0 if abs(complex(student) - complex(expected)) <= RTOL * abs(complex(expected)) + 1e-12 else math.inf
        if math.isnan(student) or math.isnan(expected):
            return 0.0 if math.isnan(student) and math.isnan(expected) else math.inf
        if math.isinf(student) or math.isinf(expected):
            return 0.0 if student == expected else math.inf
        return abs(student - expected) / (RTOL * abs(expected) + 1e-7)  # 1e-7: float32 round-off of a zero
    if isinstance(student, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(student) != len(expected):
            raise Mismatch("different lengths")
        return max((distance(x, y) for x, y in zip(student, expected, strict=True)), default=0.0)
    if isinstance(student, dict) and isinstance(expected, dict):
        if set(student) != set(expected):
            raise Mismatch("different keys")
        return max((distance(student[k], expected[k]) for k in student), default=0.0)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(student, torch.dtype) and isinstance(expected, torch.dtype):
        return 0.0 if student == expected else math.inf
    raise Mismatch("different types")


def _outcome(fn, call):
    """('result', encoded-then-decoded value) or ('error', exception name) of fn on a recorded call."""
    args, kwargs = bridge.decode(call["args"]), bridge.decode(call["kwargs"])
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 -- a catalog entry may raise, as the student's code did
        return "error", type(exc).__name__
    try:
        return "result", bridge.decode(bridge.encode(result))
    except bridge.NotPlain:
        return "error", "NotPlainResult"


def _call_distance(fn, call) -> float:
    kind, value = _outcome(fn, call)
    if "error" in call:
        return 0.0 if kind == "error" and value == call["error"] else math.inf
    if kind == "error":
        return math.inf
    try:
        return distance(bridge.decode(call["result"]), value)
    except (Mismatch, bridge.NotPlain, TypeError, ValueError):
        return math.inf


def _named_in(call: dict) -> set[str]:
    """Strings passed as top-level arguments: a harness such as `run_ranks("megatron_mlp_forward", ...)`
    calls an answer function by its name."""
    args = call.get("args") if isinstance(call.get("args"), list) else []
    kwargs = call.get("kwargs", {}).get("v", []) if isinstance(call.get("kwargs"), dict) else []
    values = [*args, *(pair[1] for pair in kwargs if isinstance(pair, list) and len(pair) == 2)]
    return {v for v in values if isinstance(v, str)}


class Matcher:
    """Runs catalog entries on recorded calls (in the trusted process that owns it)."""

    def __init__(self, solution_path: str | Path, entries: list[dict]):
        self.solution_path = solution_path
        self.entries = entries
        self._base: dict | None = None
        self._answers: set[str] | None = None
        self._entry_ns: dict[int, dict | None] = {}
        self._full_ns: dict[int, dict | None] = {}

    @property
    def base(self) -> dict:
        if self._base is None:
            self._base = lab_namespace(self.solution_path)
        return self._base

    @property
    def answer_functions(self) -> set[str]:
        if self._answers is None:
            from . import notebooks

            answers = notebooks.answer_sources(notebooks.read(Path(self.solution_path)))
            self._answers = {f for source in answers.values() for f in defined_functions(source)}
        return self._answers

    def entry_namespace(self, index: int) -> dict | None:
        """The solution's namespace with the entry's definitions on top (cheap: its functions are called
        directly; the other cells' functions stay the solution's)."""
        if index not in self._entry_ns:
            namespace = dict(self.base)
            try:
                exec(compile(self.entries[index]["source"], f"<catalog {self.entries[index].get('name')}>", "exec"), namespace)
            except Exception:  # noqa: BLE001 -- an entry that does not even define itself cannot match
                namespace = None
            self._entry_ns[index] = namespace
        return self._entry_ns[index]

    def full_namespace(self, index: int) -> dict | None:
        """Every setup and answer cell run again with the entry's cell replaced: for calls through the
        lab's own harness (a setup-cell function that finds the answer by name in its namespace)."""
        if index not in self._full_ns:
            entry = self.entries[index]
            try:
                self._full_ns[index] = lab_namespace(self.solution_path, {entry["cell"]: entry["source"]})
            except Exception:  # noqa: BLE001
                self._full_ns[index] = None
        return self._full_ns[index]

    def diagnose(self, calls: list[dict], deadline: float = math.inf) -> list[dict]:
        """Entries matching the student on every recorded call of their functions, best first."""
        calls = [c for c in calls if not c.get("handle") and isinstance(c.get("fn"), str)]
        if not calls:
            return []
        harness = [i for i, c in enumerate(calls) if c["fn"] not in self.answer_functions and callable(self.base.get(c["fn"]))]
        named = {i: _named_in(calls[i]) for i in harness}
        # The solution itself. When it matches within the tolerance too, the calls barely show the
        # mistake (an eps misplaced, or the cell failed on something else): an entry must then match
        # SEPARATION times more closely than the solution does, else no diagnosis, never a guess.
        solution_distance: dict[int, float] = {}

        def solution_gap(indices: list[int]) -> float:
            for i in indices:
                if i not in solution_distance:
                    fn = self.base.get(calls[i]["fn"])
                    solution_distance[i] = _call_distance(fn, calls[i]) if callable(fn) else math.inf
            return max(solution_distance[i] for i in indices)

        found = []
        for index, entry in enumerate(self.entries):
            if time.monotonic() > deadline:
                break
            functions = defined_functions(entry["source"])
            direct = [i for i, c in enumerate(calls) if c["fn"] in functions]
            through = [i for i in harness if named[i] & functions]
            if not direct and not through:
                continue
            gap = solution_gap(direct + through)
            worst = 0.0
            for i in direct + through:
                namespace = self.entry_namespace(index) if i in direct else self.full_namespace(index)
                fn = namespace.get(calls[i]["fn"]) if namespace is not None else None
                worst = max(worst, _call_distance(fn, calls[i]) if callable(fn) else math.inf)
                if worst > 1.0 or time.monotonic() > deadline:
                    worst = math.inf
                    break
            if worst <= 1.0 and (gap > 1.0 or worst * SEPARATION < gap):
                found.append((worst, index))
        found.sort()
        return [describe(self.entries[i], d) for d, i in found]


def describe(entry: dict, closeness: float) -> dict:
    show = bool(entry.get("hint")) and entry.get("show_hint", True) is not False
    return {"name": str(entry.get("name", "?")), "cell": str(entry.get("cell", "")),
            "hint": str(entry["hint"]) if show else "", "closeness": round(float(closeness), 4)}


# --- the trusted subprocess ---------------------------------------------------------------------------
def serve(catalog_dir: str, week: str, solution: str) -> None:
    """Answer requests (one JSON line each on stdin: {"id", "calls", "deadline" (epoch seconds)})
    with {"id", "matches"}; the first line out is {"ready": number of entries}. Only the protocol goes
    to the real stdout: the solution's and catalog's prints go to /dev/null."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    import warnings

    warnings.simplefilter("ignore")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    entries = load_catalog(catalog_dir, week)
    matcher = Matcher(solution, entries)
    try:
        matcher.base  # noqa: B018 -- build the namespace now, while the student's kernel runs
        for index in range(len(entries)):
            matcher.entry_namespace(index)
    except Exception:  # noqa: BLE001
        entries = []
    out.write(json.dumps({"ready": len(entries)}) + "\n")
    for line in sys.stdin:
        try:
            request = json.loads(line)
            remaining = float(request.get("deadline", 0)) - time.time()
            matches = matcher.diagnose(request.get("calls") or [], time.monotonic() + remaining) if entries and remaining > 0 else []
        except Exception:  # noqa: BLE001
            request, matches = (request if isinstance(request, dict) else {}), []
        out.write(json.dumps({"id": request.get("id"), "matches": matches}) + "\n")


class Diagnoser:
    """The grader's side: one subprocess per lab and grading process, started at the first failed test
    cell and kept for the next submissions, killed when a request overruns its deadline."""

    def __init__(self, catalog_dir: str, week: str, solution: str):
        self.args = (str(catalog_dir), week, str(solution))
        self.proc: subprocess.Popen | None = None
        self.workdir = ""
        self.ready: bool | None = None  # None: still loading; False: nothing to diagnose with
        self._buffer = b""
        self._next_id = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        # a scratch folder of its own, as the kernel has: nothing the setup cells write lands in the course
        self.workdir = tempfile.mkdtemp(prefix="llm901-diagnosis-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llm901_grader.diagnosis", *self.args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self.workdir, env=env,
            start_new_session=True)
        self.ready, self._buffer = None, b""

    def _read_line(self, deadline: float) -> dict | None:
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    return None
                self._buffer += chunk
        finally:
            selector.close()
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return None

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: ranks a harness forked go too
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.proc, self.ready, self.workdir = None, None, ""

    def diagnose(self, calls: list[dict], seconds: float, startup_seconds: float = 0.0) -> list[dict]:
        """Ranked matches within `seconds` (none when the time is too short or nothing matches), plus up
        to `startup_seconds` while the subprocess still builds the lab's namespace."""
        with self._lock:
            if self.ready is False or not calls or seconds <= 0:
                return []
            self.start()
            if self.ready is None:
                hello = self._read_line(time.monotonic() + seconds + max(0.0, startup_seconds))
                if hello is None:
                    if self.proc.poll() is not None:
                        self.ready = False
                    return []  # still loading: this cell goes without; the next may have it
                self.ready = bool(hello.get("ready"))
                if not self.ready:
                    return []
            deadline = time.monotonic() + seconds
            self._next_id += 1
            request = {"id": self._next_id, "calls": calls, "deadline": time.time() + (deadline - time.monotonic())}
            try:
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
            except OSError:
                self.kill()
                return []
            while True:
                # the subprocess stops between calls at the deadline; one call that runs on is killed
                reply = self._read_line(deadline + 1.0)
                if reply is None:
                    self.kill()
                    return []
                if reply.get("id") == self._next_id:
                    return [m for m in reply.get("matches", []) if isinstance(m, dict)]


_diagnosers: dict[tuple, Diagnoser] = {}


def diagnoser_for(settings: dict | None) -> Diagnoser | None:
    """This process's diagnoser for `settings` ({"catalog_dir", "week", "solution"}), or None when
    there is no catalog for the lab here (a student's machine, a Dask worker without the repository)."""
    if not settings:
        return None
    catalog_dir, week, solution = settings.get("catalog_dir"), settings.get("week"), settings.get("solution")
    if not (catalog_dir and week and solution) or not catalog_file(catalog_dir, week).is_file() or not Path(solution).is_file():
        return None
    key = (str(catalog_dir), week, str(solution), Path(solution).stat().st_mtime_ns)
    if key not in _diagnosers:
        shutdown_all()  # one subprocess per grading process: another lab's (a few hundred MB) goes
        _diagnosers[key] = Diagnoser(catalog_dir, week, solution)
        _register_cleanup()
    return _diagnosers[key]


_cleanup_registered = False


def shutdown_all() -> None:
    for diagnoser in list(_diagnosers.values()):
        diagnoser.kill()
    _diagnosers.clear()


def _register_cleanup() -> None:
    global _cleanup_registered
    if _cleanup_registered:
        return
    import atexit
    import multiprocessing.util

    atexit.register(shutdown_all)
    multiprocessing.util.Finalize(None, shutdown_all, exitpriority=100)  # worker processes skip atexit
    _cleanup_registered = True


def diagnose_locally(nb, student_namespace: dict, matcher: Matcher, only=None, time_limit: float = 120.0) -> dict:
    """Judge `nb`'s test cells (those in `only`, or all) against definitions in `student_namespace`
    without a kernel, as `execute.judge_locally` does, and diagnose each failed one in-process:
    {grade_id: (passed, matches)}. The test suite's way to check diagnosis on whole catalogs."""
    from .judge import LocalStudent, judge_cell, new_namespace
    from .notebooks import grade_id, is_test_cell

    namespace, student, out = new_namespace(), LocalStudent(student_namespace), {}
    for cell in nb.cells:
        if is_test_cell(cell) and (only is None or grade_id(cell) in only):
            verdict = judge_cell(cell.source, grade_id(cell), student, namespace, time_limit)
            out[grade_id(cell)] = (verdict.passed, [] if verdict.passed else matcher.diagnose(verdict.calls))
    return out


# --- what the student reads, what the TA reads ----------------------------------------------------------
HINT_PREFIX = "Likely mistake: "


def hint_output(matches: list[dict]):
    """The one sentence under a failed test: the best match's hint, when it may be shown."""
    import nbformat

    hint = next((m["hint"] for m in matches[:1] if m.get("hint")), "")
    if not hint:
        return None
    output = nbformat.v4.new_output("stream", name="stdout", text=f"{HINT_PREFIX}{hint}\n")
    return output


if __name__ == "__main__":
    serve(*sys.argv[1:4])
