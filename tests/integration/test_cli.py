"""The CLI as a user runs it: `extract` needs no Kafka nor GX; `run --json` accounts for every input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from pipeline.airflow_local import settings_env
from pipeline.models import Event
from pipeline.settings import Settings
from tests.conftest import REPO_ROOT, SEED


def _cli(
    *args: str, env: dict[str, str] | None = None, clean: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; ``clean`` runs it with exactly ``env`` instead of on top of ours."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=dict(env or {}) if clean else {**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


def test_extract_prints_contract_events_for_the_reference_article() -> None:
    proc = _cli(
        "extract",
        str(SEED / "article.html"),
        env={"PIPELINE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    schema = json.loads((REPO_ROOT / "schemas" / "event.schema.json").read_text())
    for line in lines:
        jsonschema.validate(json.loads(line), schema)
    events = [Event.model_validate_json(line) for line in lines]
    text = (SEED / "article.txt").read_text().strip()
    assert all(text[e.evidence.start : e.evidence.end] == e.evidence.text for e in events)
    speakers = [e.details.speaker for e in events if e.details.kind == "statement"]
    assert speakers.count("Mark Rutte") >= 6
    assert any(
        e.details.kind == "military_update" and e.details.location == "Siversk" for e in events
    )
    assert any(e.details.kind == "commitment" and e.details.deadline == "2035" for e in events)


def test_extract_reports_a_failing_input_on_stderr() -> None:
    proc = _cli("extract", str(SEED / "article.html"), "does-not-exist.html")
    assert proc.returncode == 1
    dead = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert [(d["stage"], d["source"]) for d in dead] == [("fetch", "does-not-exist.html")]
    assert proc.stdout.strip()  # the good input still printed its events


@pytest.mark.integration
def test_run_json_accounts_for_every_input(
    kafka_settings: Settings, seed_server: str, sample_server: str
) -> None:
    urls = [
        f"{seed_server}/article.html",
        f"{sample_server}/site/abonnement.html",
        f"{sample_server}/site/gone.html",
    ]
    proc = _cli("run", "--json", *urls, env=settings_env(kafka_settings))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["discovered"] == 3
    assert (summary["ingested"], summary["failed"]) == (1, 2)
    topics = summary["topics"]
    assert topics[kafka_settings.topic_articles] == 1
    assert topics[kafka_settings.topic_statements] >= 6
    assert topics[kafka_settings.topic_dead_letter] >= 2
    assert {f["stage"] for f in summary["failures"]} >= {"fetch", "extract"}

    consumed = _cli(
        "consume",
        kafka_settings.topic_statements,
        "--from-beginning",
        "--max",
        "3",
        env=settings_env(kafka_settings),
    )
    assert consumed.returncode == 0, consumed.stderr[-2000:]
    values = [json.loads(line) for line in consumed.stdout.splitlines()]
    assert len(values) == 3
    assert all(v["event_type"] == "statement" for v in values)


@pytest.mark.integration
def test_kafka_start_status_stop_manage_the_local_broker(tmp_path: Path) -> None:
    env = {"PIPELINE_STATE_DIR": str(tmp_path / "state")}
    env_without_cluster = {k: v for k, v in os.environ.items() if "BOOTSTRAP_SERVERS" not in k}
    try:
        started = _cli("kafka", "start", env={**env_without_cluster, **env}, clean=True)
        assert started.returncode == 0, started.stderr[-2000:]
        address = started.stdout.strip().splitlines()[-1]
        assert address.startswith("127.0.0.1:")
        status = _cli("kafka", "status", env={**env_without_cluster, **env}, clean=True)
        assert status.stdout.strip() == address
    finally:
        stopped = _cli("kafka", "stop", env={**env_without_cluster, **env}, clean=True)
    assert stopped.stdout.strip() == "stopped"
    after = _cli("kafka", "status", env={**env_without_cluster, **env}, clean=True)
    assert (after.returncode, after.stdout.strip()) == (1, "not running")
