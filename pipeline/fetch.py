"""HTTP fetching and local page reading (I/O at the edge).

``fetch_page`` turns a source (an http(s) URL or a path to a saved page, ``.html`` or
``.html.gz``) into raw bytes with what is known of their origin; every failure is a
:class:`~pipeline.errors.FetchError` carrying the reason and, for HTTP, the status.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import FetchError
from pipeline.settings import Settings

if TYPE_CHECKING:
    import httpx

_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass(frozen=True)
class FetchedPage:
    """Raw page bytes and where they came from."""

    source: str
    url: str
    body: bytes
    status: int | None = None
    content_type: str | None = None
    charset: str | None = None


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_saved_page(path: Path) -> FetchedPage:
    """Read a saved page from disk (gzip-compressed when its name ends in ``.gz``)."""
    try:
        raw = path.read_bytes()
        body = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, gzip.BadGzipFile, EOFError) as exc:
        raise FetchError(f"cannot read saved page: {exc}", source=str(path)) from exc
    return FetchedPage(source=str(path), url=path.resolve().as_uri(), body=body)


def fetch_url(url: str, settings: Settings, client: httpx.Client | None = None) -> FetchedPage:
    """GET one URL with a timeout, a size cap and a clear User-Agent."""
    import httpx

    own_client = client is None
    http = client or make_http_client(settings)
    try:
        with http.stream("GET", url) as response:
            if response.status_code >= 400:
                raise FetchError(
                    f"HTTP {response.status_code} {response.reason_phrase}",
                    source=url,
                    http_status=response.status_code,
                )
            content_type = response.headers.get("content-type", "")
            mime = content_type.split(";")[0].strip().lower()
            if mime and mime not in _HTML_TYPES:
                raise FetchError(
                    f"not an HTML page: content-type {mime}",
                    source=url,
                    http_status=response.status_code,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > settings.fetch_max_bytes:
                    raise FetchError(
                        f"page larger than {settings.fetch_max_bytes} bytes",
                        source=url,
                        http_status=response.status_code,
                    )
                chunks.append(chunk)
            return FetchedPage(
                source=url,
                url=str(response.url),
                body=b"".join(chunks),
                status=response.status_code,
                content_type=mime or None,
                charset=response.charset_encoding,
            )
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", source=url) from exc
    finally:
        if own_client:
            http.close()


def make_http_client(settings: Settings) -> httpx.Client:
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(
            settings.fetch_timeout_s, connect=min(10.0, settings.fetch_timeout_s)
        ),
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": settings.user_agent, "Accept": "text/html,application/xhtml+xml"},
    )


def fetch_page(source: str, settings: Settings, client: httpx.Client | None = None) -> FetchedPage:
    """Fetch a URL or read a saved page."""
    if is_url(source):
        return fetch_url(source, settings, client)
    if "://" in source:
        raise FetchError(
            "unsupported scheme: only http(s) URLs and local paths are read", source=source
        )
    return read_saved_page(Path(source))
