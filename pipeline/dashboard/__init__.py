"""The data-quality dashboard: run records, a static overview page, GX Data Docs, a server.

* :mod:`pipeline.dashboard.records` writes one small JSON record per run (from the run's
  summary, its dead letters and GX's stored results) and reads the history back.
* :mod:`pipeline.dashboard.render` turns the history into ``overview`` HTML with inline SVG
  charts (no JavaScript, nothing fetched at view time).
* :mod:`pipeline.dashboard.server` serves the overview and Data Docs on 127.0.0.1
  (``python -m pipeline dashboard``); ``plugins/news_quality.py`` mounts the same files in
  the Airflow UI.

Nothing here imports Great Expectations except building Data Docs.
"""
