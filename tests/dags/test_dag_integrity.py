"""DAG integrity and policy: every DAG file imports cleanly, fast, and follows house policy."""

from __future__ import annotations

import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

DAG_FILES = sorted((REPO_ROOT / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_every_dag_file_imports_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert {"news_ingestion", "news_replay", "data_quality_report"} <= set(dagbag.dags)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_does_no_work_at_import(
    dag_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Importing a DAG file, in a fresh interpreter, must not pull in Trafilatura, GX, Kafka
    clients, pandas or the pipeline's stages, and must take under one second.

    The DAG processor has Airflow loaded already, so ``airflow.sdk`` is imported first and the
    time measured is the DAG file's own (its imports and the DAG's construction)."""
    probe = (
        "import sys, time, runpy; import airflow.sdk; t = time.perf_counter(); "
        f"runpy.run_path({str(dag_file)!r}); "
        "seconds = time.perf_counter() - t; "
        "heavy = [m for m in ('trafilatura', 'great_expectations', 'kafka', 'pandas', "
        "'pipeline.runner', 'pipeline.tasks') if m in sys.modules]; "
        "print(repr(heavy), round(seconds, 3))"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    heavy, seconds = out.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    with capsys.disabled():
        print(
            f"\n{dag_file.name} imports in {float(seconds):.3f}s "
            f"(fresh process, Airflow preloaded; {time.perf_counter() - start:.1f}s in all)"
        )
    assert heavy == "[]", f"{dag_file.name} imports heavy libraries at parse time: {heavy}"
    assert float(seconds) < 1.0, f"{dag_file.name} takes {seconds}s to import"


def test_dags_follow_policy(dagbag) -> None:  # type: ignore[no-untyped-def]
    from pipeline.callbacks import on_task_failure

    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.catchup is False, f"{dag_id} catches up"
        assert dag.max_active_runs == 1, f"{dag_id} allows overlapping runs"
        for task in dag.tasks:
            name = f"{dag_id}.{task.task_id}"
            assert task.owner and task.owner != "airflow", f"{name} has no owner"
            assert task.retries >= 1, f"{name} has no retries"
            assert task.retry_exponential_backoff, f"{name} retries without backoff"
            assert task.execution_timeout is not None, f"{name} has no timeout"
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert on_task_failure in callbacks, f"{name} has no failure callback"


def test_ingestion_dag_wires_the_stages_in_order(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, first in (
        ("news_ingestion", "discover_sources"),
        ("news_replay", "discover_pages"),
    ):
        dag = dagbag.dags[dag_id]
        order = [first, "extract_and_split", "validate_events", "publish_to_kafka"]
        for upstream, downstream in pairwise(order):
            assert downstream in dag.get_task(upstream).downstream_task_ids
        assert dag.get_task("extract_and_split").is_mapped  # fanned out over batches
    assert set(dagbag.dags["news_ingestion"].params.keys()) >= {"urls", "sources_file"}
    assert set(dagbag.dags["news_replay"].params.keys()) >= {"pages", "since", "until", "force"}


def test_every_topic_is_an_asset_and_the_report_is_scheduled_on_them(dagbag) -> None:  # type: ignore[no-untyped-def]
    from pipeline.assets import topic_uri
    from pipeline.settings import get_settings

    settings = get_settings()
    for dag_id in ("news_ingestion", "news_replay"):
        outlets = {a.uri for a in dagbag.dags[dag_id].get_task("publish_to_kafka").outlets}
        assert outlets == {topic_uri(t) for t in settings.all_topics}
    report = dagbag.dags["data_quality_report"]
    assert topic_uri(settings.topic_statements) in str(report.timetable.asset_condition)
    assert "0 0 * * *" in str(report.timetable)  # daily too
