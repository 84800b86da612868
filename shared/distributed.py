"""Run one function on several local processes joined by a real `torch.distributed` gloo group (CPU).

Plumbing for the labs that exercise collectives: `run_ranks(fn, per_rank_args)` forks `world_size`
processes, joins them into a gloo process group over the loopback interface, calls
`fn(rank, world_size, *per_rank_args[rank])` in each, and returns the list of the ranks' results.

Why fork: `torch.multiprocessing.spawn` pickles the function by reference, which fails for a function
defined in a notebook cell; a forked child already holds the notebook's namespace. The rendezvous uses a
file store in a fresh temporary directory (no port to choose, nothing to collide with a neighbour), gloo
then connects the ranks over `lo` on ports the kernel picks. Every child is bounded by a timeout, killed
if still alive, and destroys its process group before it exits. Results come back pickled through a
pipe from the child the kernel itself forked; nothing here is graded.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import timedelta
from multiprocessing.connection import wait

__all__ = ["rank_runner", "run_ranks"]


def rank_runner(namespace: dict) -> Callable:
    """`run_ranks` that also accepts the *name* of a function defined in `namespace` (a notebook's
    `globals()`), so that code outside the kernel (a test cell judged by the grader) can name the
    function to run: `run_ranks = rank_runner(globals())`."""

    def run_ranks_in_notebook(fn: Callable | str, per_rank_args: Sequence[Sequence], timeout: float = 40.0,
                              count_elements: bool = False) -> list:
        if isinstance(fn, str):
            if fn not in namespace or not callable(namespace[fn]):
                raise NameError(f"no function named {fn!r} is defined in the notebook (run its cell first)")
            fn = namespace[fn]
        return run_ranks(fn, per_rank_args, timeout, count_elements)

    run_ranks_in_notebook.__doc__ = run_ranks.__doc__
    return run_ranks_in_notebook


def _numel(x) -> float:
    if isinstance(x, (list, tuple)):
        return float(sum(_numel(t) for t in x))
    return float(x.numel()) if hasattr(x, "numel") else 0.0


# What a rank puts into each collective (its own contribution, in elements), by argument position.
_CONTRIBUTION = {
    "all_reduce": 0, "reduce": 0, "broadcast": 0, "send": 0, "isend": 0, "gather": 0,
    "all_gather": 1, "all_gather_into_tensor": 1, "all_gather_single": 1,
    "reduce_scatter": 1, "reduce_scatter_tensor": 1, "reduce_scatter_single": 1,
    "all_to_all": 1, "all_to_all_single": 1, "scatter": 1,
}
_OPAQUE = ("all_gather_object", "broadcast_object_list", "gather_object", "scatter_object_list", "batch_isend_irecv")


def _count_traffic(dist) -> list:
    """Wrap the collectives of `torch.distributed` (in this forked child only) so that they add the number
    of elements this rank contributes to `counter[0]` (objects sent by pickle count as infinity)."""
    counter = [0.0]
    depth = [0]

    def wrap(name, fn, position):
        def counted(*args, **kwargs):
            if depth[0] == 0:  # a collective implemented with another one counts once
                if position is None:
                    counter[0] = float("inf")
                else:
                    values = list(args) + list(kwargs.values())
                    counter[0] += _numel(values[position]) if len(values) > position else 0.0
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1

        return counted

    for name, position in [*_CONTRIBUTION.items(), *((n, None) for n in _OPAQUE)]:
        if hasattr(dist, name):
            setattr(dist, name, wrap(name, getattr(dist, name), position))
    return counter


def _child(fn, rank: int, world_size: int, args: tuple, store_path: str, timeout: float, conn, count: bool) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    try:
        dist.init_process_group(
            "gloo", init_method=f"file://{store_path}", rank=rank, world_size=world_size,
            timeout=timedelta(seconds=timeout),
        )
        counter = _count_traffic(dist) if count else None
        try:
            result = fn(rank, world_size, *args)
        finally:
            dist.destroy_process_group()
        if counter is not None:
            result = (result, counter[0])
        conn.send_bytes(pickle.dumps(("ok", result)))  # plain pickle: no shared-memory tensors
    except BaseException as exc:  # noqa: BLE001 - report anything to the parent, then exit
        tb = exc.__traceback__.tb_next or exc.__traceback__  # from the rank function on, not this wrapper
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        try:
            conn.send_bytes(pickle.dumps(("error", f"{type(exc).__name__}: {exc}", text)))
        except Exception:  # noqa: BLE001
            pass
    finally:
        conn.close()


def run_ranks(fn: Callable, per_rank_args: Sequence[Sequence], timeout: float = 40.0, count_elements: bool = False) -> list:
    """Call `fn(rank, world_size, *per_rank_args[rank])` on `len(per_rank_args)` forked processes
    joined by a gloo process group; return the ranks' results in rank order.

    With `count_elements`, each result is a pair (result, elements): the number of tensor elements the
    rank contributed to collectives (the input of all_reduce, all_gather, reduce_scatter, ...), counted
    by wrappers around `torch.distributed`'s functions in the child.
    `fn` is a function (see `rank_runner` for a name). Raises RuntimeError with the first
    failing rank's traceback, or on timeout (children are killed either way)."""
    world_size = len(per_rank_args)
    ctx = multiprocessing.get_context("fork")
    workdir = tempfile.mkdtemp(prefix="llm901-dist-")
    store_path = os.path.join(workdir, "store")
    procs, conns = [], {}
    try:
        for rank, args in enumerate(per_rank_args):
            parent_end, child_end = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_child, args=(fn, rank, world_size, tuple(args), store_path, timeout, child_end, count_elements),
                            daemon=True)
            p.start()
            child_end.close()
            procs.append(p)
            conns[parent_end] = rank
        results: dict[int, object] = {}
        deadline = time.monotonic() + timeout
        while conns:
            left = deadline - time.monotonic()
            ready = wait(list(conns), timeout=max(left, 0))
            if not ready:
                raise RuntimeError(
                    f"ranks {sorted(conns.values())} did not finish within {timeout:.0f} s "
                    "(a collective that another rank never calls waits forever: do all ranks call the same "
                    "collectives in the same order?)"
                )
            for c in ready:
                rank = conns.pop(c)
                try:
                    msg = pickle.loads(c.recv_bytes())
                except EOFError:
                    msg = ("error", "the process died without a result", "")
                c.close()
                if msg[0] != "ok":
                    raise RuntimeError(f"rank {rank} failed: {msg[1]}\n{msg[2]}")
                results[rank] = msg[1]
        return [results[r] for r in range(world_size)]
    finally:
        failed = bool(conns)  # a rank timed out or another failed: do not wait for the rest
        for c in conns:
            c.close()
        for p in procs:
            p.join(timeout=0.5 if failed else 5)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
        shutil.rmtree(workdir, ignore_errors=True)
