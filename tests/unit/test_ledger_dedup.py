"""The dedup ledger and the classification of re-fetched pages (no Kafka: publishing is
stood in for by recording, which is what the runner does after a confirmed publish)."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import runner
from pipeline.dedup import hamming, shingles, simhash
from pipeline.extract import extract_article
from pipeline.ledger import Ledger
from pipeline.models import Article
from tests.conftest import CORPUS, fetch_settings
from tests.support.fault_server import FaultServer, serve_faults

PAGES = ["fr-001", "fr-002", "en-003", "de-001"]


@pytest.fixture()
def server() -> Iterator[FaultServer]:
    """A server of our own: these tests change pages."""
    with serve_faults(CORPUS / "pages") as srv:
        yield srv


def change_text(server: FaultServer, name: str, text: str) -> None:
    """Edit one paragraph of the page's main text (a correction, as a newsroom makes)."""
    html = server.page(name).decode("utf-8")
    paragraphs = sorted(text.splitlines(), key=len, reverse=True)
    needle = next(p[:40] for p in paragraphs if p[:40] in html)
    changed = html.replace(needle, needle + " (corrigé)")
    assert extract_article(changed, "https://x.example/").text != text, "the edit must show"
    server.set_page(name, changed.encode())


def _run(server: FaultServer, state: Path, names: list[str] = PAGES) -> runner.StageOutput:
    settings = fetch_settings(state)
    out = runner.acquire([server.page_url(n) for n in names], settings)
    runner.record_published(out.articles, out.outcomes, settings)  # as after a publish
    return out


def test_simhash_is_close_for_copies_and_far_for_other_texts() -> None:
    text = " ".join(f"word{i} follows word{i + 1} in sentence {i}." for i in range(300))
    copy = text + " Distributed by Example Wire."
    other = " ".join(f"token{i} differs from token{i * 7} entirely {i}." for i in range(300))
    assert hamming(simhash(text), simhash(copy)) <= 3
    assert hamming(simhash(text), simhash(other)) > 10


def _simhash_by_definition(text: str) -> int:
    """Bit by bit, as the fingerprints stored in existing ledgers were computed."""
    weights = [0] * 64
    for gram in set(shingles(text)):
        value = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest())
        for bit in range(64):
            weights[bit] += 1 if (value >> bit) & 1 else -1
    return sum(1 << bit for bit, weight in enumerate(weights) if weight > 0)


def test_simhash_matches_its_definition_on_corpus_texts() -> None:
    texts = ["", "one", "one two three", "one two three four"]
    for page in sorted((CORPUS / "pages").glob("*.html.gz"))[:20]:
        texts.append(
            extract_article(gzip.decompress(page.read_bytes()), "https://x.example/").text
            if page.name.startswith(("fr", "en"))
            else gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
        )
    for text in texts:
        assert simhash(text) == _simhash_by_definition(text)


def test_ledger_versions_and_near_duplicates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    text = "The minister said the budget would grow next year. " * 20
    first = Article.build(url="https://a.example/x", text=text, version=1)
    second = Article.build(url="https://a.example/x", text=text + " Updated.", version=2)
    with Ledger(url) as ledger:
        assert ledger.latest(first.article_id) is None
        assert ledger.record_ingested([first]) == 1
        assert ledger.record_ingested([first]) == 0  # idempotent
        ledger.record_ingested([second])
        latest = ledger.latest(first.article_id)
        assert latest is not None and (latest.version, latest.content_sha256) == (
            2,
            second.content_sha256,
        )
        near = ledger.near_duplicates(simhash(text), 3, other_than="someone-else")
        assert [v.version for v, _ in near][:1] == [1]
        assert ledger.near_duplicates(simhash(text), 3, other_than=first.article_id) == []
    with Ledger(url) as reopened:  # it persists
        assert reopened.counts() == {"versions": 2, "articles": 1, "duplicates": 0}


def test_a_rerun_finds_every_page_unchanged(server: FaultServer, tmp_path: Path) -> None:
    first = _run(server, tmp_path)
    assert [o.outcome for o in first.outcomes] == ["pending"] * 4
    assert {a.version for a in first.articles} == {1}
    again = _run(server, tmp_path)
    assert [o.outcome for o in again.outcomes] == ["unchanged"] * 4
    assert again.articles == [] and again.dead_letters == []


def test_a_changed_page_becomes_a_new_version(server: FaultServer, tmp_path: Path) -> None:
    first = _run(server, tmp_path)
    change_text(server, "fr-002", first.articles[1].text)
    again = _run(server, tmp_path)
    assert [o.outcome for o in again.outcomes] == ["unchanged", "pending", "unchanged", "unchanged"]
    [changed] = again.articles
    old = next(a for a in first.articles if a.article_id == changed.article_id)
    assert changed.version == 2 and changed.content_sha256 != old.content_sha256


def test_a_syndicated_copy_is_marked_duplicate_not_ingested(
    server: FaultServer, tmp_path: Path
) -> None:
    original = server.page("en-003").decode("utf-8")
    copy = original.replace("https://www.reuters.com/", "https://syndicator.example/")
    server.set_page("copy-of-en-003", copy.encode())
    out = _run(server, tmp_path, ["en-003", "copy-of-en-003"])
    assert [o.outcome for o in out.outcomes] == ["pending", "duplicate"]
    dup = out.outcomes[1]
    assert dup.duplicate_of == out.articles[0].article_id and dup.distance == 0
    assert dup.article_id != dup.duplicate_of  # another canonical URL, the same text
    later = _run(server, tmp_path, ["copy-of-en-003"])  # also against the ledger, next run
    assert [o.outcome for o in later.outcomes] == ["duplicate"]
    with Ledger(fetch_settings(tmp_path).resolved_ledger_url) as ledger:
        assert ledger.counts()["duplicates"] == 1


def test_summary_outcomes_add_up_to_discovered(server: FaultServer, tmp_path: Path) -> None:
    out = runner.acquire(
        [server.page_url("fr-001"), server.page_url("fr-001", "private"), f"{server.url}/x"],
        fetch_settings(tmp_path),
    )
    summary = runner.summarize(out.outcomes, out.articles, [], out.dead_letters, {})
    assert summary.outcomes == {
        "ingested": 1,
        "unchanged": 0,
        "duplicate": 0,
        "skipped": 1,
        "failed": 1,
    }
    assert sum(summary.outcomes.values()) == summary.discovered == 3
    unpublished = runner.summarize(out.outcomes, [], [], out.dead_letters, {})
    assert unpublished.outcomes["failed"] == 2  # an article that was not published failed
