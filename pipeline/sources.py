"""Source discovery: turn what the operator names into the list of pages to fetch.

A source is an http(s) URL (one page), a saved page (``.html``, ``.htm``, ``.html.gz``), a
folder of saved pages, or a sources file: ``.txt`` with one source per line, or ``.yaml``
with a ``sources:`` list whose entries are such strings or mappings naming a ``feed``
(RSS/Atom/JSON feed), ``sitemap``, ``homepage`` (its feeds are discovered), ``url``,
``urls``, ``page`` or ``folder``, with per-source ``name``, ``language`` (a hint used
when the page does not tell), ``max_articles``, and ``include``/``exclude`` regular
expressions on URLs; a ``defaults:`` mapping applies to every entry. Relative paths are
read from the file's folder. Feeds and sitemaps are parsed with Trafilatura's own feed
and sitemap code, fetched through the polite :class:`~pipeline.fetch.Fetcher`.

Discovery accounts for everything it finds: a page a rule leaves out is a candidate with a
``skip_reason``, and a feed or sitemap that cannot be read is a candidate with a
``failure`` (it becomes a dead letter), so nothing disappears between here and the summary.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import yaml

from pipeline.errors import DiscoveryError, FetchError, RefusedURLError, RobotsDisallowed
from pipeline.fetch import FEED_TYPES, Fetcher, check_destination, redact_url
from pipeline.settings import Settings

PAGE_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")
LIST_SUFFIXES = (".yaml", ".yml", ".txt")
KINDS = ("feed", "sitemap", "homepage", "url", "urls", "page", "folder")
_OPTIONS = frozenset({"name", "language", "max_articles", "include", "exclude"})
MAX_FEEDS_PER_HOMEPAGE = 3
MAX_SITEMAPS_PER_SOURCE = 50


@dataclass(frozen=True)
class SourceSpec:
    """One entry of a sources file."""

    kind: str
    target: str
    name: str | None = None
    language: str | None = None
    max_articles: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or self.target


@dataclass(frozen=True)
class Candidate:
    """One discovered page (or unreadable feed) and what its source says about it."""

    target: str
    source: str
    language: str | None = None
    skip_reason: str | None = None
    failure: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return cls(**data)


def _is_page(path: Path) -> bool:
    return path.name.lower().endswith(PAGE_SUFFIXES)


def _resolve(item: str, base: Path) -> str:
    if "://" in item or Path(item).is_absolute():
        return item
    return str(base / item)


def _spec(entry: Any, base: Path, defaults: dict[str, Any], where: str) -> list[SourceSpec]:
    if isinstance(entry, str):
        return [SourceSpec("auto", _resolve(entry, base), **_options(defaults, where))]
    if not isinstance(entry, dict):
        raise DiscoveryError(f"a source must be a string or a mapping, not {entry!r}", source=where)
    kinds = [k for k in KINDS if k in entry] + (["page"] if "path" in entry else [])
    unknown = set(entry) - _OPTIONS - set(KINDS) - {"path"}
    if len(kinds) != 1 or unknown:
        raise DiscoveryError(
            f"a source names exactly one of {', '.join(KINDS)} plus options "
            f"{', '.join(sorted(_OPTIONS))}; got {sorted(entry)}",
            source=where,
        )
    kind = kinds[0]
    options = _options({**defaults, **{k: v for k, v in entry.items() if k in _OPTIONS}}, where)
    value = entry["path"] if "path" in entry else entry[kind]
    if kind == "urls":
        if not isinstance(value, list):
            raise DiscoveryError("urls: takes a list", source=where)
        return [SourceSpec("url", str(v), **options) for v in value]
    target = (
        str(value) if kind in ("feed", "sitemap", "homepage", "url") else _resolve(str(value), base)
    )
    return [SourceSpec(kind, target, **options)]


def _options(values: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(values) - _OPTIONS
    if unknown:
        raise DiscoveryError(f"unknown source options {sorted(unknown)}", source=where)
    out: dict[str, Any] = {k: values[k] for k in ("name", "language") if values.get(k)}
    if values.get("max_articles") is not None:
        out["max_articles"] = int(values["max_articles"])
    for key in ("include", "exclude"):
        patterns = values.get(key) or ()
        patterns = (patterns,) if isinstance(patterns, str) else tuple(map(str, patterns))
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise DiscoveryError(f"bad {key} pattern {pattern!r}: {exc}", source=where) from exc
        out[key] = patterns
    return out


def read_sources_file(path: Path) -> list[SourceSpec]:
    """The entries of a ``.yaml`` or ``.txt`` sources file.

    Raises:
        DiscoveryError: the file cannot be read or an entry is malformed.
    """
    try:
        content = path.read_text(encoding="utf-8")
        data = yaml.safe_load(content) if path.suffix in (".yaml", ".yml") else None
    except (OSError, yaml.YAMLError) as exc:
        raise DiscoveryError(f"cannot read sources file: {exc}", source=str(path)) from exc
    if path.suffix not in (".yaml", ".yml"):
        lines = [line.strip() for line in content.splitlines()]
        return [
            SourceSpec("auto", _resolve(line, path.parent))
            for line in lines
            if line and not line.startswith("#")
        ]
    data = data or {}
    entries = data.get("sources", []) if isinstance(data, dict) else data
    defaults = (data.get("defaults") or {}) if isinstance(data, dict) else {}
    if not isinstance(entries, list) or not isinstance(defaults, dict):
        raise DiscoveryError(
            "expected a `sources:` list (and an optional `defaults:` mapping)", source=str(path)
        )
    specs: list[SourceSpec] = []
    for i, entry in enumerate(entries):
        specs.extend(_spec(entry, path.parent, defaults, f"{path}#sources[{i}]"))
    return specs


def _normalise_links(links: Iterable[str], base: str) -> list[str]:
    out: list[str] = []
    for link in links:
        absolute = urldefrag(urljoin(base, link.strip())).url
        if urlsplit(absolute).scheme in ("http", "https"):
            out.append(absolute)
    return list(dict.fromkeys(out))


def _text(body: bytes, charset: str | None) -> str:
    from pipeline.charset import decode_html

    if body.startswith(b"\x1f\x8b"):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise FetchError(f"broken gzip: {exc}") from exc
    return decode_html(body, charset)


def feed_links(fetcher: Fetcher, url: str, language: str | None = None) -> list[str]:
    """Article links of an RSS, Atom or JSON feed, in feed order (newest first, usually)."""
    from trafilatura.feeds import FeedParameters, find_links

    page = fetcher.fetch(url, accept=FEED_TYPES)
    parts = urlsplit(page.url)
    params = FeedParameters(
        f"{parts.scheme}://{parts.netloc}", parts.hostname or "", page.url, True, language
    )
    return _normalise_links(find_links(_text(page.body, page.charset).strip(), params), page.url)


def homepage_feeds(fetcher: Fetcher, url: str) -> list[str]:
    """The feeds a homepage announces (``<link rel=alternate>``, else feed-like links)."""
    from trafilatura.feeds import FeedParameters, determine_feed

    page = fetcher.fetch(url, accept=FEED_TYPES)
    parts = urlsplit(page.url)
    params = FeedParameters(f"{parts.scheme}://{parts.netloc}", parts.hostname or "", page.url)
    return _normalise_links(determine_feed(_text(page.body, page.charset), params), page.url)


def sitemap_links(fetcher: Fetcher, url: str, failures: list[Candidate], source: str) -> list[str]:
    """Page links of a sitemap, following nested sitemaps (index files) up to a cap."""
    from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SitemapObject

    class _Sitemap(SitemapObject):
        """Trafilatura's sitemap parser; our fetcher, and links kept as the site lists them."""

        def fetch(self) -> None:
            self.seen.add(self.current_url)
            try:
                page = fetcher.fetch(self.current_url, accept=FEED_TYPES)
            except FetchError as exc:
                if self.current_url == url:
                    raise
                failures.append(_failed(self.current_url, source, exc))
                self.content = ""
                return
            self.content = _text(page.body, page.charset)

        def handle_link(self, link: str) -> None:
            link = urldefrag(urljoin(self.current_url, link.strip())).url
            if link == self.current_url or urlsplit(link).scheme not in ("http", "https"):
                return
            if DETECT_SITEMAP_LINK.search(link):
                self.sitemap_urls.append(link)
            else:
                self.urls.append(link)

    parts = urlsplit(url)
    sitemap = _Sitemap(f"{parts.scheme}://{parts.netloc}", parts.hostname or "", [url])
    while sitemap.sitemap_urls and len(sitemap.seen) < MAX_SITEMAPS_PER_SOURCE:
        sitemap.current_url = sitemap.sitemap_urls.pop(0)
        sitemap.fetch()
        sitemap.process()
        sitemap.sitemap_urls = [s for s in sitemap.sitemap_urls if s not in sitemap.seen]
    return list(dict.fromkeys(sitemap.urls))


