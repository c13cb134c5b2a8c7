"""Reconcile the dedup ledger with what Kafka committed, so a retry never publishes twice.

A run publishes in a Kafka transaction and writes the ledger afterwards. If the process
dies (or the ledger is locked) between the two, Kafka holds articles the ledger does not
know, and the retry would publish them again. Before publishing, the writer reads the
articles topic with ``read_committed`` from where the ledger last stopped, records what it
finds, and leaves out of the new transaction every article an earlier attempt already
committed (with its events and event dead letters).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.errors import PublishError
from pipeline.ledger import Ledger
from pipeline.models import Article, DeadLetter, Event
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def committed_articles(
    settings: Settings, start: dict[int, int], timeout_s: float = 60.0
) -> tuple[list[Article], dict[int, int]]:
    """Articles committed on the articles topic from ``start`` (partition -> offset) up to
    the last stable offset, and the offsets to start from next time."""
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    from pipeline.consumer import decode
    from pipeline.kafka.client import make_consumer

    topic = settings.topic_articles
    consumer = make_consumer(settings)  # committed records only; partitions assigned below
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return [], {}
        consumer.assign(tps)
        # With read_committed the end offsets are the last stable offsets: the first
        # offset of a transaction still open, so this never waits for one.
        ends = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, min(start.get(tp.partition, 0), ends[tp]))
        found: list[Article] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise PublishError(f"could not read {topic} to its end within {timeout_s} s")
            for records in consumer.poll(timeout_ms=500).values():
                for message in records:
                    if message.offset >= ends[TopicPartition(message.topic, message.partition)]:
                        continue
                    headers = {k: v for k, v in (message.headers or [])}
                    record = decode(message.topic, headers, message.value, settings)
                    if isinstance(record, Article):
                        found.append(record)
        return found, {tp.partition: ends[tp] for tp in tps}
    except KafkaError as exc:
        raise PublishError(f"cannot read {topic} to reconcile the ledger: {exc!r}") from exc
    finally:
        consumer.close()


def reconcile_ledger(settings: Settings, ledger: Ledger) -> set[tuple[str, str]]:
    """Record in the ledger the articles Kafka committed since the last reconciliation.

    Returns ``(article_id, content_sha256)`` of the articles the ledger did not hold: an
    earlier attempt published them and died before writing the ledger.
    """
    start = ledger.topic_offsets(settings.topic_articles)
    articles, ends = committed_articles(settings, start)
    recovered = ledger.recover(articles, settings.topic_articles, ends)
    if recovered:
        log.warning(
            "%d article(s) were committed to %s by an earlier attempt that did not record "
            "them; the ledger now holds them and they are not published again",
            len(recovered),
            settings.topic_articles,
        )
    return {(a.article_id, a.content_sha256) for a in recovered}


@dataclass
class Unpublished:
    """What is left to publish once the articles already committed are set aside."""

    articles: list[Article]
    events: list[Event]
    dead_letters: list[DeadLetter]
    already_committed: list[Article] = field(default_factory=list)


def without_committed(
    articles: Sequence[Article],
    events: Sequence[Event],
    dead_letters: Sequence[DeadLetter],
    committed: set[tuple[str, str]],
) -> Unpublished:
    """Leave out the articles in ``committed`` with their events and event dead letters."""
    done = {a.article_id for a in articles if (a.article_id, a.content_sha256) in committed}
    return Unpublished(
        articles=[a for a in articles if a.article_id not in done],
        events=[e for e in events if e.article.article_id not in done],
        dead_letters=[d for d in dead_letters if d.article_id not in done],
        already_committed=[a for a in articles if a.article_id in done],
    )
