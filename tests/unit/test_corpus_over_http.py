"""Every corpus page, fetched over HTTP through the feed: the pipeline's text is exactly
``trafilatura.extract`` with the same options, and the language is the manifest's."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import trafilatura

from pipeline import runner
from pipeline.extract import EXTRACTION_OPTIONS, extract_article, find_date
from tests.conftest import CORPUS, fetch_settings
from tests.support.fault_server import FaultServer


@pytest.fixture(scope="module")
def manifest() -> dict[str, str]:
    with (CORPUS / "MANIFEST.csv").open(encoding="utf-8") as f:
        return {row["file"].removesuffix(".html.gz"): row["language"] for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def acquired(
    fault_server: FaultServer, tmp_path_factory: pytest.TempPathFactory
) -> runner.StageOutput:
    listing = tmp_path_factory.mktemp("corpus") / "sources.yaml"
    listing.write_text(f"sources:\n  - feed: {fault_server.url}/feed.xml\n    max_articles: 100\n")
    settings = fetch_settings(listing.parent, fetch_timeout_s=20.0, min_article_chars=0)
    return runner.acquire([str(listing)], settings)


def _name(url: str | None) -> str:
    return (url or "").rsplit("/", 1)[-1].removesuffix(".html")


def test_every_corpus_page_is_acquired(
    acquired: runner.StageOutput, manifest: dict[str, str]
) -> None:
    assert len(manifest) == 60
    assert [o.outcome for o in acquired.outcomes] == ["pending"] * 60
    assert sorted(_name(a.fetched_url) for a in acquired.articles) == sorted(manifest)


def test_text_equals_plain_trafilatura_extract(
    acquired: runner.StageOutput, fault_server: FaultServer
) -> None:
    unequal = []
    for article in acquired.articles:
        html = fault_server.page(_name(article.fetched_url))
        expected = trafilatura.extract(
            html.decode("utf-8"), url=article.fetched_url, **EXTRACTION_OPTIONS.kwargs()
        )
        if article.text != expected:
            unequal.append(_name(article.fetched_url))
    assert unequal == [], f"{len(unequal)}/60 differ"


def test_language_is_detected_for_every_page(
    acquired: runner.StageOutput, manifest: dict[str, str]
) -> None:
    wrong = {
        _name(a.fetched_url): a.language
        for a in acquired.articles
        if a.language != manifest[_name(a.fetched_url)]
    }
    assert wrong == {}


def test_canonical_url_and_date_are_kept(acquired: runner.StageOutput) -> None:
    fr001 = next(a for a in acquired.articles if _name(a.fetched_url) == "fr-001")
    assert fr001.url.startswith("https://www.lefigaro.fr/international/guerre-en-ukraine")
    assert (fr001.published_at, fr001.published_at_source) == ("2024-11-22", "metadata")
    assert sum(a.published_at is not None for a in acquired.articles) == 60


def test_date_falls_back_to_the_url_then_the_text() -> None:
    assert find_date("2024-01-02", "https://x.example/2023/05/06/a", "") == (
        "2024-01-02",
        "metadata",
    )
    assert find_date(None, "https://x.example/news/2024/11/22/a", "") == ("2024-11-22", "url")
    assert find_date(None, "https://x.example/a", "Par X, le 3 mars 2025 à 10h") == (
        "2025-03-03",
        "text",
    )
    assert find_date(None, "https://x.example/a", "Updated March 4, 2025") == ("2025-03-04", "text")
    assert find_date(None, "https://x.example/a", "no date") == (None, None)


def test_language_hint_is_only_a_fallback(tmp_path: Path) -> None:
    body = "<html><body><article><p>" + "Lorem ipsum dolor sit amet. " * 20 + "</p></article>"
    article = extract_article(body, "https://x.example/a", min_chars=0, language_hint="it")
    assert article.language == "it"
    french = "<html><body><article><p>" + "Le chat est dans la maison avec les enfants. " * 10
    article = extract_article(french, "https://x.example/b", min_chars=0, language_hint="it")
    assert article.language == "fr"