def _failed(target: str, source: str, exc: FetchError | DiscoveryError) -> Candidate:
    if isinstance(exc, RobotsDisallowed):
        return Candidate(target, source, skip_reason=exc.reason)
    return Candidate(
        target,
        source,
        failure={
            "stage": "discover",
            "reason": exc.reason,
            "http_status": exc.context.get("http_status"),
            "error_type": type(exc).__name__,
        },
    )


def _apply_rules(spec: SourceSpec, targets: list[str], default_max: int | None) -> list[Candidate]:
    """Candidates for the links of one source, with include/exclude and the per-run cap."""
    limit = spec.max_articles if spec.max_articles is not None else default_max
    out: list[Candidate] = []
    kept = 0
    for target in targets:
        reason = None
        if spec.include and not any(re.search(p, target) for p in spec.include):
            reason = f"matches no include pattern of {spec.label}"
        elif any(re.search(p, target) for p in spec.exclude):
            reason = f"matches an exclude pattern of {spec.label}"
        elif limit is not None and kept >= limit:
            reason = f"beyond max_articles={limit} of {spec.label}"
        else:
            kept += 1
        out.append(Candidate(target, spec.label, spec.language, skip_reason=reason))
    return out


def _expand(spec: SourceSpec, settings: Settings, fetcher: Fetcher | None) -> list[Candidate]:
    kind = spec.kind
    if kind == "auto":
        path = Path(spec.target)
        if "://" in spec.target:
            kind = "url"
        elif path.is_dir():
            kind = "folder"
        elif path.is_file() and path.suffix in LIST_SUFFIXES:
            return [c for s in read_sources_file(path) for c in _expand(s, settings, fetcher)]
        else:
            kind = "page"  # a missing path fails when read: accounted for, never dropped here
    if kind in ("url", "page"):
        return _apply_rules(spec, [spec.target], None)
    if kind == "folder":
        folder = Path(spec.target)
        if not folder.is_dir():
            return [_failed(spec.target, spec.label, DiscoveryError("no such folder"))]
        pages = [str(p) for p in sorted(folder.iterdir()) if p.is_file() and _is_page(p)]
        return _apply_rules(spec, pages, None)
    if fetcher is None:
        with Fetcher(settings) as own:
            return _expand(spec, settings, own)
    failures: list[Candidate] = []
    try:
        if kind == "feed":
            links = feed_links(fetcher, spec.target, spec.language)
        elif kind == "sitemap":
            links = sitemap_links(fetcher, spec.target, failures, spec.label)
        else:
            links = []
            feeds = homepage_feeds(fetcher, spec.target)
            if not feeds:
                raise DiscoveryError("no feed announced on the homepage", source=spec.target)
            for feed in feeds[:MAX_FEEDS_PER_HOMEPAGE]:
                try:
                    links.extend(feed_links(fetcher, feed, spec.language))
                except FetchError as exc:
                    failures.append(_failed(feed, spec.label, exc))
            links = list(dict.fromkeys(links))
    except (FetchError, DiscoveryError) as exc:
        return [_failed(spec.target, spec.label, exc)]
    return [*_apply_rules(spec, links, settings.max_articles_per_source), *failures]


