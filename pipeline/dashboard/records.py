"""One JSON record per run, under ``Settings.quality_dir / "runs"``: what the dashboard reads.

A record is small (counts per topic, pass rate per suite, failing expectations with counts,
dead-letter reasons, links into Data Docs) and is written once, atomically, when the run
ends. Per-suite figures are read back from GX's validation results store for the run's
name, so the record says exactly what Data Docs shows.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.models import DeadLetter
from pipeline.settings import Settings

log = logging.getLogger(__name__)
RECORD_VERSION = 1
TOP_REASONS = 15


def runs_dir(settings: Settings) -> Path:
    return settings.quality_dir / "runs"


def _suite_results(
    settings: Settings, run_name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Per suite: rows, failed rows, pass rate and the Data Docs page; and every failing
    expectation with its unexpected count, read from the run's stored GX results."""
    from pipeline.validate import results_root

    root = results_root(settings)
    latest: dict[str, Path] = {}
    for path in sorted(root.glob(f"*/{run_name}/*/*.json")):
        latest[path.parts[-4]] = path  # run times sort: the last one is the newest attempt
    suites: dict[str, Any] = {}
    failing: list[dict[str, Any]] = []
    for suite, path in sorted(latest.items()):
        result = json.loads(path.read_text())
        docs = "validations/" + str(path.relative_to(root).with_suffix(".html"))
        rows = 0
        bad_rows: set[Any] = set()
        for item in result.get("results", []):
            res = item.get("result") or {}
            rows = max(rows, int(res.get("element_count") or 0))
            if item.get("success"):
                continue
            config = item.get("expectation_config") or {}
            column = (config.get("kwargs") or {}).get("column")
            kind = config.get("type", "unknown_expectation")
            label = f"{suite}:{kind}({column})" if column else f"{suite}:{kind}"
            indices = res.get("unexpected_index_list") or []
            bad_rows.update(
                entry.get("row") if isinstance(entry, Mapping) else entry for entry in indices
            )
            failing.append(
                {
                    "label": label,
                    "suite": suite,
                    "unexpected": int(res.get("unexpected_count") or len(indices) or 1),
                    "docs": docs,
                }
            )
        if rows == 0 and not result.get("success"):
            rows = 1
        failed_rows = min(len(bad_rows) or (0 if result.get("success") else rows), rows)
        stats = result.get("statistics") or {}
        suites[suite] = {
            "success": bool(result.get("success")),
            "rows": rows,
            "failed_rows": failed_rows,
            "pass_rate": round(1 - failed_rows / rows, 4) if rows else 1.0,
            "expectations": int(stats.get("evaluated_expectations") or 0),
            "failed_expectations": int(stats.get("unsuccessful_expectations") or 0),
            "docs": docs,
        }
    return suites, failing


def _reason_key(dead: DeadLetter) -> list[str]:
    """What a dead letter counts under: each failed expectation, else its stage and reason."""
    if dead.failed_expectations:
        return list(dead.failed_expectations)
    reason = dead.reason if len(dead.reason) <= 90 else dead.reason[:87] + "..."
    return [f"{dead.stage}: {reason}"]


def _as_mapping(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if hasattr(obj, "as_dict"):
        return dict(obj.as_dict())
    if is_dataclass(obj) and not isinstance(obj, type):
        from dataclasses import asdict

        return asdict(obj)
    return dict(obj)


def record_run(
    summary: Mapping[str, Any] | Any,
    settings: Settings,
    *,
    run_name: str,
    dead_letters: Sequence[DeadLetter | Mapping[str, Any]] = (),
    run: Any = None,
    held: bool = False,
    when: datetime | None = None,
) -> Path:
    """Write the run's record and prune old ones; return its path.

    Args:
        summary: ``RunSummary`` or its ``as_dict()`` (discovered, ingested, topics, ...).
        settings: where records live and how many are kept.
        run_name: the id the run's GX validations used (see :func:`pipeline.validate.safe_run_name`).
        dead_letters: the run's dead letters (models or their JSON), for the top reasons.
        run: the :class:`pipeline.validate.RunValidation` (or its dict), when run-level
            validation ran.
        held: True when the ``fail`` policy kept the run from being published.
    """
    from pipeline.validate import safe_run_name

    run_name = safe_run_name(run_name)
    when = when or datetime.now(UTC)
    data = _as_mapping(summary)
    dead = [d if isinstance(d, DeadLetter) else DeadLetter.model_validate(d) for d in dead_letters]
    reasons = Counter(key for d in dead for key in _reason_key(d))
    stages = Counter(d.stage for d in dead)
    suites, failing = _suite_results(settings, run_name)
    run_check = _as_mapping(run)
    if held:
        status = "held"
    elif run_check and not run_check.get("success", True):
        status = "alert"
    elif any(not s["success"] for s in suites.values()):
        status = "passed with dead letters"
    else:
        status = "passed"
    record = {
        "version": RECORD_VERSION,
        "run_name": run_name,
        "recorded_at": when.astimezone(UTC).isoformat(timespec="seconds"),
        "status": status,
        "held": held,
        "discovered": int(data.get("discovered", 0)),
        "ingested": int(data.get("ingested", 0)),
        "failed": int(data.get("failed", 0)),
        "topics": dict(data.get("topics") or {}),
        "events_by_type": dict(data.get("events_by_type") or {}),
        "dead_letters": len(dead),
        "dead_letters_by_stage": dict(stages),
        "dead_letter_reasons": dict(reasons.most_common(TOP_REASONS)),
        "suites": suites,
        "failing_expectations": failing,
        "run_check": {
            "success": run_check.get("success", True),
            "checked": run_check.get("checked", False),
            "failed_expectations": run_check.get("failed_expectations", {}),
        }
        if run_check
        else None,
    }
    folder = runs_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{when.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{run_name}.json"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
    for old in sorted(folder.glob("*.json"))[: -settings.quality_history_retention]:
        old.unlink(missing_ok=True)
    return path


def load_history(settings: Settings, limit: int | None = None) -> list[dict[str, Any]]:
    """Run records, oldest first (file names start with the UTC time); unreadable ones skipped."""
    paths = sorted(runs_dir(settings).glob("*.json"))
    if limit is not None:
        paths = paths[-limit:]
    records = []
    for path in paths:
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable run record %s: %s", path, exc)
    return records


def finish_run(
    summary: Mapping[str, Any] | Any,
    settings: Settings,
    *,
    run_name: str,
    dead_letters: Sequence[DeadLetter | Mapping[str, Any]] = (),
    run: Any = None,
) -> Path:
    """After publishing: record the run, build Data Docs and the overview, then apply the
    ``alert`` policy (raises :class:`~pipeline.errors.ValidationFailed` when the run-level
    expectations failed, so Airflow marks the run). Returns the record's path."""
    from pipeline.dashboard.render import build_overview
    from pipeline.validate import RunValidation, build_data_docs, enforce_run_policy

    path = record_run(summary, settings, run_name=run_name, dead_letters=dead_letters, run=run)
    build_data_docs(settings, run_name=run_name)
    build_overview(settings)
    if run is not None:
        check = run if isinstance(run, RunValidation) else RunValidation.from_dict(_as_mapping(run))
        enforce_run_policy(check, settings, published=True)
    return path
