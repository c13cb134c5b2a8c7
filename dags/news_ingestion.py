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

`discover_sources` splits the pages into batches of `PIPELINE_BATCH_SIZE` (Variable
`news_pipeline_batch_size`); `extract_and_split` is mapped over the batches (fetch,
Trafilatura, dedup, splitting); `validate_events` collects them and runs the GX suites and the
run-level checks; `publish_to_kafka` writes one Kafka transaction and updates each topic's
Airflow Asset (`kafka://news-pipeline/<topic>`), so downstream DAGs can be scheduled on new events.

A manual run takes `urls` (pages to fetch, or paths of saved pages) or a `sources_file`
(feeds, sitemaps, homepages, URL lists, folders); a scheduled run reads the Variable
`news_pipeline_sources_file`, else `PIPELINE_SOURCES_FILE`. A dedup ledger keeps re-runs (of a
task or of the whole run) from publishing an unchanged article twice. The last task's return
value is the run summary: every discovered page has one outcome (ingested, unchanged,
duplicate, skipped, failed), adding up to `discovered`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task

from pipeline.assets import topic_uris
from pipeline.callbacks import default_task_args
from pipeline.settings import get_settings

_settings = get_settings()
TOPIC_ASSETS = [Asset(uri) for uri in topic_uris(_settings).values()]


@dag(
    dag_id="news_ingestion",
    schedule=_settings.schedule or None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["news", "kafka", "ingestion"],
    doc_md=__doc__,
    default_args=default_task_args(),
    dagrun_timeout=timedelta(hours=2),
    params={
        "urls": Param([], type="array", description="Pages to fetch: URLs or saved-page paths."),
        "sources_file": Param(None, type=["null", "string"], description="A sources file."),
    },
)
def news_ingestion() -> None:
    @task
    def discover_sources(**context: Any) -> list[list[dict[str, Any]]]:
        from pipeline.tasks import discover_batches

        params = context["params"]
        return discover_batches(params.get("urls"), params.get("sources_file"))

    @task(execution_timeout=timedelta(minutes=20))
    def extract_and_split(batch: list[dict[str, Any]]) -> dict[str, Any]:
        from pipeline.tasks import process_batch

        return process_batch(batch)

    @task
    def validate_events(batches: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
        from pipeline.tasks import validate_batch

        return validate_batch(list(batches), run_name=context["run_id"])

    @task(outlets=TOPIC_ASSETS)
    def publish_to_kafka(payload: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.tasks import publish_batch, task_identity

        return publish_batch(payload, **task_identity(context))

    batches = discover_sources()
    publish_to_kafka(validate_events(extract_and_split.expand(batch=batches)))


news_ingestion()
