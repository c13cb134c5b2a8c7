"""Kafka publishing: a pure ``to_message`` and the producer call beside it."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.errors import PublishError
from pipeline.models import (
    SCHEMA_VERSION,
    Article,
    DeadLetter,
    Event,
    OccurrenceState,
    ReviewItem,
    utc_now,
)
from pipeline.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaProducer

CE_SOURCE = "urn:news-event-pipeline"


@dataclass(frozen=True)
class Message:
    """One Kafka record: topic, key, JSON value and headers.

    ``group`` names what must be published atomically: an article, its events and the
    dead letters of its events share the article id; other dead letters stand alone.
    """

    topic: str
    key: str
    value: bytes | None  # None: a tombstone on a compacted topic
    headers: tuple[tuple[str, bytes], ...]
    group: str = ""


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


def _json(model: Article | Event | DeadLetter | OccurrenceState | ReviewItem) -> bytes:
    # pydantic-core's serializer: UTF-8 JSON, several times faster than json.dumps(model_dump()).
    return model.model_dump_json().encode("utf-8")


def record_group(record: Article | Event | DeadLetter) -> str:
    """What must be published atomically with ``record``: its article id (an article, its
    events and their dead letters), else the failed source for a page's dead letter."""
    if isinstance(record, Event):
        return record.article.article_id
    if isinstance(record, Article):
        return record.article_id
    return record.article_id or record.source


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while records are encoded and sent.

    Every ``send`` allocates futures that live until the broker confirms, so the collector
    runs often and traverses the whole heap (every article and event of the batch): it took
    about a third of the publishing time. Reference counting still frees everything that is
    not a cycle; the collector is resumed (if it was on) when the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
            group=record_group(record),
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
            group=record_group(record),
            value=_json(record),
            headers=_headers(
                record.article_id, "news.article", record.ingested_at.isoformat(), SCHEMA_VERSION
            ),
        )
    return Message(
        topic=settings.topic_dead_letter,
        key=record.source,
        group=record_group(record),
        value=_json(record),
        headers=_headers(
            record.dead_letter_id,
            f"news.dead_letter.{record.stage}",
            record.occurred_at.isoformat(),
            record.schema_version,
        ),
    )


def occurrence_message(
    occurrence_id: str, state: OccurrenceState | None, settings: Settings
) -> Message:
    """An occurrence's current state keyed by its id, or a tombstone (``state`` None) when
    its last report was retracted. Pure: no I/O."""
    return Message(
        topic=settings.topic_occurrences,
        key=occurrence_id,
        group=f"occurrence:{occurrence_id}",
        value=_json(state) if state is not None else None,
        headers=_headers(
            occurrence_id,
            "news.occurrence" if state is not None else "news.occurrence.removed",
            utc_now().isoformat(),
            SCHEMA_VERSION,
        ),
    )


def review_message(item: ReviewItem, settings: Settings) -> Message:
    """A review item's current state keyed by its id. Pure: no I/O."""
    return Message(
        topic=settings.topic_review,
        key=item.review_id,
        group=record_group(item.event),
        value=_json(item),
        headers=_headers(
            item.review_id,
            f"news.review.{item.status}",
            (item.decided_at or item.requested_at).isoformat(),
            item.schema_version,
        ),
    )


def transaction_batches(messages: list[Message], max_messages: int | None) -> list[list[Message]]:
    """Pack messages into transactions of about ``max_messages``, never splitting a group.

    A group larger than ``max_messages`` gets a transaction of its own; None packs all
    messages into one. Order within a group is kept, so an article's events stay in order
    on their partition.
    """
    if max_messages is None:
        return [list(messages)] if messages else []
    groups: dict[str, list[Message]] = {}
    for message in messages:
        groups.setdefault(message.group or message.key, []).append(message)
    batches: list[list[Message]] = []
    current: list[Message] = []
    for group in groups.values():
        if current and len(current) + len(group) > max_messages:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


def publish(
    producer: KafkaProducer,
    messages: list[Message],
    *,
    timeout_s: float = 60.0,
    transaction_max_messages: int | None = None,
) -> dict[str, int]:
    """Send every message and return the counts per topic the broker confirmed.

    With a transactional producer, each article's messages are committed atomically
    (consumers reading ``read_committed`` see all of an article's events or none); a batch
    that fails is aborted, so its messages are never visible, and the caller's retry sends
    them all again. Without transactions the idempotent producer still writes each record once.

    Raises:
        PublishError: a message was not confirmed or a transaction could not commit.
    """
    transactional = bool(getattr(producer, "config", {}).get("transactional_id"))
    if not transactional:
        return _send_confirmed(producer, messages, timeout_s)
    counts: Counter[str] = Counter()
    for batch in transaction_batches(messages, transaction_max_messages):
        producer.begin_transaction()
        try:
            futures = _send_all(producer, batch)
            producer.flush(timeout=timeout_s)
            confirmed = _confirmed(futures, timeout_s, len(messages))
            _bounded(producer.commit_transaction, timeout_s, "commit the transaction")
            counts.update(confirmed)
        except Exception as exc:
            _abort_quietly(producer, timeout_s)
            if isinstance(exc, PublishError):
                raise
            raise PublishError(
                f"transaction of {len(batch)} messages not committed: {exc!r}",
                failed=len(batch),
            ) from exc
    return dict(counts)


