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
    assert "news_ingestion" in dagbag.dags


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_does_no_work_at_import(dag_file: Path) -> None:
    """Importing a DAG file must not pull in Trafilatura, GX or Kafka clients, nor take long."""
    probe = (
        "import sys, time, runpy; t = time.perf_counter(); "
        f"runpy.run_path({str(dag_file)!r}); "
        "heavy = [m for m in ('trafilatura', 'great_expectations', 'kafka', 'pandas') if m in sys.modules]; "
        "print(heavy, round(time.perf_counter() - t, 3))"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    heavy, _seconds = out.stdout.strip().rsplit(" ", 1)
    assert heavy == "[]", f"{dag_file.name} imports heavy libraries at parse time: {heavy}"
    assert time.perf_counter() - start < 60


def test_dags_follow_policy(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.catchup is False, f"{dag_id} catches up"
        assert dag.max_active_runs == 1, f"{dag_id} allows overlapping runs"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_ingestion_dag_wires_the_stages_in_order(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["news_ingestion"]
    order = [
        "discover_sources",
        "extract_articles",
        "split_events",
        "validate_events",
        "publish_to_kafka",
    ]
    for upstream, downstream in pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert set(dag.params.keys()) >= {"urls", "sources_file"}
