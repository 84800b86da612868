"""Tests of llm901_grader.sandbox: each one runs a small Python snippet (or a real ipykernel) in the sandbox.

Strict-mode tests need root (CI, a course server) and skip elsewhere; the basic-mode tests run anywhere
(the user-namespace ones skip where the kernel does not allow unprivileged user namespaces).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from llm901_grader.sandbox import (
    SANDBOX_HOME,
    SandboxSpec,
    _userns_available,
    isolation_level,
    isolation_report,
    prepare_share_dir,
    sandbox_argv,
)

REPO = Path(__file__).resolve().parents[1]
STRICT = isolation_level() == "strict"
strict_only = pytest.mark.skipif(not STRICT, reason="strict sandbox needs root with namespace rights")
userns_only = pytest.mark.skipif(not _userns_available(), reason="unprivileged user namespaces unavailable")


@pytest.fixture
def share() -> Path:
    # A short path directly under /tmp: ipc socket paths must stay below ~107 bytes.
    d = Path(tempfile.mkdtemp(prefix="llm901-t-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def run(code: str, spec: SandboxSpec, *, mode: str | None = None, timeout: float = 60, env=None):
    """Run a Python snippet in the sandbox; returns CompletedProcess (text)."""
    argv = sandbox_argv([sys.executable, "-c", textwrap.dedent(code)], spec, mode=mode)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


def last_json(proc: subprocess.CompletedProcess):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pids_of_uid(uid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                st = os.stat(f"/proc/{name}")
            except OSError:
                continue
            if st.st_uid == uid:
                pids.append(int(name))
    return pids


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


def wait_no_pids(uid: int, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := pids_of_uid(uid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


PROBE_FS = """
    import json, os, sys
    paths = json.loads(sys.argv[1])
    out = {k: os.path.lexists(p) for k, p in paths.items()}  # False: not even visible
    out["work_main"] = sorted(os.listdir(sys.argv[2]))  # the checkout: only its venv may show
    out["root_listing"] = sorted(os.listdir("/"))
    print(json.dumps(out))
