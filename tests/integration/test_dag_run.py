"""The DAG through `airflow dags test` against the real local broker, read back by two clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.airflow_local import dags_test
from pipeline.kafka.broker import LocalBroker
from pipeline.kafka.client import make_consumer
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def _read(settings: Settings, topic: str) -> list[dict]:  # type: ignore[type-arg]
    consumer = make_consumer(settings, topic, timeout_ms=5000)
    try:
        return [r.value for r in consumer]
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def airflow_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Airflow metadata database for the module (migrating it takes a while)."""
    return tmp_path_factory.mktemp("airflow-state")


def test_dag_publishes_the_reference_events_and_dead_letters(
    kafka_settings: Settings, seed_server: str, sample_server: str, airflow_state: Path
) -> None:
    settings = kafka_settings.model_copy(update={"state_dir": airflow_state})
    urls = [
        f"{seed_server}/article.html",
        f"{sample_server}/site/abonnement.html",
        f"{sample_server}/site/page-retiree.html",
    ]
    result = dags_test(settings, "news_ingestion", {"urls": urls})
    assert result.state == "success"
    assert set(result.task_states.values()) == {"success"}
    assert len(result.task_states) == 4  # discover, extract_and_split (mapped), validate, publish

    articles = _read(settings, settings.topic_articles)
    statements = _read(settings, settings.topic_statements)
    military = _read(settings, settings.topic_military_updates)
    commitments = _read(settings, settings.topic_commitments)
    dead = _read(settings, settings.topic_dead_letter)

    assert [a["title"] for a in articles] == ["Déclarations du secrétaire général de l'OTAN"]
    rutte = [s for s in statements if s["details"]["speaker"] == "Mark Rutte"]
    assert len(rutte) >= 6
    siversk = [m for m in military if m["details"]["location"] == "Siversk"]
    assert siversk and "autorités russes" in (siversk[0]["details"]["claimed_by"] or "")
    pledge = [c for c in commitments if "5 %" in (c["details"]["amount"] or "")]
    assert pledge and pledge[0]["details"]["deadline"] == "2035"
    text = articles[0]["text"]
    for event in [*statements, *military, *commitments]:
        ev = event["evidence"]
        assert text[ev["start"] : ev["end"]] == ev["text"]

    # every input is accounted for: one article, two dead letters with their stage and reason
    reasons = {d["source"]: (d["stage"], d["reason"]) for d in dead if d.get("event_id") is None}
    assert reasons[urls[1]][0] == "extract" and "no article text" in reasons[urls[1]][1]
    assert reasons[urls[2]] == ("fetch", "HTTP 404 File not found")
    assert len(articles) + len(reasons) == len(urls)

    # An independent client (Kafka's own Java console consumer) reads the same events and
    # their CloudEvents headers (binary mode).
    java = LocalBroker(
        REPO_ROOT / ".state" / "kafka", lib_dir=REPO_ROOT / ".state" / "kafka" / "lib"
    )
    records = java.console_consumer(
        settings.kafka_bootstrap_servers or "", settings.topic_statements, len(statements)
    )
    java_ids = sorted(json.loads(r.value)["event_id"] for r in records)
    assert java_ids == sorted(s["event_id"] for s in statements)
    for record in records:
        assert record.headers["ce_specversion"] == "1.0"
        assert record.headers["ce_type"] == "news.event.statement"
        assert record.headers["ce_id"] == json.loads(record.value)["event_id"]
        assert record.headers["content-type"] == "application/json"
        assert record.key == articles[0]["article_id"]
