"""One cgroup per sandboxed kernel: a bound on the whole submission, not on each of its processes.

RLIMIT_AS bounds one process; a submission that starts three processes of 2.5 GB each stays under it
and still holds 7.5 GB. The cgroup of a kernel holds the sandbox launcher, its init and everything the
student's code starts, so its limits are totals:

* memory: RAM of all its processes plus the tmpfs pages they wrote (HOME, /tmp, /dev/shm are charged to
  the group that wrote them). Over the limit, the kernel's OOM killer kills inside this group only; the
  grader sees the OOM kill in the group's counters and stops the whole sandbox (v2 also kills the whole
  group itself: memory.oom.group). No swap is given (memory.swap.max 0 where it exists).
* pids: tasks (processes and threads) at once; fork/clone fails with EAGAIN at the limit.
* cpu: a CFS quota of the worker's share of cores, so one submission cannot take a neighbour's cores, and
  the weight of that many busy processes against the machine's other work.

cgroup v2 is used where the memory controller lives there, else the v1 memory, pids and cpu hierarchies.
Groups live directly under each hierarchy's root, named
``llm901-<owner pid>-<its start time>-<its PID namespace>-<n>-...``: the owner is the grader process that
created the group. A grader killed with SIGKILL cannot remove its groups, so every
grader, when it starts its first kernel, removes the groups (and the kernels' share dirs, named the same
way) whose owner is no longer running -- never those of a grader that is still running.

Without root, or where the controllers are missing, ``available()`` says why and nothing is created:
the sandbox then bounds each process only (see sandbox.isolation_report).

Standard library only, like sandbox.py.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass

GROUP_PREFIX = "llm901-"
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
SHARE_DIR_PREFIX = "llm901-k-"
_NAME_RE = re.compile(r"^(\d+)-(\d+)-(\d+)-")  # owner pid, its start time, its PID namespace
_counter = itertools.count()


@dataclass
class Layout:
    version: str  # "v1" | "v2"
    roots: dict[str, str]  # v1: controller -> hierarchy mount point; v2: {"unified": mount point}

    def hierarchies(self) -> list[str]:
        return list(dict.fromkeys(self.roots.values()))


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, super options) of every cgroup file system."""
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3 or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        out.append((point, rfields[0], set(rfields[2].split(","))))
    return out


@functools.cache
def _detect() -> tuple[Layout | None, str]:
    if os.geteuid() != 0:
        return None, "not root: cgroups need root"
    mounts = _mounts()
    v1 = {}
    for point, fstype, opts in mounts:
        if fstype == "cgroup":
            for ctrl in V1_CONTROLLERS:
                if ctrl in opts and ctrl not in v1:
                    v1[ctrl] = point
    if "memory" in v1:
        missing = [c for c in V1_CONTROLLERS if c not in v1]
        if missing:
            return None, f"cgroup v1 controllers missing: {', '.join(missing)}"
        layout = Layout("v1", v1)
    else:
        unified = next((p for p, fstype, _ in mounts if fstype == "cgroup2"), None)
        if unified is None:
            return None, "no cgroup file system mounted"
        try:
            with open(os.path.join(unified, "cgroup.controllers")) as f:
                have = set(f.read().split())
        except OSError as e:
            return None, f"cgroup v2: {e.strerror}"
        missing = [c for c in ("memory", "pids", "cpu") if c not in have]
        if missing:
            return None, f"cgroup v2 controllers missing: {', '.join(missing)}"
        layout = Layout("v2", {"unified": unified})
    try:
        _enable_controllers(layout)
    except OSError as e:
        return None, f"cannot create cgroups ({layout.version}): {e.strerror or e}"
    return layout, ""


def available() -> Layout | None:
    """The cgroup layout to use on this machine, or None (see why_not())."""
    return _detect()[0]


