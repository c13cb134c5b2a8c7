"""A local HTTP server for fetch tests: the shared corpus pages plus fault endpoints.

Pages are read from ``../shared/corpus/pages/*.html.gz`` and served decompressed; nothing
is copied into the repository. Routes (``NAME`` is a corpus page name such as ``fr-001``):

- ``/pages/NAME.html``: the page, ``text/html; charset=utf-8``
- ``/private/NAME.html``: the page, but ``/robots.txt`` disallows ``/private/``
- ``/slow/SECONDS/NAME.html``: the page after a delay before the headers
- ``/trickle/NAME.html``: headers at once, then the body a few bytes every 0.2 s
- ``/flaky/N/KEY/NAME.html``: HTTP 500 for the first N requests of KEY, then the page
- ``/ratelimited/SECONDS/KEY/NAME.html``: HTTP 429 with ``Retry-After: SECONDS`` once
- ``/always500/NAME.html``: HTTP 500 every time
- ``/loop/a`` and ``/loop/b``: redirect to each other
- ``/redirect/N/NAME.html``: N redirects, then the page
- ``/redirect-to?location=URL``: one redirect to URL (another scheme, a private address)
- ``/big/declared``, ``/big/streamed``: a body over any small cap, with and without a length
- ``/binary/png``, ``/binary/octet``, ``/binary/lying``: binary bodies (the last says text/html)
- ``/charset/wrong/NAME.html``: windows-1252 bytes declared as UTF-8 (header and meta)
- ``/charset/missing/NAME.html``: windows-1252 bytes with no charset anywhere
- ``/charset/unknown/NAME.html``: windows-1252 bytes declared as a charset that does not exist
- ``/charset/latin1-label/NAME.html``: UTF-8 bytes declared as ISO-8859-1
- ``/feed.xml``, ``/atom.xml``: RSS and Atom feeds of the pages (``?only=NAME,NAME`` to pick)
- ``/sitemap.xml``: a sitemap index pointing at ``/sitemap-pages.xml`` (same ``only``)
- ``/``: a homepage announcing ``/feed.xml``

``set_page(NAME, html)`` replaces a page's HTML (to test changed articles); ``hits``
counts requests per path.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_META_CHARSET = re.compile(rb"<meta[^>]*charset[^>]*>", re.IGNORECASE)


class FaultServer:
    """The corpus and the fault routes on 127.0.0.1, on a free port."""

    def __init__(self, pages_dir: Path) -> None:
        self.pages_dir = pages_dir
        self.names = sorted(p.name.removesuffix(".html.gz") for p in pages_dir.glob("*.html.gz"))
        self.overrides: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.url = ""

    def page(self, name: str) -> bytes:
        """The page's HTML bytes as served (after ``set_page``, the replacement)."""
        if name in self.overrides:
            return self.overrides[name]
        return gzip.decompress((self.pages_dir / f"{name}.html.gz").read_bytes())

    def set_page(self, name: str, html: bytes) -> None:
        self.overrides[name] = html

    def page_url(self, name: str, prefix: str = "pages") -> str:
        return f"{self.url}/{prefix}/{name}.html"

    def count(self, key: str) -> int:
        """How many times ``key`` was asked for, this request included."""
        with self._lock:
            self._counts[key] += 1
            return self._counts[key]

    def feed_names(self, query: dict[str, list[str]]) -> list[str]:
        only = query.get("only")
        return only[0].split(",") if only else self.names


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(
            self,
            status: int,
            body: bytes = b"",
            content_type: str | None = "text/html; charset=utf-8",
            headers: dict[str, str] | None = None,
            length: bool = True,
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            # the client gives up on purpose on some routes (size cap, timeout)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._route()

        def _route(self) -> None:
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            server.hits[path] += 1
            seg = path.strip("/").split("/")
            name = seg[-1].removesuffix(".html") if seg else ""
            base = server.url
            if path == "/robots.txt":
                return self._send(
                    200, b"User-agent: *\nDisallow: /private/\n", "text/plain; charset=utf-8"
                )
            if seg[0] in ("pages", "private") and len(seg) == 2:
                if name not in server.names and name not in server.overrides:
                    return self._send(404, b"not found")
                return self._send(200, server.page(name))
            if seg[0] == "slow":
                time.sleep(float(seg[1]))
                return self._send(200, server.page(name))
            if seg[0] == "trickle":
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                for i in range(0, 4000, 40):
                    self.wfile.write(server.page(name)[i : i + 40])
                    self.wfile.flush()
                    time.sleep(0.2)
                return None
            if seg[0] == "flaky":
                if server.count(f"flaky/{seg[2]}") <= int(seg[1]):
                    return self._send(500, b"try again")
                return self._send(200, server.page(name))
            if seg[0] == "ratelimited":
                if server.count(f"ratelimited/{seg[2]}") == 1:
                    return self._send(429, b"slow down", headers={"Retry-After": seg[1]})
                return self._send(200, server.page(name))
            if seg[0] == "always500":
                return self._send(500, b"broken")
            if seg[0] == "loop":
                target = "/loop/b" if seg[1] == "a" else "/loop/a"
                return self._send(302, headers={"Location": target})
            if seg[0] == "redirect" and len(seg) == 3:
                hops = int(seg[1])
                if hops == 0:
                    return self._send(200, server.page(name))
                return self._send(302, headers={"Location": f"/redirect/{hops - 1}/{seg[2]}"})
            if seg[0] == "redirect-to":
                return self._send(302, headers={"Location": query["location"][0]})
            if path == "/big/declared":
                return self._send(200, b"<html>" + b"x" * 2_500_000 + b"</html>")
            if path == "/big/streamed":
                return self._send(200, b"<html>" + b"x" * 2_500_000 + b"</html>", length=False)
            if path == "/binary/png":
                return self._send(200, b"\x89PNG\r\n\x1a\n" + bytes(2000), "image/png")
            if path == "/binary/octet":
                return self._send(200, bytes(range(256)) * 8, "application/octet-stream")
            if path == "/binary/lying":
                return self._send(200, b"\x89PNG\r\n\x1a\n" + bytes(2000), "text/html")
            if seg[0] == "charset":
                html = server.page(name).decode("utf-8")
                legacy = html.encode("cp1252", errors="xmlcharrefreplace")
                if seg[1] == "wrong":
                    return self._send(200, legacy, "text/html; charset=utf-8")
                if seg[1] == "missing":
                    return self._send(200, _META_CHARSET.sub(b"", legacy), "text/html")
                if seg[1] == "unknown":
                    return self._send(200, legacy, "text/html; charset=x-no-such-charset")
                if seg[1] == "latin1-label":
                    return self._send(200, html.encode("utf-8"), "text/html; charset=iso-8859-1")
            if path == "/feed.xml":
                items = "".join(
                    f"<item><title>{n}</title><link>{base}/pages/{n}.html</link></item>"
                    for n in server.feed_names(query)
                )
                rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
                return self._send(200, rss.encode(), "application/rss+xml; charset=utf-8")
            if path == "/atom.xml":
                entries = "".join(
                    f'<entry><title>{n}</title><link rel="alternate" href="{base}/pages/{n}.html"/></entry>'
                    for n in server.feed_names(query)
                )
                atom = (
                    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                    f'<link rel="self" href="{base}/atom.xml"/>{entries}</feed>'
                )
                return self._send(200, atom.encode(), "application/atom+xml")
            if path == "/sitemap.xml":
                suffix = f"?only={query['only'][0]}" if "only" in query else ""
                index = (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<sitemap><loc>{base}/sitemap-pages.xml{suffix}</loc></sitemap></sitemapindex>"
                )
                return self._send(200, index.encode(), "application/xml")
            if path == "/sitemap-pages.xml":
                urls = "".join(
                    f"<url><loc>{base}/pages/{n}.html</loc></url>" for n in server.feed_names(query)
                )
                urlset = (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
                )
                return self._send(200, urlset.encode(), "application/xml")
            if path == "/":
                home = (
                    '<html><head><title>Home</title><link rel="alternate" '
                    'type="application/rss+xml" href="/feed.xml?only=fr-001,en-003"></head>'
                    "<body><h1>News</h1></body></html>"
                )
                return self._send(200, home.encode())
            return self._send(404, b"not found")

    return Handler


@contextmanager
def serve_faults(pages_dir: Path) -> Iterator[FaultServer]:
    """Run a :class:`FaultServer` in a background thread for the duration of the block."""
    state = FaultServer(pages_dir)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
