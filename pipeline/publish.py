"""Kafka publishing: a pure ``to_message`` and the producer call beside it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.errors import PublishError
from pipeline.models import Article, DeadLetter, Event
from pipeline.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaProducer

CE_SOURCE = "urn:news-event-pipeline"


@dataclass(frozen=True)
class Message:
    """One Kafka record: topic, key, JSON value and headers."""

    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def _headers(
    ce_id: str, ce_type: str, ce_time: str, schema_version: str
) -> tuple[tuple[str, bytes], ...]:
    # CloudEvents Kafka protocol binding, binary content mode.
    return (
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_source", CE_SOURCE.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_time", ce_time.encode()),
        ("content-type", b"application/json"),
        ("schema_version", schema_version.encode()),
    )


def _json(model: Article | Event | DeadLetter) -> bytes:
    return json.dumps(model.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")


def to_message(record: Article | Event | DeadLetter, settings: Settings) -> Message:
    """Map a model to its topic, key, value and headers. Pure: no I/O.

    Events are keyed by their article id so an article's events stay in order on one
    partition; articles by their id (the articles topic is compacted); dead letters by
    the source that failed.
    """
    if isinstance(record, Event):
        return Message(
            topic=settings.topic_for(record.event_type),
            key=record.article.article_id,
            value=_json(record),
            headers=_headers(
                record.event_id,
                f"news.event.{record.event_type}",
                record.ingested_at.isoformat(),
                record.schema_version,
            ),
        )
    if isinstance(record, Article):
        return Message(
            topic=settings.topic_articles,
            key=record.article_id,
            value=_json(record),
            headers=_headers(
                record.article_id, "news.article", record.ingested_at.isoformat(), "1.0.0"
            ),
        )
    return Message(
        topic=settings.topic_dead_letter,
        key=record.source,
        value=_json(record),
        headers=_headers(
            record.dead_letter_id,
            f"news.dead_letter.{record.stage}",
            record.occurred_at.isoformat(),
            record.schema_version,
        ),
    )


def publish(
    producer: KafkaProducer, messages: list[Message], *, timeout_s: float = 60.0
) -> dict[str, int]:
    """Send every message, wait until the broker confirmed each one; return counts per topic.

    Raises:
        PublishError: any message was not confirmed (the caller's retry sends all again;
            the idempotent producer and deterministic ids make that safe for consumers).
    """
    futures = [
        (m, producer.send(m.topic, key=m.key.encode(), value=m.value, headers=list(m.headers)))
        for m in messages
    ]
    producer.flush(timeout=timeout_s)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for message, future in futures:
        try:
            future.get(timeout=timeout_s)
        except Exception as exc:  # kafka-python raises KafkaError subclasses and timeouts
            failures.append(f"{message.topic}/{message.key}: {exc!r}")
        else:
            counts[message.topic] += 1
    if failures:
        raise PublishError(
            f"{len(failures)} of {len(messages)} messages not confirmed: {failures[:5]}",
            failed=len(failures),
        )
    return dict(counts)
