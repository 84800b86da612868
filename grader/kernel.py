"""A student's kernel, seen from the grader: started inside the sandbox, driven over ZMQ ipc sockets,
with a timeout on everything and a bound on everything that comes back."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from . import bridge, cgroups
from .sandbox import SandboxSpec, _fmt_bytes, prepare_share_dir, sandbox_argv

MAX_MESSAGE_BYTES = 96 << 20  # zmq drops larger messages before they reach the grader's memory
MAX_OUTPUTS_PER_CELL = 200
MAX_OUTPUT_CHARS_PER_CELL = 1 << 20
BRIDGE_SOURCE = Path(bridge.__file__).read_text(encoding="utf-8")


def _zmq_context() -> zmq.Context:
    """One context per grader process, never terminated: a context's finaliser waits for unsent
    messages to a dead kernel forever, so per-kernel contexts can hang a worker at garbage
    collection. LINGER 0 drops such messages when a socket closes."""
    ctx = zmq.Context.instance()
    ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    ctx.setsockopt(zmq.LINGER, 0)
    return ctx


class KernelDied(RuntimeError):
    pass


class KernelTimeout(TimeoutError):
    pass


@dataclass
class CellRun:
    outputs: list = field(default_factory=list)
    status: str = "ok"  # ok | error | timeout | died
    seconds: float = 0.0
    truncated: bool = False


class StudentKernel:
    """One sandboxed ipykernel. Not thread-safe: one grader thread drives it.

    When the machine allows it (root, cgroup controllers) and ``spec.cgroup_memory_bytes`` is set, the
    kernel and everything it starts live in their own cgroup (cgroups.py) with a total memory, task and
    CPU limit. A memory overrun there stops the whole sandbox: ``memory_exceeded`` says so afterwards.
    """

    def __init__(self, spec: SandboxSpec, start_timeout: float = 90.0):
        self.spec = spec
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.client: BlockingKernelClient | None = None
        self.cgroup: cgroups.SandboxCgroup | None = None
        self.cgroup_error = ""  # why there is no cgroup although one was asked for (a machine problem)
        self._bridge_loaded = False
        self._log = None
        self._pids_refused_seen = 0
        self._share_dir = ""  # this kernel's own (a restarted kernel may reuse the spec object)

    # --- limits ---------------------------------------------------------------------------------
    @property
    def memory_exceeded(self) -> bool:
        """The sandbox went over its total memory limit (and was stopped for it)."""
        return self.cgroup is not None and self.cgroup.oom_kills > 0

    @property
    def memory_limit_text(self) -> str:
        return f"memory limit ({_fmt_bytes(self.spec.cgroup_memory_bytes)})"

    def limit_notes(self) -> list[str]:
        """Limits the sandbox hit since the last call, as short phrases (e.g. for a run report)."""
        if self.cgroup is None:
            return []
        self.cgroup.poll()
        notes = []
        if self.cgroup.pids_refused > self._pids_refused_seen:
            self._pids_refused_seen = self.cgroup.pids_refused
            notes.append(f"process limit ({self.spec.cgroup_pids} tasks) reached")
        return notes

    def _enforce_memory_limit(self) -> None:
        """After an OOM kill in the group, stop everything in it: one kill means the submission is over."""
        if self.cgroup is None:
            return
        self.cgroup.poll()
        if self.cgroup.oom_kills and self.proc is not None and self.proc.poll() is None:
            self.cgroup.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        cgroups.clean_stale_once()  # groups and share dirs of graders that were killed
        share = Path(cgroups.new_share_dir())
        self.spec.share_dir = self._share_dir = str(share)
        self.spec.cgroup_procs = []
        self.cgroup, self._pids_refused_seen = None, 0
        layout = cgroups.available() if self.spec.cgroup_memory_bytes > 0 else None
        if layout is not None:
            try:
                self.cgroup = cgroups.SandboxCgroup(layout, self.spec.cgroup_memory_bytes,
                                                    self.spec.cgroup_pids or 1 << 22, self.spec.cgroup_cpus)
                self.spec.cgroup_procs = self.cgroup.procs_files
            except OSError as exc:  # the machine's problem, not the student's: say so, run as without
                self.cgroup_error = f"no cgroup for this kernel (total memory not bounded): {exc}"
                print(f"llm901-grader: warning: {self.cgroup_error}", file=sys.stderr)
        prepare_share_dir(self.spec)
        conn = share / "kernel.json"
        write_connection_file(str(conn), transport="ipc", ip=str(share / "ipc"), key=os.urandom(16).hex().encode())
        os.chmod(conn, 0o644)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn),
                "--HistoryManager.hist_file=:memory:", "--IPKernelApp.no_stderr=False"]
        self._log = tempfile.TemporaryFile()  # the kernel's own stdout/stderr, kept out of its reach
        self.proc = subprocess.Popen(sandbox_argv(argv, self.spec), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.client = BlockingKernelClient(context=_zmq_context())
        self.client.load_connection_info(json.loads(conn.read_text()))
        self.client.start_channels(hb=False)  # liveness is proc.poll(); the heartbeat races a slow start
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise KernelDied(f"the kernel did not start: {self.launcher_output()[-800:]}")
            try:
                self.client.wait_for_ready(timeout=1)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise KernelDied("the kernel did not answer within the start timeout") from None

    def launcher_output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-4000:].decode("utf-8", "replace")

    def alive(self) -> bool:
        if self.proc is None:
            return False
        self._enforce_memory_limit()
        if self.proc.poll() is None:
            return True
        self._release()  # dead: its cgroup and share dir go now (a caller may never shut it down)
        return False

    def _release(self) -> None:
        """Remove the cgroup (keeping its counters) and the share dir; idempotent."""
        if self.cgroup is not None:
            self.cgroup.remove()  # kills any straggler first
        if self._share_dir:
            shutil.rmtree(self._share_dir, ignore_errors=True)
            self._share_dir = ""

    def shutdown(self) -> None:
        if self.client is not None:
            try:
                self.client.stop_channels()
            except Exception:
                pass
        if self.proc is not None and self.proc.poll() is None:
            # The launcher is PID 1's parent of its namespace: ending it ends every process inside.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=5)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._log is not None:
            self._log.close()
        self._release()
        self.proc = self.client = self._log = None
        self._bridge_loaded = False

    def interrupt(self, grace: float = 5.0) -> bool:
        """Ask the kernel to interrupt itself; True when it came back to idle within `grace`."""
        assert self.client is not None
        msg = self.client.session.msg("interrupt_request", content={})
        self.client.control_channel.send(msg)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.alive():
            try:
                reply = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                return True
        return False

    # --- running code -------------------------------------------------------------------------
    def execute(self, code: str, timeout: float, silent: bool = False,
                max_chars: int = MAX_OUTPUT_CHARS_PER_CELL) -> CellRun:
        """Run one cell's code; outputs are returned as nbformat outputs, bounded in number and size."""
        if not self.alive():
            raise KernelDied("the kernel is not running")
        assert self.client is not None
        started = time.monotonic()
        msg_id = self.client.execute(code, silent=silent, store_history=not silent,
                                     allow_stdin=False, stop_on_error=False)
        run = CellRun()
        chars = 0
        deadline = started + timeout
        while True:
            if not self.alive():
                run.status = "died"
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                run.status = "timeout"
                if not self.interrupt():
                    self.shutdown()
                break
            try:
                msg = self.client.get_iopub_msg(timeout=min(remaining, 0.25))
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                break
            if kind == "clear_output":
                run.outputs.clear()
                continue
            if kind not in ("stream", "display_data", "execute_result", "error"):
                continue
            if kind == "error":
                run.status = "error"
            size = len(json.dumps(msg["content"]))
            if len(run.outputs) >= MAX_OUTPUTS_PER_CELL or chars + size > max_chars:
                run.truncated = True
                continue
            chars += size
            run.outputs.append(nbformat.v4.output_from_msg(msg))
        if run.status in ("ok", "error") and self.cgroup is not None:
            self._enforce_memory_limit()  # an OOM kill of a child the cell survived still ends the sandbox
            if self.memory_exceeded:
                run.status = "died"
        run.seconds = time.monotonic() - started
        if run.truncated:
            run.outputs.append(nbformat.v4.new_output(
                "stream", name="stdout", text="\n[the grader kept only the first part of this cell's output]\n"))
        return run

    def request(self, payload: dict, timeout: float):
        """One bridge request (see bridge.serve); returns the decoded reply dict."""
        if not self.alive():
            raise KernelDied("the kernel is not running (it died or was stopped earlier)")
        source = "" if self._bridge_loaded else f"_src = {BRIDGE_SOURCE!r}\n"
        code = (
            "def _llm901(_req):\n"
            "    import sys, types\n"
            "    _m = sys.modules.get('_llm901_bridge')\n"
            "    if _m is None:\n"
            "        _m = types.ModuleType('_llm901_bridge')\n"
            "        exec(compile(_src, '<llm901-bridge>', 'exec'), _m.__dict__)\n"
            "        sys.modules['_llm901_bridge'] = _m\n"
            "    _m.serve(_req, globals())\n"
            f"{source}"
            f"_llm901({json.dumps(payload)!r})\n"
            "del _llm901\n"
            + ("del _src\n" if source else "")
        )
        # a reply may carry tensors up to the bridge's own limit (base64 and JSON around it)
        run = self.execute(code, timeout=timeout, silent=True, max_chars=2 * bridge.MAX_BYTES)
        if run.status == "timeout":
            raise KernelTimeout(f"no answer within {timeout:.0f} s")
        if run.status == "died":
            raise KernelDied("the kernel died while running your code")
        self._bridge_loaded = True
        replies = [o for o in run.outputs if o.get("output_type") == "display_data" and bridge.MIME in o.get("data", {})]
        if not replies:
            errors = [o for o in run.outputs if o.get("output_type") == "error"]
            detail = f"{errors[-1]['ename']}: {errors[-1]['evalue']}" if errors else "no reply"
            raise KernelDied(f"the kernel could not answer the grader ({detail})")
        text = replies[-1]["data"][bridge.MIME]
        if not isinstance(text, str):
            text = json.dumps(text)
        return json.loads(text)
