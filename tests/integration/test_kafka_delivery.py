"""Delivery guarantees against real brokers: outage and retry, another client, SASL/SCRAM."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from pipeline.consumer import TypedConsumer
from pipeline.errors import PublishError
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.kafka.broker import LocalBroker
from pipeline.kafka.client import make_producer
from pipeline.models import Article, Event
from pipeline.publish import publish_records
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT, SEED, broker_settings

pytestmark = pytest.mark.integration
LIB = REPO_ROOT / ".state" / "kafka" / "lib"
PRODUCERS = pytest.mark.parametrize("producer_client", ["confluent-kafka", "kafka-python"])


def _seed_records(copies: int = 1) -> tuple[list[Article], list[Event]]:
    """The reference article (under ``copies`` distinct URLs) and its events."""
    html = (SEED / "article.html").read_bytes()
    articles, events = [], []
    for i in range(copies):
        article = extract_article(html, f"https://example.org/seed/{i}")
        article = article.model_copy(update={"url": f"https://example.org/seed/{i}"})
        article = Article.build(**{**article.model_dump(exclude={"article_id", "content_sha256"})})
        articles.append(article)
        events.extend(split_events(article))
    return articles, events


def _settings(bootstrap: str, tmp_path: Path, **extra: Any) -> Settings:
    return broker_settings(bootstrap, tmp_path, f"t{uuid.uuid4().hex[:8]}", **extra)


def _committed_events(settings: Settings) -> Counter[tuple[str, str]]:
    """(article id, event id) of every event a read_committed consumer sees."""
    with TypedConsumer(settings, idle_timeout_ms=5000) as consumer:
        return Counter(
            (r.record.article.article_id, r.record.event_id)
            for r in consumer
            if isinstance(r.record, Event)
        )


@PRODUCERS
def test_broker_outage_mid_publish_then_retry_delivers_every_event_once(
    tmp_path: Path, producer_client: str
) -> None:
    broker = LocalBroker(tmp_path / "broker", lib_dir=LIB)
    state = broker.start()
    try:
        settings = _settings(
            state.bootstrap_servers,
            tmp_path,
            kafka_delivery_timeout_s=8.0,
            kafka_producer=producer_client,
        )
        articles, events = _seed_records(copies=40)
        records = [*articles, *events]
        writer = "news_ingestion.publish_to_kafka"

        # The first attempt: the broker goes down after a hundred records were handed over.
        producer = make_producer(settings, f"{settings.kafka_transactional_id_prefix}-{writer}")
        real_send = producer.send
        sent = 0

        def send_then_crash(*args: Any, **kwargs: Any) -> Any:
            nonlocal sent
            sent += 1
            if sent == 100:
                # Down before this record is handed over: the transaction cannot commit.
                # (Stopping it from a thread raced the commit, which sometimes won.)
                broker.stop()
            return real_send(*args, **kwargs)

        producer.send = send_then_crash  # type: ignore[method-assign]
        with pytest.raises(PublishError):
            publish_records(records, settings, writer=writer, producer=producer)
        producer.close(timeout=1)

        # The task's retry, once the broker is back: everything published, once.
        assert broker.start().bootstrap_servers == state.bootstrap_servers
        counts = publish_records(records, settings, writer=writer)
        assert sum(counts.values()) == len(records)
        seen = _committed_events(settings)
        assert set(seen) == {(e.article.article_id, e.event_id) for e in events}
        assert set(seen.values()) == {1}, "an event was read more than once"
    finally:
        broker.stop()


def test_confluent_kafka_reads_the_messages_and_their_cloudevents_headers(
    kafka_settings: Settings,
) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    articles, events = _seed_records()
    # Written by the other client (kafka-python), read by librdkafka.
    writer = kafka_settings.model_copy(update={"kafka_producer": "kafka-python"})
    publish_records([*articles, *events], writer)
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": kafka_settings.kafka_bootstrap_servers,
            "group.id": f"confluent-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([kafka_settings.topic_statements])
    received = []
    try:
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is None:
                if len(received) == sum(e.event_type == "statement" for e in events):
                    break
                continue
            assert message.error() is None, message.error()
            received.append(message)
    finally:
        consumer.close()
    statements = {e.event_id: e for e in events if e.event_type == "statement"}
    assert len(received) == len(statements)
    for message in received:
        headers = {k: v for k, v in message.headers()}
        assert headers["ce_specversion"] == b"1.0"
        assert headers["ce_type"] == b"news.event.statement"
        assert headers["ce_id"].decode() in statements
        assert headers["content-type"] == b"application/json"
        assert message.key().decode() == articles[0].article_id
        assert Event.model_validate_json(message.value()).event_id == headers["ce_id"].decode()


@PRODUCERS
def test_scram_broker_refuses_anonymous_clients_and_accepts_the_configured_pipeline(
    tmp_path: Path, producer_client: str
) -> None:
    broker = LocalBroker(tmp_path / "scram", lib_dir=LIB, scram_users={"pipeline": "s3cret-pw"})
    state = broker.start()
    try:
        with pytest.raises(KafkaError):
            KafkaAdminClient(
                bootstrap_servers=state.bootstrap_servers,
                request_timeout_ms=3000,
                bootstrap_timeout_ms=3000,
            ).list_topics()
        wrong = _settings(
            state.bootstrap_servers,
            tmp_path,
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="SCRAM-SHA-256",
            kafka_sasl_username="pipeline",
            kafka_sasl_password="not-the-password",
            kafka_producer=producer_client,
        )
        with pytest.raises((KafkaError, PublishError)):
            publish_records([], wrong)

        settings = wrong.model_copy(update={"kafka_sasl_password": "s3cret-pw"})
        settings = Settings(**{**settings.model_dump(), "kafka_sasl_password": "s3cret-pw"})
        assert "s3cret-pw" not in repr(settings)
        articles, events = _seed_records()
        counts = publish_records([*articles, *events], settings)
        assert counts[settings.topic_articles] == 1
        assert sum(_committed_events(settings).values()) == len(events)
    finally:
        broker.stop()
