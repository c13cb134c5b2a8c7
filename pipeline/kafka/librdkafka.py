"""The librdkafka producer (confluent-kafka) behind the interface :mod:`pipeline.publish` uses.

kafka-python encodes every record in Python: about 70 µs a record with the CloudEvents
headers, so one process tops out near 7,000 events per second. librdkafka, the C client the
Apache Kafka provider for Airflow is built on, encodes, batches and compresses in C threads,
with the same guarantees: ``acks=all``, idempotence, transactions. It is the default
producer; ``PIPELINE_KAFKA_PRODUCER=kafka-python`` selects the pure-Python one.

Keys are partitioned with murmur2 like the Java client and kafka-python, so an article's
events land on the same partition whichever client wrote them.
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.settings import Settings

log = logging.getLogger(__name__)


class DeliveryFuture:
    """The broker's answer for one record, settled by librdkafka's delivery callback."""

    __slots__ = ("done", "error", "offset", "partition")

    def __init__(self) -> None:
        self.done = False
        self.error: Any = None
        self.partition = -1
        self.offset = -1

    def __call__(self, error: Any, message: Any) -> None:
        self.done = True
        self.error = error
        if error is None:
            self.partition = message.partition()
            self.offset = message.offset()

    def get(self, timeout: float | None = None) -> tuple[int, int]:
        """(partition, offset) once confirmed; raises if the record failed or is unconfirmed.

        Callbacks run inside ``flush``/``poll``, so after a successful flush every future is done.
        """
        from confluent_kafka import KafkaException

        if not self.done:
            raise TimeoutError("the broker has not confirmed the record")
        if self.error is not None:
            raise KafkaException(self.error)
        return self.partition, self.offset


def librdkafka_config(settings: Settings, transactional_id: str | None = None) -> dict[str, Any]:
    """The producer's librdkafka configuration, every setting that matters set explicitly."""
    from pipeline.kafka.client import producer_timeouts, resolve_bootstrap_servers

    delivery_ms, request_ms, transaction_ms = producer_timeouts(settings)
    config: dict[str, Any] = {
        "bootstrap.servers": resolve_bootstrap_servers(settings),
        "client.id": settings.kafka_client_id,
        "security.protocol": settings.kafka_security_protocol.lower(),
        "acks": "all",
        "enable.idempotence": True,
        "max.in.flight.requests.per.connection": 5,
        "message.timeout.ms": delivery_ms,
        "request.timeout.ms": request_ms,
        "linger.ms": settings.kafka_linger_ms,
        "batch.size": settings.kafka_batch_size,
        "compression.type": settings.kafka_compression_type or "none",
        "partitioner": "murmur2_random",
        "logger": logging.getLogger("pipeline.kafka.librdkafka"),
    }
    if settings.kafka_sasl_mechanism:
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        config["ssl.endpoint.identification.algorithm"] = (
            "https" if settings.kafka_ssl_check_hostname else "none"
        )
        for option, name in (("cafile", "ca"), ("certfile", "certificate"), ("keyfile", "key")):
            path = getattr(settings, f"kafka_ssl_{option}")
            if path is not None:
                config[f"ssl.{name}.location"] = str(path)
        if settings.kafka_ssl_password is not None:
            config["ssl.key.password"] = settings.kafka_ssl_password.get_secret_value()
    if transactional_id:
        config["transactional.id"] = transactional_id
        config["transaction.timeout.ms"] = transaction_ms
    return config


class LibrdkafkaProducer:
    """A confluent-kafka producer with the methods :func:`pipeline.publish.publish` calls
    (those of kafka-python's ``KafkaProducer``): ``send`` returns a future, ``flush`` and the
    transaction calls raise when the broker does not answer in time."""

    def __init__(self, config: dict[str, Any], timeout_s: float) -> None:
        from confluent_kafka import Producer

        self._producer: Any = Producer(config)
        self._timeout_s = timeout_s
        self.config = {"transactional_id": config.get("transactional.id")}

    def init_transactions(self) -> None:
        self._producer.init_transactions(self._timeout_s)

    def begin_transaction(self) -> None:
        self._producer.begin_transaction()

    def send(
        self,
        topic: str,
        *,
        key: bytes | None = None,
        value: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> DeliveryFuture:
        future = DeliveryFuture()
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=future
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain
                self._producer.poll(0.05)
        self._producer.poll(0)
        return future

    def flush(self, timeout: float | None = None) -> None:
        from kafka.errors import KafkaTimeoutError

        remaining = self._producer.flush(self._timeout_s if timeout is None else timeout)
        if remaining:
            raise KafkaTimeoutError(f"{remaining} records not confirmed by the broker in time")

    def commit_transaction(self) -> None:
        self._producer.commit_transaction(self._timeout_s)

    def abort_transaction(self) -> None:
        self._producer.abort_transaction(self._timeout_s)

    def close(self, timeout: float | None = None) -> None:
        """Drop what is still queued (a publish either flushed or failed) and let go of the
        connections. confluent-kafka's own ``close`` first aborts an open transaction and
        waits for the broker without a limit; an unfinished transaction is left to the next
        producer with the same transactional id (which aborts it) or to the broker's timeout."""
        self._producer.purge()
        self._producer = None
