"""Run the CLI and die by SIGKILL at a chosen point of publishing: a real crash.

    python -m tests.support.crash_run before-commit run URL...
    python -m tests.support.crash_run after-commit run URL...

``before-commit``: every record of the transaction was sent and confirmed by the broker,
then the process is killed before committing (the transaction stays open on the broker).
``after-commit``: the transaction is committed, then the process is killed before the
ledger records it. Both producer clients are patched, whichever the settings choose.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def _dying(commit: Callable[..., Any], when: str) -> Callable[..., Any]:
    def commit_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        if when == "before-commit":
            os.kill(os.getpid(), signal.SIGKILL)
        result = commit(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    return commit_then_die


def main(argv: list[str]) -> int:
    when, *cli_args = argv
    if when not in ("before-commit", "after-commit"):
        raise SystemExit(f"unknown crash point {when!r}")
    from kafka import KafkaProducer

    from pipeline.cli import main as cli_main
    from pipeline.kafka.librdkafka import LibrdkafkaProducer

    for cls in (KafkaProducer, LibrdkafkaProducer):
        cls.commit_transaction = _dying(cls.commit_transaction, when)  # type: ignore[method-assign]
    return cli_main(cli_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
