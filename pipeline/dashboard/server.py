"""Serve the overview page and GX Data Docs on 127.0.0.1 (standard library only).

``/`` is the overview (``Settings.quality_dir/site``), ``/data-docs/`` is the Data Docs site
(``Settings.gx_results_dir/data_docs/local_site``): the same layout the Airflow plugin mounts.
"""

from __future__ import annotations

import logging
import posixpath
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.dashboard.render import DOCS_PREFIX, build_overview, site_dir
from pipeline.settings import Settings

log = logging.getLogger(__name__)


class DashboardHandler(SimpleHTTPRequestHandler):
    """Static files from two roots; nothing outside them is reachable."""

    def __init__(self, *args: object, site: Path, docs: Path, **kwargs: object) -> None:
        self.site, self.docs = site, docs
        super().__init__(*args, directory=str(site), **kwargs)  # type: ignore[arg-type]

    def translate_path(self, path: str) -> str:
        clean = posixpath.normpath(unquote(urlsplit(path).path)).lstrip("/")
        root = self.site
        if clean == DOCS_PREFIX.rstrip("/") or clean.startswith(DOCS_PREFIX):
            root, clean = self.docs, clean[len(DOCS_PREFIX) :]
        parts = [p for p in clean.split("/") if p not in ("", ".", "..")]
        return str(root.joinpath(*parts))

    def log_message(self, format: str, *args: object) -> None:
        log.debug("dashboard: " + format, *args)


def make_server(
    settings: Settings, port: int | None = None, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0: any free port), overview built first."""
    from pipeline.validate import data_docs_root

    build_overview(settings)
    handler = partial(DashboardHandler, site=site_dir(settings), docs=data_docs_root(settings))
    return ThreadingHTTPServer((host, settings.dashboard_port if port is None else port), handler)


@contextmanager
def running(settings: Settings, port: int = 0) -> Iterator[str]:
    """Serve in a background thread for the block; yields the base URL (tests, demos)."""
    server = make_server(settings, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def serve_dashboard(settings: Settings, port: int | None = None) -> None:
    """Serve until interrupted (``python -m pipeline dashboard``)."""
    server = make_server(settings, port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"data-quality dashboard on {url} (Data Docs under {url}{DOCS_PREFIX}); Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
