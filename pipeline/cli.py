"""Command-line interface: the same functions the DAG's tasks call, without a scheduler."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.settings import Settings, get_settings


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def cmd_extract(args: argparse.Namespace, settings: Settings) -> int:
    """Print events as JSON lines; failures as dead-letter JSON on stderr. Needs no Kafka or GX."""
    from pipeline import runner

    acquired = runner.acquire(args.sources, settings)
    split_out = runner.split(acquired.articles)
    for event in split_out.events:
        _print_json(event.model_dump(mode="json"))
    failures = [*acquired.dead_letters, *split_out.dead_letters]
    for dead in failures:
        sys.stderr.write(json.dumps(dead.model_dump(mode="json"), ensure_ascii=False) + "\n")
    return 1 if failures else 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the whole chain once and print the summary."""
    from pipeline import runner
    from pipeline.errors import PipelineError, ValidationFailed
    from pipeline.tasks import discover_sources

    sources = discover_sources(args.sources, None, settings)
    try:
        summary = runner.run_once(sources, settings)
    except ValidationFailed as exc:  # the "fail" policy: nothing of the run was published
        sys.stderr.write(f"run held, nothing published: {exc}\n")
        return 2
    except PipelineError as exc:  # Kafka, the ledger: run it again once repaired
        sys.stderr.write(f"run failed, safe to retry: {exc}\n")
        return 3
    alert = summary.quality.get("alert")
    if args.json:
        _print_json(summary.as_dict())
        return 2 if alert else 0
    counts = ", ".join(f"{name} {count}" for name, count in summary.outcomes.items())
    print(f"discovered {summary.discovered}: {counts}")
    for topic, count in summary.topics.items():
        print(f"  {topic:<28} {count}")
    for failure in summary.failures:
        print(f"  ! {failure['stage']}: {failure['source']}: {failure['reason']}")
    if alert:
        print(f"  ! run-level expectations failed (published, alert policy): {alert}")
    return 2 if alert else 0


def cmd_consume(args: argparse.Namespace, settings: Settings) -> int:
    """Print typed records as JSON lines; with --group, commit after each printed record."""
    from pipeline.consumer import TypedConsumer

    seen = 0
    with TypedConsumer(
        settings,
        [args.topic],
        group_id=args.group,
        from_beginning=args.from_beginning or args.group is None,
        idle_timeout_ms=args.timeout_ms,
    ) as consumer:
        for received in consumer:
            record = received.record
            _print_json(
                record.model_dump(mode="json")
                if record is not None
                else {"key": received.key, "tombstone": True}
            )
            consumer.commit(received)
            seen += 1
            if args.max is not None and seen >= args.max:
                break
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Send dead letters through the pipeline again and print what happened."""
    from dataclasses import asdict

    from pipeline.consumer import replay_dead_letters

    report = replay_dead_letters(settings, stages=args.stage or None)
    _print_json(asdict(report))
    return 0


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    """List the events held for review, or accept or reject one (the decision is published)."""
    from pipeline import review

    if args.action == "list":
        for item in review.pending(settings):
            event = item.event
            print(
                f"{item.review_id}  {event.event_type:<15} {item.reason}\n"
                f"    {event.article.url}\n    {event.evidence.text[:160]}"
            )
        return 0
    if not args.review_id:
        sys.stderr.write(f"review {args.action} needs the item's id (see `review list`)\n")
        return 2
    try:
        decided = review.decide(
            settings, args.review_id, accept=args.action == "accept", note=args.note
        )
    except review.ReviewError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    _print_json(decided.model_dump(mode="json", exclude={"event"}))
    return 0


def cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.kafka.client import local_broker

    broker = local_broker(settings)
    if args.action == "fetch":
        print(broker.fetch())
    elif args.action == "start":
        state = broker.start()
        print(state.bootstrap_servers)
    elif args.action == "stop":
        print("stopped" if broker.stop() else "not running")
    else:
        state = broker.status()
        if state is None:
            print("not running")
            return 1
        print(state.bootstrap_servers)
    return 0


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.schemas import write_schemas

    for path in write_schemas(Path(args.out)):
        print(path)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.demo import run_demo

    return run_demo(settings, use_airflow=not args.no_airflow)


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Print precision, recall and F1 per event type against a labelled set of pages."""
    from pipeline.evaluate import run_cli

    return run_cli(args.labels, args.pages_dir, as_json=args.json, verbose=args.verbose)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("extract", help="print the events of pages as JSON lines")
    p.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("run", help="run the whole chain once without the scheduler")
    p.add_argument(
        "sources", nargs="*", metavar="SOURCES", help="URLs, saved pages, folders, sources files"
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("consume", help="print a topic's messages as JSON lines")
    p.add_argument("topic")
    p.add_argument("--from-beginning", action="store_true")
    p.add_argument("--max", type=int, default=None)
    p.add_argument(
        "--timeout-ms", type=int, default=5000, help="stop after this long without a message"
    )
    p.add_argument("--group", default=None, help="consumer group: resume where it left off")
    p.set_defaults(func=cmd_consume)

    p = sub.add_parser("dashboard", help="serve the data-quality dashboard on 127.0.0.1")
    from pipeline.dashboard.cli import add_arguments as dashboard_arguments
    from pipeline.dashboard.cli import run as dashboard_run

    dashboard_arguments(p)
    p.set_defaults(func=dashboard_run)

    p = sub.add_parser("replay", help="send dead letters through the pipeline again")
    p.add_argument("--stage", action="append", help="only dead letters of this stage (repeatable)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("review", help="events held for review: list, accept or reject them")
    p.add_argument("action", choices=["list", "accept", "reject"])
    p.add_argument("review_id", nargs="?", help="the item's id (accept, reject)")
    p.add_argument("--note", default=None, help="why, kept with the decision")
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("kafka", help="manage the local development broker")
    p.add_argument("action", choices=["start", "stop", "status", "fetch"])
    p.set_defaults(func=cmd_kafka)

    p = sub.add_parser("schemas", help="write the event contract's JSON Schemas")
    p.add_argument("--out", default="schemas")
    p.set_defaults(func=cmd_schemas)

    p = sub.add_parser(
        "demo", help="run the ingestion DAG on the bundled sample and print events per topic"
    )
    p.add_argument("--no-airflow", action="store_true", help="run the chain without Airflow")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "bench", help="time the whole chain against plain Trafilatura on the corpus pages"
    )
    from pipeline.benchmarks.chain import add_arguments as bench_arguments
    from pipeline.benchmarks.chain import run_cli as bench_run

    bench_arguments(p)
    p.set_defaults(func=bench_run)

    p = sub.add_parser("evaluate", help="score the event splitter against labelled pages")
    p.add_argument("labels", metavar="LABELS.jsonl")
    p.add_argument("pages_dir", metavar="PAGES_DIR")
    p.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    p.add_argument("--verbose", action="store_true", help="list missed and false events")
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    return int(args.func(args, settings))


def configure_logging(settings: Settings) -> None:
    """Log to stderr at ``PIPELINE_LOG_LEVEL``, with every secret of the settings masked."""
    import logging

    from pipeline.secrets import install_log_redaction

    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpcore's DEBUG trace is wire level (raw request and response headers, cookies
    # included): not wanted in a pipeline's logs even at DEBUG.
    logging.getLogger("httpcore").setLevel(
        max(logging.INFO, logging.getLevelName(settings.log_level))
    )
    install_log_redaction(settings)
