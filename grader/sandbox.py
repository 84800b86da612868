"""Run a command -- in practice a student's Jupyter kernel -- inside a sandbox.

The caller (the notebook executor) does::

    spec = SandboxSpec(share_dir=tmp, readonly_paths=[".../shared"])
    prepare_share_dir(spec)                      # before writing the connection file into it
    ...write kernel.json (ipc transport) into spec.share_dir...
    proc = subprocess.Popen(sandbox_argv([sys.executable, "-m", "ipykernel_launcher", "-f", cf], spec))

``sandbox_argv`` returns ``[python, -P, -m, llm901_grader.sandbox, <payload JSON>, --, *argv]``: this module is
also the *launcher* that builds the sandbox and then execs the command in it.

Two levels (``isolation_level()``):

strict (the launcher runs as root: CI, a course server)
    Process tree::

        launcher (host, root)  --fork-->  init (PID 1 of a new PID namespace, root, builds the root fs)
                                            --fork-->  command (fresh unprivileged uid, rlimits, seccomp, execve)

    The init process lives in new mount/network/IPC/UTS/cgroup namespaces, pivots into a fresh tmpfs root
    that holds only read-only bind mounts of the system directories, the Python installation, the venv and
    ``readonly_paths``, plus ``share_dir`` read-write, a fresh /proc, a minimal /dev and size-limited tmpfs
    for /tmp and the home directory.  Nothing else of the host file system exists inside.  When the
    command exits, init exits, and the kernel kills every process left in the PID namespace; when the
    launcher dies (even by SIGKILL), init gets SIGKILL (PR_SET_PDEATHSIG), with the same effect.

basic (not root: a student's or TA's laptop)
    If the kernel lets unprivileged users create user namespaces, the same tree and the same root file
    system are built inside a user namespace that maps the user to itself (so the command runs as the
    user, without capabilities).  Otherwise the command runs with the rlimits, the clean environment, a
    private temporary HOME and a new session only, and the launcher prints a warning saying so.

In every mode the command gets the rlimits of the spec, a clean environment, no_new_privs and (on
x86_64) a seccomp filter; ``isolation_report()`` returns a human-readable summary of what is and is not
enforced.  The launcher exits like the command (same exit code, or killed by the same signal), or with
125 (the sandbox could not be built; the reason is on stderr), 126 (cannot execute) or 127 (not found).

Notes for callers:

* One SandboxSpec per kernel: in strict mode the uid picked for it is stored in ``spec.uid`` and reused
  if the same spec is passed again.
* ``readonly_paths`` must be readable by "others" on the host: the sandbox's uid owns nothing there.
* ``share_dir`` is the only host storage the sandbox can write.  Each file is capped by RLIMIT_FSIZE but
  not their number, so on a server put share dirs on a size-limited file system (e.g. a tmpfs), and
  treat what the kernel leaves there as hostile (open with O_NOFOLLOW; shutil.rmtree is safe).

Only the standard library is imported here: the launcher starts before every kernel, so it must be quick.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import platform
import pwd
import random
import re
import resource
import select
import shutil
import signal
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import NoReturn

__all__ = [
    "SandboxSpec",
    "isolation_level",
    "isolation_report",
    "prepare_share_dir",
    "sandbox_argv",
    "SANDBOX_HOME",
]

PROG = "llm901-sandbox"

# The home directory and working directory of the sandboxed command when namespaces are available.
SANDBOX_HOME = "/home/student"
# Size of /dev/shm (POSIX shared memory: multiprocessing semaphores, torch DataLoader workers).
DEV_SHM_BYTES = 64 << 20
# Open files; a kernel with torch and zmq needs a few hundred.
NOFILE_LIMIT = 4096
# Exit statuses of the launcher itself (the same convention as env(1)/docker: 125 = the sandbox could
# not be set up, 126 = the command could not be executed, 127 = the command was not found).
EXIT_SETUP, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND = 125, 126, 127
# Signals the launcher passes on to the command (SIGINT = Jupyter's "interrupt kernel").
FORWARDED_SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
# Fresh uids are drawn from this range: above the ranges that useradd, systemd (dynamic users, nspawn)
# and /etc/subuid normally hand out, below 2**31 so that no tool mistakes them for negative numbers.
UID_RANGE = (1_900_000_000, 2_147_000_000)
# Host directories that make up the system part of the sandbox's root (bound read-only, or recreated
# as symlinks where the host has merged /usr).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# System-wide Jupyter/IPython configuration is hidden (covered by an empty directory): on a grading
# server it may hold nbgrader's configuration, which would both tell student code that it is being
# graded and change how the kernel behaves compared with the student's own machine.
MASKED_PATHS = ("/etc/jupyter", "/etc/ipython", "/usr/local/etc/jupyter", "/usr/etc/jupyter")


@dataclass
class SandboxSpec:
    # Host directory created by the caller (see prepare_share_dir); visible inside at the same absolute
    # path, read-write.  It holds the connection file and the ipc sockets.
    share_dir: str
    # Extra host paths visible inside, read-only, at the same path.  They must be readable by "others"
    # (the sandbox runs as a uid that owns nothing on the host).
    readonly_paths: list[str] = field(default_factory=list)
    memory_bytes: int = 3 << 30  # RLIMIT_AS
    max_processes: int = 256  # RLIMIT_NPROC (threads count; torch + ipykernel need ~30)
    max_file_bytes: int = 256 << 20  # RLIMIT_FSIZE
    cpu_seconds: int = 1800  # RLIMIT_CPU backstop (the caller enforces wall-clock timeouts)
    workdir_bytes: int = 512 << 20  # size of the tmpfs for HOME (= cwd) and for /tmp
    env: dict[str, str] = field(default_factory=dict)  # extra environment variables
    uid: int | None = None  # uid/gid to run as in strict mode; None -> a fresh one (stored back here)
    # The cgroup.procs files of the sandbox's own cgroup(s) (see cgroups.py), made by the caller: the
    # launcher moves itself there before anything else, so init and the command start inside.  Empty:
    # no cgroup.  The totals below are what the caller gives that cgroup (StudentKernel creates it).
    cgroup_procs: list[str] = field(default_factory=list)
    cgroup_memory_bytes: int = 0  # 0: no cgroup
    cgroup_pids: int = 0
    cgroup_cpus: float = 0.0  # cores' worth of CPU time (a CFS quota); 0: not capped


# --------------------------------------------------------------------------------------------------
# Public API (runs in the caller's process)
# --------------------------------------------------------------------------------------------------


@functools.cache
def isolation_level() -> str:
    """Return "strict" when the full sandbox can be built here (root with namespace rights), else "basic"."""
    if os.geteuid() == 0 and _probe_in_subprocess("strict"):
        return "strict"
    return "basic"


@functools.cache
def _userns_available() -> bool:
    return _probe_in_subprocess("userns")


def isolation_report(spec: SandboxSpec | None = None) -> str:
    """A short human-readable account of what the sandbox enforces on this machine (for logs/README)."""
    spec = spec or SandboxSpec(share_dir="/nonexistent")
    level = isolation_level()
    limits = (
        f"rlimits: address space {_fmt_bytes(spec.memory_bytes)}, {spec.max_processes} processes/threads, "
        f"files up to {_fmt_bytes(spec.max_file_bytes)}, {spec.cpu_seconds} s CPU, no core dumps, "
        f"{NOFILE_LIMIT} open files"
    )
    seccomp = (
        "seccomp filter: no namespaces/mount/bpf/keyring/io_uring/kernel-module syscalls, no TIOCSTI"
        if _SECCOMP_ARCH is not None
        else f"no seccomp filter (unsupported architecture {platform.machine()})"
    )
    common = [
        limits,
        "clean environment (no variable of the caller), new session",
        seccomp,
    ]
    fs = (
        f"private root: only system dirs, Python, venv and the read-only paths (read-only), the share dir "
        f"(read-write), tmpfs {SANDBOX_HOME} (= HOME = cwd) and /tmp of {_fmt_bytes(spec.workdir_bytes)} each"
    )
    if level == "strict":
        enforced = [
            "strict: new mount, PID, network, IPC, UTS and cgroup namespaces",
            fs,
            "no network (loopback only)",
            "runs as a fresh unprivileged uid (no capabilities, no_new_privs); other processes are hidden",
            "every process dies with the command or the launcher (PID namespace)",
            *common,
        ]
        missing = ["wall-clock timeout (the caller's job)"]
        from . import cgroups  # not at the top: the launcher never needs it

        if spec.cgroup_procs or (spec.cgroup_memory_bytes > 0 and cgroups.available() is not None):
            cpu = f"a CPU quota of {spec.cgroup_cpus:g} cores" if spec.cgroup_cpus > 0 else "no CPU quota"
            enforced.append(
                f"own cgroup: {_fmt_bytes(spec.cgroup_memory_bytes)} of RAM for all its processes together "
                f"(tmpfs included; over it the whole sandbox is stopped), {spec.cgroup_pids} tasks, {cpu}"
            )
        else:
            reason = cgroups.why_not() or "none asked for: cgroup_memory_bytes is 0"
            missing += [
                "tmpfs contents (HOME, /tmp, /dev/shm) use RAM outside RLIMIT_AS",
                f"no cgroup ({reason}): CPU share and total RAM of all processes are not capped, only per process",
            ]
    elif _userns_available():
        enforced = [
            "basic (not root): user, mount, PID, network, IPC and UTS namespaces",
            fs,
            "no network (loopback only)",
            "runs as the calling user without capabilities (no_new_privs)",
            "every process dies with the command or the launcher (PID namespace)",
            *common,
        ]
        missing = [
            "same uid as the caller: RLIMIT_NPROC counts all the user's processes (it is raised by that count)",
            "wall-clock timeout (the caller's job)",
            "tmpfs contents use RAM outside RLIMIT_AS",
            "no cgroup (needs root): total RAM, tasks and CPU of all the command's processes are not capped, "
            "only per process",
        ]
    else:
        enforced = [
            "basic (not root, no user namespaces): rlimits and environment only",
            f"private temporary HOME (= cwd), removed afterwards; RLIMIT_FSIZE {_fmt_bytes(spec.max_file_bytes)}",
            *common,
        ]
        missing = [
            "NO file system isolation: the command can read and write everything the user can",
            "NO network isolation",
            "no PID namespace: background processes are killed with the command's process group when it "
            "exits, but survive if they leave that group or if the launcher is SIGKILLed",
            "no cgroup (needs root): total RAM, tasks and CPU of all the command's processes are not capped",
        ]
    return "\n".join(
        [
            "Sandbox enforces:",
            *(f"  - {x}" for x in enforced),
            "Not enforced:",
            *(f"  - {x}" for x in missing),
        ]
    )


def prepare_share_dir(spec: SandboxSpec, *, mode: str | None = None) -> None:
    """Create ``spec.share_dir`` and, in strict mode, give it (and what is in it) to the sandbox's uid.

    Call it before writing the connection file; the launcher does the same at start-up, so files written
    in between (the connection file, mode 0600) become readable by the sandboxed kernel too.  ``mode``
    must match the one given to sandbox_argv (default: isolation_level()).
    """
    os.makedirs(spec.share_dir, mode=0o700, exist_ok=True)
    if (mode or isolation_level()) == "strict":
        if spec.uid is None:
            spec.uid = _pick_uid()
        _chown_share_dir(os.path.abspath(spec.share_dir), spec.uid)


def sandbox_argv(argv: list[str], spec: SandboxSpec, *, mode: str | None = None) -> list[str]:
    """The command line to Popen: the launcher, which runs ``argv`` inside the sandbox.

    ``mode`` defaults to isolation_level(); "basic" can be forced (e.g. to debug), and "rlimits" (basic
    without namespaces) exists for the tests.  In strict mode a fresh uid is stored in ``spec.uid``.
    """
    if not argv:
        raise ValueError("sandbox_argv: empty command")
    mode = mode or isolation_level()
    if mode not in ("strict", "basic", "rlimits"):
        raise ValueError(f"sandbox_argv: unknown mode {mode!r}")
    if mode == "strict" and spec.uid is None:
        spec.uid = _pick_uid()
    payload = {"mode": mode, "spec": asdict(spec)}
    # -P: do not put the current directory on sys.path -- the launcher runs as root, and the current
    # directory may well hold student files (a stray `ctypes.py` must not be imported).
    return [sys.executable, "-P", "-m", "llm901_grader.sandbox", json.dumps(payload), "--", *argv]


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _fmt_bytes(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << (shift - 4)) == 0:
            return f"{n / (1 << shift):g} {unit}"
    return f"{n} B"


class SandboxError(Exception):
    """A problem setting up the sandbox; the launcher reports it and exits EXIT_SETUP."""


def _die(message: str, code: int = EXIT_SETUP) -> NoReturn:
    try:
        os.write(2, f"{PROG}: error: {message}\n".encode(errors="replace"))
    finally:
        os._exit(code)


def _warn(message: str) -> None:
    os.write(2, f"{PROG}: warning: {message}\n".encode(errors="replace"))


def _probe_in_subprocess(kind: str) -> bool:
    # A subprocess rather than os.fork(): the caller may be multi-threaded (zmq, torch), and the probe
    # changes namespaces, which must never happen to the caller itself.
    import subprocess  # here, not at the top: the launcher never needs it

    try:
        r = subprocess.run(
            [sys.executable, "-P", "-m", "llm901_grader.sandbox", "--probe", kind],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def _process_uids() -> dict[int, int]:
    """Real uid -> number of tasks (threads), over all processes visible in /proc."""
    counts: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                text = f.read()
        except OSError:
            continue  # exited meanwhile
        uid = threads = None
        for line in text.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
        if uid is not None:
            counts[uid] = counts.get(uid, 0) + (threads or 1)
    return counts


def _pick_uid() -> int:
    """A uid that no account and no running process uses.

    Being fresh per sandbox matters: RLIMIT_NPROC counts the processes of a uid, and two concurrent
    sandboxes must not be able to read each other's files (they can't see them anyway, this is depth).
    The range holds ~250 million uids, so two concurrent draws colliding is not a practical concern.
    """
    in_use = _process_uids()
    rng = random.SystemRandom()
    for _ in range(1000):
        uid = rng.randrange(*UID_RANGE)
        if uid in in_use:
            continue
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            return uid
    raise SandboxError("could not find a free uid")


def _chown_share_dir(path: str, uid: int) -> None:
    # follow_symlinks=False: never let a symlink planted in the directory redirect a root chown.
    os.chown(path, uid, uid, follow_symlinks=False)
    os.chmod(path, 0o700)
    with os.scandir(path) as it:
        for entry in it:
            os.chown(entry.path, uid, uid, follow_symlinks=False)


# --------------------------------------------------------------------------------------------------
# Linux system calls that Python 3.11 does not wrap (ctypes)
# --------------------------------------------------------------------------------------------------

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.syscall.restype = ctypes.c_long

# pivot_root has no glibc wrapper; its number differs per architecture.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), f"unshare({flags:#x})")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(_b(src), _b(target), _b(fstype), flags, _b(data)),
        f"mount {src or fstype or ''} on {target}",
    )


def _umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def _pivot_root(new_root: str, put_old: str) -> None:
    if _SYS_PIVOT_ROOT is None:
        raise SandboxError(f"pivot_root: unsupported architecture {platform.machine()}")
    _check(_libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root")


def _prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    _check(_libc.prctl(option, arg2, arg3, 0, 0), f"prctl({option})")


# --- seccomp ---------------------------------------------------------------------------------------
# A deny-list filter in the spirit of Docker's default profile: the sandboxed code gets EPERM for system
# calls that only widen the kernel's attack surface (new namespaces -- in particular unprivileged user
# namespaces --, mounts, bpf, keyrings, io_uring, modules, ...) and for the TIOCSTI ioctl (typing into
# a terminal).  clone3 gets ENOSYS so that glibc falls back to clone, whose flags the filter can see.
# Numbers are for x86_64 only (the only tested architecture); elsewhere no filter is installed.

_SECCOMP_ARCH = {"x86_64": 0xC000003E}.get(platform.machine())  # AUDIT_ARCH_X86_64
_X86_64_DENY = {
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "swapon": 167, "swapoff": 168,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "init_module": 175, "delete_module": 176,
    "finit_module": 313, "quotactl": 179, "acct": 163, "settimeofday": 164, "syslog": 103,
    "adjtimex": 159, "clock_settime": 227, "clock_adjtime": 305, "unshare": 272, "setns": 308,
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320, "open_by_handle_at": 304,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "vhangup": 153, "lookup_dcookie": 212,
}  # fmt: skip
_X86_64_CLONE, _X86_64_CLONE3, _X86_64_IOCTL = 56, 435, 16
_CLONE_NS_FLAGS = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C


def _seccomp_program() -> bytes:
    """Assemble the classic-BPF program (jumps are forward-only and relative, hence the labels)."""
    BPF_LD_W_ABS, BPF_JEQ, BPF_JGE, BPF_JSET, BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06
    RET_ALLOW, RET_KILL_PROCESS = 0x7FFF0000, 0x80000000
    RET_EPERM, RET_ENOSYS = 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    NR, ARCH, ARG0, ARG1 = 0, 4, 16, 24  # offsets in struct seccomp_data (low 32 bits of the args)

    prog: list[tuple[int, object, object, int]] = []  # (code, jt, jf, k); jt/jf: int or label
    labels: dict[str, int] = {}

    def ins(code: int, k: int, jt: object = 0, jf: object = 0) -> None:
        prog.append((code, jt, jf, k))

    def label(name: str) -> None:
        labels[name] = len(prog)

    ins(BPF_LD_W_ABS, ARCH)
    ins(BPF_JEQ, _SECCOMP_ARCH, jt=1)
    ins(BPF_RET, RET_KILL_PROCESS)  # another ABI (i386 via int 0x80): refuse outright
    ins(BPF_LD_W_ABS, NR)
    ins(BPF_JGE, 0x40000000, jt="deny")  # the x32 ABI
    for nr in sorted(_X86_64_DENY.values()):
        ins(BPF_JEQ, nr, jt="deny")
    ins(BPF_JEQ, _X86_64_CLONE3, jt="enosys")
    ins(BPF_JEQ, _X86_64_CLONE, jt="clone")
    ins(BPF_JEQ, _X86_64_IOCTL, jt="ioctl")
    ins(BPF_RET, RET_ALLOW)
    label("clone")
    ins(BPF_LD_W_ABS, ARG0)
    ins(BPF_JSET, _CLONE_NS_FLAGS, jt="deny")
    ins(BPF_RET, RET_ALLOW)
    label("ioctl")
    ins(BPF_LD_W_ABS, ARG1)
    ins(BPF_JEQ, _TIOCSTI, jt="deny")
    ins(BPF_JEQ, _TIOCLINUX, jt="deny")
    ins(BPF_RET, RET_ALLOW)
    label("enosys")
    ins(BPF_RET, RET_ENOSYS)
    label("deny")
    ins(BPF_RET, RET_EPERM)

    out = b""
    for i, (code, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        assert 0 <= jt < 256 and 0 <= jf < 256
        out += struct.pack("=HBBI", code, jt, jf, k)
    return out


def _install_seccomp() -> bool:
    if _SECCOMP_ARCH is None:
        return False
    code = _seccomp_program()

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buf = ctypes.create_string_buffer(code, len(code))
    prog = SockFprog(len(code) // 8, ctypes.addressof(buf))
    _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog))
    return True


# --- capabilities ----------------------------------------------------------------------------------


def _drop_bounding_capabilities() -> None:
    """Empty the bounding and ambient sets: no later execve can ever grant a capability again."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except OSError:
        last = 63
    for cap in range(last + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails (EPERM) without CAP_SETPCAP: then nothing to drop
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def _drop_all_capabilities() -> None:
    """Also empty the effective, permitted and inheritable sets of this process."""
    _drop_bounding_capabilities()

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    hdr = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(hdr), ctypes.byref(data)), "capset")


