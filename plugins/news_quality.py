"""Airflow 3 plugin: the data-quality dashboard inside the Airflow UI.

* ``fastapi_apps``: the api-server serves the overview page at ``/news-quality/`` and GX Data
  Docs at ``/news-quality/data-docs/`` (the same files ``python -m pipeline dashboard``
  serves), so no separate server is needed where Airflow runs.
* ``external_views``: a "Data quality" entry in the navigation, embedded as an iframe at
  ``/plugin/data-quality``. It points at ``PIPELINE_DASHBOARD_URL`` when that is set (say, a
  dashboard served elsewhere), else at the mounted app.

Set ``PIPELINE_STATE_DIR`` to an absolute path for the api-server, so it finds the files the
tasks write. Nothing heavy is imported here: the plugin manager loads this at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/news-quality"


def _dirs() -> tuple[Path, Path]:
    """(overview site, Data Docs site) for the current settings."""
    from pipeline.settings import get_settings

    settings = get_settings()
    return (
        (settings.quality_dir / "site").resolve(),
        (settings.gx_results_dir / "data_docs" / "local_site").resolve(),
    )


def create_app() -> Any:
    """A FastAPI app serving the overview and Data Docs as static files (read-only)."""
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    site, docs = _dirs()
    app = FastAPI(title="News pipeline data quality", docs_url=None, redoc_url=None)
    # Mount order matters: the more specific prefix first.
    app.mount("/data-docs", StaticFiles(directory=docs, html=True, check_dir=False), name="docs")
    app.mount("/", StaticFiles(directory=site, html=True, check_dir=False), name="overview")
    return app


def external_view() -> dict[str, Any]:
    from pipeline.settings import get_settings

    href = get_settings().dashboard_url or f"{URL_PREFIX.lstrip('/')}/"
    return {
        "name": "Data quality",
        "href": href,
        "url_route": "data-quality",
        "destination": "nav",
        "category": "browse",
    }


class NewsQualityPlugin(AirflowPlugin):
    """Registers the dashboard app and its navigation entry."""

    # Class attributes are how AirflowPlugin declares its parts (the base class does the same).
    name = "news_quality"
    fastapi_apps = [  # noqa: RUF012
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "News data quality"}
    ]
    external_views = [external_view()]  # noqa: RUF012
