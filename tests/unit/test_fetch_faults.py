"""Every fault endpoint of the local test server ends in its documented outcome.

One ``acquire`` over all of them (fetched concurrently) must return one outcome per URL,
in order, with no exception escaping; failures carry stage, reason and HTTP status and
have a dead letter; unchanged/skipped pages do not. Hostile pages and URLs (issue #9) have
their own suites: ``test_hostile_pages.py`` and ``test_hostile_urls.py``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
import trafilatura

from pipeline import runner
from pipeline.errors import FetchError, RobotsDisallowed
from pipeline.extract import EXTRACTION_OPTIONS
from pipeline.fetch import Fetcher, HostLimiter, parse_retry_after
from tests.conftest import fetch_settings
from tests.support.fault_server import FaultServer

# (path, outcome, stage, reason fragment, http status)
CASES: list[tuple[str, str, str | None, str | None, int | None]] = [
    ("/pages/fr-001.html", "pending", None, None, None),
    ("/slow/0.3/fr-002.html", "pending", None, None, None),
    ("/slow/3/fr-003.html", "failed", "fetch", "ReadTimeout", None),
    ("/trickle/fr-004.html", "failed", "fetch", "not received within 1.0 s", 200),
    ("/flaky/2/faults-a/fr-005.html", "pending", None, None, None),
    ("/always500/fr-006.html", "failed", "fetch", "gave up after 3 attempts", 500),
    ("/ratelimited/1/faults-b/fr-007.html", "pending", None, None, None),
    ("/ratelimited/3600/faults-c/fr-008.html", "failed", "fetch", "Retry-After 3600 s", 429),
    ("/loop/a", "failed", "fetch", "redirect loop", 302),
    ("/redirect/2/fr-009.html", "pending", None, None, None),
    ("/redirect/5/fr-014.html", "failed", "fetch", "more than 3 redirects", 302),
    ("/redirect-to?location=file:///etc/passwd", "failed", "fetch", "unsupported scheme", None),
    (
        "/redirect-to?location=http://169.254.169.254/latest/meta-data/",
        "failed",
        "fetch",
        "refused address 169.254.169.254",
        None,
    ),
    ("/big/declared", "failed", "fetch", "(Content-Length 2500013)", 200),
    ("/big/streamed", "failed", "fetch", "larger than 2000000 bytes", 200),
    ("/binary/png", "failed", "fetch", "content-type image/png", 200),
    ("/binary/octet", "failed", "fetch", "content-type application/octet-stream", 200),
    ("/binary/lying", "failed", "fetch", "binary content", 200),
    ("/charset/wrong/fr-010.html", "pending", None, None, None),
    ("/charset/missing/fr-011.html", "pending", None, None, None),
    ("/charset/unknown/fr-012.html", "pending", None, None, None),
    ("/charset/latin1-label/fr-013.html", "pending", None, None, None),
    ("/private/fr-015.html", "skipped", "fetch", "disallowed by robots.txt", None),
    ("/nothing-here.html", "failed", "fetch", "HTTP 404", 404),
]


@pytest.fixture(scope="module")
def acquired(
    fault_server: FaultServer, tmp_path_factory: pytest.TempPathFactory
) -> runner.StageOutput:
    settings = fetch_settings(tmp_path_factory.mktemp("faults"))
    return runner.acquire([fault_server.url + path for path, *_ in CASES], settings)


def test_every_fault_endpoint_has_its_documented_outcome(
    acquired: runner.StageOutput, fault_server: FaultServer
) -> None:
    got = [(o.source.removeprefix(fault_server.url), o) for o in acquired.outcomes]
    assert [path for path, _ in got] == [path for path, *_ in CASES]  # one each, in order
    for (path, outcome), (_, want, stage, reason, status) in zip(got, CASES, strict=True):
        assert outcome.outcome == want, (path, outcome)
        assert outcome.stage == stage, (path, outcome)
        assert (reason or "") in (outcome.reason or ""), (path, outcome)
        assert outcome.http_status == status, (path, outcome)


def test_failures_and_only_failures_are_dead_letters(
    acquired: runner.StageOutput, fault_server: FaultServer
) -> None:
    failed = [o.source for o in acquired.outcomes if o.outcome == "failed"]
    assert [d.source for d in acquired.dead_letters] == failed
    assert all(d.stage == "fetch" and d.reason for d in acquired.dead_letters)
    assert len(acquired.articles) == sum(o.outcome == "pending" for o in acquired.outcomes)


def test_broken_charsets_decode_to_the_same_text_as_the_utf8_page(
    acquired: runner.StageOutput, fault_server: FaultServer
) -> None:
    by_source = {a.fetched_url: a for a in acquired.articles}
    for name in ("fr-010", "fr-011", "fr-012", "fr-013"):
        [article] = [a for url, a in by_source.items() if url and url.endswith(f"/{name}.html")]
        expected = trafilatura.extract(
            fault_server.page(name).decode("utf-8"),
            url=article.fetched_url,
            **EXTRACTION_OPTIONS.kwargs(),
        )
        assert article.text == expected, name
        assert "é" in article.text and "Ã" not in article.text


def test_retry_after_is_honoured_then_the_page_is_fetched(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    with Fetcher(fetch_settings(tmp_path)) as fetcher:
        started = time.monotonic()
        page = fetcher.fetch(f"{fault_server.url}/ratelimited/1/faults-d/fr-016.html")
        elapsed = time.monotonic() - started
    assert (page.status, page.attempts) == (200, 2)
    assert elapsed >= 1.0


def test_server_errors_are_retried_with_backoff(fault_server: FaultServer, tmp_path: Path) -> None:
    waits: list[float] = []
    settings = fetch_settings(tmp_path, fetch_backoff_base_s=0.1, fetch_retries=3)
    with Fetcher(settings, sleep=waits.append, rng=random.Random(7)) as fetcher:
        page = fetcher.fetch(f"{fault_server.url}/flaky/3/faults-e/fr-017.html")
    assert page.attempts == 4
    backoff = [w for w in waits if w >= 0.04]  # the host limiter's own spacing is tiny here
    assert len(backoff) == 3
    for attempt, wait in enumerate(backoff):
        assert 0.1 * 2**attempt / 2 <= wait <= 0.1 * 2**attempt  # exponential, jittered


def test_redirects_are_followed_and_recorded(fault_server: FaultServer, tmp_path: Path) -> None:
    with Fetcher(fetch_settings(tmp_path)) as fetcher:
        page = fetcher.fetch(f"{fault_server.url}/redirect/2/fr-018.html")
    assert page.redirects == 2
    assert page.url == f"{fault_server.url}/redirect/0/fr-018.html"


def test_robots_txt_is_fetched_once_per_origin(fault_server: FaultServer, tmp_path: Path) -> None:
    before = fault_server.hits["/robots.txt"]
    with Fetcher(fetch_settings(tmp_path)) as fetcher:
        for name in ("en-001", "en-002", "en-003"):
            fetcher.fetch(fault_server.page_url(name))
        with pytest.raises(RobotsDisallowed):
            fetcher.fetch(fault_server.page_url("en-004", "private"))
    assert fault_server.hits["/robots.txt"] - before == 1


def test_robots_can_be_ignored_when_the_settings_say_so(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    settings = fetch_settings(tmp_path, respect_robots=False)
    with Fetcher(settings) as fetcher:
        assert fetcher.fetch(fault_server.page_url("en-005", "private")).status == 200


def test_host_limiter_spaces_requests_to_one_host() -> None:
    waits: list[float] = []
    limiter = HostLimiter(rate_per_s=2.0, concurrency=1, sleep=waits.append)
    for _ in range(3):
        with limiter.slot("example.org"):
            pass
    with limiter.slot("other.example"):
        pass
    assert len(waits) == 2  # the first request of each host does not wait
    assert 0.4 <= waits[0] <= 0.5 and 0.9 <= waits[1] <= 1.0


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_connection_refused_is_retried_then_failed(tmp_path: Path) -> None:
    settings = fetch_settings(tmp_path, fetch_retries=1)
    with Fetcher(settings) as fetcher, pytest.raises(FetchError, match="ConnectError") as info:
        fetcher.fetch("http://127.0.0.1:9/")
    assert "gave up after 2 attempts" in info.value.reason


def test_saved_pages_are_bounded_like_fetched_ones(tmp_path: Path) -> None:
    """A saved page (the CLI's local paths) is read whole up to the fetch limit; a gzip
    bomb on disk is refused without decompressing it all."""
    import gzip

    from pipeline.fetch import read_saved_page

    page = b"<html><body><p>" + b"Une phrase. " * 1000 + b"</p></body></html>"
    (tmp_path / "page.html.gz").write_bytes(gzip.compress(page))
    assert read_saved_page(tmp_path / "page.html.gz").body == page
    bomb = tmp_path / "bomb.html.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:
        for _ in range(64):
            out.write(bytes(1 << 20))  # 64 MiB of zeros, about 64 KiB on disk
    with pytest.raises(FetchError, match="larger than 1048576 bytes once decoded"):
        read_saved_page(bomb, max_bytes=1 << 20)
    (tmp_path / "big.html").write_bytes(b" " * 2048)
    with pytest.raises(FetchError, match="larger than 1024 bytes"):
        read_saved_page(tmp_path / "big.html", max_bytes=1024)


def test_saved_gzip_pages_are_read_as_gzip_reads_them(tmp_path: Path, corpus_pages: Path) -> None:
    """A saved page gzipped in several members (``cat a.gz b.gz``) is read whole, as gzip
    reads it; one cut
    short, or followed by junk, is refused with the reason instead of read in part."""
    import gzip

    from pipeline.fetch import read_saved_page

    saved = corpus_pages / "en-001.html.gz"
    page = gzip.decompress(saved.read_bytes())
    assert read_saved_page(saved).body == page
    half = len(page) // 2
    members = tmp_path / "members.html.gz"
    members.write_bytes(
        gzip.compress(page[:half]) + bytes(4) + gzip.compress(page[half:]) + gzip.compress(b"")
    )  # padding between members, and an empty last member (as bgzip ends its files)
    assert read_saved_page(members).body == page
    whole = gzip.compress(page)
    padded = tmp_path / "padded.html.gz"
    padded.write_bytes(whole + bytes(512))  # zero padding, as tape and block copies leave
    assert read_saved_page(padded).body == page
    cut = tmp_path / "cut.html.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FetchError, match="truncated"):
        read_saved_page(cut)
    junk = tmp_path / "junk.html.gz"
    junk.write_bytes(whole + b"<html>not gzip</html>")
    with pytest.raises(FetchError, match="cannot read saved page"):
        read_saved_page(junk)