# --------------------------------------------------------------------------------------------------
# The plan: everything computed on the host, before any namespace changes
# --------------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    mode: str  # "strict" | "basic" (with namespaces) | "rlimits" (basic without)
    spec: SandboxSpec
    uid: int
    gid: int
    home: str
    env: dict[str, str]
    nproc: int  # RLIMIT_NPROC to set
    # Construction of the root file system, each (kind, destination, *arguments); see _build_root.
    ops: list[tuple] = field(default_factory=list)


def _depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


def _is_under(path: str, parent: str) -> bool:
    return parent == "/" or path == parent or path.startswith(parent.rstrip("/") + "/")


def _sandbox_env(spec: SandboxSpec, home: str) -> dict[str, str]:
    # Built from scratch: nothing of the caller's environment (NBGRADER_*, tokens, the grader's paths)
    # may leak into the student's process.
    venv_bin = os.path.join(sys.prefix, "bin")
    env = {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_RUNTIME_DIR": f"{home}/.local/share/jupyter/runtime",
        "JUPYTER_DATA_DIR": f"{home}/.local/share/jupyter",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": f"{home}/.cache/huggingface",
        "OMP_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
        # RLIMIT_AS counts reserved address space, not used memory, so allocators that reserve big
        # arenas up front would eat the limit: glibc reserves 64 MiB per thread arena (up to 8 per
        # core), and pyarrow's default mimalloc pool (imported by `datasets`) reserves 1 GiB.
        "MALLOC_ARENA_MAX": "2",
        "ARROW_DEFAULT_MEMORY_POOL": "system",
    }
    env.update({str(k): str(v) for k, v in spec.env.items()})
    return env


