"""Kafka client configuration from settings and from an Airflow connection, secrets kept out of logs."""

from __future__ import annotations

import pytest

from pipeline.kafka.client import common_config, producer_config, settings_with_connection
from pipeline.kafka.librdkafka import librdkafka_config
from pipeline.settings import Settings


def test_producer_settings_are_explicit() -> None:
    config = producer_config(Settings(kafka_bootstrap_servers="k1:9092,k2:9092"), "writer-1")
    assert config["bootstrap_servers"] == ["k1:9092", "k2:9092"]
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    assert config["transactional_id"] == "writer-1"
    assert config["delivery_timeout_ms"] > config["linger_ms"] + config["request_timeout_ms"]


def test_librdkafka_producer_settings_match_the_guarantees() -> None:
    settings = Settings(
        kafka_bootstrap_servers="k1:9092",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="pipeline",
        kafka_sasl_password="hunter2-secret",
        kafka_ssl_cafile="/etc/ssl/kafka-ca.pem",
        kafka_ssl_check_hostname=False,
    )
    config = librdkafka_config(settings, "writer-1")
    assert config["acks"] == "all" and config["enable.idempotence"] is True
    assert config["transactional.id"] == "writer-1"
    # murmur2, as the Java client and kafka-python: a key lands on the same partition
    # whichever client wrote it.
    assert config["partitioner"] == "murmur2_random"
    assert config["message.timeout.ms"] > config["linger.ms"] + config["request.timeout.ms"]
    assert config["security.protocol"] == "sasl_ssl"
    assert (config["sasl.mechanism"], config["sasl.username"]) == ("SCRAM-SHA-512", "pipeline")
    assert config["sasl.password"] == "hunter2-secret"
    assert config["ssl.ca.location"] == "/etc/ssl/kafka-ca.pem"
    assert config["ssl.endpoint.identification.algorithm"] == "none"


def test_connection_extra_supplies_sasl_scram_and_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    extra = {
        "bootstrap.servers": "broker.internal:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "pipeline",
        "sasl.password": "hunter2-secret",
        "ssl.ca.location": "/etc/ssl/kafka-ca.pem",
    }
    settings = settings_with_connection(Settings(), extra)
    config = common_config(settings)
    assert config["bootstrap_servers"] == ["broker.internal:9093"]
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "pipeline"
    assert config["sasl_plain_password"] == "hunter2-secret"
    assert config["ssl_cafile"] == "/etc/ssl/kafka-ca.pem"
    assert "hunter2-secret" not in repr(settings) and "hunter2-secret" not in str(settings)


def test_environment_wins_over_the_connection() -> None:
    settings = Settings(kafka_bootstrap_servers="env:9092")
    merged = settings_with_connection(settings, {"bootstrap.servers": "conn:9092"})
    assert merged.kafka_bootstrap_servers == "env:9092"
