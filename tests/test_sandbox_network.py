"""The sandbox's network: its own loopback is up (so torch.distributed's gloo can join two processes, as
lab w06-2 does in grading), and nothing outside the sandbox is reachable, not even the host's loopback.
Processes that a rank forks count against the sandbox's cgroup.

Strict mode only (root with namespace rights: CI, a course server); skips elsewhere.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_sandbox import STRICT, share  # noqa: F401  (share is a fixture)

from llm901_grader import cgroups
from llm901_grader.sandbox import SandboxSpec, sandbox_argv

REPO = Path(__file__).resolve().parents[1]
strict_only = pytest.mark.skipif(not STRICT, reason="strict sandbox needs root with namespace rights")

RANK_BLOCK_MIB = 192  # what each rank holds at once, to see it in the cgroup's peak

GLOO_TWO_RANKS = f"""
    import json, os, torch, torch.distributed as dist
    from llm901_shared.distributed import run_ranks

    def rank_fn(rank, world_size, x):
        block = bytearray({RANK_BLOCK_MIB} << 20)  # touched: counts in the cgroup's memory
        for i in range(0, len(block), 4096):
            block[i] = 1
        dist.barrier()  # both blocks are alive at the same time
        dist.all_reduce(x)
        gathered = [torch.empty(1) for _ in range(world_size)]
        dist.all_gather(gathered, torch.tensor([float(rank)]))
        return x.tolist(), [g.item() for g in gathered], os.getpid()

    with open("/proc/self/status") as f:
        rss_kib = next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))  # not shared files
    results = run_ranks(rank_fn, [(torch.tensor([1.0, 2.0]),), (torch.tensor([10.0, 20.0]),)], timeout=60)
    print(json.dumps({{"results": results, "parent_pid": os.getpid(), "parent_rss_bytes": rss_kib * 1024}}))
"""


def _run(code: str, spec: SandboxSpec, timeout: float = 120) -> dict:
    argv = sandbox_argv([sys.executable, "-c", textwrap.dedent(code)], spec)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@strict_only
def test_gloo_with_two_processes_works_inside_the_sandbox(share: Path):  # noqa: F811
    spec = SandboxSpec(share_dir=str(share), readonly_paths=[str(REPO / "shared")])
    layout = cgroups.available()
    group = cgroups.SandboxCgroup(layout, 2 << 30, 256, 1.0) if layout is not None else None
    if group is not None:
        spec.cgroup_procs = group.procs_files
        spec.cgroup_memory_bytes, spec.cgroup_pids, spec.cgroup_cpus = group.memory_bytes, group.max_pids, group.cpus
    try:
        out = _run(GLOO_TWO_RANKS, spec)
        if group is not None:
            group.poll()
    finally:
        if group is not None:
            group.remove()
    (x0, gathered0, pid0), (x1, gathered1, pid1) = out["results"]
    assert x0 == x1 == [11.0, 22.0], "all_reduce over gloo inside the sandbox"
    assert gathered0 == gathered1 == [0.0, 1.0], "all_gather over gloo inside the sandbox"
    assert len({pid0, pid1, out["parent_pid"]}) == 3, "the ranks are separate processes"
    if group is not None:
        # The ranks' blocks are in the sandbox's cgroup: its peak holds both of them on top of the parent's
        # anonymous memory (the forked ranks share the parent's pages until they write them).
        need = out["parent_rss_bytes"] + 2 * (RANK_BLOCK_MIB << 20)
        assert group.peak_bytes >= need, (
            f"cgroup peak {group.peak_bytes >> 20} MiB < parent {out['parent_rss_bytes'] >> 20} MiB + 2 x {RANK_BLOCK_MIB} MiB: "
            "the forked ranks are not counted in the sandbox's cgroup"
        )


PROBE_OUTSIDE = """
    import json, socket, sys
    targets = json.loads(sys.argv[1])
    res = {}
    for host, port in targets:
        try:
            socket.create_connection((host, port), timeout=3).close()
            res[f"{host}:{port}"] = "connected"
        except OSError as e:
            res[f"{host}:{port}"] = f"{type(e).__name__}: {e}"
    print(json.dumps(res))
"""


def _host_addresses() -> list[str]:
    """The host's own non-loopback IPv4 addresses (those it would use for a route out), if any."""
    found = set()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing address
            found.add(s.getsockname()[0])
    except OSError:
        pass
    try:
        found.update(a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    return sorted(a for a in found if not a.startswith("127."))


@strict_only
def test_host_services_are_not_reachable_from_the_sandbox(share: Path):  # noqa: F811
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("0.0.0.0", 0))  # every host address, the loopback included
        server.listen(8)
        server.setblocking(False)
        port = server.getsockname()[1]
        # sanity: from the host itself the server is reachable
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        server.accept()[0].close()
        targets = [["127.0.0.1", port], *[[a, port] for a in _host_addresses()]]
        argv = sandbox_argv([sys.executable, "-c", textwrap.dedent(PROBE_OUTSIDE), json.dumps(targets)],
                            SandboxSpec(share_dir=str(share)))
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        try:
            server.accept()[0].close()
            accepted = True
        except BlockingIOError:
            accepted = False
    assert not accepted, "a connection from inside the sandbox reached a server on the host"
    for target, result in out.items():
        assert result != "connected", f"the sandbox reached {target} (a host service): {out}"
    assert "ConnectionRefused" in out[f"127.0.0.1:{port}"], (
        f"the sandbox's 127.0.0.1 is its own (up, nobody listening), not the host's: {out}"
    )