"""


def run_probe_fs(spec: SandboxSpec, paths: dict[str, str], mode: str | None = None):
    argv = sandbox_argv([sys.executable, "-c", textwrap.dedent(PROBE_FS), json.dumps(paths), str(REPO)], spec, mode=mode)
    return last_json(subprocess.run(argv, capture_output=True, text=True, timeout=60))


# --------------------------------------------------------------------------------------------------
# strict mode
# --------------------------------------------------------------------------------------------------


def test_isolation_level_and_report():
    if os.geteuid() != 0:
        assert isolation_level() == "basic"
    report = isolation_report()
    assert report.splitlines()[1].startswith(f"  - {isolation_level()}")
    assert "Not enforced:" in report


@strict_only
def test_hidden_paths(share: Path, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("answer key")
    other = Path(tempfile.mkdtemp(prefix="llm901-other-"))  # another student's share dir
    try:
        spec = SandboxSpec(share_dir=str(share))
        out = run_probe_fs(
            spec,
            {
                "readme": str(REPO / "README.md"),
                "pyproject": str(REPO / "pyproject.toml"),
                "grader": str(REPO / "grader" / "sandbox.py"),
                "secret": str(secret),
                "secret_dir": str(tmp_path),
                "other_share": str(other),
                "bashrc": "/root/.bashrc",
                "share": str(share),
            },
        )
    finally:
        os.rmdir(other)
    for key in ("readme", "pyproject", "grader", "secret", "secret_dir", "other_share", "bashrc"):
        assert out[key] is False, key
    assert out["share"] is True
    assert out["work_main"] == [".venv"]  # the venv only: no notebooks, no grader, no submissions
    assert REPO.parts[1] in out["root_listing"] and "home" in out["root_listing"]


@strict_only
def test_share_dir_rw_and_readonly_paths(share: Path, tmp_path: Path):
    ro = tmp_path / "data"
    ro.mkdir()
    (ro / "weights.txt").write_text("42")
    spec = SandboxSpec(share_dir=str(share), readonly_paths=[str(ro), str(REPO / "shared")])
    out = last_json(
        run(
            f"""
            import json, os
            open({str(share / "out.txt")!r}, "w").write("from inside")
            res = {{"read": open({str(ro / "weights.txt")!r}).read(),
                   "shared_pkg": os.path.exists({str(REPO / "shared" / "__init__.py")!r})}}
            for name, path in (("write_ro", {str(ro / "new.txt")!r}), ("overwrite_ro", {str(ro / "weights.txt")!r})):
                try:
                    open(path, "w").write("x")
                    res[name] = "ok"
                except OSError as e:
                    res[name] = e.errno
            res["uid"], res["gid"], res["groups"] = os.getuid(), os.getgid(), os.getgroups()
            res["cwd"], res["home"] = os.getcwd(), os.environ["HOME"]
            open("here.txt", "w").write("cwd is writable")
            print(json.dumps(res))
            """,
            spec,
        )
    )
    assert (share / "out.txt").read_text() == "from inside"
    assert (share / "out.txt").stat().st_uid == spec.uid
    assert out["read"] == "42" and out["shared_pkg"] is True
    assert out["write_ro"] in (errno.EROFS, errno.EACCES) and out["overwrite_ro"] in (
        errno.EROFS,
        errno.EACCES,
    )
    assert (ro / "weights.txt").read_text() == "42" and not (ro / "new.txt").exists()
    assert out["uid"] == spec.uid == out["gid"] and out["uid"] != 0 and out["groups"] == []
    assert out["cwd"] == out["home"] == SANDBOX_HOME


@strict_only
def test_no_network_and_no_new_namespaces(share: Path):
    out = last_json(
        run(
            """
            import ctypes, fcntl, json, socket, termios
            res = {"ifaces": [name for _, name in socket.if_nameindex()]}
            try:
                socket.create_connection(("1.1.1.1", 53), timeout=2)
                res["connect"] = "connected"
            except OSError as e:
                res["connect"] = str(e)
            libc = ctypes.CDLL(None, use_errno=True)
            res["unshare_user"] = (libc.unshare(0x10000000), ctypes.get_errno())  # seccomp: EPERM
            libc.syscall.restype = ctypes.c_long
            res["clone_newuser"] = (libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0), ctypes.get_errno())
            try:
                fcntl.ioctl(0, termios.TIOCSTI, b"x")
            except OSError as e:
                res["tiocsti"] = e.errno
            print(json.dumps(res))
            """,
            SandboxSpec(share_dir=str(share)),
        )
    )
    assert out["ifaces"] == ["lo"]
    assert out["connect"] != "connected"
    assert out["unshare_user"] == [-1, errno.EPERM]
    assert out["clone_newuser"] == [-1, errno.EPERM]
    assert out["tiocsti"] == errno.EPERM


@strict_only
def test_memory_limit(share: Path):
    proc = run(
        """
        try:
            x = bytearray(8 << 30)
            print("allocated")
        except MemoryError:
            print("MemoryError")
        """,
        SandboxSpec(share_dir=str(share)),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "MemoryError"


@strict_only
def test_file_size_limit(share: Path):
    out = last_json(
        run(
            """
            import json, os
            res = {}
            for name, path, size in (("home_1g", "big.bin", 1 << 30), ("tmp_300m", "/tmp/big.bin", 300 << 20)):
                chunk = b"\\0" * (16 << 20)
                written = 0
                try:
                    with open(path, "wb") as f:
                        while written < size:
                            f.write(chunk)
                            written += len(chunk)
                    res[name] = "ok"
                except OSError as e:
                    res[name] = e.errno
                res[name + "_size"] = os.path.getsize(path)
                os.unlink(path)
            print(json.dumps(res))
            """,
            SandboxSpec(share_dir=str(share)),
        )
    )
    assert out["home_1g"] in (errno.EFBIG, errno.ENOSPC) and out["home_1g_size"] <= 512 << 20
    assert out["tmp_300m"] == errno.EFBIG and out["tmp_300m_size"] <= 256 << 20


@strict_only
def test_fork_bomb_is_contained(share: Path):
    spec = SandboxSpec(share_dir=str(share))  # the default limit: 256 processes
    t0 = time.monotonic()
    proc = run(
        """
        import os, time
        if os.fork() == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        time.sleep(2)
        print(len([p for p in os.listdir("/proc") if p.isdigit()]), flush=True)
        """,
        spec,
    )
    assert proc.returncode == 0, proc.stderr
    assert 0 < int(proc.stdout.strip()) <= spec.max_processes
    assert wait_no_pids(spec.uid, timeout=1.0) == []  # the PID namespace died with the command
    assert time.monotonic() - t0 < 45  # terminates (slowly on a loaded 2-core machine)


@strict_only
def test_torch_matmul_within_default_limits(share: Path):
    proc = run(
        """
        import torch
        print(float((torch.ones(1000, 1000) @ torch.ones(1000, 1000))[0, 0]))
        """,
        SandboxSpec(share_dir=str(share)),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1000.0"


@strict_only
def test_environment_is_clean(share: Path):
    caller_env = dict(os.environ, NBGRADER_EXECUTION="autograde", SECRET="1", JPY_PARENT_PID="1")
    spec = SandboxSpec(share_dir=str(share), env={"OMP_NUM_THREADS": "1", "COURSE_DATA": "/data"})
    env = last_json(run("import json, os; print(json.dumps(dict(os.environ)))", spec, env=caller_env))
    assert "SECRET" not in env and "JPY_PARENT_PID" not in env
    assert not [k for k in env if "NBGRADER" in k or "GRAD" in k.upper()]
    assert not [v for v in env.values() if "grad" in v.lower()]
    assert env["HOME"] == SANDBOX_HOME and env["LANG"] == "C.UTF-8" and env["HF_HUB_OFFLINE"] == "1"
    assert env["OMP_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "2" and env["COURSE_DATA"] == "/data"
    assert env["PATH"].split(":")[0] == os.path.join(sys.prefix, "bin")
    assert env["MPLCONFIGDIR"].startswith(SANDBOX_HOME) and env["IPYTHONDIR"].startswith(SANDBOX_HOME)


def _start(code: str, spec: SandboxSpec, mode: str | None = None) -> subprocess.Popen:
    argv = sandbox_argv([sys.executable, "-c", textwrap.dedent(code)], spec, mode=mode)
    # A new session, as jupyter_client does: it then signals the launcher's whole process group.
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.poll() is not None else ""
    return proc


SLEEPER = """
    import os, sys, time
    if os.fork() == 0:        # a grandchild, to check that it dies too
        time.sleep(60)
        os._exit(0)
    try:
        print("ready", flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        time.sleep(0.5)  # a second (duplicated) SIGINT would kill us here
"""


@strict_only
def test_sigterm_to_launcher_kills_everything(share: Path):
    spec = SandboxSpec(share_dir=str(share))
    proc = _start(SLEEPER, spec)
    assert len(pids_of_uid(spec.uid)) == 2
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == -signal.SIGTERM
    assert wait_no_pids(spec.uid, timeout=1.0) == []


@strict_only
def test_sigint_is_forwarded_once(share: Path):
    # jupyter_client interrupts a kernel with killpg(SIGINT) on the launcher's group: the command must
    # get exactly one SIGINT (through the launcher), not a second one directly.
    spec = SandboxSpec(share_dir=str(share))
    proc = _start(SLEEPER, spec)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=5)
    assert out.strip() == "interrupted" and proc.returncode == 0
    assert wait_no_pids(spec.uid, timeout=1.0) == []


@strict_only
def test_sigkill_to_launcher_kills_everything(share: Path):
    spec = SandboxSpec(share_dir=str(share))
    proc = _start(SLEEPER, spec)
    proc.kill()
    proc.wait(timeout=5)
    assert wait_no_pids(spec.uid, timeout=5.0) == []


@strict_only
def test_launcher_errors_are_reported(share: Path):
    proc = run("print(1)", SandboxSpec(share_dir=str(share), readonly_paths=["/nonexistent/data"]))
    assert proc.returncode == 125 and "does not exist: /nonexistent/data" in proc.stderr
    argv = sandbox_argv(["no-such-command-xyz"], SandboxSpec(share_dir=str(share)))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 127 and "command not found" in proc.stderr
    proc = run("raise SystemExit(3)", SandboxSpec(share_dir=str(share)))
    assert proc.returncode == 3


def _kernel_roundtrip(share: Path, spec: SandboxSpec | None, mode: str | None = None) -> float:
    """Start ipykernel (sandboxed unless spec is None) on an ipc connection file; run 1+1; shut down.

    Returns the seconds from Popen to kernel ready."""
    from jupyter_client import BlockingKernelClient
    from jupyter_client.connect import write_connection_file

    if spec is not None:
        prepare_share_dir(spec, mode=mode)
    cf = str(share / "kernel.json")
    write_connection_file(cf, transport="ipc", ip=os.path.join(str(share), "ipc"))
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", cf]
    if spec is not None:
        argv = sandbox_argv(argv, spec, mode=mode)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kc = BlockingKernelClient()
    try:
        kc.load_connection_file(cf)
        # No heartbeat channel: without a KernelManager, wait_for_ready judges liveness by heartbeats,
        # and a kernel that takes more than ~1 s to start (ipykernel alone needs ~0.9 s here) misses
        # the first one and is declared dead.  We watch the process instead.
        kc.start_channels(hb=False)
        while True:
            try:
                kc.wait_for_ready(timeout=2)
                break
            except RuntimeError:
                if proc.poll() is not None:
                    pytest.fail(f"kernel exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
                if time.monotonic() - t0 > 60:
                    raise
        startup = time.monotonic() - t0
        msg_id = kc.execute("1+1")
        result = None
        while True:
            msg = kc.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "execute_result":
                result = msg["content"]["data"]["text/plain"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        assert result == "2"
        kc.shutdown()
        proc.wait(timeout=20)
    finally:
        kc.stop_channels()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return startup


@strict_only
def test_ipykernel_through_sandbox(share: Path):
    spec = SandboxSpec(share_dir=str(share))
    startup = _kernel_roundtrip(share, spec)
    print(f"sandboxed kernel ready after {startup:.2f} s")
    assert wait_no_pids(spec.uid, timeout=2.0) == []


# --------------------------------------------------------------------------------------------------
# basic mode (what a laptop gets); forced here so that it is also exercised on CI as root
# --------------------------------------------------------------------------------------------------


@userns_only
def test_basic_mode_with_user_namespace(share: Path, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("answer key")
    spec = SandboxSpec(share_dir=str(share))
    out = run_probe_fs(
        spec, {"readme": str(REPO / "README.md"), "secret": str(secret), "share": str(share)}, "basic"
    )
    assert out["readme"] is False and out["secret"] is False and out["share"] is True
    assert out["work_main"] == [".venv"]
    proc = run(
        """
        import json, os, socket
        res = {"uid": os.getuid(), "home": os.environ["HOME"], "cwd": os.getcwd(), "env": sorted(os.environ)}
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=2)
            res["connect"] = "connected"
        except OSError as e:
            res["connect"] = str(e)
        try:
            bytearray(8 << 30)
        except MemoryError:
            res["mem"] = "MemoryError"
        open(os.path.join(SHARE_DIR, "basic.txt"), "w").write("hi")
        print(json.dumps(res))
        """.replace("SHARE_DIR", repr(str(share))),
        spec,
        mode="basic",
        env=dict(os.environ, SECRET="1"),
    )
    out = last_json(proc)
    assert out["uid"] == os.getuid()  # the user namespace maps the user to itself
    assert out["home"] == out["cwd"] == SANDBOX_HOME
    assert out["connect"] != "connected" and out["mem"] == "MemoryError"
    assert "SECRET" not in out["env"]
    assert (share / "basic.txt").read_text() == "hi"


def test_basic_mode_without_namespaces(share: Path):
    # What a laptop without unprivileged user namespaces gets: rlimits, clean env, private temp HOME.
    proc = run(
        """
        import json, os, time
        res = {"home": os.environ["HOME"], "cwd": os.getcwd(), "env": sorted(os.environ), "sid": os.getsid(0) == os.getpid()}
        res["bg"] = os.fork()
        if res["bg"] == 0:  # left behind in the background: killed with the command's process group
            time.sleep(60)
            os._exit(0)
        try:
            bytearray(8 << 30)
        except MemoryError:
            res["mem"] = "MemoryError"
        print(json.dumps(res))
        """,
        SandboxSpec(share_dir=str(share)),
        mode="rlimits",
        env=dict(os.environ, NBGRADER_EXECUTION="autograde", SECRET="1"),
    )
    out = last_json(proc)
    assert out["home"] == out["cwd"] and "llm901-home-" in out["home"]
    assert not os.path.exists(out["home"])  # removed after the run
    assert out["mem"] == "MemoryError" and out["sid"] is True
    deadline = time.monotonic() + 2  # SIGKILL is sent when the command exits; dying takes a moment
    while alive(out["bg"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(out["bg"])
    assert "SECRET" not in out["env"] and "NBGRADER_EXECUTION" not in out["env"]


@userns_only
def test_ipykernel_through_basic_sandbox(share: Path):
    startup = _kernel_roundtrip(share, SandboxSpec(share_dir=str(share)), mode="basic")
    print(f"basic-sandboxed kernel ready after {startup:.2f} s")
