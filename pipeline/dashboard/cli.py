"""``python -m pipeline dashboard [--port N] [--build-only] [--rebuild-docs]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pipeline.settings import Settings, get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommand's options, so ``pipeline.cli`` can register it in one line."""
    parser.add_argument("--port", type=int, default=None, help="default Settings.dashboard_port")
    parser.add_argument(
        "--build-only", action="store_true", help="write the overview page and exit"
    )
    parser.add_argument(
        "--rebuild-docs", action="store_true", help="rebuild the whole Data Docs site first"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.dashboard.render import build_overview
    from pipeline.dashboard.server import serve_dashboard

    if args.rebuild_docs:
        from pipeline.validate import build_data_docs

        build_data_docs(settings)
    if args.build_only:
        print(build_overview(settings))
        return 0
    serve_dashboard(settings, args.port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline dashboard", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv), get_settings())


if __name__ == "__main__":
    raise SystemExit(main())
