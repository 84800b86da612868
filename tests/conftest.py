"""Test-wide settings: offline, caches inside the project, and helpers to build notebooks."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
for key, value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HOME": str(REPO / "build/cache/huggingface"),
    "IPYTHONDIR": str(REPO / "build/cache/ipython"),
    "JUPYTER_CONFIG_DIR": str(REPO / "build/cache/jupyter/config"),
    "JUPYTER_DATA_DIR": str(REPO / "build/cache/jupyter/data"),
    "JUPYTER_RUNTIME_DIR": str(REPO / "build/cache/jupyter/runtime"),
    "MPLCONFIGDIR": str(REPO / "build/cache/matplotlib"),
    "MPLBACKEND": "Agg",
}.items():
    os.environ.setdefault(key, value)
# nbgrader runs `alembic` from PATH when it creates a gradebook
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
sys.path.insert(0, str(REPO / "tests"))


# --- CI budget: order the long tests first, keep module fixtures on one worker, time every phase -----
# `make test` runs pytest on both cores (pytest-xdist, `--dist loadgroup`). A module whose tests share
# a module-scoped fixture (a graded batch, built models) stays on one worker, so that fixture is built
# once; every lab's `make check` and every catalog entry is its own unit of work. The summary at the
# end gives the time of each phase (install and lint are measured by the Makefile), so the cost of
# each new lab is visible in every CI log. Budget (issue #27): 10 min fixed + 45 s per lab.
BUDGET_FIXED_SECONDS, BUDGET_PER_LAB_SECONDS = 600, 45
_durations: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)
_cpu: dict[str, float] = defaultdict(float)
_session_started = time.monotonic()


def _phase(nodeid: str) -> str:
    path, _, name = nodeid.partition("::")
    if path.endswith("test_labs.py") and name.startswith("test_make_check["):
        return f"check {name[len('test_make_check['):-1]}"
    if path.endswith("test_catalogs.py"):
        return "catalogs"
    if path.endswith("test_browser.py"):
        return "browser (student path)"
    return "unit tests"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium (tests/test_browser.py)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else []
        if any(d and d[-1].scope in ("module", "package", "session") for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    # longest first, so that the last unit of work on a worker is a short one (the browser test is
    # mostly waiting on JupyterLab: it goes with the first, beside a lab's check)
    items.sort(key=lambda item: 0 if _phase(item.nodeid).startswith("check ") or item.get_closest_marker("browser") else 1)


def _cpu_seconds() -> float:
    """CPU time of this process, of the children it reaped, and of every live descendant with the
    children *it* reaped: grading workers are children of multiprocessing's forkserver (alive all
    session), and kernels children of those workers, so rusage alone would miss them."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (ppid, utime + stime + cutime + cstime)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / tick)
    kids: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in stats.items():
        kids[ppid].append(pid)
    todo = list(kids[os.getpid()])
    while todo:
        pid = todo.pop()
        total += stats[pid][1]
        todo.extend(kids[pid])
    return total


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield from _timed(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield from _timed(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield from _timed(item, "teardown")


def _timed(item, when: str):
    started = _cpu_seconds()
    yield
    item.user_properties.append((f"cpu_seconds_{when}", _cpu_seconds() - started))  # travels with the report


def pytest_runtest_logreport(report):
    phase = _phase(report.nodeid)
    cpu = sum(v for k, v in report.user_properties if k == f"cpu_seconds_{report.when}")
    _durations[phase] += report.duration
    _cpu[phase] += cpu
    if report.when == "call":
        _counts[phase] += 1
    log = os.environ.get("LLM901_TIMINGS")  # one JSON line per test phase, as it ends (CI artifacts)
    if log and "PYTEST_XDIST_WORKER" not in os.environ:  # written by the controller only
        import json

        with open(log, "a") as f:
            f.write(json.dumps({"test": report.nodeid, "when": report.when, "phase": phase, "seconds": round(report.duration, 2),
                                "cpu_seconds": round(cpu, 2), "outcome": report.outcome, "load": os.getloadavg()[0],
                                "at": round(time.time(), 1)}) + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput") or not _durations:
        return
    write = terminalreporter.write_line
    terminalreporter.section("time by phase (issue #27: CI budget)")

    def ms_env(name: str) -> float | None:
        value = os.environ.get(name)
        return int(value) / 1000 if value and value.isdigit() else None

    install, lint = ms_env("LLM901_INSTALL_MS"), ms_env("LLM901_LINT_MS")
    wall = time.monotonic() - _session_started
    workers = getattr(config.option, "numprocesses", None) or 1
    write(f"{'install (make venv)':<34}{install:8.1f} s" if install is not None else f"{'install (make venv)':<34}   (not measured: run `make test`)")
    if lint is not None:
        write(f"{'lint (ruff)':<34}{lint:8.1f} s")
    checks = sorted(p for p in _durations if p.startswith("check "))
    for phase in ["unit tests", "browser (student path)", *checks, "catalogs"]:
        if phase in _durations:
            write(f"{phase:<34}{_durations[phase]:8.1f} s   ({_counts[phase]} tests; {_cpu[phase]:.0f} CPU-s)")
    write(f"{'pytest wall time':<34}{wall:8.1f} s   (the phases above ran on {workers} worker(s) at once; "
          f"{sum(_cpu.values()):.0f} CPU-s in all)")
    total = wall + (install or 0) + (lint or 0)
    load = os.getloadavg()
    write(f"{'total (install + lint + pytest)':<34}{total:8.1f} s   1/5/15-min load average now "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores (other jobs inflate every time)")
    from llm901_grader.labs import all_labs

    labs = len(all_labs())
    if labs and len(checks) == labs:
        budget = BUDGET_FIXED_SECONDS + BUDGET_PER_LAB_SECONDS * labs
        write(f"{'budget (10 min + 45 s per lab)':<34}{budget:8.1f} s   for {labs} labs: {'within' if total <= budget else 'OVER'}")