def _make_plan(spec: SandboxSpec, mode: str, argv: list[str]) -> _Plan:
    if mode == "strict":
        if spec.uid is None or spec.uid <= 0 or spec.uid >= 2**32 - 1:
            raise SandboxError(f"invalid sandbox uid {spec.uid!r} (must be an unprivileged uid)")
        uid = gid = spec.uid
        nproc = spec.max_processes  # a fresh uid: the limit counts the sandbox's processes only
    else:
        uid, gid = os.getuid(), os.getgid()
        # Same uid as the caller: the limit counts all of the user's processes, so add what already runs.
        # (Counted here, on the host: inside, /proc shows the sandbox only.)
        nproc = spec.max_processes + _process_uids().get(uid, 0)
    plan = _Plan(
        mode=mode,
        spec=spec,
        uid=uid,
        gid=gid,
        home=SANDBOX_HOME,
        env=_sandbox_env(spec, SANDBOX_HOME),
        nproc=nproc,
    )
    if mode == "rlimits":
        return plan  # no root file system to build; home is chosen at launch

    ops: list[tuple] = []
    visible: list[str] = []  # the trees bound into the sandbox (to check that the command is there)

    def bind(path: str, rw: bool) -> None:
        path = os.path.abspath(path)
        if not os.path.exists(path):
            raise SandboxError(f"path to share with the sandbox does not exist: {path}")
        real = os.path.realpath(path)
        # "/" would expose everything; the others are (or sit under) the sandbox's own mounts.
        if real in ("/", "/tmp", SANDBOX_HOME) or any(_is_under(real, p) for p in ("/proc", "/dev", "/sys")):
            raise SandboxError(f"refusing to share {path} with the sandbox")
        ops.append(("bind", real, real, rw))
        visible.append(real)
        if real != path:  # keep the given spelling working too (e.g. a symlinked data directory)
            ops.append(("alias", path, real))

    for p in SYSTEM_PATHS:
        if os.path.islink(p):  # merged /usr: /bin -> usr/bin, recreated as the same symlink
            ops.append(("symlink", p, os.readlink(p)))
        elif os.path.isdir(p):
            ops.append(("bind", p, p, False))
            visible.append(p)
    # The interpreter: the base installation (sys.base_prefix, e.g. under /root/.pyenv) and the venv.
    for p in dict.fromkeys([sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix]):
        if not any(_is_under(os.path.realpath(p), t) for t in visible):
            bind(p, rw=False)
    for p in MASKED_PATHS:
        if os.path.isdir(p) and not os.path.islink(p):
            ops.append(("tmpfs", p, "size=4k,mode=0755", MS_RDONLY))
    for p in spec.readonly_paths:
        bind(p, rw=False)
    bind(spec.share_dir, rw=True)
    ops.append(("tmpfs", "/tmp", f"size={spec.workdir_bytes},mode=1777"))
    ops.append(("tmpfs", SANDBOX_HOME, f"size={spec.workdir_bytes},mode=0700,uid={uid},gid={gid}"))
    ops.append(("dev", "/dev"))  # null, zero, full, random, urandom, tty, fd links, /dev/shm
    # An account for the sandbox uid (getpass.getuser(), torch's cache dirs, `id` need one), and the
    # host's account list is hidden as a side effect.
    passwd = "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    group = "root:x:0:\n"
    if uid != 0:
        passwd += f"student:x:{uid}:{gid}:student:{SANDBOX_HOME}:/bin/sh\n"
        group += f"student:x:{gid}:\n"
    passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    group += "nogroup:x:65534:\n"
    for path, content in (("/etc/passwd", passwd), ("/etc/group", group)):
        if os.path.isfile(path):
            ops.append(("file", path, content))
    # Shallower mount points first, so that e.g. /tmp's tmpfs exists before share_dir is bound inside it.
    ops.sort(key=lambda op: _depth(op[1]))
    plan.ops = ops

    # Fail early and clearly if the command itself is not inside (a python outside the venv/base, say).
    # Symlinks are recreated inside, so where the command resolves to is what matters.
    exe = argv[0]
    if os.path.isabs(exe) and os.path.exists(exe):
        real = os.path.realpath(exe)
        if not any(_is_under(real, t) for t in visible):
            raise SandboxError(
                f"the command {exe} is not visible inside the sandbox ({real} is outside the system "
                "dirs, the Python installation and readonly_paths)"
            )
    return plan