def discover(
    sources: Sequence[str | dict[str, Any] | Candidate | SourceSpec],
    settings: Settings | None = None,
    fetcher: Fetcher | None = None,
) -> list[Candidate]:
    """Expand sources into candidates, in order, each target once (the first wins).

    Strings are URLs, paths and sources files; dicts are candidates that crossed a task
    boundary as JSON and pass through unchanged, as do :class:`Candidate` objects.
    """
    from pipeline.settings import get_settings

    settings = settings or get_settings()
    found: list[Candidate] = []
    for source in sources:
        if isinstance(source, Candidate):
            found.append(source)
        elif isinstance(source, dict):
            found.append(Candidate.from_dict(source))
        elif isinstance(source, SourceSpec):
            found.extend(_expand(source, settings, fetcher))
        else:
            found.extend(_expand(SourceSpec("auto", str(source)), settings, fetcher))
    unique: dict[str, Candidate] = {}
    for candidate in found:
        candidate = _without_credentials(candidate, settings)
        unique.setdefault(candidate.target, candidate)
    return list(unique.values())


def _without_credentials(candidate: Candidate, settings: Settings) -> Candidate:
    """The candidate with the userinfo of its URLs masked (``http://***@host/``); a URL with
    credentials is refused here, so no outcome, dead letter, log or XCom holds the password."""
    target, source = redact_url(candidate.target), redact_url(candidate.source)
    if (target, source) == (candidate.target, candidate.source):
        return candidate
    failure = candidate.failure
    if target != candidate.target and failure is None and candidate.skip_reason is None:
        try:
            check_destination(candidate.target, settings)  # raises before any DNS lookup
        except RefusedURLError as exc:
            failure = {"stage": exc.stage, "reason": exc.reason, "error_type": type(exc).__name__}
    return replace(candidate, target=target, source=source, failure=failure)
