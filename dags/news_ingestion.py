"""
### News ingestion

Fetches news pages, extracts their main text with Trafilatura, splits each article into
typed events (statements, military updates, commitments), validates them with the Great
Expectations suites in `expectations/`, and publishes them to Kafka:

| topic (default) | what |
| --- | --- |
| `news.articles` | one record per article |
| `news.statements`, `news.military_updates`, `news.commitments` | the events |
| `news.dead_letter` | every page or event that could not go through, with stage and reason |

A manual run takes `urls` (pages to fetch, or paths of saved pages) or a `sources_file`
(feeds, sitemaps, homepages, URL lists, folders); a scheduled run reads the sources file
configured as `PIPELINE_SOURCES_FILE`. A dedup ledger keeps re-runs from publishing an
unchanged article twice. The last task's return value is the run summary: every discovered
page has one outcome (ingested, unchanged, duplicate, skipped, failed), adding up to `discovered`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from pipeline.settings import get_settings

_settings = get_settings()


@dag(
    dag_id="news_ingestion",
    schedule=_settings.schedule,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["news", "kafka", "ingestion"],
    doc_md=__doc__,
    default_args={
        "owner": "news-data",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=30),
    },
    params={
        "urls": Param([], type="array", description="Pages to fetch: URLs or saved-page paths."),
        "sources_file": Param(None, type=["null", "string"], description="A sources file."),
    },
)
def news_ingestion() -> None:
    @task
    def discover_sources(**context: Any) -> list[dict[str, Any]]:
        from pipeline.tasks import discover_sources as discover

        params = context["params"]
        return discover(params.get("urls"), params.get("sources_file"))

    @task
    def extract_articles(sources: list[dict[str, Any]]) -> dict[str, Any]:
        from pipeline.tasks import extract_articles as extract

        return extract(sources)

    @task
    def split_events(payload: dict[str, Any]) -> dict[str, Any]:
        from pipeline.tasks import split_articles

        return split_articles(payload)

    @task
    def validate_events(payload: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.tasks import validate_batch

        return validate_batch(payload, run_name=context["run_id"])

    @task
    def publish_to_kafka(payload: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.tasks import publish_batch

        ti = context["ti"]
        writer = f"{ti.dag_id}.{ti.task_id}.{ti.map_index}"
        return publish_batch(payload, run_name=context["run_id"], writer=writer)

    publish_to_kafka(validate_events(split_events(extract_articles(discover_sources()))))


news_ingestion()