# --------------------------------------------------------------------------------------------------
# Building the root file system (runs in the sandbox's init, in its own mount namespace)
# --------------------------------------------------------------------------------------------------

OLD_ROOT = "/.oldroot"

# statvfs() flag bits -> mount(2) flags.  A bind remount must restate these flags: in a user namespace
# the kernel refuses to clear flags that were locked by the parent namespace (nosuid, nodev, atime...).
_ST_TO_MS = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 16: MS_SYNCHRONOUS, 64: MS_MANDLOCK,
             1024: MS_NOATIME, 2048: MS_NODIRATIME, 4096: MS_RELATIME}  # fmt: skip


def _mount_points_under(path: str) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace, in mount order."""
    info = (
        "/proc/self/mountinfo"
        if os.path.exists("/proc/self/mountinfo")
        else OLD_ROOT + "/proc/self/mountinfo"
    )
    points = []
    with open(info) as f:
        for line in f:
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if _is_under(mp, path) and not _is_under(mp, OLD_ROOT):
                points.append(mp)
    return points


def _remount(path: str, add_flags: int, recursive: bool = True) -> None:
    """Add mount flags (e.g. read-only) to the bind mount at ``path`` and, by default, to its submounts."""
    for mp in _mount_points_under(path) if recursive else [path]:
        st = os.statvfs(mp).f_flag
        flags = add_flags
        for st_bit, ms_bit in _ST_TO_MS.items():
            if st & st_bit:
                flags |= ms_bit
        _mount(None, mp, None, MS_REMOUNT | MS_BIND | flags)


def _make_mount_point(path: str, is_dir: bool) -> None:
    """Create ``path`` in the new root (dirs 0755 whatever the umask); refuse to go through symlinks."""
    parts = [p for p in path.split("/") if p]
    cur = ""
    for i, part in enumerate(parts):
        cur += "/" + part
        last = i == len(parts) - 1
        if os.path.islink(cur):
            raise SandboxError(f"mount point {path}: {cur} is a symlink in the sandbox")
        if os.path.exists(cur):
            continue
        if last and not is_dir:
            os.close(os.open(cur, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        else:
            os.mkdir(cur)
            os.chmod(cur, 0o755)  # e.g. /root: 0700 on the host, but must be traversable here


def _bind(src: str, dest: str, rw: bool) -> None:
    host_src = OLD_ROOT + src
    _make_mount_point(dest, os.path.isdir(host_src))
    _mount(host_src, dest, None, MS_BIND | MS_REC)
    _remount(dest, MS_NOSUID | MS_NODEV | (0 if rw else MS_RDONLY))


def _build_dev() -> None:
    _make_mount_point("/dev", True)
    _mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    # Bind the host's device nodes rather than mknod: that also works in a user namespace.
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        if os.path.exists(OLD_ROOT + "/dev/" + name):
            _make_mount_point("/dev/" + name, False)
            _mount(OLD_ROOT + "/dev/" + name, "/dev/" + name, None, MS_BIND)
            _remount("/dev/" + name, MS_NOSUID | MS_NOEXEC, recursive=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, "/dev/" + name)
    os.mkdir("/dev/shm")
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={DEV_SHM_BYTES},mode=1777")
    _remount("/dev", MS_RDONLY | MS_NOSUID | MS_NOEXEC, recursive=False)


def _mount_proc(strict: bool) -> None:
    os.mkdir("/proc")
    # hidepid: the sandboxed uid sees only its own processes -- in particular not PID 1 (the root-owned
    # init, whose command line names the grader).
    for opts in ("hidepid=invisible", "hidepid=2", None):
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts)
            return
        except OSError as e:
            err = e
    if strict:
        raise err
    # A user namespace may not mount proc where the host's /proc is partly masked (e.g. in Docker).
    _warn(f"no /proc in the sandbox ({err.strerror})")


def _build_root(plan: _Plan) -> None:
    # Private propagation first: none of what follows may leak back into the host's mount namespace.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # The new root is a tmpfs.  It is first mounted on /tmp (any directory would do; it is only covered
    # in this namespace), then pivot_root makes it "/" with the host's root at /.oldroot, from where the
    # bind mounts are taken.  Technique from bubblewrap.
    base = "/tmp" if os.path.isdir("/tmp") else "/mnt"
    _mount("tmpfs", base, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    os.mkdir(base + OLD_ROOT)
    _pivot_root(base, base + OLD_ROOT)
    os.chdir("/")
    # /proc first: the kernel only allows a new proc mount in a user namespace while a fully visible one
    # exists in the mount namespace (the host's, still under /.oldroot), and _remount reads mountinfo.
    _mount_proc(plan.mode == "strict")
    for kind, dest, *args in plan.ops:
        try:
            if kind == "bind":
                _bind(args[0], dest, rw=args[1])
            elif kind == "symlink":
                os.symlink(args[0], dest)
            elif kind == "alias":  # a symlinked spelling of a bound path
                if not os.path.lexists(dest):
                    _make_mount_point(os.path.dirname(dest), True)
                    os.symlink(args[0], dest)
            elif kind == "tmpfs":
                _make_mount_point(dest, True)
                extra = args[1] if len(args) > 1 else 0
                _mount("tmpfs", dest, "tmpfs", MS_NOSUID | MS_NODEV | extra, args[0])
            elif kind == "dev":
                _build_dev()
            elif kind == "file":  # a generated file over a host file: write, bind, unlink the source
                src = "/.gen-" + os.path.basename(dest)
                with open(src, "w") as f:
                    f.write(args[0])
                os.chmod(src, 0o644)
                _mount(src, dest, None, MS_BIND)
                _remount(dest, MS_RDONLY | MS_NOSUID | MS_NODEV, recursive=False)
                os.unlink(src)
            else:
                raise AssertionError(kind)
        except OSError as e:
            raise SandboxError(f"building the sandbox root ({kind} {dest}): {e}") from e
    # Cut the way back to the host's file system, then freeze the skeleton.
    _umount(OLD_ROOT, MNT_DETACH)
    os.rmdir(OLD_ROOT)
    _remount("/", MS_RDONLY | MS_NOSUID | MS_NODEV, recursive=False)
    os.chdir(plan.home)


def _loopback_up() -> None:
    """Bring up lo in the new network namespace (local sockets keep working; nothing else exists)."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH22x", b"lo", 0))
        flags = struct.unpack("16sH22x", ifr)[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def _enter_userns() -> None:
    """Basic mode: a user namespace in which we map to ourselves and hold capabilities (until execve)."""
    uid, gid = os.getuid(), os.getgid()
    _unshare(CLONE_NEWUSER)
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")  # required before an unprivileged process may write gid_map
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1\n")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1\n")


