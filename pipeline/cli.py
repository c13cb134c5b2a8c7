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
    from pipeline.tasks import discover_sources

    sources = discover_sources(args.sources, None, settings)
    summary = runner.run_once(sources, settings)
    if args.json:
        _print_json(summary.as_dict())
        return 0
    print(f"discovered {summary.discovered}, ingested {summary.ingested}, failed {summary.failed}")
    for topic, count in summary.topics.items():
        print(f"  {topic:<28} {count}")
    for failure in summary.failures:
        print(f"  ! {failure['stage']}: {failure['source']}: {failure['reason']}")
    return 0


def cmd_consume(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.kafka.client import make_consumer

    consumer = make_consumer(
        settings, args.topic, from_beginning=args.from_beginning, timeout_ms=args.timeout_ms
    )
    seen = 0
    try:
        for record in consumer:
            _print_json(record.value)
            seen += 1
            if args.max is not None and seen >= args.max:
                break
    finally:
        consumer.close()
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
    p.set_defaults(func=cmd_consume)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args, get_settings()))
