"""Kafka client factories: one place that turns settings into kafka-python clients.

kafka-python 3 changed defaults, so every setting that matters is set explicitly here.
When no bootstrap servers are configured, the local development broker is used (and
started if it is not running).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kafka.serializer import Deserializer

from pipeline.errors import BrokerError, PublishError
from pipeline.kafka.partitioner import CachedKeyPartitioner
from pipeline.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

    from pipeline.kafka.broker import LocalBroker
    from pipeline.kafka.librdkafka import LibrdkafkaProducer


def local_broker(settings: Settings) -> LocalBroker:
    from pipeline.kafka.broker import LocalBroker

    return LocalBroker(settings.kafka_dir)


def resolve_bootstrap_servers(settings: Settings, *, start_local: bool = True) -> str:
    """Configured bootstrap servers, else the local broker's address (starting it if allowed)."""
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    broker = local_broker(settings)
    state = broker.status()
    if state is None:
        if not start_local:
            raise BrokerError(
                "no Kafka bootstrap servers configured and the local broker is not running "
                "(start it with `python -m pipeline kafka start`)"
            )
        state = broker.start()
    return state.bootstrap_servers


def common_config(settings: Settings) -> dict[str, Any]:
    """Connection and security options shared by producer, consumer and admin."""
    config: dict[str, Any] = {
        "bootstrap_servers": resolve_bootstrap_servers(settings).split(","),
        "client_id": settings.kafka_client_id,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:  # PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            config["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        config["ssl_check_hostname"] = settings.kafka_ssl_check_hostname
        for option in ("cafile", "certfile", "keyfile"):
            path = getattr(settings, f"kafka_ssl_{option}")
            if path is not None:
                config[f"ssl_{option}"] = str(path)
        if settings.kafka_ssl_password is not None:
            config["ssl_password"] = settings.kafka_ssl_password.get_secret_value()
    return config


def producer_timeouts(settings: Settings) -> tuple[int, int, int]:
    """(delivery, request, transaction) timeouts in ms, the same for both producer clients:
    a request times out before the delivery deadline, a transaction never before it."""
    delivery_ms = int(settings.kafka_delivery_timeout_s * 1000)
    request_ms = min(30000, delivery_ms - settings.kafka_linger_ms - 1)
    return delivery_ms, request_ms, max(delivery_ms, 60000)


def producer_config(settings: Settings, transactional_id: str | None = None) -> dict[str, Any]:
    """Every producer setting that matters, explicitly (kafka-python 3 moved defaults, and
    silently drops its default idempotence when another setting conflicts: we ask for it,
    so a conflict raises instead)."""
    delivery_ms, request_ms, transaction_ms = producer_timeouts(settings)
    config: dict[str, Any] = {
        **common_config(settings),
        "acks": "all",
        "enable_idempotence": True,
        "retries": 2**31 - 1,
        "max_in_flight_requests_per_connection": 5,
        "delivery_timeout_ms": delivery_ms,
        "request_timeout_ms": request_ms,
        "max_block_ms": delivery_ms,
        "linger_ms": settings.kafka_linger_ms,
        "batch_size": settings.kafka_batch_size,
        "compression_type": settings.kafka_compression_type,
        "allow_auto_create_topics": False,
        "partitioner": CachedKeyPartitioner(),
    }
    if transactional_id:
        config["transactional_id"] = transactional_id
        config["transaction_timeout_ms"] = transaction_ms
    return config


def make_producer(
    settings: Settings, transactional_id: str | None = None
) -> KafkaProducer | LibrdkafkaProducer:
    """A producer that waits for all in-sync replicas and writes each record once, from the
    client ``settings.kafka_producer`` names (both offer the methods publishing uses).

    With ``transactional_id`` (stable for the same logical writer, e.g. one Airflow task,
    so a retry fences a stuck predecessor) it is ready for transactions.

    Raises:
        PublishError: the cluster cannot be reached or transactions cannot be initialised.
    """
    from confluent_kafka import KafkaException
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from pipeline.kafka.librdkafka import LibrdkafkaProducer, librdkafka_config

    producer: KafkaProducer | LibrdkafkaProducer
    servers = settings.kafka_bootstrap_servers or "the local broker"
    try:
        if settings.kafka_producer == "confluent-kafka":
            config = librdkafka_config(settings, transactional_id)
            servers = config["bootstrap.servers"]
            producer = LibrdkafkaProducer(config, settings.kafka_delivery_timeout_s)
        else:
            config = producer_config(settings, transactional_id)
            servers = ",".join(config["bootstrap_servers"])
            producer = KafkaProducer(**config)
        if transactional_id:
            producer.init_transactions()
    except (KafkaError, KafkaException) as exc:
        raise PublishError(
            f"Kafka unreachable or refusing the producer at {servers}: {exc!r}"
        ) from exc
    return producer


class KeyDeserializer(Deserializer):
    def deserialize(self, topic: str, headers: Any, data: bytes | None) -> str | None:
        return data.decode("utf-8") if data is not None else None


class JsonDeserializer(Deserializer):
    """JSON values; a value that is not JSON comes back as its raw bytes, so one bad record
    fails where it is decoded (with its topic and offset known) instead of inside
    ``poll``, where no reader could step over it."""

    def deserialize(self, topic: str, headers: Any, data: bytes | None) -> Any:
        if data is None:
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            return data


def make_consumer(
    settings: Settings,
    *topics: str,
    group_id: str | None = None,
    from_beginning: bool = True,
    timeout_ms: int = 10000,
) -> KafkaConsumer:
    """A consumer of committed records only, decoding JSON values and UTF-8 keys."""
    from kafka import KafkaConsumer

    return KafkaConsumer(
        *topics,
        **common_config(settings),
        group_id=group_id,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=group_id is not None,
        isolation_level="read_committed",
        consumer_timeout_ms=timeout_ms,
        key_deserializer=KeyDeserializer(),
        value_deserializer=JsonDeserializer(),
    )


def make_admin(settings: Settings) -> KafkaAdminClient:
    from kafka import KafkaAdminClient

    return KafkaAdminClient(**common_config(settings), request_timeout_ms=30000)


# Keys of an Airflow Kafka connection's extra JSON (librdkafka names, as the Apache Kafka
# provider uses them) and the settings they fill.
CONNECTION_EXTRA_KEYS: dict[str, str] = {
    "bootstrap.servers": "kafka_bootstrap_servers",
    "security.protocol": "kafka_security_protocol",
    "sasl.mechanism": "kafka_sasl_mechanism",
    "sasl.mechanisms": "kafka_sasl_mechanism",
    "sasl.username": "kafka_sasl_username",
    "sasl.password": "kafka_sasl_password",
    "ssl.ca.location": "kafka_ssl_cafile",
    "ssl.certificate.location": "kafka_ssl_certfile",
    "ssl.key.location": "kafka_ssl_keyfile",
    "ssl.key.password": "kafka_ssl_password",
    "ssl.endpoint.identification.algorithm": "kafka_ssl_check_hostname",
}


def settings_with_connection(settings: Settings, extra: dict[str, Any]) -> Settings:
    """Settings with the Kafka options of a connection's extra JSON on top.

    Options set explicitly in the environment win over the connection. Returns a new,
    validated settings object (secrets stay ``SecretStr``: never logged).
    """
    updates: dict[str, Any] = {}
    for key, field in CONNECTION_EXTRA_KEYS.items():
        if key not in extra or field in settings.model_fields_set:
            continue
        value = extra[key]
        if field == "kafka_ssl_check_hostname":
            value = str(value).lower() == "https"
        updates[field] = value
    if not updates:
        return settings
    return Settings(**{**settings.model_dump(), **_secrets(settings), **updates})


def _secrets(settings: Settings) -> dict[str, Any]:
    """model_dump masks nothing but keeps SecretStr objects; pass them through as they are."""
    from pydantic import SecretStr

    return {
        name: value
        for name in type(settings).model_fields
        if isinstance(value := getattr(settings, name), SecretStr)
    }