# --------------------------------------------------------------------------------------------------
# The command's last steps before execve
# --------------------------------------------------------------------------------------------------


def _apply_rlimits(plan: _Plan) -> None:
    spec = plan.spec
    limits = [
        (resource.RLIMIT_AS, spec.memory_bytes, spec.memory_bytes),
        (resource.RLIMIT_NPROC, plan.nproc, plan.nproc),
        (resource.RLIMIT_FSIZE, spec.max_file_bytes, spec.max_file_bytes),
        # soft -> SIGXCPU, hard -> SIGKILL a little later
        (resource.RLIMIT_CPU, spec.cpu_seconds, spec.cpu_seconds + 5),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, NOFILE_LIMIT, NOFILE_LIMIT),
    ]
    for res, soft, hard in limits:
        cur_hard = resource.getrlimit(res)[1]
        if plan.mode != "strict" and cur_hard != resource.RLIM_INFINITY:
            # Without privileges a hard limit can only be lowered.
            soft, hard = min(soft, cur_hard), min(hard, cur_hard)
        resource.setrlimit(res, (soft, hard))


def _close_fds_from(lowfd: int) -> None:
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(lowfd, 65536)
        return
    for fd in fds:
        if fd >= lowfd:
            try:
                os.close(fd)
            except OSError:
                pass  # the fd of the listdir itself


