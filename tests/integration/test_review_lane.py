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
from pipeline.models import Event, OccurrenceState, ReviewItem
from pipeline.review import review_items
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT, broker_settings

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
    held = review_items(settings)
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

    after = review_items(settings)
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
