"""Credentials never leak: not in logs, dead letters, messages, the dashboard or any state file.

A broker that requires SASL/SCRAM, a page URL with a password in it, the command line at
DEBUG log level, then the DAG with the Kafka password only in its Airflow Connection.
Every byte the runs left behind is searched for each secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from pipeline.airflow_local import airflow_cli, airflow_env, ensure_db, settings_env
from pipeline.kafka.broker import LocalBroker
from pipeline.kafka.client import common_config
from pipeline.settings import Settings
from pipeline.tasks import KAFKA_CONN_ID
from tests.conftest import REPO_ROOT, broker_settings

pytestmark = pytest.mark.integration
LIB = REPO_ROOT / ".state" / "kafka" / "lib"


def _raw_messages(settings: Settings) -> list[bytes]:
    """Keys, values and headers of every message on every topic, as raw bytes."""
    consumer = KafkaConsumer(
        *settings.all_topics,
        **common_config(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
    )
    try:
        out: list[bytes] = []
        for message in consumer:
            out.extend([message.key or b"", message.value or b""])
            out.extend(value for _, value in message.headers or [])
        return out
    finally:
        consumer.close()


def _files_containing(root: Path, secrets: dict[str, str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.extend(f"{name} in {path}" for name, s in secrets.items() if s.encode() in data)
    return found


def test_credentials_never_reach_logs_dead_letters_messages_or_the_dashboard(
    tmp_path: Path, seed_server: str, sample_server: str
) -> None:
    secrets = {
        "kafka password": f"kafka-pw-{uuid.uuid4().hex}",
        "URL password": f"url-pw-{uuid.uuid4().hex}",
    }
    broker = LocalBroker(
        tmp_path / "scram", lib_dir=LIB, scram_users={"pipeline": secrets["kafka password"]}
    )
    state = broker.start()
    try:
        sasl = {
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "SCRAM-SHA-256",
            "kafka_sasl_username": "pipeline",
        }
        settings = broker_settings(
            state.bootstrap_servers,
            tmp_path / "cli",
            f"t{uuid.uuid4().hex[:8]}",
            kafka_sasl_password=secrets["kafka password"],
            log_level="DEBUG",
            **sasl,
        )
        host = seed_server.removeprefix("http://")
        urls = [
            f"{seed_server}/article.html",
            f"http://reader:{secrets['URL password']}@{host}/article.html",
            f"{sample_server}/site/gone.html",
        ]

        # The command line, logging everything at DEBUG (kafka-python's wire logs included).
        cli = subprocess.run(
            [sys.executable, "-m", "pipeline", "run", "--json", *urls],
            cwd=REPO_ROOT,
            env={**os.environ, **settings_env(settings)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert cli.returncode == 0, cli.stderr[-3000:]
        assert "DEBUG" in cli.stderr  # the logs were really written at DEBUG
        summary = json.loads(cli.stdout.strip().splitlines()[-1])
        assert summary["discovered"] == 3 and summary["ingested"] == 1
        refused = [f for f in summary["failures"] if f["source"].startswith("http://***@")]
        assert refused and "credentials" in refused[0]["reason"], summary["failures"]

        # The DAG: the Kafka password is only in the Airflow Connection, not in the settings.
        dag_settings = broker_settings(
            "", tmp_path / "dag", f"t{uuid.uuid4().hex[:8]}", **sasl
        ).model_copy(update={"kafka_bootstrap_servers": None})
        connection = {
            "conn_type": "kafka",
            "extra": {
                "bootstrap.servers": state.bootstrap_servers,
                "sasl.password": secrets["kafka password"],
            },
        }
        env = airflow_env(
            dag_settings,
            {
                f"AIRFLOW_CONN_{KAFKA_CONN_ID.upper()}": json.dumps(connection),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            },
        )
        ensure_db(dag_settings)
        # Only URLs without credentials here: Airflow stores a run's conf, the operator's
        # own input, in its metadata database.
        dag = airflow_cli(
            dag_settings,
            "dags",
            "test",
            "news_ingestion",
            "--conf",
            json.dumps({"urls": [urls[0], urls[2]]}),
            env=env,
        )

        # Now search everything for the secrets.
        outputs = {
            "CLI stdout": cli.stdout,
            "CLI stderr": cli.stderr,
            "airflow stdout": dag.stdout,
            "airflow stderr": dag.stderr,
        }
        leaks = [
            f"{name} in {where}"
            for where, text in outputs.items()
            for name, secret in secrets.items()
            if secret in text
        ]
        for run_settings in (
            settings,
            dag_settings.model_copy(
                update={
                    "kafka_bootstrap_servers": state.bootstrap_servers,
                    "kafka_sasl_password": settings.kafka_sasl_password,
                }
            ),
        ):
            messages = _raw_messages(run_settings)
            assert len(messages) > 10  # the runs really published
            leaks += [
                f"{name} on a topic"
                for name, secret in secrets.items()
                if any(secret.encode() in m for m in messages)
            ]
        from pipeline.dashboard.render import build_overview

        page = build_overview(settings)
        assert page.read_text(encoding="utf-8")  # the dashboard was built
        leaks += _files_containing(tmp_path / "cli", secrets)
        leaks += _files_containing(tmp_path / "dag", secrets)
        assert not leaks
    finally:
        broker.stop()
