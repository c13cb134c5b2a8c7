"""docker-compose.yml cannot run here (no Docker engine): check that it parses and is wired right."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from pipeline.settings import Settings
from tests.conftest import REPO_ROOT

AIRFLOW_SERVICES = [
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_stack_has_kafka_postgres_and_airflow_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "postgres", "airflow-init", *AIRFLOW_SERVICES} <= set(services)
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert "zookeeper" not in services
    assert services["kafka"]["image"].startswith("apache/kafka:4.")


def test_airflow_services_share_postgres_kafka_and_pipeline_settings(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    known = {f"PIPELINE_{name.upper()}" for name in Settings.model_fields}
    for name in AIRFLOW_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["PIPELINE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        pipeline_vars = {k for k in env if k.startswith("PIPELINE_")}
        assert pipeline_vars <= known, f"unknown settings in compose: {pipeline_vars - known}"
        assert {"postgres", "kafka"} <= set(service["depends_on"])
        assert any(v.startswith("./dags:") for v in service["volumes"])
        assert service["command"][0] == "airflow"
    assert services["airflow-apiserver"]["command"] == ["airflow", "api-server"]
    assert services["airflow-dag-processor"]["command"] == ["airflow", "dag-processor"]


def test_tasks_run_on_scalable_celery_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["redis"]["image"].startswith("redis:")
    assert "healthcheck" in services["redis"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
        assert "@postgres:5432/" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
        # tasks on several workers share one dedup ledger: Postgres, not a local SQLite file
        assert env["PIPELINE_LEDGER_URL"].startswith("postgresql+psycopg2://")
        assert "redis" in services[name]["depends_on"]
    worker = services["airflow-worker"]
    assert worker["command"] == ["airflow", "celery", "worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "ports" not in worker and "container_name" not in worker  # so --scale works


def test_no_secret_is_written_in_compose() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    for line in text.splitlines():
        if "PASSWORD" in line or "SECRET" in line:
            assert "${" in line or line.strip().startswith("#"), line
