"""Re-running on the same sources publishes nothing new; a changed page re-publishes that
article alone, with new event ids (real local Kafka, real GX project, the ledger in SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline import runner
from pipeline.demo import read_topics
from pipeline.settings import Settings
from tests.conftest import CORPUS
from tests.support.fault_server import FaultServer, serve_faults
from tests.unit.test_ledger_dedup import change_text

pytestmark = pytest.mark.integration
PAGES = "fr-001,fr-002,fr-005,en-003,en-008,en-013,en-017"


@pytest.fixture()
def server() -> Iterator[FaultServer]:
    with serve_faults(CORPUS / "pages") as srv:
        yield srv


def _counts(messages: dict[str, list[dict[str, object]]]) -> dict[str, int]:
    return {topic: len(values) for topic, values in messages.items()}


def test_rerun_publishes_nothing_and_a_change_republishes_one_article(
    kafka_settings: Settings, server: FaultServer
) -> None:
    settings = kafka_settings.model_copy(update={"per_host_concurrency": 4})
    sources = [{"target": server.page_url(n), "source": "test"} for n in PAGES.split(",")]

    first = runner.run_once(sources, settings)
    assert (first.outcomes["ingested"], first.discovered) == (7, 7), first.failures
    after_first = read_topics(settings)
    events_first = {
        e["event_id"]
        for t in (
            settings.topic_statements,
            settings.topic_military_updates,
            settings.topic_commitments,
        )
        for e in after_first[t]
    }
    assert len(after_first[settings.topic_articles]) == 7 and events_first

    second = runner.run_once(sources, settings)
    assert second.outcomes == {
        "ingested": 0,
        "unchanged": 7,
        "duplicate": 0,
        "skipped": 0,
        "failed": 0,
    }
    assert _counts(read_topics(settings)) == _counts(after_first)  # not one new message

    fr001 = next(
        a
        for a in after_first[settings.topic_articles]
        if str(a["fetched_url"]).endswith("fr-001.html")
    )
    change_text(server, "fr-001", str(fr001["text"]))
    third = runner.run_once(sources, settings)
    assert third.outcomes == {
        "ingested": 1,
        "unchanged": 6,
        "duplicate": 0,
        "skipped": 0,
        "failed": 0,
    }
    after_third = read_topics(settings)
    seen = {(a["article_id"], a["content_sha256"]) for a in after_first[settings.topic_articles]}
    articles = after_third[settings.topic_articles]
    new_articles = [a for a in articles if (a["article_id"], a["content_sha256"]) not in seen]
    assert len(articles) == 8
    assert [(a["article_id"], a["version"]) for a in new_articles] == [(fr001["article_id"], 2)]
    event_topics = (
        settings.topic_statements,
        settings.topic_military_updates,
        settings.topic_commitments,
    )
    all_events = [e for t in event_topics for e in after_third[t]]
    new_events = [e for e in all_events if e["event_id"] not in events_first]
    assert new_events, "the changed article's events are published again"
    assert len(all_events) == len(events_first) + len(new_events)  # nothing else re-sent
    assert {e["article"]["article_id"] for e in new_events} == {fr001["article_id"]}
    assert len(after_third[settings.topic_dead_letter]) == len(
        after_first[settings.topic_dead_letter]
    )
