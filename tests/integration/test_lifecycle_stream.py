"""An edited page on the stream: the re-run publishes exactly the expected updates and
retractions, and a ``read_committed`` consumer applying them ends with the state a fresh run
over the edited page gives (real broker, real GX project, pages over HTTP)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import runner
from pipeline.consumer import TypedConsumer
from pipeline.extract import extract_article
from pipeline.lifecycle import apply_changes
from pipeline.models import Event, OccurrenceState
from pipeline.settings import Settings
from tests.conftest import CORPUS, broker_settings
from tests.support.fault_server import FaultServer, serve_faults
from tests.support.figures import figure
from tests.support.occurrence_stories import syndicated_copy
from tests.unit.test_lifecycle import _edited

pytestmark = pytest.mark.integration
EVENT_TOPICS = ("topic_statements", "topic_military_updates", "topic_commitments")


@pytest.fixture()
def server() -> Iterator[FaultServer]:
    with serve_faults(CORPUS / "pages") as srv:
        yield srv


def _events(settings: Settings) -> list[Event]:
    """Every event message in topic order per partition, as a read_committed consumer sees."""
    topics = [getattr(settings, t) for t in EVENT_TOPICS]
    with TypedConsumer(settings, topics, idle_timeout_ms=4000) as consumer:
        return [r.record for r in consumer if isinstance(r.record, Event)]


def _occurrences(settings: Settings) -> dict[str, OccurrenceState]:
    """The compacted view of news.occurrences: the latest state per key, tombstones applied."""
    state: dict[str, OccurrenceState] = {}
    with TypedConsumer(settings, [settings.topic_occurrences], idle_timeout_ms=4000) as consumer:
        for received in consumer:
            if isinstance(received.record, OccurrenceState):
                state[str(received.key)] = received.record
            else:
                state.pop(str(received.key), None)
    return state


def _content(events: list[Event]) -> list[dict[str, object]]:
    """What a report says and where, without the stream bookkeeping."""
    return sorted(
        (
            e.model_dump(mode="json", exclude={"ingested_at", "report_id", "op", "version"})
            for e in events
        ),
        key=lambda d: str(d["event_id"]),
    )


def test_an_edited_page_is_updated_and_retracted_on_the_stream(
    kafka_bootstrap: str, server: FaultServer, seed_dir: Path, tmp_path: Path
) -> None:
    html = (seed_dir / "article.html").read_text(encoding="utf-8")
    settings = broker_settings(kafka_bootstrap, tmp_path / "edits", f"t{uuid.uuid4().hex[:8]}")
    url = server.page_url("fr-001")

    server.set_page("fr-001", html.encode())
    first = runner.run_once([url], settings)
    assert first.ingested == 1
    created = _events(settings)
    assert created and {e.op for e in created} == {"create"}

    server.set_page("fr-001", _edited(html).encode())
    second = runner.run_once([url], settings)
    assert second.ingested == 1
    # The topics interleave both runs' messages: the second run's are those not read before.
    seen = {(e.event_id, e.op, e.version) for e in created}
    changes = [e for e in _events(settings) if (e.event_id, e.op, e.version) not in seen]
    ops = Counter(e.op for e in changes)
    # The unit test pins which report each change is; here: nothing more, nothing less.
    assert ops == {"update": len(created) - 1, "retract": 1, "create": 1}, ops
    assert all(e.version == 2 for e in changes if e.op != "create")

    # A fresh run over the edited page, into topics of its own.
    fresh_settings = broker_settings(
        kafka_bootstrap, tmp_path / "fresh", f"t{uuid.uuid4().hex[:8]}"
    )
    runner.run_once([url], fresh_settings)
    fresh = _events(fresh_settings)

    state = apply_changes({}, created)
    state = apply_changes(state, changes)
    assert _content(list(state.values())) == _content(fresh)

    # The occurrences follow: the retracted report left its occurrence (a tombstone, as it
    # was alone in it), the new one has its own, the updated ones point at new versions.
    occurrences = _occurrences(settings)
    assert sorted(r for o in occurrences.values() for r in o.report_ids) == sorted(state)
    assert sorted(e for o in occurrences.values() for e in o.event_ids) == sorted(
        e.event_id for e in state.values()
    )
    figure(
        f"lifecycle edit: {len(created)} reports, then {dict(ops)}; state = fresh run ({len(fresh)} events)"
    )


def test_a_syndicated_copy_adds_a_mention_and_a_source_not_an_occurrence(
    kafka_bootstrap: str, server: FaultServer, seed_dir: Path, tmp_path: Path
) -> None:
    html = (seed_dir / "article.html").read_bytes()
    settings = broker_settings(kafka_bootstrap, tmp_path, f"t{uuid.uuid4().hex[:8]}")
    server.set_page("fr-001", html)
    assert runner.run_once([server.page_url("fr-001")], settings).ingested == 1
    before = _occurrences(settings)
    assert before and {o.mention_count for o in before.values()} == {1}

    article = extract_article(html, server.page_url("fr-001"))
    copy, _ = syndicated_copy(
        text=article.text,
        title=article.title,
        lang="fr",
        published_at=article.published_at,
        host="partner.example",
        site="Partner",
        slug="rutte",
        trim_last_paragraph=False,
    )
    server.set_page("fr-002", copy.encode())
    second = runner.run_once([server.page_url("fr-002")], settings)
    assert second.outcomes["duplicate"] == 1
    after = _occurrences(settings)
    assert set(after) == set(before)  # no new occurrence
    assert {o.mention_count for o in after.values()} == {2}
    assert all(len(o.sources) == 2 for o in after.values())
    assert all(o.report_ids == before[k].report_ids for k, o in after.items())
