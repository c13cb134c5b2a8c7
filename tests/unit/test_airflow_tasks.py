"""The DAG task bodies beyond the stages: batching for mapped tasks, merging them back,
Variables over settings, forced replays with the same event ids, and the failure callback."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline import runner, tasks
from pipeline.callbacks import failure_line, on_task_failure
from pipeline.ledger import Ledger
from tests.conftest import SEED, fetch_settings


def test_discovered_pages_are_batched_for_mapped_tasks(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    for i in range(5):
        (pages / f"p{i}.html").write_text("<html><body><p>x</p></body></html>")
    settings = fetch_settings(tmp_path)
    batches = tasks.discover_batches([str(pages)], None, settings, batch_size=2)
    assert [len(b) for b in batches] == [2, 2, 1]
    assert tasks.discover_batches([], None, settings) == [[]]  # one (empty) mapped task


def test_mapped_payloads_merge_in_order() -> None:
    one = {"discovered": 1, "outcomes": [{"a": 1}], "articles": [1], "events": [1, 2]}
    two = {"discovered": 2, "outcomes": [{"b": 1}, {"c": 1}], "articles": [], "events": [3]}
    merged = tasks.merge_payloads([one, {**two, "dead_letters": ["d"]}])
    assert merged == {
        "discovered": 3,
        "outcomes": [{"a": 1}, {"b": 1}, {"c": 1}],
        "articles": [1],
        "events": [1, 2, 3],
        "dead_letters": ["d"],
    }


def test_variables_override_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {"news_pipeline_validation_policy": "alert", "news_pipeline_batch_size": "7"}
    overrides = tasks.variable_overrides(values.get)
    assert overrides == {"validation_policy": "alert", "batch_size": "7"}
    monkeypatch.setattr(tasks, "variable_overrides", lambda: overrides)
    settings = tasks.task_settings()
    assert settings.validation_policy == "alert"
    assert settings.batch_size == 7
    assert tasks.variable_overrides() == overrides


def test_a_forced_replay_republishes_unchanged_pages_with_the_same_event_ids(
    tmp_path: Path,
) -> None:
    settings = fetch_settings(tmp_path)
    page = str(SEED / "article.html")
    first = tasks.process_batch([page], settings)
    assert first["articles"] and len(first["events"]) >= 6
    articles = runner.load(runner.Article, first["articles"])
    runner.record_published(articles, tasks._outcomes(first), settings)

    again = tasks.process_batch([page], settings)
    assert again["articles"] == [] and again["outcomes"][0]["outcome"] == "unchanged"

    forced = tasks.process_batch([page], settings, force=True)
    assert [e["event_id"] for e in forced["events"]] == [e["event_id"] for e in first["events"]]
    assert forced["articles"][0]["version"] == first["articles"][0]["version"]
    runner.record_published(runner.load(runner.Article, forced["articles"]), [], settings)
    with Ledger.from_settings(settings) as ledger:
        assert ledger.counts()["versions"] == 1  # the replay added no version


def test_a_replay_by_date_range_reads_the_ledger(tmp_path: Path) -> None:
    settings = fetch_settings(tmp_path)
    page = str(SEED / "article.html")
    first = tasks.process_batch([page], settings)
    runner.record_published(runner.load(runner.Article, first["articles"]), [], settings)
    today = datetime.now(UTC).date()
    url = first["articles"][0]["url"]
    with Ledger.from_settings(settings) as ledger:
        start = datetime.combine(today, datetime.min.time(), UTC)
        assert ledger.urls_recorded_between(start, start + timedelta(days=1)) == [url]
        assert ledger.urls_recorded_between(start - timedelta(days=2), start) == []


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_the_failure_callback_logs_one_clear_line() -> None:
    ti = SimpleNamespace(
        dag_id="news_ingestion", task_id="extract_and_split", map_index=3, try_number=2
    )
    context = {"ti": ti, "run_id": "manual__1", "exception": TimeoutError("broker down")}
    handler = _Collect()
    logger = logging.getLogger("pipeline.alerts")
    logger.addHandler(handler)
    try:
        on_task_failure(context)
    finally:
        logger.removeHandler(handler)
    assert handler.messages == [failure_line(context)]
    assert handler.messages[0] == (
        "PIPELINE TASK FAILED dag=news_ingestion task=extract_and_split[3] run=manual__1 "
        "try=2 error=TimeoutError: broker down"
    )