def _exec_command(plan: _Plan, argv: list[str]) -> NoReturn:
    """In the forked child: finish confinement and execve the command.  Never returns."""
    try:
        for sig in (*FORWARDED_SIGNALS, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)  # Python ignores SIGPIPE/SIGXFSZ; a fresh program must not
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.setsid()  # own process group, so that signals can reach the command's children too
        os.umask(0o022)
        os.chdir(plan.home)
        _apply_rlimits(plan)
        if plan.mode == "strict":
            # Root in the init user namespace -> the sandbox uid: no capabilities remain after setresuid
            # (the bounding set is emptied too, so nothing can be regained later).
            _drop_bounding_capabilities()
            os.setgroups([])
            os.setresgid(plan.gid, plan.gid, plan.gid)
            os.setresuid(plan.uid, plan.uid, plan.uid)
        if plan.mode != "rlimits":
            _drop_all_capabilities()  # basic: the capabilities that came with the user namespace
        _prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid binaries, no file capabilities, ever again
        _install_seccomp()
        _close_fds_from(3)
        exe = argv[0]
        if "/" not in exe:
            found = shutil.which(exe, path=plan.env["PATH"])
            if found is None:
                _die(f"command not found: {exe}", EXIT_NOT_FOUND)
            exe = found
        os.execve(exe, argv, plan.env)
    except FileNotFoundError as e:
        _die(f"cannot execute {argv[0]}: {e}", EXIT_NOT_FOUND)
    except BaseException as e:  # noqa: BLE001 - whatever happens, this forked child must not return
        _die(f"cannot execute {argv[0]}: {e}", EXIT_CANNOT_EXEC)


