"""Embedded Airflow for development, the demo and the tests: SQLite metadata under the state dir.

Everything Airflow needs is passed as ``AIRFLOW__...`` environment variables to the
``airflow`` command run in a subprocess, so no ``airflow.cfg`` has to be edited by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO_ROOT / "dags"


class AirflowCommandError(PipelineError):
    stage = "airflow"


def airflow_home(settings: Settings) -> Path:
    return (settings.state_dir / "airflow").resolve()


def airflow_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for ``airflow`` commands: embedded SQLite, the repo's dags, no examples."""
    home = airflow_home(settings)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "GX_ANALYTICS_ENABLED": "False",
        }
    )
    env.update(settings_env(settings))
    env.update(extra or {})
    return env


def settings_env(settings: Settings) -> dict[str, str]:
    """The explicitly set settings as ``PIPELINE_*`` variables, for a child process."""
    env = {}
    for name in sorted(settings.model_fields_set):
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, list | tuple | dict):
            env[f"PIPELINE_{name.upper()}"] = json.dumps(value)  # pydantic-settings reads JSON
            continue
        env[f"PIPELINE_{name.upper()}"] = str(value.resolve() if isinstance(value, Path) else value)
    env["PIPELINE_STATE_DIR"] = str(settings.state_dir.resolve())
    return env


def airflow_cli(
    settings: Settings, *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``airflow ARGS`` with the embedded configuration; raise with its output on failure."""
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    proc = subprocess.run(
        cmd,
        env=env or airflow_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AirflowCommandError(
            f"`airflow {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def ensure_db(settings: Settings) -> None:
    """Create or upgrade the SQLite metadata database once."""
    home = airflow_home(settings)
    marker = home / ".db-migrated"
    if marker.exists() and (home / "airflow.db").exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    airflow_cli(settings, "db", "migrate")
    marker.write_text("ok\n")


@dataclass(frozen=True)
class DagRunResult:
    """The outcome of one ``airflow dags test`` run, read back from the metadata database."""

    run_id: str
    state: str
    task_states: dict[str, str]


def _json_tail(output: str) -> Any:
    """The JSON document an ``airflow ... -o json`` command printed after its log lines."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith(("[", "{")):
            return json.loads(line)
    raise AirflowCommandError(f"no JSON in the output of airflow: {output[-2000:]}")


def dags_test(
    settings: Settings,
    dag_id: str,
    conf: dict[str, object],
    env_extra: dict[str, str] | None = None,
) -> DagRunResult:
    """Run one DAG run in-process with ``airflow dags test`` (no scheduler needed).

    Raises:
        AirflowCommandError: the command failed or the run did not end in success (the
            message names each task's state).
    """
    ensure_db(settings)
    env = airflow_env(settings, env_extra)
    airflow_cli(settings, "dags", "test", dag_id, "--conf", json.dumps(conf), env=env)
    runs = _json_tail(
        airflow_cli(settings, "dags", "list-runs", dag_id, "-o", "json", env=env).stdout
    )
    latest = max(runs, key=lambda run: run["run_after"])
    tasks = _json_tail(
        airflow_cli(
            settings, "tasks", "states-for-dag-run", dag_id, latest["run_id"], "-o", "json", env=env
        ).stdout
    )
    result = DagRunResult(
        run_id=latest["run_id"],
        state=latest["state"],
        task_states={t["task_id"]: t["state"] for t in tasks},
    )
    if result.state != "success":
        raise AirflowCommandError(
            f"{dag_id} run {result.run_id} ended {result.state}: {result.task_states}"
        )
    return result
