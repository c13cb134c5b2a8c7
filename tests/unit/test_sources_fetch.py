"""Discovery (files, folders, feeds, sitemaps, homepages, rules) and fetching over local HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import runner
from pipeline.errors import DiscoveryError, FetchError
from pipeline.fetch import fetch_page
from pipeline.settings import Settings
from pipeline.sources import discover, read_sources_file
from tests.conftest import LOOPBACK, fetch_settings
from tests.support.fault_server import FaultServer


def _local(**overrides: object) -> Settings:
    return Settings(allowed_networks=LOOPBACK, **overrides)  # type: ignore[arg-type]


def test_discover_expands_folders_and_source_files(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.html").write_text("<html></html>")
    (tmp_path / "pages" / "b.html.gz").write_bytes(b"")
    (tmp_path / "pages" / "notes.md").write_text("ignored")
    listing = tmp_path / "list.yaml"
    listing.write_text("sources:\n  - pages\n  - https://example.org/x\n  - missing.html\n")
    found = discover([str(listing), "https://example.org/x"])
    assert [c.target for c in found] == [
        str(tmp_path / "pages" / "a.html"),
        str(tmp_path / "pages" / "b.html.gz"),
        "https://example.org/x",
        str(tmp_path / "missing.html"),
    ]
    assert not any(c.skip_reason or c.failure for c in found)


def test_sources_file_options_and_defaults(tmp_path: Path) -> None:
    listing = tmp_path / "sources.yaml"
    listing.write_text(
        "defaults: {language: fr, max_articles: 5}\n"
        "sources:\n"
        "  - feed: https://www.lemonde.fr/rss/une.xml\n"
        "    name: Le Monde\n"
        "    exclude: ['/live/']\n"
        "  - sitemap: https://example.org/sitemap.xml\n"
        "    language: en\n"
        "  - homepage: https://www.bbc.com/news\n"
        "  - urls: [https://example.org/a, https://example.org/b]\n"
        "  - folder: saved\n"
    )
    specs = read_sources_file(listing)
    assert [(s.kind, s.language, s.max_articles) for s in specs] == [
        ("feed", "fr", 5),
        ("sitemap", "en", 5),
        ("homepage", "fr", 5),
        ("url", "fr", 5),
        ("url", "fr", 5),
        ("folder", "fr", 5),
    ]
    assert specs[0].label == "Le Monde" and specs[0].exclude == ("/live/",)
    assert specs[-1].target == str(tmp_path / "saved")


@pytest.mark.parametrize(
    "entry",
    ["- feed: https://x.example/f\n    exlude: ['/a/']", "- feed: a\n    sitemap: b", "- 3"],
)
def test_a_malformed_sources_file_fails_loudly(tmp_path: Path, entry: str) -> None:
    listing = tmp_path / "bad.yaml"
    listing.write_text(f"sources:\n  {entry}\n")
    with pytest.raises(DiscoveryError):
        read_sources_file(listing)


@pytest.mark.parametrize("route", ["/feed.xml", "/atom.xml", "/sitemap.xml"])
def test_feeds_and_sitemaps_list_the_pages(
    fault_server: FaultServer, tmp_path: Path, route: str
) -> None:
    listing = tmp_path / "s.yaml"
    kind = "sitemap" if "sitemap" in route else "feed"
    listing.write_text(f"sources:\n  - {kind}: {fault_server.url}{route}\n    max_articles: 100\n")
    found = discover([str(listing)], fetch_settings(tmp_path))
    assert [c.target for c in found] == [fault_server.page_url(n) for n in fault_server.names]
    assert len(found) == 60 and not any(c.skip_reason or c.failure for c in found)


def test_a_gzipped_sitemap_is_read_and_a_gzip_bomb_refused(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    """``application/gzip`` sitemaps are decompressed by the fetcher, under its size cap: a
    256 MiB sitemap of zeros (260 kB on the wire) is a failed source, not a 256 MiB string."""
    listing = tmp_path / "s.yaml"
    listing.write_text(
        f"sources:\n  - sitemap: {fault_server.url}/sitemap-pages.xml.gz?only=fr-001,en-002\n"
        f"  - sitemap: {fault_server.url}/hostile/bomb/sitemap.xml.gz\n"
    )
    found = discover([str(listing)], fetch_settings(tmp_path))
    assert [c.target for c in found[:2]] == [
        fault_server.page_url("fr-001"),
        fault_server.page_url("en-002"),
    ]
    assert found[2].failure is not None
    assert "gzip feed larger than 2000000 bytes" in found[2].failure["reason"]


def test_a_homepage_leads_to_its_feed(fault_server: FaultServer, tmp_path: Path) -> None:
    listing = tmp_path / "s.yaml"
    listing.write_text(f"sources:\n  - homepage: {fault_server.url}/\n    language: fr\n")
    found = discover([str(listing)], fetch_settings(tmp_path))
    assert [c.target for c in found] == [
        fault_server.page_url("fr-001"),
        fault_server.page_url("en-003"),
    ]
    assert {c.language for c in found} == {"fr"}


def test_rules_skip_pages_and_say_why(fault_server: FaultServer, tmp_path: Path) -> None:
    listing = tmp_path / "s.yaml"
    listing.write_text(
        "sources:\n"
        f"  - feed: {fault_server.url}/feed.xml?only=fr-001,fr-002,fr-003,en-001,en-002,de-001\n"
        "    name: local\n"
        "    include: ['/(fr|en)-']\n"
        "    exclude: ['fr-002']\n"
        "    max_articles: 2\n"
    )
    found = discover([str(listing)], fetch_settings(tmp_path))
    reasons = {c.target.rsplit("/", 1)[1]: c.skip_reason for c in found}
    assert reasons == {
        "fr-001.html": None,
        "fr-002.html": "matches an exclude pattern of local",
        "fr-003.html": None,
        "en-001.html": "beyond max_articles=2 of local",
        "en-002.html": "beyond max_articles=2 of local",
        "de-001.html": "matches no include pattern of local",
    }


def test_an_unreadable_feed_is_a_failed_outcome_with_a_dead_letter(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    listing = tmp_path / "s.yaml"
    listing.write_text(
        f"sources:\n  - feed: {fault_server.url}/no-feed.xml\n"
        f"  - sitemap: {fault_server.url}/always500/sitemap.xml\n"
        f"  - homepage: {fault_server.url}/pages/fr-001.html\n"
    )
    out = runner.acquire([str(listing)], fetch_settings(tmp_path))
    assert [(o.outcome, o.stage, o.http_status) for o in out.outcomes] == [
        ("failed", "discover", 404),
        ("failed", "discover", 500),
        ("failed", "discover", None),
    ]
    assert "no feed announced" in (out.outcomes[2].reason or "")
    assert [d.stage for d in out.dead_letters] == ["discover"] * 3


def test_fetch_reads_a_served_page(sample_server: str) -> None:
    page = fetch_page(f"{sample_server}/site/otan-rutte-berlin.html", _local())
    assert page.status == 200
    assert page.content_type == "text/html"
    assert b"Rutte" in page.body


def test_missing_page_is_a_fetch_error_with_status(sample_server: str) -> None:
    with pytest.raises(FetchError) as info:
        fetch_page(f"{sample_server}/site/nothing-here.html", _local())
    assert info.value.context["http_status"] == 404
    assert "404" in info.value.reason


def test_non_html_content_is_refused(sample_server: str) -> None:
    with pytest.raises(FetchError, match="not an HTML page"):
        fetch_page(f"{sample_server}/sources.yaml", _local())


def test_unreachable_host_and_other_schemes_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="unsupported scheme"):
        fetch_page("file:///etc/passwd", Settings())
    with pytest.raises(FetchError, match="cannot read saved page"):
        fetch_page(str(tmp_path / "absent.html"), Settings())
    with pytest.raises(FetchError, match="ConnectError"):
        fetch_page("http://127.0.0.1:9/", _local(fetch_timeout_s=2, fetch_retries=0))
    with pytest.raises(FetchError, match=r"refused address 127\.0\.0\.1"):
        fetch_page("http://127.0.0.1:9/", Settings())
