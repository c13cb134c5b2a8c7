"""Shared fixtures: paths to the shared corpus, the real local Kafka broker, a local HTTP server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.settings import Settings

if TYPE_CHECKING:
    from tests.support.fault_server import FaultServer

REPO_ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its home at import: keep the tests' Airflow state out of ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", str(REPO_ROOT / ".state" / "airflow-tests"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
SHARED = REPO_ROOT.parent / "shared"
# The tests' HTTP servers listen on 127.0.0.1: allow loopback explicitly, nothing else private.
LOOPBACK: tuple[str, ...] = ("127.0.0.0/8",)
SEED = SHARED / "seed"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def seed_dir() -> Path:
    assert SEED.is_dir(), f"the shared seed is expected beside the checkout at {SEED}"
    return SEED


@pytest.fixture(scope="session")
def corpus_pages() -> Path:
    pages = CORPUS / "pages"
    assert pages.is_dir(), f"the shared corpus is expected beside the checkout at {pages}"
    return pages


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real broker: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a local KRaft broker for the session."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from pipeline.kafka.broker import LocalBroker

    broker = LocalBroker(
        tmp_path_factory.mktemp("kafka"), lib_dir=REPO_ROOT / ".state" / "kafka" / "lib"
    )
    state = broker.start()
    try:
        yield state.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture()
def topic_prefix() -> str:
    """A unique prefix so each test reads only the topics it wrote."""
    return f"t{uuid.uuid4().hex[:10]}"


def broker_settings(bootstrap: str, tmp_path: Path, prefix: str, **extra: Any) -> Settings:
    """Settings for a test against a real broker: its own topics (under ``prefix``), its own
    state folder, loopback fetching allowed and quick retries."""
    options: dict[str, Any] = {
        "state_dir": tmp_path / "state",
        "kafka_bootstrap_servers": bootstrap,
        **Settings.topics_under(prefix),
        "topic_partitions": 2,
        "allowed_networks": LOOPBACK,
        "per_host_rate_per_s": 200.0,
        "fetch_backoff_base_s": 0.05,
    }
    return Settings(**{**options, **extra})


@pytest.fixture()
def kafka_settings(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Settings:
    return broker_settings(kafka_bootstrap, tmp_path, topic_prefix)


@pytest.fixture(scope="session")
def sample_server() -> Iterator[str]:
    """The project's sample site served over HTTP on 127.0.0.1."""
    from pipeline.demo import SAMPLES, serve_folder

    with serve_folder(SAMPLES) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def seed_server(seed_dir: Path) -> Iterator[str]:
    """The shared reference article's HTML served over HTTP on 127.0.0.1."""
    from pipeline.demo import serve_folder

    with serve_folder(seed_dir) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def fault_server(corpus_pages: Path) -> Iterator[FaultServer]:
    """The shared corpus and the fault endpoints over HTTP on 127.0.0.1 (read-only use)."""
    from tests.support.fault_server import serve_faults

    with serve_faults(corpus_pages) as server:
        yield server


def fetch_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for tests against local servers: loopback allowed, fast limits and retries."""
    values: dict[str, object] = {
        "state_dir": tmp_path / "state",
        "allowed_networks": LOOPBACK,
        "per_host_rate_per_s": 500.0,
        "per_host_concurrency": 8,
        "fetch_concurrency": 8,
        "fetch_timeout_s": 1.0,
        "fetch_connect_timeout_s": 1.0,
        "fetch_retries": 2,
        "fetch_backoff_base_s": 0.05,
        "fetch_backoff_max_s": 2.0,
        "fetch_max_bytes": 2_000_000,
        "fetch_max_redirects": 3,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the tests measured (see ``tests/support/figures.py``)."""
    from tests.support.figures import FIGURES

    if FIGURES:
        terminalreporter.section("figures measured by the tests")
        for text in FIGURES:
            terminalreporter.write_line(text)