# --------------------------------------------------------------------------------------------------
# Process supervision: launcher -> init -> command
# --------------------------------------------------------------------------------------------------


class _Forwarder:
    """Signal handlers that pass signals on to a child (its process group), queueing them until it exists."""

    def __init__(self, group: bool) -> None:
        self.pid: int | None = None
        self.owner = os.getpid()  # a handler inherited by a fork must do nothing in the child
        self.group = group
        self.pending: list[int] = []

    def install(self) -> None:
        for sig in FORWARDED_SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if os.getpid() != self.owner:
            return
        if self.pid is None:
            self.pending.append(signum)
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        try:
            if self.group:
                try:
                    os.killpg(self.pid, signum)
                    return
                except (ProcessLookupError, PermissionError):
                    pass  # not yet its own group leader (just forked): signal the process itself
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass  # already gone

    def started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            self._send(signum)
        self.pending.clear()


def _block_forwarded() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)


def _unblock_forwarded() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED_SIGNALS)


def _parent_gone(death_r: int) -> bool:
    # The launcher holds the write end and never writes: readable means EOF, i.e. the launcher is dead.
    return bool(select.select([death_r], [], [], 0)[0])


def _init_main(plan: _Plan, argv: list[str], death_r: int, status_w: int) -> NoReturn:
    """PID 1 of the sandbox: build the root, start the command, forward signals, reap, report its status."""
    try:
        fwd = _Forwarder(group=True)
        fwd.install()
        _unblock_forwarded()
        os.setsid()  # leave the caller's process group: its killpg reaches the launcher only, once
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # launcher dies -> we die -> the whole PID namespace dies
        if _parent_gone(death_r):
            os._exit(1)
        try:
            _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)
        except OSError:
            _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)  # kernels without cgroup ns
        try:
            _loopback_up()
        except OSError as e:
            _warn(f"could not bring up lo: {e}")
        socket.sethostname("localhost")  # not the host's (or grading server's) name
        _build_root(plan)
    except (OSError, SandboxError) as e:
        _die(f"cannot build the sandbox: {e}")
    except BaseException as e:  # noqa: BLE001
        _die(f"cannot build the sandbox: {type(e).__name__}: {e}")

    try:
        _block_forwarded()
        pid = os.fork()
        if pid == 0:
            os.close(status_w)
            os.close(death_r)
            _exec_command(plan, argv)
        fwd.started(pid)
        _unblock_forwarded()
        # As PID 1 we adopt every orphan: reap them all until the command itself exits.
        while True:
            try:
                child, status = os.waitpid(-1, 0)
            except ChildProcessError:
                status = 0x7F00  # cannot happen while the command lives
                break
            if child == pid:
                break
        try:
            os.write(status_w, struct.pack("=i", status))
        except OSError:
            pass  # the launcher is gone; nobody to report to
        # Our exit takes down the namespace: the kernel SIGKILLs whatever the command left behind.
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    except BaseException as e:  # noqa: BLE001
        _die(f"sandbox init failed: {type(e).__name__}: {e}")


def _supervise(
    child: Callable[[int, int], None], *, group: bool, kill_group: bool = False
) -> tuple[int, int | None, int]:
    """Fork ``child(death_r, status_w)``, forward signals to it, wait.

    ``kill_group``: when the child has exited, SIGKILL what is left of its process group (the best that
    can be done without a PID namespace).
    Returns (raw wait status of the child, raw status reported through the pipe or None, child pid).
    """
    death_r, death_w = os.pipe()
    status_r, status_w = os.pipe()
    fwd = _Forwarder(group=group)
    # Signals are blocked across fork so that none is handled with a half-set-up state on either side.
    _block_forwarded()
    fwd.install()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(death_w)
            os.close(status_r)
            if _PARENT_FD is not None:
                os.close(_PARENT_FD)  # the sandbox has no business with the grader's process
            child(death_r, status_w)
        finally:
            os._exit(EXIT_SETUP)
    os.close(death_r)
    os.close(status_w)
    fwd.started(pid)
    _unblock_forwarded()
    _wait_child_or_orphaned(pid)
    if kill_group:
        # Wait without reaping: while the child is a zombie its pid -- and so the group id -- cannot be
        # reused by an unrelated process.
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    while True:
        child_pid, status = os.waitpid(pid, 0)
        if child_pid == pid and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
            break
    reported = None
    data = os.read(status_r, 4)
    if len(data) == 4:
        reported = struct.unpack("=i", data)[0]
    os.close(status_r)
    os.close(death_w)
    return status, reported, pid


