"""The DAG's task bodies: thin JSON-in, JSON-out adapters over :mod:`pipeline.runner`.

Airflow passes task results through XCom as JSON, so each function takes and returns
JSON-compatible dicts and calls the same runner stage the CLI uses.
"""

from __future__ import annotations

from typing import Any

from pipeline import runner
from pipeline.models import Article, DeadLetter, Event
from pipeline.settings import Settings, get_settings
from pipeline.sources import discover

Payload = dict[str, Any]


def _payload(out: runner.StageOutput, discovered: int, dead: list[DeadLetter]) -> Payload:
    return {
        "discovered": discovered,
        "articles": runner.dump(out.articles),
        "events": runner.dump(out.events),
        "dead_letters": runner.dump([*dead, *out.dead_letters]),
    }


def discover_sources(urls: list[str] | None, sources_file: str | None, settings: Settings | None = None) -> list[str]:
    """The pages to process: the run's URLs, else its sources file, else the configured one."""
    settings = settings or get_settings()
    named: list[str] = list(urls or [])
    if not named:
        file = sources_file or (str(settings.sources_file) if settings.sources_file else None)
        named = [file] if file else []
    return discover(named)


def extract_articles(sources: list[str], settings: Settings | None = None) -> Payload:
    out = runner.acquire(sources, settings or get_settings())
    return _payload(out, len(sources), [])


def split_articles(payload: Payload) -> Payload:
    out = runner.split(runner.load(Article, payload["articles"]))
    return _payload(out, payload["discovered"], runner.load(DeadLetter, payload["dead_letters"]))


def validate_batch(payload: Payload, settings: Settings | None = None) -> Payload:
    out = runner.validate(
        runner.load(Article, payload["articles"]),
        runner.load(Event, payload["events"]),
        settings or get_settings(),
    )
    return _payload(out, payload["discovered"], runner.load(DeadLetter, payload["dead_letters"]))


def publish_batch(payload: Payload, settings: Settings | None = None) -> Payload:
    """Publish everything and return the run summary (``ingested + failed == discovered``)."""
    settings = settings or get_settings()
    articles = runner.load(Article, payload["articles"])
    events = runner.load(Event, payload["events"])
    dead = runner.load(DeadLetter, payload["dead_letters"])
    topics = runner.publish_all(articles, events, dead, settings)
    return runner.summarize(payload["discovered"], articles, events, dead, topics).as_dict()
