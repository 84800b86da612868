"""Test cells judged outside the student's kernel.

A test cell (visible asserts and hidden block alike) is executed by the grader's own process. Every
name it uses but does not define is looked up in the student's kernel: plain data comes back as a
value, a function or class as a proxy whose calls send plain data in and bring plain data out. So
nothing the student's code does to torch, numpy, IPython or the assertion machinery in its own
kernel can change a verdict, and the hidden test text never enters the kernel.

The same code judges a catalog of wrong implementations without any kernel (`LocalStudent`), which
is how the test suite checks 25 labs' catalogs in seconds.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import time
import traceback
import warnings
from dataclasses import dataclass, field

import nbformat

from . import bridge, checks
from .kernel import KernelDied, KernelTimeout, StudentKernel
from .notebooks import hidden_line_ranges

MISSING = object()


class StudentError(Exception):
    """The student's code raised; carries the student's own traceback (it is their code)."""

    def __init__(self, what: str, ename: str, evalue: str, tb: list[str]):
        super().__init__(f"{what} raised {ename}: {evalue}")
        self.ename, self.tb = ename, tb


class NotPlainResult(TypeError):
    pass


# --- free names -------------------------------------------------------------------------------
def free_names(source: str) -> set[str]:
    """Names a test cell reads but never binds (imports, assignments, defs, loop targets, args)."""
    tree = ast.parse(source)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - set(dir(builtins))


# --- students seen through plain data ---------------------------------------------------------
# --- what crossed: the calls a test cell made to the student's functions -----------------------
# Every call from a test cell to a student's function by name crosses here as plain data (arguments
# encoded before they leave, the result as it came back), so recording it costs nothing extra. The
# record feeds diagnosis.py (which catalogued mistake behaves like this), after the verdict is decided.
RECORD_MAX_BYTES = 16 << 20  # per test cell; calls beyond it are not recorded (diagnosis sees fewer)


def _encoded_size(obj) -> int:
    if isinstance(obj, str):
        return len(obj)
    if isinstance(obj, list):
        return sum(_encoded_size(x) for x in obj) + 2
    if isinstance(obj, dict):
        return sum(_encoded_size(v) for v in obj.values()) + 8
    return 8


class CallRecorder:
    """The calls of one test cell: {"fn", "args", "kwargs", "result" | "error"}, all in bridge encoding."""

    def __init__(self, max_bytes: int = RECORD_MAX_BYTES):
        self.calls: list[dict] = []
        self.left = max_bytes

    def add(self, fn: str, args, kwargs, result=None, error: str | None = None, handle: bool = False) -> None:
        size = _encoded_size(args) + _encoded_size(kwargs) + _encoded_size(result)
        if size > self.left:
            self.left = 0
            return
        self.left -= size
        call = {"fn": fn, "args": args, "kwargs": kwargs}
        if error is not None:
            call["error"] = error
        elif handle:
            call["handle"] = True  # not plain data: nothing to compare
        else:
            call["result"] = result
        self.calls.append(call)


class RemoteStudent:
    """The student's kernel namespace, through the bridge."""

    def __init__(self, kernel: StudentKernel, call_timeout: float):
        self.kernel = kernel
        self.call_timeout = call_timeout
        self.deadline = float("inf")
        self.recorder = CallRecorder()

    def _timeout(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise KernelTimeout("the test cell's time limit was reached")
        return min(self.call_timeout, left)

    def _value(self, encoded, label: str):
        if isinstance(encoded, dict) and encoded.get("__t") == "missing":
            return MISSING
        if isinstance(encoded, dict) and encoded.get("__t") == "ref":
            return RemoteHandle(self, encoded["ref"], label, encoded.get("kind", "object"))
        return bridge.decode(encoded)

    def request(self, payload: dict, label: str, record: str | None = None):
        reply = self.kernel.request(payload, timeout=self._timeout())
        if reply.get("ok"):
            value = self._value(reply.get("value"), label)
            if record:
                self.recorder.add(record, payload["args"], payload["kwargs"], reply.get("value"),
                                  handle=isinstance(value, RemoteHandle))
            return value
        if record:
            ename = "NotPlainResult" if "notplain" in reply else str((reply.get("error") or {}).get("ename", "Exception"))
            self.recorder.add(record, payload["args"], payload["kwargs"], error=ename)
        if "notplain" in reply:
            raise NotPlainResult(f"{label} returned something the grader cannot check: {reply['notplain']}. "
                                 "Return tensors, numbers, strings, lists, tuples or dicts of them.")
        err = reply.get("error") or {}
        raise StudentError(label, str(err.get("ename", "Exception")), str(err.get("evalue", "")),
                           [str(x) for x in err.get("traceback", [])][-60:])

    def lookup(self, name: str):
        return self.request({"op": "describe", "name": name}, name)


class RemoteHandle:
    """A function, class or object that lives in the student's kernel."""

    def __init__(self, student: RemoteStudent, ref: int, label: str, kind: str):
        self._student, self._ref, self._label, self._kind = student, ref, label, kind

    def __call__(self, *args, **kwargs):
        payload = {"op": "call", "ref": self._ref, "args": bridge.encode(list(args)), "kwargs": bridge.encode(kwargs)}
        label = f"{self._label}(...)" if self._kind != "class" else self._label
        top_level_function = self._kind == "function" and "." not in self._label
        return self._student.request(payload, label, record=self._label if top_level_function else None)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._student.request({"op": "getattr", "ref": self._ref, "attr": attr}, f"{self._label}.{attr}")

    def __repr__(self) -> str:
        return f"<student {self._kind} {self._label}>"


class LocalStudent:
    """Student definitions in a plain dict (a catalog entry executed in-process). Values still cross
    `bridge.encode/decode`, so a test sees exactly what it would see from a kernel."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.deadline = float("inf")
        self.recorder = CallRecorder()

    def lookup(self, name: str):
        if name not in self.namespace:
            return MISSING
        obj = self.namespace[name]
        try:
            return bridge.decode(bridge.encode(obj))
        except bridge.NotPlain:
            return _LocalHandle(obj, name, self.recorder)


class _LocalHandle:
    def __init__(self, obj, label: str, recorder: CallRecorder | None = None):
        self._obj, self._label, self._recorder = obj, label, recorder

    def _wrap(self, result, label: str):
        try:
            return bridge.decode(bridge.encode(result))
        except bridge.NotPlain as exc:
            if isinstance(self._obj, type) or result is self._obj:
                return _LocalHandle(result, label)
            raise NotPlainResult(f"{label} returned something the grader cannot check: {exc}") from None

    def __call__(self, *args, **kwargs):
        encoded = (bridge.encode(list(args)), bridge.encode(kwargs))
        args, kwargs = bridge.decode(encoded[0]), bridge.decode(encoded[1])
        record = self._recorder if (self._recorder is not None and "." not in self._label and not isinstance(self._obj, type)
                                    and callable(self._obj)) else None
        try:
            result = self._obj(*args, **kwargs)
        except Exception as exc:
            if record is not None:
                record.add(self._label, *encoded, error=type(exc).__name__)
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            raise StudentError(f"{self._label}(...)", type(exc).__name__, str(exc), tb) from None
        if record is None:
            return self._wrap(result, self._label)
        try:
            encoded_result = bridge.encode(result)
        except bridge.NotPlain:
            try:
                wrapped = self._wrap(result, self._label)
            except NotPlainResult:
                record.add(self._label, *encoded, error="NotPlainResult")
                raise
            record.add(self._label, *encoded, handle=True)
            return wrapped
        record.add(self._label, *encoded, encoded_result)
        return bridge.decode(encoded_result)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._wrap(getattr(self._obj, attr), f"{self._label}.{attr}")


# --- judging one cell -------------------------------------------------------------------------
@dataclass
class Verdict:
    passed: bool
    outputs: list = field(default_factory=list)
    seconds: float = 0.0
    reason: str = ""
    calls: list = field(default_factory=list)  # what the cell asked the student's functions (CallRecorder)


def _error_output(ename: str, evalue: str, traceback_lines: list[str]):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback_lines)


def _check_lines(failed: list, source: str, hidden: list) -> list[str]:
    """Every failed check: a visible one with its line, a hidden one by its message only."""
    lines = []
    for c in failed:
        in_hidden = c.lineno is not None and any(a <= c.lineno <= b for a, b in hidden)
        where = "(in the hidden tests)" if in_hidden or c.lineno is None or c.lineno > len(source.splitlines()) \
            else f"test cell, line {c.lineno}: {source.splitlines()[c.lineno - 1].strip()}"
        lines.append(f"failed check {where}: {c.message}")
    return lines


def judge_cell(source: str, grade_id: str, student, namespace: dict, time_limit: float,
               max_points: float | None = None) -> Verdict:
    """Execute one test cell in `namespace` (the trusted per-notebook namespace) against `student`.
    `max_points`: the cell's points, for partial credit when its checks carry points (checks.py)."""
    started = time.monotonic()
    filename = f"<test cell {grade_id}>"
    hidden = hidden_line_ranges(source)
    out, sink = io.StringIO(), io.StringIO()
    bound_remote: list[str] = []
    collected, token = checks.collecting()
    try:
        code = compile(source, filename, "exec")
        student.deadline = started + time_limit
        student.recorder = CallRecorder()
        for name in sorted(free_names(source)):
            if name in namespace:
                continue
            value = student.lookup(name)
            if value is not MISSING:
                namespace[name] = value
                bound_remote.append(name)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a library warning is not the student's failure
            exec(code, namespace)
        verdict = Verdict(True)
        failed = [c for c in collected if not c.passed]
        if failed:
            lines = _check_lines(failed, source, hidden)
            reason = f"{len(failed)} check(s) failed: " + "; ".join(c.message for c in failed)
            partial = checks.partial_score(collected, max_points) if max_points else None
            verdict = Verdict(False, reason=reason)
            if partial is not None:  # nbgrader's partial credit: the cell's result is its score
                text = "\n".join([*lines, f"partial credit: {partial:g} of {max_points:g} points"]) + "\n"
                verdict.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
                verdict.outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": f"{partial:g}"},
                                                              execution_count=None))
            else:
                verdict.outputs.append(_error_output("AssertionError", reason, lines))
    except StudentError as exc:
        verdict = Verdict(False, reason=str(exc))
        verdict.outputs.append(_error_output(exc.ename, str(exc), [*exc.tb, f"{exc}"]))
    except KernelTimeout as exc:
        msg = f"your code did not finish in time ({exc}); the test could not complete"
        verdict = Verdict(False, reason=msg)
        verdict.outputs.append(_error_output("TimeoutError", msg, [f"TimeoutError: {msg}"]))
    except KernelDied as exc:
        msg = f"{exc}; the test could not run"
        verdict = Verdict(False, reason=msg)
        verdict.outputs.append(_error_output("KernelDied", msg, [f"KernelDied: {msg}"]))
    except BaseException as exc:  # an assertion, or anything else a test raises
        lineno = None
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename == filename:
                lineno = frame.lineno
        in_hidden = lineno is not None and any(a <= lineno <= b for a, b in hidden)
        message = str(exc) or ("a hidden test failed" if in_hidden else "a test failed")
        if isinstance(exc, SyntaxError) and getattr(exc, "filename", None) == filename:
            message = f"the test cell itself does not compile ({exc.msg}); tell the course staff"
        lines = _check_lines([c for c in collected if not c.passed], source, hidden)
        if lineno is not None and not in_hidden:
            line = source.splitlines()[lineno - 1].strip()
            lines.append(f"test cell, line {lineno}: {line}")
        elif in_hidden:
            lines.append("(in the hidden tests)")
        lines.append(f"{type(exc).__name__}: {message}")
        verdict = Verdict(False, reason=f"{type(exc).__name__}: {message}")
        verdict.outputs.append(_error_output(type(exc).__name__, message, lines))
    finally:
        checks.stop(token)
        for name in bound_remote:  # never let a student value outlive its cell in the trusted namespace
            namespace.pop(name, None)
    if out.getvalue():
        verdict.outputs.insert(0, nbformat.v4.new_output("stream", name="stdout", text=out.getvalue()[-20000:]))
    verdict.seconds = time.monotonic() - started
    verdict.calls = getattr(getattr(student, "recorder", None), "calls", [])
    return verdict


def new_namespace() -> dict:
    return {"__name__": "__main__", "__builtins__": builtins}
