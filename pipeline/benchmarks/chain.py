"""The whole chain against plain Trafilatura, on the same pages, in one run.

    python -m pipeline bench [--articles 1000] [--json PATH] [--markdown docs/benchmarks.md]
        [--no-airflow]

The corpus pages (``../shared/corpus/pages``) are repeated to ``--articles`` pages, each copy
made distinct (its own URL and canonical URL, a copy number in its first paragraph) so the
pipeline treats every copy as a new article, and served by a local HTTP server in its own
process. Then, on those same bytes:

1. plain Trafilatura: ``trafilatura.extract`` with the pipeline's options and metadata (the
   work the pipeline asks of it), one process, pages in memory: the reference;
2. the whole chain without the scheduler (:func:`pipeline.runner.run_once`: fetch over HTTP,
   extract, split, validate with GX, publish to the real local broker, record) in one
   process, with the seconds of each stage and the peak memory;
3. the same chain with the pages shared among 2 worker processes (each its own state folder,
   ledger and transactional producer), for the speed-up;
4. the ``news_ingestion`` DAG through ``airflow dags test`` on the same pages, for the time
   Airflow adds per article.

Near-duplicate detection is off (``near_duplicate_distance=-1``): the copies are the same
stories, and the point is to time every stage on every page. The per-host rate limit is
raised for the local server, and the run-level bounds (tuned for a news feed) are opened. Figures go to standard output, to ``--json`` and to a markdown
table (``--markdown``), with the machine described.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import platform
import re
import resource
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.settings import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PAGES = REPO_ROOT.parent / "shared" / "corpus" / "pages"
DEFAULT_MARKDOWN = REPO_ROOT / "docs" / "benchmarks.md"
STAGES: tuple[str, ...] = (
    "discover",
    "fetch",
    "extract",
    "split",
    "validate",
    "publish",
    "record",
)

_TAG = re.compile(rb"<(?:link|meta)\s[^>]*>", re.I)
_PAGE_URL_TAG = re.compile(rb"rel=[\"']?canonical|(?:property|name)=[\"'](?:og|twitter):url", re.I)
_TAG_URL = re.compile(rb"(?:href|content)=[\"'](https?://[^\"']+)", re.I)
_JSON_LD_URL = re.compile(rb"\"(?:mainEntityOfPage|@id|url)\"\s*:\s*\"(https?://[^\"]+)\"")
_TEXT_START = re.compile(rb"<p(?:\s[^>]*)?>|<br\s*/?>", re.I)


def page_urls(html: bytes) -> set[bytes]:
    """The addresses a page gives for itself: canonical link, og/twitter URL, JSON-LD ids."""
    urls = {
        found.group(1)
        for tag in _TAG.findall(html)
        if _PAGE_URL_TAG.search(tag) and (found := _TAG_URL.search(tag))
    }
    return urls | set(_JSON_LD_URL.findall(html))


def distinct_copy(html: bytes, copy: int) -> bytes:
    """``html`` as a distinct page: its own address (every address the page gives for itself
    gets a copy suffix, wherever it occurs) and the copy's number at the start of every
    paragraph and line, so its text, article id and event ids are its own."""
    for url in sorted(page_urls(html), key=len, reverse=True):
        html = html.replace(url, url.rstrip(b"/") + b"/copy-%d" % copy)
    return _TEXT_START.sub(lambda m: m.group(0) + b"(%d) " % copy, html)


def page_paths(pages_dir: Path, articles: int) -> list[str]:
    """The server paths of :func:`load_pages`, without building the pages."""
    names = [p.name.removesuffix(".html.gz") for p in sorted(pages_dir.glob("*.html.gz"))]
    if not names:
        raise SystemExit(f"no *.html.gz pages in {pages_dir}")
    return [f"/copy{i // len(names)}/{names[i % len(names)]}.html" for i in range(articles)]


def load_pages(pages_dir: Path, articles: int) -> dict[str, bytes]:
    """``articles`` distinct pages from the corpus, keyed by their path on the server."""
    originals = {
        p.name.removesuffix(".html.gz"): gzip.decompress(p.read_bytes())
        for p in sorted(pages_dir.glob("*.html.gz"))
    }
    pages: dict[str, bytes] = {}
    for path in page_paths(pages_dir, articles):
        copy, name = path.split("/")[1].removeprefix("copy"), path.split("/")[2]
        pages[path] = distinct_copy(originals[name.removesuffix(".html")], int(copy))
    return pages


def _serve(pages: dict[str, bytes] | Callable[[], dict[str, bytes]], conn: Any) -> None:
    if callable(pages):
        pages = pages()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    conn.send(server.server_address[1])
    server.serve_forever()


class PageServer:
    """The pages served over HTTP from a process of their own (it takes no time from ours)."""

    def __init__(self, pages: dict[str, bytes] | Callable[[], dict[str, bytes]]) -> None:
        """``pages`` by path, or a function the server's process calls to build them (so
        they take no memory in this process)."""
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(pages, send), daemon=True)
        self._process.start()
        self.url = f"http://127.0.0.1:{receive.recv()}"

    def close(self) -> None:
        self._process.terminate()
        self._process.join()


@dataclass
class ChainRun:
    """One run of the chain over all pages, in ``workers`` processes."""

    workers: int
    seconds: float
    pages: int
    ingested: int
    events: int
    dead_letters: int
    outcomes: dict[str, int] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


def trafilatura_reference(pages: dict[str, bytes], base_url: str, metadata: bool) -> float:
    """Pages per second of plain ``trafilatura.extract`` with the pipeline's options."""
    import trafilatura

    from pipeline.extract import EXTRACTION_OPTIONS

    options = EXTRACTION_OPTIONS.kwargs()
    started = time.perf_counter()
    for path, html in pages.items():
        trafilatura.extract(html, url=base_url + path, with_metadata=metadata, **options)
    return len(pages) / (time.perf_counter() - started)


