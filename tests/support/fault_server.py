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
- ``/redirect-credentials/NAME.html``: one redirect to the page on this server, with
  ``reader:`` :data:`LOCATION_SECRET` ``@`` in the URL (the secret is not in the request)
- ``/big/declared``, ``/big/streamed``: a body over any small cap, with and without a length
- ``/binary/png``, ``/binary/octet``, ``/binary/lying``: binary bodies (the last says text/html)
- ``/charset/wrong/NAME.html``: windows-1252 bytes declared as UTF-8 (header and meta)
- ``/charset/missing/NAME.html``: windows-1252 bytes with no charset anywhere
- ``/charset/unknown/NAME.html``: windows-1252 bytes declared as a charset that does not exist
- ``/charset/latin1-label/NAME.html``: UTF-8 bytes declared as ISO-8859-1
- ``/echo/headers``: the request's headers, one per line (``text/plain``)

Hostile pages (issue #9), all generated on the fly:

- ``/hostile/malformed/NAME.html``: the page without its closing tags, with stray end tags,
  broken tags and bare ``<``/``&``
- ``/hostile/truncated/NAME.html``: the page cut at 60 %, inside a multi-byte character
- ``/hostile/empty``: HTTP 200, ``text/html``, no body
- ``/hostile/no-article``: a valid page with a menu of eight links and no text
- ``/hostile/binary/random``: 64 KiB of random bytes served as ``text/html; charset=utf-8``
- ``/hostile/binary/high``: random bytes without NUL (``\x01``-``\xff``) as ``text/html``
- ``/hostile/bomb/gzip?gib=G``, ``/hostile/bomb/deflate?gib=G``: G GiB (default 4) of zeros
  sent as ``Content-Encoding: gzip`` (or zlib deflate), about 1 KiB on the wire per MiB,
  streamed from one precomputed block: never more than a block in the server's memory
- ``/hostile/bomb/sitemap.xml.gz?gib=G``: a gzip file (``application/gzip``, no
  Content-Encoding) of G GiB (default 0.25) of zeros, as a sitemap
- ``/hostile/encoding/gzip|deflate|raw-deflate/NAME.html``: the page, so encoded
- ``/hostile/encoding/stacked/NAME.html``: the page gzipped twice (``gzip, gzip``)
- ``/hostile/encoding/br/NAME.html``: claims ``Content-Encoding: br`` (unadvertised)
- ``/hostile/encoding/broken/NAME.html``: claims gzip, sends the plain page
- ``/hostile/huge?mb=M``: an M-MB page (default 50) of article text, streamed in 64 KiB
  writes without a Content-Length
- ``/hostile/charset/invalid/NAME.html``: UTF-8 declared, with bytes invalid in UTF-8
  (``\xff``, ``\xc0\xaf``, a lone ``\x80``) after each paragraph
- ``/hostile/charset/mixed/NAME.html``: the first half of the page in UTF-8, the rest in
  windows-1252, declared UTF-8
- ``/hostile/nested/N/NAME.html``: N nested ``<div>`` (opened and closed) before the page's
  content
- ``/hostile/unclosed/N/NAME.html``: N ``<div>`` opened and never closed around the content
- ``/hostile/wide/N/NAME.html``: N sibling paragraphs ``<p>x`` after the page's content
- ``/hostile/longline/N/NAME.html``: an N-character word (no space, no newline) at the
  start of the first paragraph of the page

- ``/feed.xml``, ``/atom.xml``: RSS and Atom feeds of the pages (``?only=NAME,NAME`` to pick)
- ``/sitemap.xml``: a sitemap index pointing at ``/sitemap-pages.xml`` (same ``only``);
  ``/sitemap-pages.xml.gz`` is the same list gzipped (``application/gzip``)
- ``/``: a homepage announcing ``/feed.xml``

``set_page(NAME, html)`` replaces a page's HTML (to test changed articles); ``hits``
counts requests per path.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import random
import re
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_META_CHARSET = re.compile(rb"<meta[^>]*charset[^>]*>", re.IGNORECASE)
_END_TAG = re.compile(rb"</(?!html|head|body|script|style|title|textarea)[a-zA-Z][a-zA-Z0-9]*\s*>")
_BODY = re.compile(rb"<body[^>]*>", re.IGNORECASE)
_PARAGRAPH = re.compile(rb"<p[ >]", re.IGNORECASE)
MIB = 1024 * 1024
LONG_WORD = 2_000_000
LOCATION_SECRET = "hunter2-in-a-location"
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
_ZLIB_HEADER = b"\x78\xda"


@functools.cache
def _zeros_block() -> bytes:
    """Raw deflate of 1 MiB of zeros, self-contained (full flush): it can be repeated."""
    zeros = bytes(MIB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflate.compress(zeros)
    deflate.flush(zlib.Z_FULL_FLUSH)  # the second block starts from a reset state, as all next
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    return block


def bomb_stream(gib: float, wrapper: str = "gzip") -> Iterator[bytes]:
    """A gzip (or zlib) stream of ``gib`` GiB of zeros, 64 MiB decoded per write; the
    checksums of the trailer are computed only once every block was sent."""
    block, blocks = _zeros_block(), int(gib * 1024)
    yield _GZIP_HEADER if wrapper == "gzip" else _ZLIB_HEADER
    for start in range(0, blocks, 64):
        yield block * min(64, blocks - start)
    final = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()
    zeros, crc, adler = bytes(MIB), 0, 1
    for _ in range(blocks):
        crc, adler = zlib.crc32(zeros, crc), zlib.adler32(zeros, adler)
    size = (blocks * MIB) & 0xFFFFFFFF
    yield final + (struct.pack("<II", crc, size) if wrapper == "gzip" else struct.pack(">I", adler))


def malformed(html: bytes) -> bytes:
    """The page with its closing tags dropped and junk markup added (lxml must cope)."""
    broken = _END_TAG.sub(b"", html)
    match = _BODY.search(broken)
    at = match.end() if match else 0
    junk = b"</table></td></div></p><<>><p <b class='x>a < b && c &#99999999; &bogus;<div"
    return broken[:at] + junk + broken[at:]


def truncated(html: bytes, share: float = 0.6) -> bytes:
    """``html`` cut at ``share`` of its length, after the first byte of a UTF-8 character."""
    cut = int(len(html) * share)
    while cut < len(html) and html[cut] < 0xC0:
        cut += 1
    return html[: cut + 1]


def invalid_utf8(html: bytes) -> bytes:
    """UTF-8 bytes with sequences invalid in UTF-8 after each paragraph."""
    return html.replace(b"</p>", b"</p>\xff\xc0\xaf\x80")


def mixed_encodings(html: bytes) -> bytes:
    """The first half in UTF-8, the second in windows-1252 (a page pasted together)."""
    text = html.decode("utf-8")
    half = len(text) // 2
    return text[:half].encode("utf-8") + text[half:].encode("cp1252", errors="xmlcharrefreplace")


def insert_after_body(html: bytes, markup: bytes) -> bytes:
    match = _BODY.search(html)
    at = match.end() if match else 0
    return html[:at] + markup + html[at:]


def long_line(html: bytes, length: int = LONG_WORD) -> bytes:
    """A ``length``-character word, no space nor newline, at the start of the first paragraph."""
    match = _PARAGRAPH.search(html)
    at = html.index(b">", match.start()) + 1 if match else len(html)
    word = (b"abcdefghij" * (length // 10 + 1))[:length]
    return html[:at] + word + b" " + html[at:]


def no_article() -> bytes:
    """A section front: a title, a menu and a footer, nothing to read."""
    links = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(8))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sections</title>'
        f"</head><body><nav><ul>{links}</ul></nav><main></main>"
        "<footer>(c) News</footer></body></html>"
    ).encode()


def huge_page(mb: float) -> Iterator[bytes]:
    """An ``mb``-MB article page in 64 KiB pieces."""
    yield b"<!doctype html><html lang='en'><head><title>Huge</title></head><body><article>"
    sentence = b"<p>The minister said on Tuesday that the talks would resume next week.</p>\n"
    piece = sentence * (64 * 1024 // len(sentence))
    for _ in range(int(mb * 1_000_000) // len(piece)):
        yield piece
    yield b"</article></body></html>"


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
            if seg[0] == "redirect-credentials":
                location = base.replace("http://", f"http://reader:{LOCATION_SECRET}@")
                return self._send(302, headers={"Location": f"{location}/pages/{name}.html"})
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
            if path == "/echo/headers":
                lines = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
                return self._send(200, lines.encode(), "text/plain; charset=utf-8")
            if seg[0] == "hostile":
                return self._hostile(seg[1:], name, query)
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
            if path in ("/sitemap-pages.xml", "/sitemap-pages.xml.gz"):
                urls = "".join(
                    f"<url><loc>{base}/pages/{n}.html</loc></url>" for n in server.feed_names(query)
                )
                urlset = (
                    '<?xml version="1.0" encoding="UTF-8"?>'
                    f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
                )
                if path.endswith(".gz"):
                    return self._send(200, gzip.compress(urlset.encode()), "application/gzip")
                return self._send(200, urlset.encode(), "application/xml")
            if path == "/":
                home = (
                    '<html><head><title>Home</title><link rel="alternate" '
                    'type="application/rss+xml" href="/feed.xml?only=fr-001,en-003"></head>'
                    "<body><h1>News</h1></body></html>"
                )
                return self._send(200, home.encode())
            return self._send(404, b"not found")

        def _stream(
            self,
            pieces: Iterator[bytes],
            content_type: str = "text/html; charset=utf-8",
            headers: dict[str, str] | None = None,
        ) -> None:
            """Headers, then the pieces as they come, no Content-Length (ends at close)."""
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            for piece in pieces:
                self.wfile.write(piece)

        def _hostile(self, seg: list[str], name: str, query: dict[str, list[str]]) -> None:
            kind = seg[0] if seg else ""
            if kind == "empty":
                return self._send(200, b"")
            if kind == "no-article":
                return self._send(200, no_article())
            if kind == "binary":
                rng = random.Random(9)
                noise = rng.randbytes(65536)
                if seg[1] == "high":
                    noise = bytes(b or 1 for b in noise)
                    return self._send(200, noise, "text/html")
                return self._send(200, noise)
            if kind == "bomb" and seg[1] == "sitemap.xml.gz":
                gib = float(query.get("gib", ["0.25"])[0])
                return self._stream(bomb_stream(gib), "application/gzip")
            if kind == "bomb":
                gib = float(query.get("gib", ["4"])[0])
                encoding = "gzip" if seg[1] == "gzip" else "deflate"
                return self._stream(
                    bomb_stream(gib, encoding), headers={"Content-Encoding": encoding}
                )
            if kind == "huge":
                return self._stream(huge_page(float(query.get("mb", ["50"])[0])))
            if kind == "encoding":
                html = server.page(name)
                encoded = {
                    "gzip": ("gzip", gzip.compress(html)),
                    "deflate": ("deflate", zlib.compress(html)),
                    "raw-deflate": ("deflate", zlib.compress(html, wbits=-zlib.MAX_WBITS)),
                    "stacked": ("gzip, gzip", gzip.compress(gzip.compress(html))),
                    "br": ("br", html[:1000]),
                    "broken": ("gzip", html),
                }[seg[1]]
                return self._send(200, encoded[1], headers={"Content-Encoding": encoded[0]})
            if kind == "charset":
                html = server.page(name)
                body = invalid_utf8(html) if seg[1] == "invalid" else mixed_encodings(html)
                return self._send(200, body)
            if kind in ("nested", "unclosed", "wide", "longline"):
                n = int(seg[1])
                html = server.page(name)
                if kind == "longline":
                    return self._send(200, long_line(html, n))
                if kind == "nested":
                    return self._send(200, insert_after_body(html, b"<div>" * n + b"</div>" * n))
                if kind == "unclosed":
                    return self._send(200, insert_after_body(html, b"<div>" * n))
                end = html.rindex(b"</body>") if b"</body>" in html else len(html)
                return self._send(200, html[:end] + b"<p>x" * n + html[end:])
            pages = {"malformed": malformed, "truncated": truncated}
            if kind in pages:
                return self._send(200, pages[kind](server.page(name)))
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
