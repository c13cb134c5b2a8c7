"""Polite, bounded HTTP fetching and local page reading (I/O at the edge).

:class:`Fetcher` is what the pipeline points at real sites: it refuses other schemes, URLs
with credentials and private addresses (unless the settings allow them), honours robots.txt
(cached per origin), spaces requests per host and bounds their concurrency, follows a capped
number of redirects (loops detected), retries 5xx, 429 and connection errors with
exponential backoff and jitter (honouring Retry-After), and bounds every response in time
and size. Every failure is a :class:`~pipeline.errors.FetchError` with the reason and, for
HTTP, the status. The ``httpx.Client`` is thread-safe, so one fetcher serves a whole pool.

Against hostile servers and URLs (issue #9; ``tests/unit/test_hostile_*.py``):

- Addresses are checked twice: every address the host name resolves to before the request
  (:func:`check_destination`), then the socket's actual peer once connected, before the body
  is read, so a name that re-resolves to a private address between the two (DNS rebinding)
  is refused too. The request itself has reached that peer by then; its answer is not read.
- The client ignores proxies from the environment (``HTTP(S)_PROXY``, ``ALL_PROXY``): a
  proxy would resolve names itself and hide the real peer from the check above, so proxies
  are not supported. CA bundles from ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` still apply.
- Content-Encoding is decoded here, not by httpx, from raw bytes, at most 1 MiB per step:
  a gzip bomb (GBs of zeros in a few MB) is refused once ``fetch_max_bytes`` decoded bytes
  are exceeded, never holding more than that. Only gzip and deflate are advertised and
  accepted; stacked or other encodings are refused. Gzip feeds (``application/gzip``) are
  decompressed under the same bound.
- URLs with userinfo (``user:password@``) are refused, and every URL the fetcher puts into
  an error has its userinfo redacted (:func:`redact_url`).
"""

from __future__ import annotations

import ipaddress
import random
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from pipeline.errors import FetchError, RefusedURLError, RobotsDisallowed
from pipeline.secrets import redact_url
from pipeline.settings import Settings

if TYPE_CHECKING:
    import httpx

HTML_TYPES: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")
FEED_TYPES: tuple[str, ...] = (
    *HTML_TYPES,
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+json",
    "application/json",
    "application/gzip",
    "application/x-gzip",
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512 * 1024
ACCEPT_ENCODING = "gzip, deflate"
DECODE_STEP = 1024 * 1024  # decoded bytes per zlib call: the most one compressed read can add
_BINARY_MAGIC = (b"\x89PNG", b"%PDF", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")
# C0 control bytes that no text page holds (tab, newlines, form feed and ESC are text).
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 11, 12, 13, 27))
_ALLOW_HINT = "allow with PIPELINE_ALLOWED_NETWORKS or PIPELINE_ALLOW_PRIVATE_ADDRESSES"
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (IPv4-compatible, NAT64).
_EMBEDS_IPV4 = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("64:ff9b::/96"))


@dataclass(frozen=True)
class FetchedPage:
    """Raw page bytes and where they came from (``url`` is the URL after redirects)."""

    source: str
    url: str
    body: bytes
    status: int | None = None
    content_type: str | None = None
    charset: str | None = None
    attempts: int = 1
    redirects: int = 0


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_saved_page(path: Path, max_bytes: int = 10 * 1024 * 1024) -> FetchedPage:
    """Read a saved page from disk (gzip-compressed when its name ends in ``.gz``), at most
    ``max_bytes`` of it once decompressed, as for pages over HTTP."""
    try:
        if path.stat().st_size > max_bytes:
            raise FetchError(f"page larger than {max_bytes} bytes", source=str(path))
        raw = path.read_bytes()
        body = gunzip_bounded(raw, max_bytes) if path.suffix == ".gz" else raw
    except (OSError, zlib.error, EOFError) as exc:
        raise FetchError(f"cannot read saved page: {exc}", source=str(path)) from exc
    if body is None:
        raise FetchError(f"larger than {max_bytes} bytes once decoded", source=str(path))
    return FetchedPage(source=str(path), url=path.resolve().as_uri(), body=body)


