"""Faults during a run, then recovery: every article accounted for, every event once.

Each test breaks something real (the broker process, the GX store's folder, the SQLite
ledger, the pipeline process itself with SIGKILL), checks the run fails clearly, repairs
it, runs again and then reads every topic with ``read_committed``: each expected event is
there exactly once, and every page has its outcome.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline import publish, runner
from pipeline.airflow_local import settings_env
from pipeline.errors import LedgerError, PublishError, ValidationFailed
from pipeline.kafka.broker import LocalBroker
from pipeline.ledger import Ledger
from pipeline.models import DeadLetter
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT, broker_settings
from tests.support.committed import read_committed
from tests.support.fault_server import FaultServer

pytestmark = pytest.mark.integration
LIB = REPO_ROOT / ".state" / "kafka" / "lib"
# Pages that ingest, one that holds no article and one that is missing: a dead letter each.
PAGES = ["fr-001", "fr-002", "en-003", "en-008", "en-013"]


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of this test's own, since tests here stop and kill it."""
    own = LocalBroker(tmp_path / "broker", lib_dir=LIB)
    own.start()
    try:
        yield own
    finally:
        own.stop()


def _settings(broker: LocalBroker, tmp_path: Path, **extra: Any) -> Settings:
    state = broker.read_state()
    assert state is not None
    return broker_settings(
        state.bootstrap_servers,
        tmp_path,
        f"t{uuid.uuid4().hex[:8]}",
        kafka_delivery_timeout_s=8.0,
        ledger_lock_timeout_s=1.0,
        **extra,
    )


def _sources(server: FaultServer) -> list[str]:
    return [server.page_url(name) for name in PAGES] + [server.url + "/nothing-here.html"]


def _expected(sources: list[str], settings: Settings) -> tuple[set[str], set[str]]:
    """The article and event ids a clean run publishes (the chain without Kafka)."""
    acquired = runner.acquire(sources, settings.model_copy(update={"ledger_url": "sqlite://"}))
    split_out = runner.split(acquired.articles)
    checked = runner.validate(split_out.articles, split_out.events, settings, "expected")
    return {a.article_id for a in checked.articles}, {e.event_id for e in checked.events}


def _committed(settings: Settings) -> tuple[Counter[str], Counter[str], list[DeadLetter]]:
    """Article ids and event ids as a ``read_committed`` consumer sees them, with counts."""
    seen = read_committed(settings, idle_timeout_ms=4000)
    return seen.articles, seen.events, seen.dead_letters


def _assert_exactly_once(settings: Settings, sources: list[str]) -> None:
    want_articles, want_events = _expected(sources, settings)
    articles, events, dead = _committed(settings)
    assert want_events and set(events) == want_events
    assert set(events.values()) == {1}, "an event was read more than once"
    assert set(articles) == want_articles and set(articles.values()) == {1}
    assert {d.source for d in dead if d.event_id is None} >= {sources[-1]}  # the missing page
    with Ledger.from_settings(settings) as ledger:
        assert ledger.counts()["articles"] == len(want_articles)


def _accounted(summary: runner.RunSummary, sources: list[str]) -> None:
    """Every page has exactly one outcome, and every failure a dead letter."""
    assert summary.discovered == len(sources)
    assert sum(summary.outcomes.values()) == len(sources)
    assert summary.failed >= 1  # the missing page, with its dead letter:
    assert sources[-1] in {failure["source"] for failure in summary.failures}


