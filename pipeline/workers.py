"""Worker processes: run one function over shards of work, one forked process per shard.

Python runs one thread of Python code at a time, so CPU-bound stages (Trafilatura, the
splitter, kafka-python's record encoding) scale with processes, not threads. Each worker
owns its shard end to end (its own Kafka producer and transactional id, its own ledger
writes), so a failed worker is retried alone and publishes its shard once.

Workers are forked (Linux): a shard reaches its worker without being pickled, and the
worker starts with the parent's imports. Only the results travel back, pickled.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from pipeline.errors import WorkerError

T = TypeVar("T")
R = TypeVar("R")


def shard_by_group(
    items: Sequence[T], group: Callable[[T], Hashable], shards: int
) -> list[list[T]]:
    """Split ``items`` into at most ``shards`` lists of about equal size, never splitting a
    group (an article with its events) and keeping the order within each shard."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(group(item), []).append(item)
    out: list[list[T]] = [[] for _ in range(max(1, shards))]
    for members in sorted(groups.values(), key=len, reverse=True):
        min(out, key=len).extend(members)
    return [shard for shard in out if shard] or [[]]


def _child(fn: Callable[[T], R], shard: T, conn: Any) -> None:
    try:
        result: tuple[str, Any] = ("ok", fn(shard))
    except BaseException as exc:  # reported to the parent, which raises
        result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    try:
        conn.send(result)
    finally:
        conn.close()


def run_in_processes(fn: Callable[[T], R], shards: Sequence[T]) -> list[R]:
    """``[fn(shard) for shard in shards]``, each call in its own forked process, all at once.

    A single shard runs in this process. Results come back in shard order.

    Raises:
        WorkerError: a worker raised (its traceback is in the message) or died; the other
            workers are still waited for, so none is left running.
    """
    if len(shards) <= 1:
        return [fn(shard) for shard in shards]
    context = multiprocessing.get_context("fork")
    running = []
    for index, shard in enumerate(shards):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(fn, shard, send), name=f"pipeline-worker-{index}", daemon=False
        )
        process.start()
        send.close()
        running.append((process, receive))
    results: list[R] = []
    failures: list[str] = []
    for index, (process, receive) in enumerate(running):
        try:
            status, value = receive.recv()
        except EOFError:
            status, value = "error", "the worker died without a result"
        finally:
            receive.close()
        process.join()
        if status == "ok":
            results.append(value)
        else:
            failures.append(f"worker {index} (pid {process.pid}, exit {process.exitcode}): {value}")
    if failures:
        raise WorkerError(
            f"{len(failures)} of {len(shards)} workers failed: " + "; ".join(failures)
        )
    return results


def default_workers() -> int:
    """One worker per available CPU."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