def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` stands for: a numeric form (``2130706433``, ``0x7f.1``, ``127.1``
    as the C library reads them) without DNS, else every address the resolver returns."""
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        pass
    try:
        return [socket.inet_ntoa(socket.inet_aton(host))]
    except (OSError, UnicodeError, ValueError):
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes ``ip`` a non-public address (``loopback``, ``link-local`` ...), or None."""
    for kind, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
    ):
        if flag:
            return kind
    return None if ip.is_global else "reserved or shared"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _EMBEDS_IPV4) and int(ip) & 0xFFFFFFFF > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def check_address(address: str, host: str, url: str, settings: Settings) -> None:
    """Refuse ``address`` (one address of ``host``) unless it is public or allowed.

    An IPv6 address carrying an IPv4 one (``::ffff:127.0.0.1``) is judged by both.

    Raises:
        RefusedURLError: "refused address X of HOST: loopback ..." and how to allow it.
    """
    if settings.allow_private_addresses:
        return
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_ipv4(ip)) is not None:
        candidates.insert(0, v4)
    allowed = [ipaddress.ip_network(n, strict=False) for n in settings.allowed_networks]
    if any(c.version == net.version and c in net for c in candidates for net in allowed):
        return
    for candidate in candidates:
        kind = _not_public(candidate)
        if kind is not None:
            shown = f"{candidate} (in {ip})" if candidate is not ip else str(ip)
            raise RefusedURLError(
                f"refused address {shown} of {host}: {kind}, not a public address ({_ALLOW_HINT})",
                source=redact_url(url),
            )


def check_destination(url: str, settings: Settings) -> None:
    """Refuse anything but http(s) to public addresses, unless the settings allow it.

    Every address the host resolves to is checked, so a name pointing at 127.0.0.1 or at
    a cloud metadata endpoint (169.254.169.254) is refused as well as the literal address,
    and so are numeric spellings (``http://2130706433/``, ``http://0x7f.0.0.1/``). A URL with
    userinfo is refused whatever its host: credentials are never sent, nor repeated.

    Raises:
        RefusedURLError: another scheme, credentials, no host, or a non-public address.
        FetchError: the host name does not resolve.
    """
    safe = redact_url(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedURLError(f"malformed URL: {exc}", source=safe) from exc
    if parts.scheme not in ("http", "https"):
        raise RefusedURLError(
            f"unsupported scheme {parts.scheme or '(none)'}: only http(s) URLs are fetched",
            source=safe,
        )
    if "@" in parts.netloc:
        raise RefusedURLError(
            "credentials in the URL (user:password@host): refused, they are never sent",
            source=safe,
        )
    if not host:
        raise RefusedURLError("URL without a host", source=safe)
    if settings.allow_private_addresses:
        return
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        raise FetchError(f"cannot resolve host {host}: {exc}", source=safe) from exc
    for address in addresses:
        check_address(address, host, url, settings)


def check_peer(response: httpx.Response, url: str, settings: Settings) -> None:
    """Refuse a response whose socket is connected to a non-public address (DNS rebinding:
    the name resolved to a public address when checked, to a private one when connecting).

    Responses without a socket (test transports) have nothing to check.
    """
    if settings.allow_private_addresses:
        return
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return
    check_address(str(peer[0]), urlsplit(url).hostname or "", url, settings)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def looks_binary(body: bytes) -> bool:
    """True for images, archives, PDFs and anything with NUL bytes or many C0 control
    bytes (which text never holds) near the start."""
    head = body[:1024]
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > max(8, len(head) // 32)


class ContentDecoder:
    """Bounded Content-Encoding decoding (gzip, deflate or identity) of raw body chunks.

    zlib is asked for at most :data:`DECODE_STEP` bytes per call, so one compressed chunk
    never expands in memory beyond that, however high its ratio; the caller counts the
    pieces against its size cap and stops as soon as it is exceeded.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: zlib._Decompress | None = None
        self._raw_deflate: zlib._Decompress | None = None  # tried when zlib's header is not
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
            self._zlib = zlib.decompressobj()
            self._raw_deflate = zlib.decompressobj(-zlib.MAX_WBITS)

    @classmethod
    def for_header(cls, value: str) -> ContentDecoder:
        """The decoder of a Content-Encoding header value.

        Raises:
            ValueError: stacked encodings, or one other than gzip and deflate.
        """
        codings = [c.strip().lower() for c in value.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise ValueError(f"stacked Content-Encoding {', '.join(codings)} is not accepted")
        if codings and codings[0] not in ("gzip", "x-gzip", "deflate"):
            raise ValueError(
                f"unsupported Content-Encoding {codings[0]} (only gzip and deflate are accepted)"
            )
        return cls(codings[0] if codings else "identity")

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of one raw chunk, :data:`DECODE_STEP` bytes at most each.

        Raises:
            zlib.error: the data is not valid for its encoding.
        """
        if self._zlib is None:
            if data:
                yield data
            return
        while not self._zlib.eof:
            try:
                out = self._zlib.decompress(data, DECODE_STEP)
            except zlib.error:
                if self._raw_deflate is None:
                    raise
                self._zlib, self._raw_deflate = self._raw_deflate, None
                continue
            self._raw_deflate = None
            data = self._zlib.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < DECODE_STEP:
                break  # input used up and nothing pending (a full step may leave some)

    @property
    def identity(self) -> bool:
        """No Content-Encoding: the raw bytes are the body."""
        return self._zlib is None

    def flush(self) -> bytes:
        """What zlib still holds at the end of the body (a truncated stream gives its part)."""
        if self._zlib is None or self._zlib.eof:
            return b""
        return self._zlib.flush()


_NOT_ZERO = re.compile(rb"[^\0]")
_GZIP_INPUT_STEP = 64 * 1024  # compressed bytes handed to zlib at once


def gunzip_bounded(body: bytes, max_bytes: int) -> bytes | None:
    """``body`` (a gzip file: one member or several, zero padding after a member allowed,
    as :func:`gzip.decompress` reads it) decompressed, or None when it decodes to more than
    ``max_bytes``. zlib decodes at most :data:`DECODE_STEP` bytes per call, so a bomb stops
    as soon as it passes the cap, and is handed 64 KiB of input at a time, so a file of
    many tiny members costs linear time.

    Raises:
        zlib.error: not gzip data, a member cut short (a truncated file), or data after a
            member that is neither another member nor zero padding.
    """
    out = bytearray()
    pos = 0
    while pos < len(body):
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = body[pos : pos + _GZIP_INPUT_STEP]
        pos += len(data)
        while not member.eof:
            piece = member.decompress(data, DECODE_STEP)
            out += piece
            if len(out) > max_bytes:
                return None
            data = member.unconsumed_tail
            if not data and not member.eof:
                if pos < len(body):
                    data = body[pos : pos + _GZIP_INPUT_STEP]
                    pos += len(data)
                elif not piece:
                    raise zlib.error("the gzip data ends before its stream does (truncated)")
        pos -= len(member.unused_data)  # what follows the member: the next one, or padding
        following = _NOT_ZERO.search(body, pos)
        pos = following.start() if following else len(body)
    return bytes(out)


class HostLimiter:
    """Per-host politeness: at most ``concurrency`` requests in flight, spaced by the rate."""

    def __init__(
        self, rate_per_s: float, concurrency: int, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._interval = 1.0 / rate_per_s
        self._concurrency = concurrency
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, host: str, min_interval: float = 0.0) -> Iterator[None]:
        """Hold one of the host's slots, starting no sooner than its rate allows."""
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self._concurrency))
        with semaphore:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next.get(host, now))
                self._next[host] = start + max(self._interval, min_interval)
            if start > now:
                self._sleep(start - now)
            yield


class _Retryable(Exception):
    """An attempt failed in a way worth retrying (5xx, 429, timeout, connection)."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(error.reason)
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Redirect:
    location: str
    status: int


@dataclass
class _Robots:
    checked_at: float
    parser: RobotFileParser | None = None  # None: no robots.txt, everything allowed
    error: FetchError | None = None  # robots.txt unreachable: the host is not fetched


class Fetcher:
    """The polite HTTP client of one run; use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.Client | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._own_client = client is None
        self.http = client or make_http_client(settings)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._hosts = HostLimiter(
            settings.per_host_rate_per_s, settings.per_host_concurrency, sleep=sleep
        )
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self.http.close()

    def fetch_page(self, source: str) -> FetchedPage:
        """Fetch an http(s) URL or read a saved page (a local path)."""
        if "://" in source:
            return self.fetch(source)
        return read_saved_page(Path(source), self.settings.fetch_max_bytes)

    def fetch(
        self, url: str, *, accept: tuple[str, ...] = HTML_TYPES, max_bytes: int | None = None
    ) -> FetchedPage:
        """GET ``url`` politely, following redirects itself so each hop is checked.

        Raises:
            RefusedURLError: a hop has another scheme or a private address.
            RobotsDisallowed: robots.txt disallows a hop.
            FetchError: any other failure, with ``http_status`` when there was a response.
        """
        return self._fetch_chain(url, accept, max_bytes or self.settings.fetch_max_bytes, True)

    def _fetch_chain(
        self, url: str, accept: tuple[str, ...] | None, max_bytes: int, robots: bool
    ) -> FetchedPage:
        chain = [url]
        current = url
        for _ in range(self.settings.fetch_max_redirects + 1):
            check_destination(current, self.settings)
            delay = self._check_robots(current) if robots else 0.0
            result, attempts = self._with_retries(current, accept, max_bytes, delay)
            if isinstance(result, FetchedPage):
                return FetchedPage(
                    source=redact_url(url),
                    url=result.url,
                    body=result.body,
                    status=result.status,
                    content_type=result.content_type,
                    charset=result.charset,
                    attempts=attempts,
                    redirects=len(chain) - 1,
                )
            target = urljoin(current, result.location)
            if target in chain:
                loop = [*chain[chain.index(target) :], target]
                raise FetchError(
                    f"redirect loop: {' -> '.join(map(redact_url, loop))}",
                    source=redact_url(url),
                    http_status=result.status,
                )
            chain.append(target)
            current = target
        raise FetchError(
            f"more than {self.settings.fetch_max_redirects} redirects",
            source=redact_url(url),
            http_status=result.status,
        )

    def _with_retries(
        self, url: str, accept: tuple[str, ...] | None, max_bytes: int, min_interval: float
    ) -> tuple[FetchedPage | _Redirect, int]:
        host = urlsplit(url).netloc.lower()
        attempts = self.settings.fetch_retries + 1
        for attempt in range(attempts):
            try:
                with self._hosts.slot(host, min_interval):
                    return self._get_once(url, accept, max_bytes), attempt + 1
            except _Retryable as retry:
                if attempt + 1 >= attempts:
                    raise FetchError(
                        f"{retry.error.reason} (gave up after {attempts} attempts)",
                        source=redact_url(url),
                        **retry.error.context,
                    ) from retry
                wait = self._backoff(attempt, retry.retry_after)
                if wait is None:
                    raise FetchError(
                        f"{retry.error.reason}: Retry-After {retry.retry_after:.0f} s is longer "
                        f"than the {self.settings.fetch_backoff_max_s:.0f} s cap",
                        source=redact_url(url),
                        **retry.error.context,
                    ) from retry
                self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        """Exponential backoff with jitter; at least Retry-After; None when beyond the cap."""
        cap = self.settings.fetch_backoff_max_s
        if retry_after is not None and retry_after > cap:
            return None
        ceiling = min(cap, self.settings.fetch_backoff_base_s * 2**attempt)
        wait = self._rng.uniform(ceiling / 2, ceiling)
        return max(wait, retry_after or 0.0)

    def _get_once(
        self, url: str, accept: tuple[str, ...] | None, max_bytes: int
    ) -> FetchedPage | _Redirect:
        import httpx

        deadline = time.monotonic() + self.settings.fetch_timeout_s
        safe = redact_url(url)
        try:
            with self.http.stream("GET", url) as response:
                check_peer(response, url, self.settings)
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(
                            f"HTTP {status} redirect without a Location",
                            source=safe,
                            http_status=status,
                        )
                    return _Redirect(location, status)
                if status in RETRY_STATUSES:
                    raise _Retryable(
                        FetchError(
                            f"HTTP {status} {response.reason_phrase}",
                            source=safe,
                            http_status=status,
                        ),
                        parse_retry_after(response.headers.get("retry-after")),
                    )
                if status >= 400:
                    raise FetchError(
                        f"HTTP {status} {response.reason_phrase}", source=safe, http_status=status
                    )
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if accept is not None and mime and mime not in accept:
                    raise FetchError(
                        f"not an HTML page: content-type {mime}", source=safe, http_status=status
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(
                        f"page larger than {max_bytes} bytes (Content-Length {declared})",
                        source=safe,
                        http_status=status,
                    )
                body = self._read_body(response, url, max_bytes, deadline)
                if accept is not None and (not body or body.isspace()):
                    raise FetchError("empty body", source=safe, http_status=status)
                if _is_gzip_feed(mime, body):
                    body = self._gunzip_feed(body, url, max_bytes, status)
                elif accept is not None and looks_binary(body):
                    raise FetchError(
                        f"binary content, not an HTML page (content-type {mime or 'missing'})",
                        source=safe,
                        http_status=status,
                    )
                return FetchedPage(
                    source=safe,
                    url=str(response.url),
                    body=body,
                    status=status,
                    content_type=mime or None,
                    charset=_declared_charset(response.headers.get("content-type", "")),
                )
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise _Retryable(FetchError(f"{type(exc).__name__}: {exc}", source=safe)) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}", source=safe) from exc

    def _read_body(
        self, response: httpx.Response, url: str, max_bytes: int, deadline: float
    ) -> bytes:
        """The body, decoded from its Content-Encoding, refused past ``max_bytes`` decoded
        bytes or the deadline; raw chunks are read and decoded one bounded step at a time."""
        safe = redact_url(url)
        status = response.status_code
        try:
            decoder = ContentDecoder.for_header(response.headers.get("content-encoding", ""))
        except ValueError as exc:
            raise FetchError(str(exc), source=safe, http_status=status) from exc
        encoded = "" if decoder.identity else f" once decoded (Content-Encoding {decoder.encoding})"

        def pieces() -> Iterator[bytes]:
            for raw in response.iter_raw():
                yield from decoder.decode(raw)
            yield decoder.flush()

        chunks: list[bytes] = []
        size = 0
        try:
            for piece in pieces():
                size += len(piece)
                if size > max_bytes:
                    raise FetchError(
                        f"page larger than {max_bytes} bytes{encoded}",
                        source=safe,
                        http_status=status,
                    )
                if time.monotonic() > deadline:
                    raise _Retryable(
                        FetchError(
                            f"body not received within {self.settings.fetch_timeout_s} s",
                            source=safe,
                            http_status=status,
                        )
                    )
                chunks.append(piece)
        except zlib.error as exc:
            raise FetchError(
                f"broken {decoder.encoding} Content-Encoding: {exc}",
                source=safe,
                http_status=status,
            ) from exc
        return b"".join(chunks)

    def _gunzip_feed(self, body: bytes, url: str, max_bytes: int, status: int) -> bytes:
        """A gzip feed or sitemap (``application/gzip``), decompressed under the size cap."""
        try:
            feed = gunzip_bounded(body, max_bytes)
        except zlib.error as exc:
            raise FetchError(
                f"broken gzip feed: {exc}", source=redact_url(url), http_status=status
            ) from exc
        if feed is None:
            raise FetchError(
                f"gzip feed larger than {max_bytes} bytes once decompressed",
                source=redact_url(url),
                http_status=status,
            )
        return feed

    def _check_robots(self, url: str) -> float:
        """Raise when robots.txt disallows ``url``; return the Crawl-delay (0 when none)."""
        if not self.settings.respect_robots:
            return 0.0
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one download per origin, even with many threads asking
            entry = self._robots.get(origin)
            if (
                entry is None
                or time.monotonic() - entry.checked_at > self.settings.robots_cache_ttl_s
            ):
                entry = self._load_robots(origin)
                self._robots[origin] = entry
        if entry.error is not None:
            error = RefusedURLError if isinstance(entry.error, RefusedURLError) else FetchError
            raise error(
                f"robots.txt unavailable, not fetching: {entry.error.reason}",
                source=redact_url(url),
                http_status=entry.error.context.get("http_status"),
            )
        if entry.parser is None:
            return 0.0
        agent = self.settings.user_agent
        if not entry.parser.can_fetch(agent, url):
            raise RobotsDisallowed("disallowed by robots.txt", source=redact_url(url))
        delay = entry.parser.crawl_delay(agent)
        return min(float(delay or 0.0), self.settings.fetch_backoff_max_s)

    def _load_robots(self, origin: str) -> _Robots:
        """RFC 9309: a 4xx means no rules; a 5xx or no answer means do not crawl."""
        now = time.monotonic()
        try:
            page = self._fetch_chain(f"{origin}/robots.txt", None, ROBOTS_MAX_BYTES, False)
        except FetchError as exc:
            status = exc.context.get("http_status")
            if isinstance(status, int) and 400 <= status < 500 and status != 429:
                return _Robots(now)
            return _Robots(now, error=exc)
        parser = RobotFileParser(f"{origin}/robots.txt")
        parser.parse(page.body.decode("utf-8", errors="replace").splitlines())
        parser.modified()  # can_fetch() answers False until the parser is marked as read
        return _Robots(now, parser=parser)


def _is_gzip_feed(mime: str, body: bytes) -> bool:
    return body.startswith(b"\x1f\x8b") and mime in ("application/gzip", "application/x-gzip")


def _declared_charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def make_http_client(settings: Settings) -> httpx.Client:
    """An httpx client that never follows redirects itself (the fetcher checks each hop).

    Proxies from the environment (``HTTP_PROXY``, ``ALL_PROXY``) are not used: a proxy
    resolves host names itself, so the address checks would see the proxy's address, not the
    site's. The explicit transport (which keeps ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``) and
    ``trust_env=False`` both keep httpx from mounting them. Only the encodings
    :class:`ContentDecoder` decodes under the size cap are advertised.
    """
    import httpx

    transport = httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=max(settings.fetch_concurrency, 4)), trust_env=True
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(settings.fetch_timeout_s, connect=settings.fetch_connect_timeout_s),
        follow_redirects=False,
        trust_env=False,
        headers={
            "User-Agent": settings.user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
    )


def fetch_url(url: str, settings: Settings, client: httpx.Client | None = None) -> FetchedPage:
    """GET one URL politely (a one-off :class:`Fetcher`)."""
    with Fetcher(settings, client) as fetcher:
        return fetcher.fetch(url)


def fetch_page(source: str, settings: Settings, client: httpx.Client | None = None) -> FetchedPage:
    """Fetch a URL or read a saved page."""
    with Fetcher(settings, client) as fetcher:
        return fetcher.fetch_page(source)