def why_not() -> str:
    """Why per-sandbox cgroups are not used here ('' when they are)."""
    return _detect()[1]


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _enable_controllers(layout: Layout) -> None:
    """Check that groups can be made here (v2: enable the controllers for the root's children)."""
    for root in layout.hierarchies():
        if not os.access(root, os.W_OK):
            raise PermissionError(errno.EACCES, f"{root} is not writable")
    if layout.version == "v2":
        root = layout.roots["unified"]
        enabled = set(_read(os.path.join(root, "cgroup.subtree_control")).split())
        wanted = [c for c in ("memory", "pids", "cpu") if c not in enabled]
        if wanted:
            _write(os.path.join(root, "cgroup.subtree_control"), " ".join(f"+{c}" for c in wanted))


# --- owners: which grader process made a group or a share dir -----------------------------------------


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (stable for its life; differs after pid reuse)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def owner_tag() -> str:
    """``<pid>-<start time>-<pid namespace>`` of this process: the prefix of its groups and share dirs."""
    pid = os.getpid()
    return f"{pid}-{_start_time(pid) or 0}-{_pid_namespace()}"


def _owner_alive(name: str) -> bool:
    """False only for a name made by a process of our PID namespace that is no longer running."""
    m = _NAME_RE.match(name)
    if m is None or int(m.group(3)) != _pid_namespace():
        return True  # not ours to judge (another container's grader sees other pids)
    pid, started = int(m.group(1)), int(m.group(2))
    return _start_time(pid) == started


def new_share_dir() -> str:
    """A kernel's share dir, named after its owner so that a later grader can clean it if we are killed."""
    return tempfile.mkdtemp(prefix=f"{SHARE_DIR_PREFIX}{owner_tag()}-")


# --- one group per kernel -------------------------------------------------------------------------------


def _kill_tasks(procs_file: str, deadline: float) -> bool:
    """SIGKILL every process listed in a cgroup.procs until it is empty; True when it is."""
    while True:
        pids = [int(p) for p in _read(procs_file).split()]
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def _rmdir(path: str, deadline: float) -> bool:
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                return False
            time.sleep(0.02)  # dying tasks not yet gone


class SandboxCgroup:
    """A cgroup with total limits for one sandbox. ``procs_files`` are what the launcher joins."""

    def __init__(self, layout: Layout, memory_bytes: int, max_pids: int, cpus: float):
        owner = owner_tag()
        self.layout = layout
        self.memory_bytes, self.max_pids, self.cpus = memory_bytes, max_pids, cpus
        self.name = f"{owner}-{next(_counter)}-{os.urandom(3).hex()}"
        # Directly under each hierarchy's root, not in a common parent: a group's CPU weight then counts
        # against the machine's other processes as that of `cpus` busy processes, as the kernel's own
        # threads did without a cgroup -- a shared parent would weigh as one process for all kernels.
        self.dirs = {key: os.path.join(root, GROUP_PREFIX + self.name) for key, root in layout.roots.items()}
        self.oom_kills = 0
        self.pids_refused = 0
        self.peak_bytes = 0
        self._removed = False
        try:
            for d in dict.fromkeys(self.dirs.values()):
                os.mkdir(d, 0o755)
            self._configure()
        except OSError:
            self.remove()
            raise

    def _configure(self) -> None:
        quota = max(1000, int(self.cpus * CPU_PERIOD_US)) if self.cpus > 0 else None  # None: not capped
        if self.layout.version == "v2":
            d = self.dirs["unified"]
            _write(f"{d}/memory.max", str(self.memory_bytes))
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                if os.path.exists(f"{d}/{name}"):
                    _write(f"{d}/{name}", value)
            _write(f"{d}/pids.max", str(self.max_pids))
            _write(f"{d}/cpu.max", f"{quota or 'max'} {CPU_PERIOD_US}")
            _write(f"{d}/cpu.weight", str(min(10000, max(1, round(100 * max(self.cpus, 1))))))
        else:
            mem = self.dirs["memory"]
            _write(f"{mem}/memory.limit_in_bytes", str(self.memory_bytes))
            if os.path.exists(f"{mem}/memory.swappiness"):
                try:
                    _write(f"{mem}/memory.swappiness", "0")
                except OSError:
                    pass  # not settable on some kernels; there is no swap on a grading server anyway
            _write(f"{self.dirs['pids']}/pids.max", str(self.max_pids))
            _write(f"{self.dirs['cpu']}/cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(f"{self.dirs['cpu']}/cpu.cfs_quota_us", str(quota or -1))
            _write(f"{self.dirs['cpu']}/cpu.shares", str(round(1024 * max(self.cpus, 1))))

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in dict.fromkeys(self.dirs.values())]

    @property
    def _memory_dir(self) -> str:
        return self.dirs["unified" if self.layout.version == "v2" else "memory"]

    @property
    def _pids_dir(self) -> str:
        return self.dirs["unified" if self.layout.version == "v2" else "pids"]

    def poll(self) -> None:
        """Read the group's counters (OOM kills, refused forks, peak memory); they stay after remove()."""
        if self._removed:
            return
        mem = self._memory_dir
        if self.layout.version == "v2":
            events = _keyed(_read(f"{mem}/memory.events"))
            peak = _read(f"{mem}/memory.peak").strip()
        else:
            events = _keyed(_read(f"{mem}/memory.oom_control"))
            peak = _read(f"{mem}/memory.max_usage_in_bytes").strip()
            if "oom_kill" not in events and events.get("under_oom"):  # kernels before 4.13
                events["oom_kill"] = 1
        self.oom_kills = max(self.oom_kills, events.get("oom_kill", 0))
        self.pids_refused = max(self.pids_refused, _keyed(_read(f"{self._pids_dir}/pids.events")).get("max", 0))
        if peak.isdigit():
            self.peak_bytes = max(self.peak_bytes, int(peak))

    def kill(self, timeout: float = 5.0) -> bool:
        """SIGKILL everything in the group (v2: cgroup.kill); True when it is empty."""
        if self._removed:
            return True
        d = self._memory_dir
        if self.layout.version == "v2" and os.path.exists(f"{d}/cgroup.kill"):
            try:
                _write(f"{d}/cgroup.kill", "1")
            except OSError:
                pass
        return _kill_tasks(f"{d}/cgroup.procs", time.monotonic() + timeout)

    def remove(self, timeout: float = 5.0) -> bool:
        """Kill what is left, keep the final counters, delete the group. True when it is gone."""
        if self._removed:
            return True
        self.poll()
        deadline = time.monotonic() + timeout
        self.kill(timeout)
        ok = all(_rmdir(d, deadline) for d in dict.fromkeys(self.dirs.values()))
        self._removed = ok
        return ok