def bench_settings(base: Settings, state_dir: Path, topic_prefix: str) -> Settings:
    """The benchmark's settings: its own state and topics, the local server allowed, and
    the broker of ``base`` (the local development broker unless one is configured)."""
    from pipeline.kafka.client import resolve_bootstrap_servers

    return base.model_copy(
        update={
            "kafka_bootstrap_servers": resolve_bootstrap_servers(base),
            "state_dir": state_dir,
            **base.topics_under(topic_prefix),
            "allowed_networks": ("127.0.0.0/8",),
            "per_host_rate_per_s": 10000.0,
            "near_duplicate_distance": -1,
            # The run-level bounds are tuned for a news feed, not for this mix of corpus
            # pages: they are opened, and every expectation still runs (same cost).
            "run_min_events_per_article": 0.0,
            "run_max_events_per_article": 1e6,
            "run_max_dead_letter_share": 1.0,
            "run_max_invalid_event_share": 1.0,
            "run_max_articles_without_events_share": 1.0,
            "run_type_share_bounds": {},
        }
    )


def _chain_shard(job: tuple[list[str], Settings]) -> dict[str, Any]:
    from pipeline.runner import run_once

    urls, settings = job
    timings: dict[str, float] = {}
    summary = run_once(urls, settings, timings=timings)
    return {
        "ingested": summary.ingested,
        "events": sum(summary.events_by_type.values()),
        "dead_letters": len(summary.failures),
        "outcomes": summary.outcomes,
        "stages": timings,
    }


def run_chain(urls: list[str], settings: Settings, workers: int) -> ChainRun:
    """The chain over ``urls`` in ``workers`` processes (one: this process)."""
    from pipeline.workers import run_in_processes

    shards = [urls[i::workers] for i in range(workers)]
    jobs = [
        (shard, settings.model_copy(update={"state_dir": settings.state_dir / f"worker{i}"}))
        for i, shard in enumerate(shards)
    ]
    started = time.perf_counter()
    results = run_in_processes(_chain_shard, jobs)
    seconds = time.perf_counter() - started
    stages = {s: sum(r["stages"].get(s, 0.0) for r in results) for s in STAGES}
    return ChainRun(
        workers=workers,
        seconds=seconds,
        pages=len(urls),
        ingested=sum(r["ingested"] for r in results),
        events=sum(r["events"] for r in results),
        dead_letters=sum(r["dead_letters"] for r in results),
        outcomes={k: sum(r["outcomes"].get(k, 0) for r in results) for k in results[0]["outcomes"]},
        stages=stages,
    )


def run_airflow(urls: list[str], settings: Settings) -> float:
    """Seconds of one ``airflow dags test news_ingestion`` run over ``urls``."""
    from pipeline.airflow_local import dags_test

    started = time.perf_counter()
    result = dags_test(settings, "news_ingestion", {"urls": urls})
    seconds = time.perf_counter() - started
    if result.state != "success":
        raise RuntimeError(f"the DAG run ended {result.state}: {result.task_states}")
    return seconds


