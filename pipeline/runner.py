"""Airflow-free entry points: the DAG's tasks and the CLI call these same functions.

Each stage takes and returns plain models, so a stage can run in its own Airflow task
(models cross task boundaries as JSON through :func:`dump` and :func:`load`) or all in one
process (:func:`run_once`). Nothing is dropped: every source ends either as an ingested
article or as a dead letter, and every event either reaches its topic or a dead letter.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from pipeline.errors import PipelineError
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.fetch import fetch_page
from pipeline.models import Article, DeadLetter, Event
from pipeline.publish import publish, to_message
from pipeline.settings import Settings
from pipeline.sources import discover

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def dump(models: Iterable[BaseModel]) -> list[dict[str, Any]]:
    """Models to JSON-compatible dicts (for XCom and JSON lines)."""
    return [m.model_dump(mode="json") for m in models]


def load(model: type[M], rows: Iterable[dict[str, Any]]) -> list[M]:
    return [model.model_validate(row) for row in rows]


def dead_letter_from_error(error: Exception, source: str, **fields: Any) -> DeadLetter:
    """A dead-letter record naming the stage and the reason of ``error``."""
    if isinstance(error, PipelineError):
        return DeadLetter.build(
            stage=error.stage,
            reason=error.reason,
            source=source,
            error_type=type(error).__name__,
            http_status=error.context.get("http_status"),  # type: ignore[arg-type]
            **fields,
        )
    return DeadLetter.build(
        stage=fields.pop("stage", "pipeline"),
        reason=f"{type(error).__name__}: {error}",
        source=source,
        error_type=type(error).__name__,
        **fields,
    )


@dataclass
class StageOutput:
    """What a stage produced and what it could not process."""

    articles: list[Article] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def acquire(sources: Sequence[str], settings: Settings) -> StageOutput:
    """Discover, fetch and extract: one Article or one dead letter per discovered page."""
    from pipeline.fetch import make_http_client

    out = StageOutput()
    with make_http_client(settings) as http:
        for source in discover(list(sources)):
            try:
                page = fetch_page(source, settings, http)
                article = extract_article(page.body, page.url, min_chars=settings.min_article_chars)
            except PipelineError as exc:
                out.dead_letters.append(dead_letter_from_error(exc, source))
                continue
            out.articles.append(article)
    return out


def split(articles: Sequence[Article]) -> StageOutput:
    """Split each article into events; an article the splitter fails on is a dead letter."""
    out = StageOutput()
    for article in articles:
        try:
            events = split_events(article)
        except Exception as exc:  # a splitter bug must not lose the other articles
            log.exception("splitting failed for %s", article.url)
            out.dead_letters.append(
                dead_letter_from_error(
                    exc, article.url, stage="split", article_id=article.article_id
                )
            )
            continue
        out.articles.append(article)
        out.events.extend(events)
    return out


def validate(
    articles: Sequence[Article], events: Sequence[Event], settings: Settings
) -> StageOutput:
    """Validate articles, then events, with the GX suites; failures become dead letters."""
    from pipeline.validate import validate_articles, validate_events

    valid_articles, article_failures = validate_articles(list(articles), settings)
    out = StageOutput(articles=valid_articles, dead_letters=list(article_failures))
    rejected = {dl.article_id: dl.reason for dl in article_failures if dl.article_id}
    kept: list[Event] = []
    for event in events:
        if event.article.article_id in rejected:
            out.dead_letters.append(
                DeadLetter.build(
                    stage="validate",
                    reason=f"its article failed validation: {rejected[event.article.article_id]}",
                    source=event.event_id,
                    article_id=event.article.article_id,
                    event_id=event.event_id,
                    payload=event.model_dump(mode="json"),
                )
            )
        else:
            kept.append(event)
    by_id = {a.article_id: a for a in valid_articles}
    report = validate_events(kept, by_id, settings)
    out.events = list(report.valid_events)
    out.dead_letters.extend(report.invalid)
    return out


def publish_all(
    articles: Sequence[Article],
    events: Sequence[Event],
    dead_letters: Sequence[DeadLetter],
    settings: Settings,
    producer: Any | None = None,
) -> dict[str, int]:
    """Publish articles, events and dead letters; return confirmed counts per topic."""
    from pipeline.kafka.admin import ensure_topics
    from pipeline.kafka.client import make_admin, make_producer

    admin = make_admin(settings)
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    messages = [to_message(r, settings) for r in [*articles, *events, *dead_letters]]
    own = producer is None
    producer = producer or make_producer(settings)
    try:
        counts = publish(producer, messages, timeout_s=settings.kafka_delivery_timeout_s)
    finally:
        if own:
            producer.close()
    return {topic: counts.get(topic, 0) for topic in settings.all_topics}


@dataclass
class RunSummary:
    """What one run did; ``ingested + failed == discovered``."""

    discovered: int
    ingested: int
    failed: int
    topics: dict[str, int]
    events_by_type: dict[str, int]
    failures: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "ingested": self.ingested,
            "failed": self.failed,
            "topics": self.topics,
            "events_by_type": self.events_by_type,
            "failures": self.failures,
        }


def summarize(
    discovered: int,
    articles: Sequence[Article],
    events: Sequence[Event],
    dead_letters: Sequence[DeadLetter],
    topics: dict[str, int],
) -> RunSummary:
    """Account for every input: a discovered page that was not ingested has a dead letter."""
    return RunSummary(
        discovered=discovered,
        ingested=len(articles),
        failed=discovered - len(articles),
        topics=topics,
        events_by_type=dict(Counter(e.event_type for e in events)),
        failures=[
            {"source": dl.source, "stage": dl.stage, "reason": dl.reason} for dl in dead_letters
        ],
    )


def run_once(sources: Sequence[str], settings: Settings) -> RunSummary:
    """The whole chain once, without the scheduler."""
    acquired = acquire(sources, settings)
    discovered = len(acquired.articles) + len(acquired.dead_letters)
    split_out = split(acquired.articles)
    checked = validate(split_out.articles, split_out.events, settings)
    dead = [*acquired.dead_letters, *split_out.dead_letters, *checked.dead_letters]
    topics = publish_all(checked.articles, checked.events, dead, settings)
    return summarize(discovered, checked.articles, checked.events, dead, topics)
