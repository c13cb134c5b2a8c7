"""Load: 2,000 distinct articles through the whole chain in one run.

The pages are the corpus pages made distinct (as in the benchmark) and served over HTTP
from a process of their own; the chain runs against the real broker and GX project. The
test checks that fetching stays within its bounded queue (at most ``2 x fetch_concurrency``
page bodies held, the one in extraction included), that the process's memory stays bounded, and that
every input is accounted for and every event is on its topic exactly once.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import runner
from pipeline.benchmarks.chain import PageServer, bench_settings, load_pages, page_paths
from pipeline.settings import Settings
from tests.conftest import CORPUS
from tests.support.committed import read_committed
from tests.support.figures import figure

pytestmark = pytest.mark.integration
ARTICLES = int(os.environ.get("PIPELINE_LOAD_ARTICLES", "2000"))
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE / 2**20


class _PeakRss:
    """Samples this process's resident memory every 50 ms while the block runs."""

    def __init__(self) -> None:
        self.start = self.peak = _rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_mib())

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, list[str]]]:
    """The pages, built in the server's own process: they take no memory in this one."""
    server = PageServer(functools.partial(load_pages, CORPUS / "pages", ARTICLES))
    try:
        yield server.url, [server.url + path for path in page_paths(CORPUS / "pages", ARTICLES)]
    finally:
        server.close()


def test_two_thousand_articles_in_one_run_lose_nothing(
    served: tuple[str, list[str]],
    kafka_settings: Settings,
    topic_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, urls = served
    settings = bench_settings(kafka_settings, tmp_path / "load", topic_prefix)

    # Count pages fetched and not yet extracted (the one in extraction included): the
    # bodies held in memory, which the bound is about.
    lock = threading.Lock()
    in_flight = {"now": 0, "max": 0}
    real_fetch, real_extract = runner._fetch_one, runner._extract_one

    def fetch_one(*args: Any) -> Any:
        page = real_fetch(*args)
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        return page

    def extract_one(*args: Any) -> Any:
        try:
            return real_extract(*args)
        finally:  # the page's body is let go once extracted
            with lock:
                in_flight["now"] -= 1

    monkeypatch.setattr(runner, "_fetch_one", fetch_one)
    monkeypatch.setattr(runner, "_extract_one", extract_one)

    started = time.perf_counter()
    with _PeakRss() as memory:
        summary = runner.run_once(urls, settings)
    seconds = time.perf_counter() - started

    # Every input accounted for: one outcome each, a dead letter for each failure.
    assert summary.discovered == len(urls) == ARTICLES
    assert sum(summary.outcomes.values()) == ARTICLES
    assert summary.outcomes["duplicate"] == summary.outcomes["unchanged"] == 0
    assert summary.ingested > 0.5 * ARTICLES

    committed = read_committed(settings)
    articles, events, page_failures = (
        committed.articles,
        committed.events,
        committed.page_failures,
    )
    assert len(articles) == summary.ingested and set(articles.values()) == {1}
    assert sum(events.values()) == sum(summary.events_by_type.values())
    assert set(events.values()) == {1}
    assert len(page_failures) == summary.failed  # every failed page has its dead letter
    assert summary.ingested + summary.failed == ARTICLES

    # Bounded: the fetch queue never exceeds its bound; memory stays well under 1 GiB.
    bound = 2 * settings.fetch_concurrency
    growth = memory.peak - memory.start
    figure(
        f"load: {ARTICLES} pages in {seconds:.0f} s ({ARTICLES / seconds:.1f} pages/s), "
        f"{summary.ingested} ingested, {summary.failed} failed, "
        f"{sum(events.values())} events, {len(page_failures)} page dead letters; "
        f"fetch queue max {in_flight['max']} (bound {bound}); "
        f"RSS {memory.start:.0f} -> peak {memory.peak:.0f} MiB (+{growth:.0f} MiB, "
        "libraries loaded on first use included)"
    )
    assert in_flight["max"] <= bound
    # A run validates and publishes its articles together, so its records (articles,
    # events, GX frames) grow with it; page bodies do not. The chain's own use stays under
    # the 1 GiB the benchmark targets.
    assert growth < 1024
