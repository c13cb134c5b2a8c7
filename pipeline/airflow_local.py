"""Embedded Airflow for development, the demo and the tests: SQLite metadata under the state dir.

Everything Airflow needs is passed as ``AIRFLOW__...`` environment variables to the
``airflow`` command run in a subprocess, so no ``airflow.cfg`` has to be edited by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVICES: tuple[tuple[str, ...], ...] = (("api-server",), ("scheduler",), ("dag-processor",))


@dataclass
class AirflowServices:
    """Airflow's real services (api-server, scheduler, dag-processor) on the embedded SQLite
    database with the LocalExecutor, each in its own process group so stopping it stops every
    child (stopping only the parent leaves dozens of workers behind).

    The REST API needs no login: the SimpleAuthManager runs with ``all_admins``. Use as a
    context manager; :meth:`api` calls ``/api/v2``.
    """

    settings: Settings
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = 0
    startup_timeout: float = 120.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return airflow_home(self.settings) / "service-logs"

    def env(self) -> dict[str, str]:
        return airflow_env(
            self.settings,
            {
                "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple."
                "simple_auth_manager.SimpleAuthManager",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__HOST": "127.0.0.1",
                # The scheduler and the api-server must sign and check the same task tokens.
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__CORE__PARALLELISM": "8",
                **self.env_extra,
            },
        )

    def start(self) -> AirflowServices:
        ensure_db(self.settings)
        self.port = self.port or free_port()
        env = self.env()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        airflow = str(Path(sys.executable).with_name("airflow"))
        for args in SERVICES:
            log = (self.log_dir / f"{args[0]}.log").open("wb")
            self._logs.append(log)
            extra = ["--port", str(self.port)] if args[0] == "api-server" else []
            self.procs[args[0]] = subprocess.Popen(
                [airflow, *args, *extra],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: see stop()
            )
        self.wait_healthy()
        return self

    def wait_healthy(self) -> None:
        """Wait until the api-server answers and the scheduler reports healthy."""
        deadline = time.monotonic() + self.startup_timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AirflowCommandError(
                        f"airflow {name} exited {proc.returncode}: {self.tail(name)}"
                    )
            try:
                health = self.api("GET", "/monitor/health")
                last = health
                if health.get("scheduler", {}).get("status") == "healthy":
                    return
            except (OSError, urllib.error.URLError) as exc:
                last = exc
            time.sleep(0.5)
        raise AirflowCommandError(f"Airflow not healthy after {self.startup_timeout}s: {last}")

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the REST API (``/api/v2`` + ``path``); return the decoded JSON."""
        request = urllib.request.Request(
            f"{self.base_url}/api/v2{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:2000]
            raise AirflowCommandError(f"{method} {path}: HTTP {exc.code}: {detail}") from exc

    def wait_for_dag(self, dag_id: str, timeout: float = 60.0) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` into the database."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", f"/dags/{dag_id}")
                return
            except AirflowCommandError:
                time.sleep(0.5)
        raise AirflowCommandError(
            f"{dag_id} not parsed after {timeout}s: {self.tail('dag-processor')}"
        )

    def trigger(self, dag_id: str, conf: dict[str, Any], logical_date: str | None = None) -> str:
        """Unpause ``dag_id`` and trigger a run; return its run id."""
        self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        run = self.api(
            "POST", f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf}
        )
        return str(run["dag_run_id"])

    def clear(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """Re-run a whole run (every task), as an operator's "Clear" in the UI; return the run."""
        return dict(self.api("POST", f"/dags/{dag_id}/dagRuns/{run_id}/clear", {"dry_run": False}))

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> dict[str, Any]:
        """Poll the run until it ends; return it. Raises if it does not succeed in time."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] == "success":
                return run
            if run["state"] == "failed":
                tis = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
                states = {t["task_id"]: t["state"] for t in tis["task_instances"]}
                raise AirflowCommandError(f"{dag_id} {run_id} failed: {states}")
            time.sleep(1)
        raise AirflowCommandError(f"{dag_id} {run_id} still {run.get('state')} after {timeout}s")

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every service's whole process group: SIGTERM, then SIGKILL what is left."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)  # children the parent left behind
            proc.wait()
        for log in self._logs:
            log.close()
        self.procs.clear()
        self._logs.clear()

    def __enter__(self) -> AirflowServices:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the parent's pid
