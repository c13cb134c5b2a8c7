"""Real pages: the event contract holds everywhere, negatives stay quiet, news pages speak."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from pipeline.errors import NotAnArticleError
from pipeline.events import split_events
from pipeline.events.dates import parse_iso_date
from pipeline.extract import extract_article
from pipeline.models import Article, Event

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"
# Measured on the 7 negative pages: 0 events in total. A little slack, no more.
NEG_MAX_EVENTS_PER_PAGE = 1
NEG_MAX_EVENTS_TOTAL = 2

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="shared/corpus is not beside the checkout"
)


def _names() -> list[str]:
    return (
        sorted(p.name[: -len(".html.gz")] for p in CORPUS.glob("*.html.gz"))
        if CORPUS.is_dir()
        else []
    )


@cache
def _article(name: str) -> Article | None:
    path = CORPUS / f"{name}.html.gz"
    try:
        return extract_article(gzip.open(path).read(), "file://" + path.name)
    except NotAnArticleError:
        return None


@cache
def _events(name: str) -> tuple[Event, ...]:
    article = _article(name)
    return tuple(split_events(article)) if article else ()


@pytest.mark.parametrize("name", _names())
def test_every_event_keeps_the_contract(name: str) -> None:
    article = _article(name)
    if article is None:
        pytest.skip("not an article")
    keys = set()
    for e in _events(name):
        assert article.text[e.evidence.start : e.evidence.end] == e.evidence.text
        assert 0.0 <= e.confidence <= 1.0
        assert e.details.kind == e.event_type
        assert e.event_id == Event.make_id(
            article.content_sha256, e.event_type, e.evidence.start, e.evidence.end
        )
        key = (e.event_type, e.evidence.start, e.evidence.end)
        assert key not in keys, "two events of the same type on one span"
        keys.add(key)
        if e.event_type == "statement":
            assert e.details.speaker
        if e.event_type == "military_update":
            assert e.details.location or e.details.figures or e.details.actor


def test_every_event_carries_the_three_clocks(corpus_pages: Path) -> None:
    """Precision is null exactly when the date is; a month or a year is its first day and
    not after publication; publication date, its source and ingestion time are the article's."""
    precisions: Counter[str | None] = Counter()
    for path in sorted(corpus_pages.glob("*.html.gz")):
        name = path.name[: -len(".html.gz")]
        article = _article(name)
        if article is None:
            continue
        published = parse_iso_date(article.published_at)
        for e in _events(name):
            precisions[e.occurred_at_precision] += 1
            assert (e.occurred_at is None) == (e.occurred_at_precision is None), e.event_id
            assert e.article.published_at == article.published_at
            assert e.article.published_at_source == article.published_at_source
            assert e.ingested_at == article.ingested_at
            if e.occurred_at is None:
                continue
            when = date.fromisoformat(e.occurred_at)
            assert e.occurred_at == when.isoformat()
            if e.occurred_at_precision == "month":
                assert when.day == 1
            if e.occurred_at_precision == "year":
                assert (when.month, when.day) == (1, 1)
            if e.occurred_at_precision != "day" and published is not None:
                assert when <= published, (name, e.evidence.text)
    # Measured on the 60 pages: 395 events, 63 days, 4 months, 7 years, 321 undated.
    assert sum(precisions.values()) > 300
    assert precisions["day"] and precisions["month"] and precisions["year"]
    assert precisions[None] > sum(precisions.values()) / 2  # dates stay the exception


def test_negative_pages_give_almost_nothing() -> None:
    negatives = [n for n in _names() if n.startswith("neg-")]
    assert negatives
    counts = {n: len(_events(n)) for n in negatives}
    assert max(counts.values()) <= NEG_MAX_EVENTS_PER_PAGE, counts
    assert sum(counts.values()) <= NEG_MAX_EVENTS_TOTAL, counts


@pytest.mark.parametrize(
    "name,speaker",
    [
        ("fr-001", "Dmitri Peskov"),
        ("fr-002", "Sophie Binet"),
        ("en-001", "Volodymyr Zelenskyy"),
        ("en-006", "Mark Esper"),
    ],
)
def test_news_pages_give_statements_by_named_people(name: str, speaker: str) -> None:
    if not (CORPUS / f"{name}.html.gz").exists():
        pytest.skip("page missing")
    speakers = {e.details.speaker for e in _events(name) if e.event_type == "statement"}
    assert speaker in speakers


def test_war_pages_give_military_updates() -> None:
    for name, place in [("fr-001", "Soumy"), ("en-001", "Kyiv")]:
        locations = {e.details.location for e in _events(name) if e.event_type == "military_update"}
        assert place in locations, (name, locations)


def test_whole_corpus_splits_fast() -> None:
    import time

    articles = [a for a in (_article(n) for n in _names()) if a is not None]
    split_events(articles[0])  # load the lexicons
    started = time.perf_counter()
    for a in articles:
        split_events(a)
    assert time.perf_counter() - started < 2.0
