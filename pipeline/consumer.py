"""A small consumer library for downstream teams: typed records from the pipeline's topics.

    from pipeline.consumer import TypedConsumer
    from pipeline.settings import get_settings

    settings = get_settings()
    with TypedConsumer(settings, [settings.topic_statements], group_id="my-team") as consumer:
        for received in consumer:
            handle(received.record)          # an Event, Article or DeadLetter model
            consumer.commit(received)        # commit only after processing: at-least-once

Records are decoded into the same models the producer uses, chosen by the CloudEvents
``ce_type`` header; only committed transactions are read (``read_committed``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.models import Article, DeadLetter, Event, OccurrenceState, ReviewItem
from pipeline.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaConsumer

Record = Event | Article | DeadLetter | OccurrenceState | ReviewItem


@dataclass(frozen=True)
class Received:
    """One consumed record with its Kafka coordinates."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, bytes]
    record: Record | None  # None: a tombstone (a removed occurrence)


def decode(
    topic: str, headers: dict[str, bytes], value: dict[str, Any], settings: Settings
) -> Record:
    """The model of one message value, chosen by its ``ce_type`` header (or its topic).

    A tolerant reader: properties the models do not know (a later minor version's
    additions) are ignored, so consumers need not upgrade in step with the producer."""
    ce_type = headers.get("ce_type", b"").decode()
    if ce_type.startswith("news.event.") or topic in {
        settings.topic_statements,
        settings.topic_military_updates,
        settings.topic_commitments,
    }:
        return Event.model_validate(value, extra="ignore")
    if ce_type.startswith("news.dead_letter") or topic == settings.topic_dead_letter:
        return DeadLetter.model_validate(value, extra="ignore")
    if ce_type.startswith("news.occurrence") or topic == settings.topic_occurrences:
        return OccurrenceState.model_validate(value, extra="ignore")
    if ce_type.startswith("news.review") or topic == settings.topic_review:
        return ReviewItem.model_validate(value, extra="ignore")
    return Article.model_validate(value, extra="ignore")


log = logging.getLogger(__name__)


def read_message(message: Any, settings: Settings, *, skip_invalid: bool) -> Received | None:
    """One consumed Kafka message as a :class:`Received` (``record`` None for a tombstone).

    A message that is not a valid record of its topic raises, or with ``skip_invalid`` is
    logged (topic, partition, offset, why) and comes back as None.
    """
    headers = {k: v for k, v in (message.headers or [])}
    try:
        record = (
            decode(message.topic, headers, message.value, settings)
            if message.value is not None
            else None
        )
    except ValueError as exc:  # pydantic's ValidationError included
        if not skip_invalid:
            raise
        log.warning(
            "%s partition %d offset %d is not a message this pipeline can read, stepped over: %s",
            message.topic,
            message.partition,
            message.offset,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return None
    return Received(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        headers=headers,
        record=record,
    )


class TypedConsumer:
    """Iterate typed records; with a ``group_id`` offsets are committed only by :meth:`commit`.

    Args:
        topics: topics to read; by default the three event topics.
        group_id: a consumer group (offsets kept by Kafka); None reads without a group.
        from_beginning: where a group with no committed offset starts.
        idle_timeout_ms: stop iterating after this long without a message (None: never).
        skip_invalid: a record that is not a valid message of its topic is logged (topic,
            partition, offset, why) and stepped over; by default it raises, so a consumer
            that must not lose anything stops on it.
    """

    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str] | None = None,
        *,
        group_id: str | None = None,
        from_beginning: bool = True,
        idle_timeout_ms: int | None = 10000,
        skip_invalid: bool = False,
    ) -> None:
        from kafka import KafkaConsumer

        from pipeline.kafka.client import JsonDeserializer, KeyDeserializer, common_config

        self.settings = settings
        self.topics = list(
            topics
            or [
                settings.topic_statements,
                settings.topic_military_updates,
                settings.topic_commitments,
            ]
        )
        self._consumer: KafkaConsumer = KafkaConsumer(
            *self.topics,
            **common_config(settings),
            group_id=group_id,
            auto_offset_reset="earliest" if from_beginning else "latest",
            enable_auto_commit=False,
            isolation_level="read_committed",
            consumer_timeout_ms=idle_timeout_ms if idle_timeout_ms is not None else float("inf"),
            key_deserializer=KeyDeserializer(),
            value_deserializer=JsonDeserializer(),
        )
        self.group_id = group_id
        self.skip_invalid = skip_invalid

    def __iter__(self) -> Iterator[Received]:
        for message in self._consumer:
            if (
                got := read_message(message, self.settings, skip_invalid=self.skip_invalid)
            ) is not None:
                yield got

    def commit(self, received: Received | None = None) -> None:
        """Commit the group's position: after ``received`` (or everything consumed so far)."""
        if self.group_id is None:
            return
        if received is None:
            self._consumer.commit()
            return
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        tp = TopicPartition(received.topic, received.partition)
        self._consumer.commit({tp: OffsetAndMetadata(received.offset + 1, "", -1)})

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> TypedConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def latest_articles(settings: Settings, article_ids: set[str]) -> list[Article]:
    """The latest version of the given articles, read from the (compacted) articles topic."""
    found: dict[str, Article] = {}
    with TypedConsumer(settings, [settings.topic_articles], idle_timeout_ms=3000) as consumer:
        for received in consumer:
            record = received.record
            if isinstance(record, Article) and record.article_id in article_ids:
                found[record.article_id] = record
    return list(found.values())


@dataclass(frozen=True)
class ReplayReport:
    """What a dead-letter replay did: sources re-run and events re-validated."""

    dead_letters: int
    sources_rerun: list[str]
    events_revalidated: int
    topics: dict[str, int]


def replay_dead_letters(
    settings: Settings, *, stages: Sequence[str] | None = None, group_id: str = "dead-letter-replay"
) -> ReplayReport:
    """Send dead letters through the pipeline again (after a fix or an outage).

    Pages that failed to fetch, extract or split are fetched again; events that failed
    validation are validated again and published if they now pass (else they return to
    the dead-letter topic). The replay's consumer group remembers what was replayed.
    """
    from pipeline import runner
    from pipeline.models import Event as EventModel

    sources: list[str] = []
    events: list[EventModel] = []
    seen = 0
    with TypedConsumer(
        settings, [settings.topic_dead_letter], group_id=group_id, idle_timeout_ms=5000
    ) as consumer:
        for received in consumer:
            dead = received.record
            assert isinstance(dead, DeadLetter)
            if stages and dead.stage not in stages:
                continue
            seen += 1
            if dead.event_id and dead.payload:
                events.append(EventModel.model_validate(dead.payload))
            elif dead.event_id is None:
                sources.append(dead.source)
        topics: dict[str, int] = {}
        if sources:
            summary = runner.run_once(list(dict.fromkeys(sources)), settings)
            topics = dict(summary.topics)
        if events:
            articles = latest_articles(settings, {e.article.article_id for e in events})
            checked = runner.validate(articles, events, settings)
            counts = runner.publish_all([], checked.events, checked.dead_letters, settings)
            topics = {t: topics.get(t, 0) + counts.get(t, 0) for t in {*topics, *counts}}
        consumer.commit()
    return ReplayReport(seen, list(dict.fromkeys(sources)), len(events), topics)
