"""Run records, pruning, the overview page, its server and the Airflow plugin."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline import validate as v
from pipeline.dashboard import records, render
from pipeline.dashboard.server import running
from pipeline.models import DeadLetter
from pipeline.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SUMMARY = {
    "discovered": 12,
    "ingested": 9,
    "failed": 3,
    "topics": {"news.articles": 9, "news.statements": 40, "news.dead_letter": 5},
    "events_by_type": {"statement": 40, "military_update": 4, "commitment": 2},
}


def _dead(n: int) -> list[DeadLetter]:
    out = [
        DeadLetter.build(stage="fetch", reason="HTTP 404", source=f"https://a.example/{i}")
        for i in range(n)
    ]
    out.append(
        DeadLetter.build(
            stage="validate",
            reason="failed 1 expectation",
            source="e1",
            event_id="e1",
            failed_expectations=["statements:expect_column_values_to_not_be_null(speaker)"],
        )
    )
    return out


def _fake_result(settings: Settings, suite: str, run_name: str, *, failing: bool) -> Path:
    """A stored GX result as the store writes it (just the fields the record reads)."""
    path = (
        v.results_root(settings)
        / suite
        / run_name
        / "20260101T000000.000000Z"
        / f"pipeline_frames-{suite}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = [
        {
            "success": True,
            "expectation_config": {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "a"},
            },
            "result": {"element_count": 10, "unexpected_index_list": []},
        },
    ]
    if failing:
        results.append(
            {
                "success": False,
                "expectation_config": {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "confidence"},
                },
                "result": {
                    "element_count": 10,
                    "unexpected_count": 2,
                    "unexpected_index_list": [{"row": 3}, {"row": 7}],
                },
            }
        )
    path.write_text(
        json.dumps(
            {
                "success": not failing,
                "results": results,
                "statistics": {
                    "evaluated_expectations": len(results),
                    "unsuccessful_expectations": int(failing),
                },
            }
        )
    )
    return path


def test_record_summarises_the_run_from_gx_results(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    _fake_result(settings, "events", "run-1", failing=True)
    _fake_result(settings, "articles", "run-1", failing=False)
    path = records.record_run(SUMMARY, settings, run_name="run-1", dead_letters=_dead(3))
    record = json.loads(path.read_text())

    assert record["status"] == "passed with dead letters"
    assert record["topics"] == SUMMARY["topics"] and record["dead_letters"] == 4
    assert record["dead_letter_reasons"] == {
        "fetch: HTTP 404": 3,
        "statements:expect_column_values_to_not_be_null(speaker)": 1,
    }
    assert record["suites"]["events"]["pass_rate"] == 0.8
    assert record["suites"]["articles"]["pass_rate"] == 1.0
    (failure,) = record["failing_expectations"]
    assert failure["label"] == "events:expect_column_values_to_be_between(confidence)"
    assert failure["unexpected"] == 2
    assert failure["docs"].startswith("validations/events/run-1/") and failure["docs"].endswith(
        ".html"
    )


def test_history_is_pruned_to_its_retention(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, quality_history_retention=3)
    for i in range(5):
        records.record_run(SUMMARY, settings, run_name=f"r{i}")
    assert [r["run_name"] for r in records.load_history(settings)] == ["r2", "r3", "r4"]


def test_prune_results_keeps_the_newest_runs_and_their_pages(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, gx_results_retention=2)
    for i, run_name in enumerate(["a", "b", "c"]):
        for suite in ("events", "run"):
            path = v.results_root(settings) / suite / run_name / f"2026010{i}T000000Z" / "x.json"
            path.parent.mkdir(parents=True)
            path.write_text("{}")
            page = v.data_docs_root(settings) / "validations" / suite / run_name / "t" / "x.html"
            page.parent.mkdir(parents=True)
            page.write_text("")
    assert v.prune_results(settings) == ["a"]
    kept = {p.parts[-3] for p in v.results_root(settings).rglob("*.json")}
    assert kept == {"b", "c"}
    assert not (v.data_docs_root(settings) / "validations" / "events" / "a").exists()
    assert (v.data_docs_root(settings) / "validations" / "run" / "c").exists()


def test_overview_shows_counts_failures_and_charts(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    _fake_result(settings, "events", "run-1", failing=True)
    records.record_run(SUMMARY, settings, run_name="run-1", dead_letters=_dead(1))
    records.record_run(
        {**SUMMARY, "discovered": 7},
        settings,
        run_name="run-2",
        run={
            "success": False,
            "checked": True,
            "failed_expectations": {"run:x(dead_letter_share)": ["run"]},
        },
    )
    page = render.build_overview(settings).read_text()

    assert 'data-runs="2"' in page
    assert page.count("<svg") >= 3  # runs, types, reasons (run-2 has no suite results)
    assert "events:expect_column_values_to_be_between(confidence)" in page
    assert 'data-kpi="pages discovered">7<' in page
    assert "alert" in page and "run:x(dead_letter_share)" in page
    # The failing result's page is not built here: the link says so instead of breaking.
    assert "pruned" in page


def test_empty_history_renders() -> None:
    assert "No runs recorded yet" in render.render_overview([], Path("/nonexistent"))


def test_server_serves_the_overview_and_data_docs_only(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    docs = v.data_docs_root(settings)
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<p>gx data docs</p>")
    (tmp_path / "secret.txt").write_text("no")
    with running(settings) as url:
        assert "Data quality" in urllib.request.urlopen(url).read().decode()
        assert (
            "gx data docs" in urllib.request.urlopen(url + "data-docs/index.html").read().decode()
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "../../secret.txt")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "data-docs/%2e%2e/%2e%2e/%2e%2e/secret.txt")


def _load_plugin() -> Any:
    spec = importlib.util.spec_from_file_location(
        "news_quality", REPO / "plugins" / "news_quality.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_declares_the_view_and_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    monkeypatch.setenv("PIPELINE_STATE_DIR", str(tmp_path))
    settings = Settings(state_dir=tmp_path)
    render.build_overview(settings)
    module = _load_plugin()
    plugin = module.NewsQualityPlugin
    assert plugin.name == "news_quality"
    (view,) = plugin.external_views
    assert view["name"] == "Data quality" and view["url_route"] == "data-quality"
    assert view["href"] == "news-quality/"
    (app,) = plugin.fastapi_apps
    assert app["url_prefix"] == "/news-quality"
    response = TestClient(app["app"]).get("/")
    assert response.status_code == 200 and "Data quality" in response.text

    monkeypatch.setenv("PIPELINE_DASHBOARD_URL", "http://dq.internal:8765/")
    assert module.external_view()["href"] == "http://dq.internal:8765/"


@pytest.mark.integration
def test_airflow_plugin_manager_loads_the_plugin(tmp_path: Path) -> None:
    code = (
        "from airflow import plugins_manager as pm\n"
        "pm.ensure_plugins_loaded()\n"
        "names = [p.name for p in pm._get_plugins()[0]]\n"
        "views, _ = pm._get_ui_plugins()\n"
        "apps, _ = pm.get_fastapi_plugins()\n"
        "assert 'news_quality' in names, (names, pm.get_import_errors())\n"
        "assert any(v['name'] == 'Data quality' for v in views), views\n"
        "assert any(a['url_prefix'] == '/news-quality' for a in apps), apps\n"
        "print('ok')\n"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PIPELINE_STATE_DIR": str(tmp_path / "state"),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok"), (done.stdout, time.monotonic() - started)


@pytest.mark.integration
def test_data_docs_build_time_stays_flat_with_retention(tmp_path: Path) -> None:
    """20 runs with retention 5: stored results stay bounded, so the build time does too."""
    from tests.unit.test_validate import ARTICLE, statement

    settings = Settings(state_dir=tmp_path, gx_results_retention=5)
    timings = []
    for i in range(20):
        run_name = f"flat-{i:02d}"
        v.validate_articles([ARTICLE], settings, run_name)
        v.validate_events(
            [statement("s"), statement("t", speaker=None)],
            {ARTICLE.article_id: ARTICLE},
            settings,
            run_name,
        )
        started = time.perf_counter()
        v.build_data_docs(settings, run_name)
        timings.append(time.perf_counter() - started)
    runs = {p.parts[-3] for p in v.results_root(settings).rglob("*.json")}
    assert runs == {f"flat-{i:02d}" for i in range(15, 20)}
    pages = {p.parts[-3] for p in (v.data_docs_root(settings) / "validations").rglob("*.html")}
    assert pages == runs
    early, late = sorted(timings[1:11])[5], sorted(timings[-10:])[5]  # medians, first build aside
    print(f"\nData Docs build, median of runs 2-11: {early:.3f}s, of runs 11-20: {late:.3f}s")
    assert late < early * 1.5 + 0.05