def _during_send(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` in a thread as soon as the run starts sending its records."""
    real = publish._send_all

    def send_and_act(producer: Any, messages: list[publish.Message]) -> Any:
        threading.Thread(target=action, daemon=True).start()
        return real(producer, messages)

    monkeypatch.setattr(publish, "_send_all", send_and_act)


def test_broker_down_at_start_fails_before_fetching_then_the_retry_delivers_once(
    broker: LocalBroker, fault_server: FaultServer, tmp_path: Path
) -> None:
    settings = _settings(broker, tmp_path)
    sources = _sources(fault_server)
    broker.stop()
    hits = sum(fault_server.hits.values())
    with pytest.raises(PublishError, match="Kafka"):
        runner.run_once(sources, settings)
    assert sum(fault_server.hits.values()) == hits, "pages were fetched with Kafka down"

    broker.start()
    summary = runner.run_once(sources, settings)
    _accounted(summary, sources)
    assert summary.ingested == len(PAGES)
    _assert_exactly_once(settings, sources)


def test_broker_killed_mid_publish_then_the_retry_delivers_once(
    broker: LocalBroker,
    fault_server: FaultServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(broker, tmp_path)
    sources = _sources(fault_server)
    with monkeypatch.context() as patch:
        _during_send(patch, lambda: broker.stop(kill=True))
        with pytest.raises(PublishError):
            runner.run_once(sources, settings)
    with Ledger.from_settings(settings) as ledger:
        assert ledger.counts()["articles"] == 0  # nothing recorded as published

    broker.start()  # recovers its log after the crash
    summary = runner.run_once(sources, settings)
    _accounted(summary, sources)
    assert summary.ingested == len(PAGES)
    _assert_exactly_once(settings, sources)


def test_an_unwritable_gx_store_fails_the_run_before_publishing(
    broker: LocalBroker, fault_server: FaultServer, tmp_path: Path
) -> None:
    settings = _settings(broker, tmp_path)
    sources = _sources(fault_server)
    # A file where the validation results folder should be: no write can succeed there,
    # even as root (which file modes would not stop).
    store = settings.gx_results_dir / "validations"
    store.parent.mkdir(parents=True)
    store.write_text("not a folder")
    with pytest.raises(ValidationFailed, match="GX results store is not writable"):
        runner.run_once(sources, settings)
    articles, events, dead = _committed(settings)
    assert not articles and not events and not dead  # nothing went out
    with Ledger.from_settings(settings) as ledger:
        assert ledger.counts()["articles"] == 0

    store.unlink()
    summary = runner.run_once(sources, settings)
    _accounted(summary, sources)
    _assert_exactly_once(settings, sources)


def test_a_ledger_locked_after_the_commit_is_reconciled_by_the_retry(
    broker: LocalBroker,
    fault_server: FaultServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worst moment for a lock: Kafka committed, the ledger cannot record it."""
    settings = _settings(broker, tmp_path)
    sources = _sources(fault_server)
    Ledger.from_settings(settings).close()  # the file exists
    locker = sqlite3.connect(settings.state_dir / "ledger.db", timeout=0.1)
    real_send = publish.send_records

    def send_then_lock(*args: Any, **kwargs: Any) -> dict[str, int]:
        counts = real_send(*args, **kwargs)
        locker.execute("BEGIN EXCLUSIVE")
        return counts

    with monkeypatch.context() as patch:
        patch.setattr(publish, "send_records", send_then_lock)
        with pytest.raises(LedgerError, match="locked"):
            runner.run_once(sources, settings)
    articles, events, _ = _committed(settings)
    assert articles and events  # the transaction was committed before the lock bit

    # While the lock is held, the retry cannot reconcile: it fails before sending anything.
    with pytest.raises(LedgerError, match="locked"):
        runner.run_once(sources, settings)
    locker.rollback()
    locker.close()

    summary = runner.run_once(sources, settings)
    _accounted(summary, sources)
    assert summary.ingested == len(PAGES)  # published by the first attempt, now recorded
    _assert_exactly_once(settings, sources)


@pytest.mark.parametrize("crash", ["before-commit", "after-commit"])
def test_sigkill_while_publishing_then_the_rerun_delivers_once(
    broker: LocalBroker, fault_server: FaultServer, tmp_path: Path, crash: str
) -> None:
    settings = _settings(broker, tmp_path)
    sources = _sources(fault_server)
    env = {**os.environ, **settings_env(settings)}
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.crash_run", crash, "run", "--json", *sources],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]

    rerun = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--json", *sources],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _assert_exactly_once(settings, sources)
