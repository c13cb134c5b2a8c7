"""Benchmark: event splitting against Trafilatura's own extraction, side by side.

``python -m pipeline.events.bench [PAGES_DIR] [--repeat N]`` extracts every page of the
corpus with :func:`pipeline.extract.extract_article`, splits each article with
:func:`pipeline.events.split_events`, and prints both total times and their ratio
(splitting / extraction; the target is at most 1.0). Each figure is the best of ``repeat``
passes so that a noisy neighbour does not decide the ratio.
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PAGES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "pages"


@dataclass(frozen=True)
class BenchResult:
    pages: int
    articles: int
    events: int
    extract_seconds: float
    split_seconds: float

    @property
    def ratio(self) -> float:
        return self.split_seconds / self.extract_seconds if self.extract_seconds else 0.0

    def summary(self) -> str:
        return (
            f"pages {self.pages}, articles {self.articles}, events {self.events}\n"
            f"trafilatura extraction {self.extract_seconds * 1000:9.1f} ms\n"
            f"event splitting        {self.split_seconds * 1000:9.1f} ms\n"
            f"ratio split/extract    {self.ratio:9.3f}"
        )


def run_bench(pages_dir: Path, repeat: int = 3) -> BenchResult:
    """Time extraction and splitting over every ``*.html.gz`` page of ``pages_dir``."""
    from pipeline.errors import NotAnArticleError
    from pipeline.events import split_events
    from pipeline.extract import extract_article

    pages = sorted(pages_dir.glob("*.html.gz"))
    raw = [(p.name, gzip.decompress(p.read_bytes())) for p in pages]
    best_extract = best_split = float("inf")
    articles = []
    events = 0
    for _ in range(max(1, repeat)):
        articles = []
        started = time.perf_counter()
        for name, html in raw:
            try:
                articles.append(extract_article(html, "file://" + name))
            except NotAnArticleError:
                continue
        best_extract = min(best_extract, time.perf_counter() - started)
        started = time.perf_counter()
        events = sum(len(split_events(a)) for a in articles)
        best_split = min(best_split, time.perf_counter() - started)
    return BenchResult(len(pages), len(articles), events, best_extract, best_split)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.events.bench", description=__doc__)
    parser.add_argument("pages_dir", nargs="?", default=str(DEFAULT_PAGES))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result = run_bench(Path(args.pages_dir), args.repeat)
    print(result.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