_PARENT_FD: int | None = None  # set by main(): a pidfd of the process that started the launcher


def _wait_child_or_orphaned(pid: int) -> None:
    """Return when the child has exited; if the caller dies first, SIGKILL the child (and so the sandbox).

    A grader killed with SIGKILL cannot stop its kernels; without this they would idle forever, holding
    memory and their cgroup.  (Not PR_SET_PDEATHSIG: it fires when the *thread* that started us exits.)
    """
    if _PARENT_FD is None:
        return
    try:
        child_fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        while True:
            ready = select.select([child_fd, _PARENT_FD], [], [])[0]
            if child_fd in ready:
                return
            if _PARENT_FD in ready:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return
    finally:
        os.close(child_fd)


def _exit_like(status: int) -> NoReturn:
    """Terminate the launcher the way the command terminated (exit code, or the same signal)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # re-raising SIGSEGV must not dump the launcher
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal whose default action is not to terminate
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else EXIT_SETUP)


def _userns_works_here() -> bool:
    """Basic mode, in the launcher: can a child build namespaces?  (Fork is fine: we are single-threaded.)"""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(_probe("userns"))
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _join_cgroups(procs_files: list[str]) -> None:
    """Move the launcher into the sandbox's cgroup(s): everything it starts from now on is counted there."""
    for path in procs_files:
        try:
            with open(path, "w") as f:
                f.write(str(os.getpid()))
        except OSError as e:
            raise SandboxError(f"cannot join the sandbox's cgroup {path}: {e.strerror or e}") from e


def _watch_parent() -> int | None:
    """A pidfd of the caller (the grader), so that the sandbox dies with it (see _supervise)."""
    try:
        return os.pidfd_open(os.getppid())
    except (AttributeError, OSError):
        return None  # Python or kernel without pidfd: the caller's cleanup has to do


def _launch(spec: SandboxSpec, mode: str, argv: list[str]) -> NoReturn:
    try:
        # First of all: nothing of the sandbox may start outside its cgroup.
        _join_cgroups(spec.cgroup_procs)
        spec.share_dir = os.path.abspath(spec.share_dir)
        if mode == "basic" and not _userns_works_here():
            _warn("user namespaces are not available: running WITHOUT file system and network isolation")
            mode = "rlimits"
        if mode == "strict" and os.geteuid() != 0:
            raise SandboxError("strict mode needs root (use basic)")
        # Again, for what the caller wrote into share_dir after its own call (the connection file).
        prepare_share_dir(spec, mode=mode)
        plan = _make_plan(spec, mode, argv)
    except (OSError, SandboxError, ValueError) as e:
        _die(str(e))

    if mode == "rlimits":
        import tempfile

        home = tempfile.mkdtemp(prefix="llm901-home-")
        plan.home = home
        plan.env = _sandbox_env(spec, home)

        def child(death_r: int, status_w: int) -> None:
            os.close(status_w)
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if _parent_gone(death_r):
                os._exit(1)
            _exec_command(plan, argv)

        try:
            status, _, _ = _supervise(child, group=True, kill_group=True)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        _exit_like(status)

    try:
        if mode == "basic":
            _enter_userns()
        # The next child of the launcher becomes PID 1 of a new PID namespace.
        _unshare(CLONE_NEWPID)
    except OSError as e:
        _die(f"cannot create namespaces: {e}")
    status, reported, _ = _supervise(lambda r, w: _init_main(plan, argv, r, w), group=False)
    _exit_like(reported if reported is not None else status)


def _probe(kind: str) -> int:
    """Try to build what the sandbox needs, in this (throwaway) process.  0 = possible."""
    try:
        if kind == "userns":
            _enter_userns()
        elif os.geteuid() != 0:
            return 1
        _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID)
        pid = os.fork()
        if pid == 0:
            try:
                _mount(None, "/", None, MS_REC | MS_PRIVATE)
                _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k")
                os.mkdir("/tmp/old")
                _pivot_root("/tmp", "/tmp/old")
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        return 0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 1
    except (OSError, SandboxError):
        return 1


def main(args: list[str] | None = None) -> NoReturn:
    args = sys.argv[1:] if args is None else args
    if len(args) == 2 and args[0] == "--probe":
        os._exit(_probe(args[1]))
    if args == ["--report"]:
        try:  # with the grader's default limits, when the grader is installed here
            from .execute import Limits, sandbox_spec

            print(isolation_report(sandbox_spec(Limits(), [])))
        except ImportError:
            print(isolation_report())
        os._exit(0)
    if len(args) < 3 or args[1] != "--":
        _die(
            "usage: python -m llm901_grader.sandbox '<payload JSON>' -- COMMAND [ARG...]  (see sandbox_argv)"
        )
    try:
        payload = json.loads(args[0])
        mode = payload["mode"]
        spec = SandboxSpec(**payload["spec"])
        if mode not in ("strict", "basic", "rlimits"):
            raise ValueError(f"unknown mode {mode!r}")
    except (ValueError, KeyError, TypeError) as e:
        _die(f"bad sandbox payload: {e}")
    global _PARENT_FD
    _PARENT_FD = _watch_parent()
    _launch(spec, mode, args[2:])


if __name__ == "__main__":
    main()
