"""The real local broker: topics as configured, confirmed publishing, and two independent readers."""

from __future__ import annotations

import json

import pytest
from kafka.admin import ConfigResource

from pipeline.kafka.admin import ensure_topics
from pipeline.kafka.broker import LocalBroker
from pipeline.kafka.client import make_admin, make_consumer, make_producer
from pipeline.models import Article, DeadLetter
from pipeline.publish import publish, to_message
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def test_topics_are_created_once_with_configured_partitions(kafka_settings: Settings) -> None:
    admin = make_admin(kafka_settings)
    try:
        created = ensure_topics(admin, kafka_settings)
        assert sorted(created) == sorted(kafka_settings.all_topics)
        assert ensure_topics(admin, kafka_settings) == []
        described = {t["name"]: t for t in admin.describe_topics(kafka_settings.all_topics)}
        assert all(len(described[t]["partitions"]) == 2 for t in kafka_settings.all_topics)
        configs = admin.describe_configs([ConfigResource("TOPIC", kafka_settings.topic_articles)])
        assert "compact" in json.dumps(configs, default=str)
        retention = admin.describe_configs(
            [ConfigResource("TOPIC", kafka_settings.topic_dead_letter)]
        )
        assert str(kafka_settings.topic_dead_letter_retention_ms) in json.dumps(
            retention, default=str
        )
    finally:
        admin.close()


def test_published_messages_are_read_back_by_python_and_java_clients(
    kafka_settings: Settings,
) -> None:
    admin = make_admin(kafka_settings)
    try:
        ensure_topics(admin, kafka_settings)
    finally:
        admin.close()
    article = Article.build(
        url="https://example.org/a", text="Un texte d'article. " * 20, language="fr"
    )
    dead = DeadLetter.build(
        stage="fetch", reason="HTTP 404 Not Found", source="https://example.org/b", http_status=404
    )
    producer = make_producer(kafka_settings)
    try:
        counts = publish(
            producer, [to_message(article, kafka_settings), to_message(dead, kafka_settings)]
        )
    finally:
        producer.close()
    assert counts == {kafka_settings.topic_articles: 1, kafka_settings.topic_dead_letter: 1}

    consumer = make_consumer(kafka_settings, kafka_settings.topic_dead_letter, timeout_ms=5000)
    try:
        records = list(consumer)
    finally:
        consumer.close()
    assert [r.value["reason"] for r in records] == ["HTTP 404 Not Found"]
    headers = dict(records[0].headers)
    assert headers["ce_type"] == b"news.dead_letter.fetch"
    assert headers["content-type"] == b"application/json"

    # Kafka's own Java console consumer: an independent client reads the same record.
    java = LocalBroker(
        REPO_ROOT / ".state" / "kafka", lib_dir=REPO_ROOT / ".state" / "kafka" / "lib"
    )
    records = java.console_consumer(
        kafka_settings.kafka_bootstrap_servers or "", kafka_settings.topic_articles, 1
    )
    assert records[0].key == article.article_id
    assert json.loads(records[0].value)["text"] == article.text
    assert records[0].headers["ce_type"] == "news.article"