def _keyed(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


# --- cleaning up after graders that were killed ----------------------------------------------------------


def stale_groups(layout: Layout | None = None) -> list[str]:
    """Our group directories whose owner process is no longer running."""
    layout = layout or available()
    if layout is None:
        return []
    out = []
    for root in layout.hierarchies():
        try:
            names = [n[len(GROUP_PREFIX):] for n in os.listdir(root) if n.startswith(GROUP_PREFIX)]
        except OSError:
            continue
        out += [os.path.join(root, GROUP_PREFIX + n) for n in names if _NAME_RE.match(n) and not _owner_alive(n)]
    return out


def stale_share_dirs(tmp: str | None = None) -> list[str]:
    tmp = tmp or tempfile.gettempdir()
    try:
        names = os.listdir(tmp)
    except OSError:
        return []
    out = []
    for n in names:
        rest = n[len(SHARE_DIR_PREFIX):] if n.startswith(SHARE_DIR_PREFIX) else ""
        if _NAME_RE.match(rest) and not _owner_alive(rest):
            out.append(os.path.join(tmp, n))
    return out


def clean_stale() -> list[str]:
    """Remove groups and share dirs left by graders that died (killing whatever still runs in them)."""
    removed = []
    layout = available()
    deadline = time.monotonic() + 10
    groups = stale_groups(layout)
    # Kill first in every hierarchy (v1: the same tasks appear in each), then remove.
    for d in groups:
        _kill_tasks(os.path.join(d, "cgroup.procs"), deadline)
    for d in groups:
        if _rmdir(d, deadline):
            removed.append(d)
    for d in stale_share_dirs():
        if not os.path.islink(d):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


_cleaned_in: int | None = None


def clean_stale_once() -> None:
    """clean_stale() once per process (called before the first kernel starts)."""
    global _cleaned_in
    if _cleaned_in != os.getpid():
        _cleaned_in = os.getpid()
        try:
            clean_stale()
        except OSError:
            pass
