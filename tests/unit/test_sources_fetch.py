"""Discovery and fetching over a real local HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import FetchError
from pipeline.fetch import fetch_page
from pipeline.settings import Settings
from pipeline.sources import discover


def test_discover_expands_folders_and_source_files(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "a.html").write_text("<html></html>")
    (tmp_path / "pages" / "b.html.gz").write_bytes(b"")
    (tmp_path / "pages" / "notes.md").write_text("ignored")
    listing = tmp_path / "list.yaml"
    listing.write_text("sources:\n  - pages\n  - https://example.org/x\n  - missing.html\n")
    found = discover([str(listing), "https://example.org/x"])
    assert found == [
        str(tmp_path / "pages" / "a.html"),
        str(tmp_path / "pages" / "b.html.gz"),
        "https://example.org/x",
        str(tmp_path / "missing.html"),
    ]


def test_fetch_reads_a_served_page(sample_server: str) -> None:
    page = fetch_page(f"{sample_server}/site/otan-rutte-berlin.html", Settings())
    assert page.status == 200
    assert page.content_type == "text/html"
    assert b"Rutte" in page.body


def test_missing_page_is_a_fetch_error_with_status(sample_server: str) -> None:
    with pytest.raises(FetchError) as info:
        fetch_page(f"{sample_server}/site/nothing-here.html", Settings())
    assert info.value.context["http_status"] == 404
    assert "404" in info.value.reason


def test_non_html_content_is_refused(sample_server: str) -> None:
    with pytest.raises(FetchError, match="not an HTML page"):
        fetch_page(f"{sample_server}/sources.yaml", Settings())


def test_unreachable_host_and_other_schemes_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="unsupported scheme"):
        fetch_page("file:///etc/passwd", Settings())
    with pytest.raises(FetchError, match="cannot read saved page"):
        fetch_page(str(tmp_path / "absent.html"), Settings())
    with pytest.raises(FetchError, match="ConnectError"):
        fetch_page("http://127.0.0.1:9/", Settings(fetch_timeout_s=2))
