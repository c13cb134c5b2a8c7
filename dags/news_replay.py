"""
### News replay

Re-processes saved pages, folders of saved pages or URLs (param `pages`), and/or the pages the
dedup ledger recorded in a date range (`since`, `until`: ISO dates, UTC, `until` excluded;
`since` alone means that one day). With `force` (the default) pages whose text the ledger
already holds are published again, with the **same event ids** (ids derive from the text), so
a consumer keyed by `event_id` sees the replay as an update, never as new events; without
`force` a replay is an ordinary run (unchanged pages are not published).

Same stages as `news_ingestion` (mapped `extract_and_split` over batches, then validate and
publish) and the same topic Assets. Manual only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task

from pipeline.assets import topic_uris
from pipeline.callbacks import default_task_args
from pipeline.settings import get_settings

TOPIC_ASSETS = [Asset(uri) for uri in topic_uris(get_settings()).values()]


@dag(
    dag_id="news_replay",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["news", "kafka", "replay"],
    doc_md=__doc__,
    default_args=default_task_args(),
    params={
        "pages": Param([], type="array", description="Saved pages, folders or URLs."),
        "since": Param(None, type=["null", "string"], description="Ledger pages from (ISO)."),
        "until": Param(None, type=["null", "string"], description="... until (excluded)."),
        "force": Param(True, type="boolean", description="Republish unchanged pages."),
    },
)
def news_replay() -> None:
    @task
    def discover_pages(**context: Any) -> list[list[dict[str, Any]]]:
        from pipeline.tasks import replay_batches

        params = context["params"]
        return replay_batches(params.get("pages"), params.get("since"), params.get("until"))

    @task(execution_timeout=timedelta(minutes=20))
    def extract_and_split(batch: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
        from pipeline.tasks import process_batch

        return process_batch(batch, force=bool(context["params"].get("force")))

    @task
    def validate_events(batches: list[dict[str, Any]], **context: Any) -> dict[str, Any]:
        from pipeline.tasks import validate_batch

        return validate_batch(list(batches), run_name=context["run_id"])

    @task(outlets=TOPIC_ASSETS)
    def publish_to_kafka(payload: dict[str, Any], **context: Any) -> dict[str, Any]:
        from pipeline.tasks import publish_batch, task_identity

        return publish_batch(payload, **task_identity(context))

    publish_to_kafka(validate_events(extract_and_split.expand(batch=discover_pages())))


news_replay()