def machine() -> dict[str, Any]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else ""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": cpus,
        "cpu_model": model,
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(
    articles: int, pages_dir: Path, settings: Settings, *, airflow: bool = True
) -> dict[str, Any]:
    from pipeline.validate import import_gx

    import_gx()  # imports happen once per process: before the clocks start, as Trafilatura's
    pages = load_pages(pages_dir, articles)
    server = PageServer(pages)
    try:
        urls = [server.url + path for path in pages]
        reference = trafilatura_reference(pages, server.url, metadata=True)
        text_only = trafilatura_reference(pages, server.url, metadata=False)
        with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
            prefix = f"bench{uuid.uuid4().hex[:6]}"
            one = run_chain(urls, bench_settings(settings, Path(tmp) / "one", prefix + "a"), 1)
            rss = peak_rss_mb()
            two = run_chain(urls, bench_settings(settings, Path(tmp) / "two", prefix + "b"), 2)
            airflow_s = None
            if airflow:
                airflow_settings = bench_settings(settings, Path(tmp) / "airflow", prefix + "c")
                airflow_s = run_airflow(urls, airflow_settings)
    finally:
        server.close()
    total_stage_s = sum(one.stages.values()) or 1.0
    stage_share = {s: round(one.stages[s] / total_stage_s, 4) for s in STAGES}
    slowest = max(stage_share, key=lambda s: stage_share[s])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "articles": len(pages),
        "corpus_pages": len(list(pages_dir.glob("*.html.gz"))),
        "trafilatura_pages_per_s": round(reference, 2),
        "trafilatura_text_only_pages_per_s": round(text_only, 2),
        "pipeline_pages_per_s": round(one.pages_per_s, 2),
        "pipeline_events_per_s": round(one.events_per_s, 2),
        "ratio": round(one.pages_per_s / reference, 3),
        "pipeline_2_workers_pages_per_s": round(two.pages_per_s, 2),
        "speedup_2_workers": round(two.pages_per_s / one.pages_per_s, 3),
        "peak_rss_mb": round(rss, 1),
        "stage_share": stage_share,
        "stage_seconds": {s: round(one.stages[s], 3) for s in STAGES},
        "slowest_stage": slowest,
        "chain_seconds": round(one.seconds, 2),
        "chain_2_workers_seconds": round(two.seconds, 2),
        "ingested": one.ingested,
        "events": one.events,
        "dead_letters": one.dead_letters,
        "outcomes": one.outcomes,
        "ingested_2_workers": two.ingested,
        "events_2_workers": two.events,
        "airflow_seconds": round(airflow_s, 2) if airflow_s is not None else None,
        "airflow_overhead_ms_per_article": (
            round((airflow_s - one.seconds) / len(pages) * 1000, 1)
            if airflow_s is not None
            else None
        ),
        "producer": settings.kafka_producer,
    }


def markdown(figures: dict[str, Any]) -> str:
    m = figures["machine"]
    rows = [
        (
            "plain Trafilatura (`extract`, with metadata), 1 process",
            "pages/s",
            figures["trafilatura_pages_per_s"],
        ),
        (
            "plain Trafilatura, text only, 1 process",
            "pages/s",
            figures["trafilatura_text_only_pages_per_s"],
        ),
        ("whole chain, 1 process", "pages/s", figures["pipeline_pages_per_s"]),
        ("whole chain, 1 process", "events/s", figures["pipeline_events_per_s"]),
        ("chain / Trafilatura (target ≥ 0.70)", "ratio", figures["ratio"]),
        ("whole chain, 2 worker processes", "pages/s", figures["pipeline_2_workers_pages_per_s"]),
        ("speed-up of 2 workers (target ≥ 1.6)", "×", figures["speedup_2_workers"]),
        ("peak memory, 1-process run (target < 1024)", "MiB", figures["peak_rss_mb"]),
    ]
    if figures.get("airflow_seconds") is not None:
        rows += [
            ("`airflow dags test news_ingestion`, same pages", "s", figures["airflow_seconds"]),
            ("time Airflow adds per article", "ms", figures["airflow_overhead_ms_per_article"]),
        ]
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m pipeline bench` (see `pipeline/benchmarks/chain.py` for what each",
        "figure measures); CI runs it and prints the same figures. Re-run it to refresh this page.",
        "",
        f"Run on {figures['date']}: {m['cpus']} CPUs ({m['cpu_model'] or 'model unknown'}), "
        f"{m['memory_gib']} GiB, Python {m['python']}, {m['system']}; the Kafka broker "
        "(local, KRaft, one node), the page server and the pipeline share these CPUs. "
        f"Producer: {figures['producer']}.",
        "",
        f"{figures['articles']} articles: the {figures['corpus_pages']} corpus pages, repeated "
        "as distinct copies, served over local HTTP.",
        "",
        "| measure | unit | value |",
        "| --- | --- | ---: |",
        *(f"| {name} | {unit} | {value:,} |" for name, unit, value in rows),
        "",
        "Share of the 1-process chain's time per stage (slowest first):",
        "",
        "| stage | seconds | share |",
        "| --- | ---: | ---: |",
        *(
            f"| {stage} | {figures['stage_seconds'][stage]:.2f} | {share:.1%} |"
            for stage, share in sorted(figures["stage_share"].items(), key=lambda kv: -kv[1])
        ),
        "",
        f"Slowest stage: **{figures['slowest_stage']}**.",
        "",
        "Outcomes of the 1-process run: "
        + ", ".join(f"{k} {v}" for k, v in figures["outcomes"].items())
        + f"; events published {figures['events']}, dead letters {figures['dead_letters']} "
        "(pages without article text, pages in languages without a lexicon, events GX rejects). "
        f"2 workers: {figures['ingested_2_workers']} ingested, {figures['events_2_workers']} events.",
        "",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument(
        "--pages", type=Path, default=DEFAULT_PAGES, help="folder of *.html.gz pages"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--markdown", type=Path, default=DEFAULT_MARKDOWN, help="write the table here"
    )
    parser.add_argument("--no-airflow", action="store_true", help="skip the Airflow run")


def run_cli(args: argparse.Namespace, settings: Settings) -> int:
    figures = run(args.articles, args.pages, settings, airflow=not args.no_airflow)
    text = markdown(figures)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.benchmarks.chain")
    add_arguments(parser)
    return run_cli(parser.parse_args(argv), get_settings())


if __name__ == "__main__":
    raise SystemExit(main())