def _bounded(call: Callable[[], object], timeout_s: float, what: str) -> None:
    """Run a blocking client call with a deadline.

    kafka-python's commit and abort wait without a limit while the broker is down; a task
    must fail clearly instead, so the call runs in a daemon thread that is left behind.
    """
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the caller below
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, name=f"kafka-{what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not outcome:
        raise PublishError(f"could not {what} within {timeout_s:.0f}s: the broker is unreachable")
    if outcome[0] is not None:
        raise outcome[0]


def _abort_quietly(producer: KafkaProducer, timeout_s: float) -> None:
    # The broker may be gone: an open transaction then times out and is aborted by it.
    with contextlib.suppress(Exception):
        _bounded(producer.abort_transaction, min(timeout_s, 10.0), "abort the transaction")


def _send_all(producer: KafkaProducer, messages: list[Message]) -> list[tuple[Message, Any]]:
    return [
        (m, producer.send(m.topic, key=m.key.encode(), value=m.value, headers=list(m.headers)))
        for m in messages
    ]


def _confirmed(futures: list[tuple[Message, Any]], timeout_s: float, total: int) -> Counter[str]:
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
            f"{len(failures)} of {total} messages not confirmed: {failures[:5]}",
            failed=len(failures),
        )
    return counts


def _send_confirmed(
    producer: KafkaProducer, messages: list[Message], timeout_s: float
) -> dict[str, int]:
    futures = _send_all(producer, messages)
    producer.flush(timeout=timeout_s)
    return dict(_confirmed(futures, timeout_s, len(messages)))


def default_writer(settings: Settings) -> str:
    """The writer name of a run outside Airflow: one per host and state directory.

    It stays the same when a killed run is started again, so the new producer fences the
    dead one and aborts its open transaction at once instead of after the timeout.
    """
    import socket

    from pipeline.models import stable_id

    return f"{socket.gethostname()}-{stable_id(str(settings.state_dir.resolve()), length=12)}"


@contextlib.contextmanager
def open_writer(
    settings: Settings, writer: str | None = None, producer: KafkaProducer | None = None
) -> Iterator[KafkaProducer]:
    """Create missing topics, then yield a producer for ``writer`` (closed afterwards).

    With transactions on, the transactional id is derived from ``writer``, so opening it
    fences an earlier producer of the same writer (a killed attempt) and aborts its open
    transaction. A ``producer`` passed in is used as it is and left open.

    Raises:
        PublishError: the broker cannot be reached or the producer cannot start.
    """
    from kafka.errors import KafkaError

    from pipeline.kafka.admin import ensure_topics
    from pipeline.kafka.client import make_admin, make_producer

    try:
        admin = make_admin(settings)
        try:
            ensure_topics(admin, settings)
        finally:
            admin.close()
    except KafkaError as exc:
        raise PublishError(f"Kafka is not reachable to create the topics: {exc!r}") from exc
    if producer is not None:
        yield producer
        return
    transactional_id = None
    if settings.kafka_transactions:
        transactional_id = (
            f"{settings.kafka_transactional_id_prefix}-{writer or default_writer(settings)}"
        )
    producer = make_producer(settings, transactional_id)
    try:
        yield producer
    finally:
        producer.close()


def send_records(
    producer: KafkaProducer,
    records: list[Article | Event | DeadLetter],
    settings: Settings,
    extra: Sequence[Message] = (),
) -> dict[str, int]:
    """Publish ``records`` (and ready ``extra`` messages) with an open producer; return
    confirmed counts per topic."""
    with paused_gc():
        messages = [*(to_message(r, settings) for r in records), *extra]
        counts = publish(
            producer,
            messages,
            timeout_s=settings.kafka_delivery_timeout_s,
            transaction_max_messages=settings.kafka_transaction_max_messages,
        )
    return {topic: counts.get(topic, 0) for topic in settings.all_topics}


def publish_records(
    records: list[Article | Event | DeadLetter],
    settings: Settings,
    *,
    writer: str | None = None,
    producer: KafkaProducer | None = None,
) -> dict[str, int]:
    """Create missing topics, then publish ``records``; return confirmed counts per topic.

    ``writer`` names the logical writer for the transactional id (an Airflow task passes
    its dag, task and map index, so its retry fences a stuck predecessor); by default
    :func:`default_writer`.
    """
    with open_writer(settings, writer, producer) as open_producer:
        return send_records(open_producer, records, settings)
