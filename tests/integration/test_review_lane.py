"""The review lane against the real broker: weak events are held with their reason, the CLI
lists them, and accepting or rejecting one publishes the outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pipeline import runner
from pipeline.airflow_local import settings_env
from pipeline.consumer import TypedConsumer
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.models import Event, OccurrenceState, ReviewItem
from pipeline.review import review_items as review_topic_items
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT, broker_settings
from tests.support.fault_server import serve_faults

pytestmark = pytest.mark.integration
BAR = 0.8


def _events(settings: Settings) -> list[Event]:
    topics = [
        settings.topic_statements,
        settings.topic_military_updates,
        settings.topic_commitments,
    ]
    with TypedConsumer(settings, topics, idle_timeout_ms=4000) as consumer:
        return [r.record for r in consumer if isinstance(r.record, Event)]


def _forget_review_items(settings: Settings) -> None:
    import sqlalchemy as sa

    from pipeline.ledger import Ledger, review_items, topic_offsets

    with Ledger.from_settings(settings) as ledger, ledger.engine.begin() as conn:
        assert conn.execute(sa.delete(review_items)).rowcount > 0
        conn.execute(sa.delete(topic_offsets).where(topic_offsets.c.topic == settings.topic_review))


def _write_raw(settings: Settings, topic: str, values: list[bytes | None]) -> None:
    from kafka import KafkaProducer

    from pipeline.kafka.client import common_config

    producer = KafkaProducer(**common_config(settings))
    for n, value in enumerate(values):
        producer.send(topic, key=f"raw-{n}".encode(), value=value)
    producer.flush()
    producer.close()


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "review", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_weak_events_wait_for_review_and_the_decision_is_published(
    kafka_bootstrap: str, seed_server: str, tmp_path: Path
) -> None:
    settings = broker_settings(
        kafka_bootstrap, tmp_path, f"t{uuid.uuid4().hex[:8]}", review_below_confidence=BAR
    )
    url = f"{seed_server}/article.html"
    summary = runner.run_once([url], settings)
    assert summary.ingested == 1

    published = _events(settings)
    held = review_topic_items(settings)
    assert published and held
    assert all(e.confidence >= BAR for e in published)
    assert all(i.status == "pending" and i.event.confidence < BAR for i in held.values())
    assert all(f"below {BAR:.2f}" in i.reason for i in held.values())
    # Nothing lost: every valid event is either on its topic or held.
    assert len(published) + len(held) == sum(summary.events_by_type.values())

    listed = _cli(settings, "list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert all(review_id in listed.stdout for review_id in held)

    accepted_id, rejected_id = sorted(held)[:2]
    accepted = _cli(settings, "accept", accepted_id, "--note", "checked against the source")
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    assert json.loads(accepted.stdout)["status"] == "accepted"
    rejected = _cli(settings, "reject", rejected_id, "--note", "not a statement")
    assert rejected.returncode == 0, rejected.stderr[-2000:]
    again = _cli(settings, "accept", accepted_id)
    assert again.returncode == 2 and "already accepted" in again.stderr

    after = review_topic_items(settings)
    assert after[accepted_id].status == "accepted"
    assert after[rejected_id].status == "rejected" and after[rejected_id].note == "not a statement"
    on_topics = {e.event_id: e for e in _events(settings)}
    assert accepted_id in on_topics and on_topics[accepted_id].op == "create"
    assert rejected_id not in on_topics
    assert len(on_topics) == len(published) + 1

    # The accepted event is a report now, with its occurrence.
    with TypedConsumer(settings, [settings.topic_occurrences], idle_timeout_ms=4000) as consumer:
        reports = {
            r
            for m in consumer
            if isinstance(m.record, OccurrenceState)
            for r in m.record.report_ids
        }
    assert accepted_id in reports and rejected_id not in reports
    assert isinstance(after[accepted_id], ReviewItem)


def test_review_decisions_follow_the_report_when_its_article_changes(
    kafka_bootstrap: str, seed_dir: Path, tmp_path: Path
) -> None:
    """An edited article: every event id changes. An accepted event's next version is
    published as an update of the accepted report; a rejected one's stays out, rejected;
    a pending item whose sentence was withdrawn is superseded; the other pending items are
    superseded by their next version's item. No item is left pending on a text that is
    gone, and a replay opens nothing again."""
    from pipeline.review import decide

    # Apostrophes as written in the text, so that sentences can be cut out of the HTML.
    html = (seed_dir / "article.html").read_text(encoding="utf-8").replace("&#x27;", "'")
    settings = broker_settings(
        kafka_bootstrap, tmp_path, f"t{uuid.uuid4().hex[:8]}", review_below_confidence=BAR
    )
    with serve_faults(seed_dir) as server:
        url = server.page_url("article")
        server.set_page("article", html.encode())
        assert runner.run_once([url], settings).ingested == 1
        held = review_topic_items(settings)
        # Three held events whose sentences are in the HTML as written: one to accept, one
        # to reject, one whose sentence the edit withdraws.
        verbatim = sorted(i for i, item in held.items() if item.event.evidence.text in html)
        assert len(verbatim) >= 4, "the reference article should hold enough weak events"
        accepted_id, rejected_id, withdrawn_id = verbatim[:3]
        decide(settings, accepted_id, accept=True)
        decide(settings, rejected_id, accept=False)
        # The ledger forgets every review item, as one from before it kept them (an
        # upgrade), or after decisions whose ledger write failed once Kafka had committed
        # them: the next run reads the review topic back.
        _forget_review_items(settings)
        # Records on the review topic that are not review items: reading the topic back
        # steps over them (with a warning) instead of failing every later run.
        _write_raw(settings, settings.topic_review, [b"not json", b'{"review_id": 1}', None])

        edited = html.replace(held[withdrawn_id].event.evidence.text, "", 1)
        edited = edited.replace("</p>", " Mise à jour à 18 heures.</p>", 1)
        server.set_page("article", edited.encode())
        assert runner.run_once([url], settings).ingested == 1
        after = review_topic_items(settings)

        # The earlier version's items: decided ones keep their decision, pending ones
        # are superseded (the withdrawn one without a successor).
        assert after[accepted_id].status == "accepted"
        assert after[rejected_id].status == "rejected"
        old_pending = set(held) - {accepted_id, rejected_id}
        assert {after[i].status for i in old_pending} == {"superseded"}
        assert after[withdrawn_id].note == "its article changed: the event is no longer in it"

        successors = {
            item.note.rsplit(" ", 1)[-1]: review_id
            for review_id, item in after.items()
            if review_id not in held and item.note
        }
        assert after[successors[accepted_id]].status == "accepted"
        assert after[successors[rejected_id]].status == "rejected"
        assert withdrawn_id not in successors
        for old in old_pending - {withdrawn_id}:
            assert after[old].note.endswith(successors[old])
            assert after[successors[old]].status == "pending"

        # On the typed topics: the accepted report's next version is an update of it;
        # nothing of the rejected one, ever.
        events = _events(settings)
        accepted_versions = [e for e in events if e.report_id == accepted_id]
        assert [e.op for e in accepted_versions] == ["create", "update"]
        assert accepted_versions[-1].event_id == successors[accepted_id]
        rejected_ids = {rejected_id, successors[rejected_id]}
        assert not [e for e in events if e.event_id in rejected_ids]

        # Every pending item holds an event of the current version of the article.
        article = extract_article(edited.encode(), url)
        current = split_events(article)
        pending_now = {i for i, item in after.items() if item.status == "pending"}
        assert pending_now and pending_now <= {e.event_id for e in current}

        # A replay of the same version opens nothing again.
        before = {i: item.status for i, item in after.items()}
        checked = runner.validate([article], current, settings)
        runner.publish_all(checked.articles, checked.events, [], settings)
        assert {i: item.status for i, item in review_topic_items(settings).items()} == before
