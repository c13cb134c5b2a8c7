"""Reconcile the dedup ledger with what Kafka committed, so a retry never publishes twice.

A run publishes in a Kafka transaction and writes the ledger afterwards. If the process
dies (or the ledger is locked) between the two, Kafka holds articles the ledger does not
know, and the retry would publish them again. Before publishing, the writer reads the
articles topic with ``read_committed`` from where the ledger last stopped, records what it
finds, and leaves out of the new transaction every article an earlier attempt already
committed (with its events and event dead letters).

The review topic is read the same way, so the ledger's review statuses are the topic's
whatever happened after a commit: a run or a ``review accept|reject`` that died before its
ledger write, or review items published before the ledger kept them (an upgrade).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.errors import PublishError
from pipeline.ledger import Ledger
from pipeline.models import Article, DeadLetter, Event, ReviewItem
from pipeline.review import status_of
from pipeline.settings import Settings

log = logging.getLogger(__name__)

Offsets = dict[int, int]  # partition -> the next offset to read


def committed_records(
    settings: Settings, starts: dict[str, Offsets], timeout_s: float = 60.0
) -> tuple[dict[str, list[object]], dict[str, Offsets]]:
    """The records committed on each topic of ``starts`` from its offsets up to the last
    stable offset, in offset order per partition, and the offsets to start from next time
    (one consumer for all the topics)."""
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    from pipeline.consumer import read_message
    from pipeline.kafka.client import make_consumer

    found: dict[str, list[object]] = {topic: [] for topic in starts}
    consumer = make_consumer(settings)  # committed records only; partitions assigned below
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in starts
            for p in sorted(consumer.partitions_for_topic(topic) or set())
        ]
        if not tps:
            return found, {}
        consumer.assign(tps)
        # With read_committed the end offsets are the last stable offsets: the first
        # offset of a transaction still open, so this never waits for one.
        ends = consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, min(starts[tp.topic].get(tp.partition, 0), ends[tp]))
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise PublishError(
                    f"could not read {', '.join(starts)} to the end within {timeout_s} s"
                )
            for records in consumer.poll(timeout_ms=500).values():
                for message in records:
                    if message.offset >= ends[TopicPartition(message.topic, message.partition)]:
                        continue
                    got = read_message(message, settings, skip_invalid=True)
                    # Skipped: a tombstone (nothing to record), or a record that is not
                    # ours to repair (failing on it would fail every later run).
                    if got is None or got.record is None:
                        continue
                    record = got.record
                    found[message.topic].append(record)
        next_offsets: dict[str, Offsets] = {topic: {} for topic in starts}
        for tp in tps:
            next_offsets[tp.topic][tp.partition] = ends[tp]
        return found, next_offsets
    except KafkaError as exc:
        raise PublishError(
            f"cannot read {', '.join(starts)} to reconcile the ledger: {exc!r}"
        ) from exc
    finally:
        consumer.close()


def reconcile_ledger(settings: Settings, ledger: Ledger) -> set[tuple[str, str]]:
    """Record in the ledger the articles and review states Kafka committed since the last
    reconciliation.

    Returns ``(article_id, content_sha256)`` of the articles the ledger did not hold: an
    earlier attempt published them and died before writing the ledger.
    """
    articles_topic, review_topic = settings.topic_articles, settings.topic_review
    found, ends = committed_records(
        settings,
        {articles_topic: ledger.topic_offsets(articles_topic)}
        | {review_topic: ledger.topic_offsets(review_topic)},
    )
    articles = [r for r in found[articles_topic] if isinstance(r, Article)]
    recovered = ledger.recover(articles, articles_topic, ends.get(articles_topic, {}))
    if recovered:
        log.warning(
            "%d article(s) were committed to %s by an earlier attempt that did not record "
            "them; the ledger now holds them and they are not published again",
            len(recovered),
            articles_topic,
        )
    latest = {r.review_id: r for r in found[review_topic] if isinstance(r, ReviewItem)}
    statuses = [status_of(i) for i in latest.values()]
    ledger.recover_reviews(statuses, review_topic, ends.get(review_topic, {}))
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
