"""Airflow's real services (api-server, scheduler, dag-processor on SQLite with the
LocalExecutor) run news_ingestion, triggered through the REST API, against the real local
broker; the events are read back from Kafka. The same logical run is then run again (cleared,
as an operator would) and triggered again with the same conf: no event is published twice."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from pipeline.airflow_local import AirflowServices
from pipeline.consumer import TypedConsumer
from pipeline.settings import Settings
from tests.support.figures import figure

pytestmark = pytest.mark.integration

LOGICAL_DATE = "2026-01-05T10:00:00+00:00"


def _ids_per_topic(settings: Settings) -> dict[str, list[str]]:
    """Every record of every pipeline topic (read_committed), as ids per topic."""
    out: dict[str, list[str]] = {t: [] for t in settings.all_topics}
    with TypedConsumer(settings, settings.all_topics, idle_timeout_ms=4000) as consumer:
        for received in consumer:
            record = received.record
            rid = (
                getattr(record, "event_id", None)
                if received.topic != settings.topic_articles
                else None
            )
            out[received.topic].append(
                str(rid or getattr(record, "article_id", None) or received.key)
            )
    return out


def test_scheduler_runs_the_dag_from_the_rest_api_without_duplicates(
    kafka_settings: Settings, seed_server: str
) -> None:
    started = time.perf_counter()
    conf = {"urls": [f"{seed_server}/article.html"]}
    with AirflowServices(kafka_settings, env_extra={"PIPELINE_SCHEDULE": ""}) as airflow:
        ready = time.perf_counter() - started
        airflow.wait_for_dag("news_ingestion")
        run_id = airflow.trigger("news_ingestion", conf, logical_date=LOGICAL_DATE)
        run = airflow.wait_for_run("news_ingestion", run_id)
        first_run = time.perf_counter() - started - ready
        assert run["conf"] == conf

        first = _ids_per_topic(kafka_settings)
        statements = first[kafka_settings.topic_statements]
        assert len(first[kafka_settings.topic_articles]) == 1
        assert len(statements) >= 6

        # The same logical run again: cleared (every task re-runs), then triggered once more.
        assert airflow.clear("news_ingestion", run_id)["state"] in {"queued", "running"}
        rerun = airflow.wait_for_run("news_ingestion", run_id)
        assert rerun["end_date"] > run["end_date"]
        again = airflow.trigger("news_ingestion", conf)
        airflow.wait_for_run("news_ingestion", again)
    total = time.perf_counter() - started

    after = _ids_per_topic(kafka_settings)
    duplicates = {
        topic: sum(n - 1 for n in Counter(ids).values() if n > 1) for topic, ids in after.items()
    }
    figure(
        f"Airflow services ready in {ready:.1f}s; first run {first_run:.1f}s; "
        f"whole test {total:.1f}s; duplicates per topic after 3 runs: {duplicates}"
    )
    assert duplicates == dict.fromkeys(kafka_settings.all_topics, 0)
    assert {t: sorted(ids) for t, ids in after.items()} == {
        t: sorted(ids) for t, ids in first.items()
    }

    # The reference events, read back through the typed consumer.
    with TypedConsumer(
        kafka_settings,
        [
            kafka_settings.topic_statements,
            kafka_settings.topic_military_updates,
            kafka_settings.topic_commitments,
        ],
        idle_timeout_ms=4000,
    ) as consumer:
        events = [r.record for r in consumer]
    rutte = [e for e in events if getattr(e.details, "speaker", None) == "Mark Rutte"]
    assert len(rutte) >= 6
    assert any(getattr(e.details, "location", None) == "Siversk" for e in events)
    pledge = [e for e in events if "5 %" in (getattr(e.details, "amount", None) or "")]
    assert pledge and pledge[0].details.deadline == "2035"
