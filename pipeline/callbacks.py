"""Airflow callbacks: light enough to import at DAG parse time (no pipeline stage imported)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("pipeline.alerts")


def failure_line(context: Mapping[str, Any]) -> str:
    """One line naming the failed task, its run, try and error: what an operator greps for."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    task = task_id if map_index in (None, -1) else f"{task_id}[{map_index}]"
    error = context.get("exception")
    reason = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    return (
        f"PIPELINE TASK FAILED dag={dag_id} task={task} run={context.get('run_id', '?')} "
        f"try={getattr(ti, 'try_number', '?')} error={reason}"
    )


def on_task_failure(context: Mapping[str, Any]) -> None:
    """``on_failure_callback`` of every pipeline task: log one clear error line."""
    log.error(failure_line(context))


def default_task_args(**overrides: Any) -> dict[str, Any]:
    """The house defaults every pipeline DAG gives its tasks (owner, retries with exponential
    backoff, a timeout, the failure callback); a DAG overrides only what differs."""
    from datetime import timedelta

    args: dict[str, Any] = {
        "owner": "news-data",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": on_task_failure,
    }
    args.update(overrides)
    return args
