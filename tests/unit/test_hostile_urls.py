"""Hostile URLs are refused unless the settings allow them (issue #9).

Other schemes, credentials in URLs (refused, and the password never repeated), private,
loopback and link-local addresses in every spelling, names resolving to them, redirects
to them, and names that re-resolve to them after the check (DNS rebinding): all refused by
default; ``allowed_networks`` and ``allow_private_addresses`` open what they name.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from pipeline import fetch, runner
from pipeline.errors import RefusedURLError
from pipeline.fetch import Fetcher, check_destination, redact_url
from pipeline.settings import Settings
from tests.conftest import fetch_settings
from tests.support.fault_server import LOCATION_SECRET, FaultServer

SECRET = "s3cr3t-pa55"

# (URL, fragment of the refusal): no DNS involved but for ``localhost``
REFUSED: list[tuple[str, str]] = [
    ("file:///etc/passwd", "unsupported scheme file"),
    ("ftp://example.org/pub/x", "unsupported scheme ftp"),
    ("gopher://example.org/", "unsupported scheme gopher"),
    ("javascript:alert(1)", "unsupported scheme javascript"),
    ("//example.org/x", "unsupported scheme (none)"),
    ("http:///path-only", "URL without a host"),
    ("http://[::1/", "malformed URL"),
    (
        "http://169.254.169.254/latest/meta-data/",
        "address 169.254.169.254 of 169.254.169.254: link",
    ),
    ("http://[fd00:ec2::254]/latest/meta-data/", "address fd00:ec2::254 of fd00:ec2::254: private"),
    ("http://127.0.0.1/", "address 127.0.0.1 of 127.0.0.1: loopback"),
    ("http://localhost:8080/", "address 127.0.0.1 of localhost: loopback"),
    ("http://2130706433/", "address 127.0.0.1 of 2130706433: loopback"),
    ("http://0x7f.0.0.1/", "address 127.0.0.1 of 0x7f.0.0.1: loopback"),
    ("http://0177.0.0.1/", "address 127.0.0.1 of 0177.0.0.1: loopback"),
    ("http://127.1/", "address 127.0.0.1 of 127.1: loopback"),
    ("http://[::ffff:127.0.0.1]/", "address 127.0.0.1 (in ::ffff:7f00:1) of ::ffff:127.0.0.1"),
    ("http://[::127.0.0.1]/", "address 127.0.0.1 (in ::7f00:1)"),
    ("http://[64:ff9b::a9fe:a9fe]/", "address 169.254.169.254 (in 64:ff9b::a9fe:a9fe)"),
    ("http://[2002:a00:1::]/", "address 10.0.0.1 (in 2002:a00:1::)"),
    ("http://[::1]/", "address ::1 of ::1: loopback"),
    ("http://0.0.0.0/", "address 0.0.0.0 of 0.0.0.0: unspecified"),
    ("http://[::]/", "address :: of ::: unspecified"),
    ("http://[fe80::1]/", "address fe80::1 of fe80::1: link-local"),
    ("http://10.1.2.3/", "address 10.1.2.3 of 10.1.2.3: private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "address 100.64.0.1 of 100.64.0.1: reserved or shared"),
    ("http://224.0.0.1/", "multicast"),
]
CREDENTIALS: list[str] = [
    f"http://user:{SECRET}@example.org/news",
    f"https://user:{SECRET}@127.0.0.1:8443/",
    f"http://{SECRET}@example.org/",
    f"http://user:{SECRET}@169.254.169.254/latest/meta-data/",
    f"ftp://user:{SECRET}@example.org/",
    f"http://user:p@{SECRET}@example.org/",  # an '@' in the password
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_hostile_destinations_are_refused_by_default(url: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(RefusedURLError) as info:
        check_destination(url, Settings(state_dir=tmp_path))
    assert reason in info.value.reason
    if "address" in reason:
        assert "allow with PIPELINE_ALLOWED_NETWORKS" in info.value.reason


@pytest.mark.parametrize("url", CREDENTIALS)
def test_credentials_are_refused_and_never_repeated(url: str, tmp_path: Path) -> None:
    for settings in (Settings(state_dir=tmp_path), fetch_settings(tmp_path)):
        with pytest.raises(RefusedURLError) as info:
            check_destination(url, settings)
        error = info.value
        assert SECRET not in f"{error} {error.reason} {error.source} {error.context}"
        assert "***@" in (error.source or "")
    assert SECRET not in redact_url(url) and redact_url(url).endswith(url.rsplit("@", 1)[1])


def test_credentials_are_refused_even_where_private_addresses_are_allowed(
    tmp_path: Path,
) -> None:
    settings = Settings(state_dir=tmp_path, allow_private_addresses=True)
    with pytest.raises(RefusedURLError, match="credentials in the URL"):
        check_destination(f"http://user:{SECRET}@10.0.0.1/", settings)


def test_redaction_leaves_other_urls_alone() -> None:
    for url in (
        "https://medium.com/@someone/a-post",
        "https://example.org/search?q=a@b",
        "https://example.org/#a@b",
        "/local/page.html",
    ):
        assert redact_url(url) == url


def test_allowed_networks_open_only_what_they_name(tmp_path: Path) -> None:
    loopback = fetch_settings(tmp_path)  # allowed_networks: 127.0.0.0/8
    for url in (
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
    ):
        check_destination(url, loopback)
    for url in ("http://169.254.169.254/", "http://10.1.2.3/", "http://[::1]/"):
        with pytest.raises(RefusedURLError, match="refused address"):
            check_destination(url, loopback)
    check_destination("http://[::1]/", Settings(state_dir=tmp_path, allowed_networks=("::1/128",)))
    metadata = Settings(state_dir=tmp_path, allowed_networks=("169.254.169.254/32",))
    check_destination("http://169.254.169.254/latest/meta-data/", metadata)
    with pytest.raises(RefusedURLError):
        check_destination("http://169.254.169.253/", metadata)


def test_allow_private_addresses_opens_every_address_but_not_other_schemes(
    tmp_path: Path,
) -> None:
    anything = Settings(state_dir=tmp_path, allow_private_addresses=True)
    for url, _ in REFUSED:
        if url.startswith("http://") and "[::1/" not in url and "///" not in url:
            check_destination(url, anything)
    for url in ("file:///etc/passwd", "ftp://10.0.0.1/"):
        with pytest.raises(RefusedURLError, match="unsupported scheme"):
            check_destination(url, anything)


def test_a_name_resolving_to_loopback_is_fetched_only_when_allowed(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    url = fault_server.page_url("fr-001").replace("127.0.0.1", "localhost")
    with Fetcher(fetch_settings(tmp_path)) as fetcher:
        assert fetcher.fetch(url).status == 200
    strict = fetch_settings(tmp_path, allowed_networks=())
    with (
        Fetcher(strict) as fetcher,
        pytest.raises(RefusedURLError, match=r"127\.0\.0\.1 of localhost"),
    ):
        fetcher.fetch(url)


def test_redirects_to_hostile_urls_are_refused_and_allowed_ones_followed(
    fault_server: FaultServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = fault_server.url.rsplit(":", 1)[1]
    targets = {
        "http://10.0.0.1/admin": "refused address 10.0.0.1",
        "http://[fd00:ec2::254]/latest/meta-data/": "refused address fd00:ec2::254",
        "http://2130706433:9/": None,  # loopback, allowed here: connection refused on port 9
        "ftp://example.org/x": "unsupported scheme ftp",
        f"http://localhost:{port}/pages/fr-002.html": None,
    }
    sources = [f"{fault_server.url}/redirect-to?location={target}" for target in targets]
    sources.append(f"{fault_server.url}/redirect-credentials/fr-001.html")
    targets["credentials"] = "credentials in the URL"
    with caplog.at_level(logging.INFO):
        out = runner.acquire(sources, fetch_settings(tmp_path, fetch_retries=0))
    got = dict(zip(targets, out.outcomes, strict=True))
    for target, reason in targets.items():
        outcome = got[target]
        if reason is None:
            continue
        assert (outcome.outcome, outcome.stage) == ("failed", "fetch"), outcome
        assert reason in (outcome.reason or ""), outcome
    assert got[f"http://localhost:{port}/pages/fr-002.html"].outcome == "pending"
    assert "ConnectError" in (got["http://2130706433:9/"].reason or "")
    # INFO: httpx logs each request's URL there (httpcore's DEBUG traces show raw headers)
    everything = repr([d.model_dump() for d in out.dead_letters]) + caplog.text
    assert LOCATION_SECRET not in everything and "reader" not in everything


def test_credentials_in_a_source_never_reach_the_server_nor_a_dead_letter(
    fault_server: FaultServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = "/pages/fr-003.html"
    url = fault_server.url.replace("http://", f"http://reader:{SECRET}@") + path
    listing = tmp_path / "sources.yaml"
    listing.write_text(f"sources:\n  - feed: {url.replace(path, '/feed.xml')}\n")
    before = fault_server.hits[path] + fault_server.hits["/feed.xml"]
    with caplog.at_level(logging.INFO):
        out = runner.acquire([url, str(listing)], fetch_settings(tmp_path))
    assert [(o.outcome, o.stage) for o in out.outcomes] == [
        ("failed", "fetch"),  # the page
        ("failed", "discover"),  # the feed
    ]
    assert all("credentials in the URL" in (o.reason or "") for o in out.outcomes)
    assert [d.error_type for d in out.dead_letters] == ["RefusedURLError"] * 2
    assert fault_server.hits[path] + fault_server.hits["/feed.xml"] == before
    records = [o.as_dict() for o in out.outcomes] + [d.model_dump() for d in out.dead_letters]
    assert SECRET not in repr(records) + caplog.text
    assert all("reader:***@" not in d.source and "***@" in d.source for d in out.dead_letters)


def test_a_name_rebound_to_loopback_after_the_check_is_refused_before_the_body(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the check sees a public address, the connection goes to 127.0.0.1.

    The trickling route sends its headers at once and its body over 20 s: refused at once,
    the body was not waited for.
    """
    monkeypatch.setattr(fetch, "_resolve", lambda host, port: ["93.184.216.34"])
    url = f"{fault_server.url}/trickle/fr-004.html".replace("127.0.0.1", "localhost")
    strict = fetch_settings(tmp_path, allowed_networks=(), fetch_timeout_s=30.0)
    check_destination(url, strict)  # the check alone is fooled
    for robots in (False, True):  # with robots.txt, its request is the one refused
        settings = strict.model_copy(update={"respect_robots": robots})
        began = time.monotonic()
        with Fetcher(settings) as fetcher, pytest.raises(RefusedURLError) as info:
            fetcher.fetch(url)
        assert time.monotonic() - began < 2.0
        assert "refused address 127.0.0.1 of localhost: loopback" in info.value.reason
    allowed = fetch_settings(tmp_path, fetch_timeout_s=30.0)  # 127.0.0.0/8 allowed
    with Fetcher(allowed) as fetcher:
        assert fetcher.fetch(url.replace("/trickle/", "/pages/")).status == 200


def test_proxies_from_the_environment_are_not_used(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would resolve names itself and hide the peer from the address checks."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Fetcher(fetch_settings(tmp_path, fetch_retries=0)) as fetcher:
        page = fetcher.fetch(f"{fault_server.url}/echo/headers")
    headers = page.body.decode().lower()
    assert "accept-encoding: gzip, deflate\n" in headers  # no br nor zstd: unbounded there
    assert "proxy" not in headers and "authorization" not in headers
