"""The chain benchmark's page copies are distinct articles, and worker processes report back."""

from __future__ import annotations

import gzip
import os

import pytest

from pipeline.benchmarks.chain import distinct_copy
from pipeline.errors import NotAnArticleError, WorkerError
from pipeline.events import split_events
from pipeline.extract import extract_article
from pipeline.workers import run_in_processes, shard_by_group
from tests.conftest import CORPUS


def test_copies_of_every_corpus_page_are_distinct_articles_with_distinct_events() -> None:
    checked = 0
    for page in sorted((CORPUS / "pages").glob("*.html.gz")):
        html = gzip.decompress(page.read_bytes())
        url = f"http://127.0.0.1/{page.name}"
        try:
            first = extract_article(distinct_copy(html, 0), url)
            second = extract_article(distinct_copy(html, 1), url.replace("/", "/1/", 3))
        except NotAnArticleError:
            continue
        assert first.article_id != second.article_id, page.name
        assert first.content_sha256 != second.content_sha256, page.name
        ids = {e.event_id for e in split_events(first)}
        assert not ids & {e.event_id for e in split_events(second)}, page.name
        checked += 1
    assert checked >= 40


def _pid_and_sum(shard: list[int]) -> tuple[int, int]:
    return os.getpid(), sum(shard)


def _fail_on_odd(shard: list[int]) -> int:
    if sum(shard) % 2:
        raise ValueError("odd shard")
    return sum(shard)


def test_shards_keep_groups_whole_and_run_in_their_own_processes() -> None:
    items = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("d", 6)]
    shards = shard_by_group(items, lambda item: item[0], 2)
    assert sorted(i for shard in shards for i in shard) == sorted(items)
    for group in "abcd":
        assert sum(any(i[0] == group for i in shard) for shard in shards) == 1
    results = run_in_processes(_pid_and_sum, [[1, 2], [3, 4]])
    assert [total for _, total in results] == [3, 7]
    assert len({pid for pid, _ in results} | {os.getpid()}) == 3


def test_a_failing_worker_is_reported_with_its_error() -> None:
    with pytest.raises(WorkerError, match="odd shard"):
        run_in_processes(_fail_on_odd, [[2], [3]])
