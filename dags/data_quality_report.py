"""
### Data-quality report

Rebuilds the data-quality dashboard (run history, GX suite results, failure reasons) from the
run records the publishing tasks write under `PIPELINE_STATE_DIR/quality/`. Runs daily, and
also whenever new events land on a topic Asset (`kafka://news-pipeline/<topic>`), so the page
is never more than one run behind. The page is served by the `news_quality` plugin at
`/news-quality/` in the Airflow UI, or by `python -m pipeline dashboard`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from pipeline.assets import topic_uri
from pipeline.callbacks import default_task_args
from pipeline.settings import get_settings

_settings = get_settings()
EVENT_ASSETS = [
    Asset(topic_uri(topic))
    for topic in (
        _settings.topic_statements,
        _settings.topic_military_updates,
        _settings.topic_commitments,
    )
]


@dag(
    dag_id="data_quality_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("@daily", timezone="UTC"), assets=AssetAny(*EVENT_ASSETS)
    ),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["news", "data-quality", "report"],
    doc_md=__doc__,
    default_args=default_task_args(execution_timeout=timedelta(minutes=10)),
)
def data_quality_report() -> None:
    @task
    def build_dashboard() -> str:
        from pipeline.tasks import build_quality_report

        return build_quality_report()

    build_dashboard()


news_quality_report = data_quality_report()
