"""Polite, bounded HTTP fetching and local page reading (I/O at the edge).

:class:`Fetcher` is what the pipeline points at real sites: it refuses other schemes and
private addresses (unless the settings allow them), honours robots.txt (cached per origin),
spaces requests per host and bounds their concurrency, follows a capped number of
redirects (loops detected), retries 5xx, 429 and connection errors with exponential backoff
and jitter (honouring Retry-After), and bounds every response in time and size. Every
failure is a :class:`~pipeline.errors.FetchError` with the reason and, for HTTP, the status.
The ``httpx.Client`` is thread-safe, so one fetcher serves a whole thread pool.
"""

from __future__ import annotations

import gzip
import ipaddress
import random
import socket
import threading
import time
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
_BINARY_MAGIC = (b"\x89PNG", b"%PDF", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")


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


def read_saved_page(path: Path) -> FetchedPage:
    """Read a saved page from disk (gzip-compressed when its name ends in ``.gz``)."""
    try:
        raw = path.read_bytes()
        body = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, gzip.BadGzipFile, EOFError) as exc:
        raise FetchError(f"cannot read saved page: {exc}", source=str(path)) from exc
    return FetchedPage(source=str(path), url=path.resolve().as_uri(), body=body)


def check_destination(url: str, settings: Settings) -> None:
    """Refuse anything but http(s) to public addresses, unless the settings allow it.

    Every address the host resolves to is checked, so a name pointing at 127.0.0.1 or at
    a cloud metadata endpoint (169.254.169.254) is refused as well as the literal address.

    Raises:
        RefusedURLError: another scheme, no host, or a private/loopback/link-local address.
        FetchError: the host name does not resolve.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedURLError(
            f"unsupported scheme {parts.scheme or '(none)'}: only http(s) URLs are fetched",
            source=url,
        )
    host = parts.hostname
    if not host:
        raise RefusedURLError("URL without a host", source=url)
    if settings.allow_private_addresses:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise FetchError(f"cannot resolve host {host}: {exc}", source=url) from exc
    allowed = [ipaddress.ip_network(n, strict=False) for n in settings.allowed_networks]
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.is_global or any(ip.version == net.version and ip in net for net in allowed):
            continue
        raise RefusedURLError(
            f"refused address {ip} of {host}: private, loopback or link-local "
            "(allow with PIPELINE_ALLOWED_NETWORKS or PIPELINE_ALLOW_PRIVATE_ADDRESSES)",
            source=url,
        )


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
    """True for images, archives, PDFs and anything with NUL bytes near the start."""
    head = body[:1024]
    return head.startswith(_BINARY_MAGIC) or b"\x00" in head


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
        return read_saved_page(Path(source))

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
                    source=url,
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
                raise FetchError(
                    f"redirect loop: {' -> '.join([*chain[chain.index(target) :], target])}",
                    source=url,
                    http_status=result.status,
                )
            chain.append(target)
            current = target
        raise FetchError(
            f"more than {self.settings.fetch_max_redirects} redirects",
            source=url,
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
                        source=url,
                        **retry.error.context,
                    ) from retry
                wait = self._backoff(attempt, retry.retry_after)
                if wait is None:
                    raise FetchError(
                        f"{retry.error.reason}: Retry-After {retry.retry_after:.0f} s is longer "
                        f"than the {self.settings.fetch_backoff_max_s:.0f} s cap",
                        source=url,
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
        try:
            with self.http.stream("GET", url) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(
                            f"HTTP {status} redirect without a Location",
                            source=url,
                            http_status=status,
                        )
                    return _Redirect(location, status)
                if status in RETRY_STATUSES:
                    raise _Retryable(
                        FetchError(
                            f"HTTP {status} {response.reason_phrase}",
                            source=url,
                            http_status=status,
                        ),
                        parse_retry_after(response.headers.get("retry-after")),
                    )
                if status >= 400:
                    raise FetchError(
                        f"HTTP {status} {response.reason_phrase}", source=url, http_status=status
                    )
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if accept is not None and mime and mime not in accept:
                    raise FetchError(
                        f"not an HTML page: content-type {mime}", source=url, http_status=status
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(
                        f"page larger than {max_bytes} bytes (Content-Length {declared})",
                        source=url,
                        http_status=status,
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(
                            f"page larger than {max_bytes} bytes", source=url, http_status=status
                        )
                    if time.monotonic() > deadline:
                        raise _Retryable(
                            FetchError(
                                f"body not received within {self.settings.fetch_timeout_s} s",
                                source=url,
                                http_status=status,
                            )
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                if accept is not None and looks_binary(body) and not _is_gzip_feed(mime, body):
                    raise FetchError(
                        f"binary content, not an HTML page (content-type {mime or 'missing'})",
                        source=url,
                        http_status=status,
                    )
                return FetchedPage(
                    source=url,
                    url=str(response.url),
                    body=body,
                    status=status,
                    content_type=mime or None,
                    charset=_declared_charset(response.headers.get("content-type", "")),
                )
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise _Retryable(FetchError(f"{type(exc).__name__}: {exc}", source=url)) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}", source=url) from exc

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
            raise FetchError(
                f"robots.txt unavailable, not fetching: {entry.error.reason}",
                source=url,
                http_status=entry.error.context.get("http_status"),
            )
        if entry.parser is None:
            return 0.0
        agent = self.settings.user_agent
        if not entry.parser.can_fetch(agent, url):
            raise RobotsDisallowed("disallowed by robots.txt", source=url)
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
    """An httpx client that never follows redirects itself (the fetcher checks each hop)."""
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(settings.fetch_timeout_s, connect=settings.fetch_connect_timeout_s),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max(settings.fetch_concurrency, 4)),
        headers={
            "User-Agent": settings.user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5",
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
