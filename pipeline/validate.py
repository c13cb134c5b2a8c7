"""Great Expectations validation: a batch of articles or events in, a report out.

The suites are JSON files in the repository's GX project (``expectations/gx/expectations/``),
reviewed like code. Each batch is flattened to one pandas DataFrame per suite and validated
in one GX call per suite; failing rows are mapped back to their event or article through
``unexpected_index_list`` and become :class:`~pipeline.models.DeadLetter` records.

Where things are written (never into the repository): the runtime Data Context is built from
the committed ``great_expectations.yml`` with every store redirected below
``Settings.gx_results_dir``:

* ``expectations/`` - a copy of the committed suite files, refreshed each time a context is
  created. GX re-saves a suite whenever it registers a validation definition for it, so its
  expectations store must not be the repository's folder; the copy also serves Data Docs.
* ``validations/`` - every run's validation results (``COMPLETE`` format), for Data Docs.
* ``validation_definitions/``, ``checkpoints/``, ``data_docs/`` - GX's other stores.

GX is imported lazily (importing it costs 6-8 s) and the context is cached per process.
Usage statistics are off (``GX_ANALYTICS_ENABLED=false`` and ``analytics_enabled: false``).
Run ``python -m pipeline.validate`` to rewrite the suite files from :func:`suite_definitions`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import urlsplit

import yaml

from pipeline.errors import ValidationFailed
from pipeline.models import DATE_SOURCES, Article, DatePrecision, DeadLetter, Event
from pipeline.settings import EVENT_TYPES, SUPPORTED_LANGUAGES, Settings, get_settings

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.core.validation_definition import ValidationDefinition
    from great_expectations.data_context import AbstractDataContext

log = logging.getLogger(__name__)

REPO_EXPECTATIONS_DIR = Path(__file__).resolve().parents[1] / "expectations"
ARTICLE_SUITE = "articles"
EVENT_SUITE = "events"
TYPE_SUITES: dict[str, str] = {
    "statement": "statements",
    "military_update": "military_updates",
    "commitment": "commitments",
}
RUN_SUITE = "run"
SUITE_NAMES: tuple[str, ...] = (ARTICLE_SUITE, EVENT_SUITE, *TYPE_SUITES.values(), RUN_SUITE)
DATASOURCE_NAME = "pipeline_frames"
ROW = "row"  # the position of the article or event in the batch: maps a failing row back
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_NUMBER = r"[-−]?\d{1,3}(?:[ \u00a0\u202f.,]\d{3})+(?:[.,]\d+)?(?!\d)|[-−]?\d+(?:[.,]\d+)?"
_PERCENT = re.compile(rf"({_NUMBER})\s?(?:%|per ?cent\b|pour ?cent\b|prozent\b)", re.IGNORECASE)
_AMOUNT = re.compile(
    rf"({_NUMBER})\s?(trillions?|billions?|milliards?|mrd|mds|md|bn|millions?|mio|mn|m|"
    r"thousands?|mille|k)?\b",
    re.IGNORECASE,
)
# Suite ids are derived from this namespace so that rewriting the suites gives the same files.
_ID_NAMESPACE = uuid.UUID("6f1d7c8e-2b1a-4f5e-9a43-0c3e5d7a9b21")


@dataclass(frozen=True)
class ValidationReport:
    """What one validation of a batch of events found."""

    valid_events: list[Event]
    invalid: list[DeadLetter]
    suite_results: dict[str, bool]
    statistics: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Flattening: pure, no GX.


def _blank_to_none(value: str | None) -> str | None:
    """Empty or whitespace-only strings count as missing: "not null" means "says something"."""
    return value if value is not None and value.strip() else None


def _year(value: str | None) -> int | None:
    match = _YEAR.search(value) if value else None
    return int(match.group(1)) if match else None


def article_rows(articles: Sequence[Article]) -> list[dict[str, Any]]:
    """One row per article, in batch order, with the columns the ``articles`` suite checks."""
    return [
        {
            ROW: i,
            "article_id": _blank_to_none(a.article_id),
            "url": a.url,
            "language": _blank_to_none(a.language),
            "text": a.text,
            "text_length": len(a.text),
        }
        for i, a in enumerate(articles)
    ]


def _number(token: str) -> float:
    """Parse "1,000", "1 000", "3,5" or "2.5": a separator before exactly three digits groups
    thousands, any other is the decimal point (French and English amounts both occur)."""
    token = token.replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ")
    token = re.sub(r"(?<=\d)[ .,](?=\d{3}(?:\D|$))", "", token)
    return float(token.replace(" ", "").replace(",", "."))


def _scale(unit: str) -> float:
    unit = unit.lower()
    if unit.startswith("trillion"):
        return 1e12
    if unit.startswith(("billion", "milliard")) or unit in ("bn", "md", "mds", "mrd"):
        return 1e9
    if unit.startswith("million") or unit in ("m", "mn", "mio"):
        return 1e6
    if unit.startswith("thousand") or unit in ("k", "mille"):
        return 1e3
    return 1.0


def parse_amount(texts: Sequence[str | None]) -> tuple[float | None, float | None]:
    """The most extreme percentage and absolute amount (scaled: "9 billion" = 9e9) found in a
    commitment's amount and breakdown (see :func:`_extreme`); None when there is none.

    Percentages and amounts are checked for range, so a parser slip upstream ("5 %" read as
    "500 %", a year read as an amount of money) shows up as a failed expectation.
    """
    percents: list[float] = []
    amounts: list[float] = []
    for text in texts:
        if not text:
            continue
        percents.extend(_number(m.group(1)) for m in _PERCENT.finditer(text))
        rest = _PERCENT.sub(" ", text)
        for m in _AMOUNT.finditer(rest):
            amounts.append(_number(m.group(1)) * _scale(m.group(2) or ""))
    return _extreme(percents), _extreme(amounts)


def _extreme(values: list[float]) -> float | None:
    """The value a range check should see: the lowest when one is negative, else the largest."""
    if not values:
        return None
    return min(values) if min(values) < 0 else max(values)


def _article_year(event: Event, article: Article | None) -> int | None:
    """The year the article speaks from: its publication date, else when it was ingested."""
    year = _year(event.article.published_at)
    if year is None and article is not None:
        year = _year(article.published_at) or article.ingested_at.year
    return year


def event_rows(
    events: Sequence[Event], articles: Mapping[str, Article]
) -> dict[str, list[dict[str, Any]]]:
    """Rows per suite: every event in ``events``, each event also in its type's suite.

    ``evidence_matches_article`` is None (not checked) when the article is unknown; the
    ``article_known`` column carries that failure instead, so one cause names one expectation.
    """
    rows: dict[str, list[dict[str, Any]]] = {
        EVENT_SUITE: [],
        **{s: [] for s in TYPE_SUITES.values()},
    }
    for i, event in enumerate(events):
        article = articles.get(event.article.article_id)
        ev = event.evidence
        # Blank evidence fails its own not-null expectation; comparing it would name a second.
        matches = (
            None
            if article is None or not ev.text.strip()
            else article.text[ev.start : ev.end] == ev.text
        )
        rows[EVENT_SUITE].append(
            {
                ROW: i,
                "event_id": _blank_to_none(event.event_id),
                "event_type": event.event_type,
                "article_id": event.article.article_id,
                "article_known": article is not None,
                "confidence": event.confidence,
                "evidence_text": _blank_to_none(ev.text),
                "evidence_start": ev.start,
                "evidence_end": ev.end,
                "evidence_matches_article": matches,
                "occurred_at_precision": event.occurred_at_precision,
                "article_published_at_source": event.article.published_at_source,
            }
        )
        base = {ROW: i, "event_id": event.event_id}
        d = event.details
        if d.kind == "statement":
            rows[TYPE_SUITES["statement"]].append(
                {**base, "speaker": _blank_to_none(d.speaker), "content": _blank_to_none(d.content)}
            )
        elif d.kind == "military_update":
            rows[TYPE_SUITES["military_update"]].append(
                {**base, "action": _blank_to_none(d.action), "location": _blank_to_none(d.location)}
            )
        else:
            deadline_year = _year(d.deadline)
            article_year = _article_year(event, article)
            offset = (
                None
                if deadline_year is None or article_year is None
                else deadline_year - article_year
            )
            percent, amount = parse_amount([d.amount, *d.breakdown])
            rows[TYPE_SUITES["commitment"]].append(
                {
                    **base,
                    "party": _blank_to_none(d.party),
                    "commitment": _blank_to_none(d.commitment),
                    "amount_percent": percent,
                    "amount_value": amount,
                    "deadline": d.deadline,
                    "deadline_year": deadline_year,
                    "article_year": article_year,
                    "deadline_year_offset": offset,
                }
            )
    return rows


# --------------------------------------------------------------------------------------------
# The suites as code: only used to (re)write the committed JSON files.

SUITE_NOTES: dict[str, str] = {
    ARTICLE_SUITE: (
        "One row per extracted article. $PARAMETERs come from Settings: min_article_chars, "
        "supported_languages (the languages the splitter handles; others are dead-lettered)."
    ),
    EVENT_SUITE: (
        "One row per event. evidence_matches_article is article.text[start:end] == "
        "evidence.text, computed when flattening; article_known says the event's article "
        "was in the batch (evidence is not checked without it, nor when it is blank). "
        "occurred_at_precision and article_published_at_source (article.published_at_source) "
        "are checked against their vocabularies; nulls (date not known) are not checked."
    ),
    TYPE_SUITES["statement"]: "One row per statement event; blank strings count as null.",
    TYPE_SUITES["military_update"]: "One row per military update; blank strings count as null.",
    TYPE_SUITES["commitment"]: (
        "One row per commitment. deadline_year_offset is the first 4-digit year in the "
        "deadline minus the article's year (published_at, else ingested_at); null when the "
        "deadline names no year, and nulls are not checked. amount_percent and amount_value "
        "are the most extreme percentage and scaled amount in amount and breakdown (the "
        "lowest if one is negative, else the largest; null: none)."
    ),
    RUN_SUITE: (
        "One row for the run (scope=run) and one per source with enough pages "
        "(scope=source). Distribution columns are null, so not checked, when the sample is "
        "below Settings.run_min_articles pages (run_min_pages_per_source for a source): a "
        "demo run of three pages must not trip them. $PARAMETERs come from Settings.run_*."
    ),
}


def suite_definitions() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The first honest version of each suite: (expectation class name, kwargs).

    ``$PARAMETER`` values are filled from :class:`Settings` at validation time, so the
    supported languages and the minimum text length stay setting-driven.
    """
    return {
        ARTICLE_SUITE: [
            ("ExpectColumnValuesToNotBeNull", {"column": "article_id"}),
            ("ExpectColumnValuesToBeUnique", {"column": "article_id"}),
            ("ExpectColumnValuesToNotBeNull", {"column": "url"}),
            (
                "ExpectColumnValuesToMatchRegex",
                {"column": "url", "regex": r"^(?:https?://[^\s/]+|file:///\S+)"},
            ),
            (
                "ExpectColumnValueLengthsToBeBetween",
                {"column": "text", "min_value": {"$PARAMETER": "min_article_chars"}},
            ),
            ("ExpectColumnValuesToNotBeNull", {"column": "language"}),
            (
                "ExpectColumnValuesToBeInSet",
                {"column": "language", "value_set": {"$PARAMETER": "supported_languages"}},
            ),
        ],
        EVENT_SUITE: [
            ("ExpectColumnValuesToNotBeNull", {"column": "event_id"}),
            ("ExpectColumnValuesToBeUnique", {"column": "event_id"}),
            (
                "ExpectColumnValuesToBeInSet",
                {"column": "event_type", "value_set": list(EVENT_TYPES)},
            ),
            (
                "ExpectColumnValuesToBeBetween",
                {"column": "confidence", "min_value": 0.0, "max_value": 1.0},
            ),
            ("ExpectColumnValuesToNotBeNull", {"column": "evidence_text"}),
            ("ExpectColumnValuesToBeInSet", {"column": "article_known", "value_set": [True]}),
            (
                "ExpectColumnValuesToBeInSet",
                {"column": "evidence_matches_article", "value_set": [True]},
            ),
            (
                "ExpectColumnValuesToBeInSet",
                {"column": "occurred_at_precision", "value_set": list(get_args(DatePrecision))},
            ),
            (
                "ExpectColumnValuesToBeInSet",
                {"column": "article_published_at_source", "value_set": list(DATE_SOURCES)},
            ),
        ],
        TYPE_SUITES["statement"]: [
            ("ExpectColumnValuesToNotBeNull", {"column": "speaker"}),
            ("ExpectColumnValuesToNotBeNull", {"column": "content"}),
        ],
        TYPE_SUITES["military_update"]: [
            ("ExpectColumnValuesToNotBeNull", {"column": "action"}),
            ("ExpectColumnValuesToNotBeNull", {"column": "location"}),
        ],
        TYPE_SUITES["commitment"]: [
            ("ExpectColumnValuesToNotBeNull", {"column": "party"}),
            ("ExpectColumnValuesToNotBeNull", {"column": "commitment"}),
            (
                "ExpectColumnValuesToBeBetween",
                {"column": "deadline_year_offset", "min_value": -1, "max_value": 50},
            ),
            (
                "ExpectColumnValuesToBeBetween",
                {"column": "amount_percent", "min_value": 0, "max_value": 100},
            ),
            (
                "ExpectColumnValuesToBeBetween",
                {"column": "amount_value", "min_value": 0, "max_value": 1e13},
            ),
        ],
        RUN_SUITE: [
            (
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "events_per_article",
                    "min_value": {"$PARAMETER": "run_min_events_per_article"},
                    "max_value": {"$PARAMETER": "run_max_events_per_article"},
                },
            ),
            (
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "articles_without_events_share",
                    "min_value": 0,
                    "max_value": {"$PARAMETER": "run_max_articles_without_events_share"},
                },
            ),
            (
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "dead_letter_share",
                    "min_value": 0,
                    "max_value": {"$PARAMETER": "run_max_dead_letter_share"},
                },
            ),
            (
                "ExpectColumnValuesToBeBetween",
                {
                    "column": "invalid_event_share",
                    "min_value": 0,
                    "max_value": {"$PARAMETER": "run_max_invalid_event_share"},
                },
            ),
            *(
                (
                    "ExpectColumnValuesToBeBetween",
                    {
                        "column": f"share_{kind}",
                        "min_value": {"$PARAMETER": f"run_min_share_{kind}"},
                        "max_value": {"$PARAMETER": f"run_max_share_{kind}"},
                    },
                )
                for kind in EVENT_TYPES
            ),
        ],
    }


def build_suites(expectations_dir: Path | None = None) -> list[Path]:
    """(Re)write the suite JSON files from :func:`suite_definitions`; return the paths.

    Ids are derived from the suite name and position, so an unchanged definition rewrites
    byte-identical files and a review diff shows only what changed. The files are the source
    of truth afterwards: validation reads them, never this function.
    """
    import_gx()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.core.expectation_suite import ExpectationSuiteSchema

    project = _project_dir(expectations_dir or REPO_EXPECTATIONS_DIR, must_exist=False)
    folder = _suites_dir(project)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, specs in suite_definitions().items():
        suite = gx.ExpectationSuite(
            name=name,
            id=str(uuid.uuid5(_ID_NAMESPACE, name)),
            expectations=[],
            notes=SUITE_NOTES.get(name),
        )
        for position, (class_name, kwargs) in enumerate(specs):
            expectation = getattr(gxe, class_name)(**kwargs)
            expectation.id = str(uuid.uuid5(_ID_NAMESPACE, f"{name}/{position}"))
            suite.expectations.append(expectation)
        path = folder / f"{name}.json"
        path.write_text(ExpectationSuiteSchema().dumps(suite, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# The GX context: built once per process from the committed project.


def import_gx() -> None:
    """Quiet GX before its first import: Airflow's INFO root logger would print every
    ``_docs_decorators`` registration, and analytics must stay off whatever the config says."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    for name in ("great_expectations", "great_expectations._docs_decorators"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import great_expectations  # noqa: F401


def _project_dir(expectations_dir: Path, *, must_exist: bool = True) -> Path:
    """The folder holding ``great_expectations.yml``: ``<dir>/gx`` (GX's layout) or ``<dir>``."""
    for candidate in (expectations_dir / "gx", expectations_dir):
        if (candidate / "great_expectations.yml").is_file():
            return candidate
    if not must_exist:
        return expectations_dir / "gx"
    raise ValidationFailed(
        "no great_expectations.yml in the GX project folder", source=str(expectations_dir)
    )


def _suites_dir(project_dir: Path) -> Path:
    return project_dir / "expectations"


def _sync_suites(source: Path, target: Path) -> None:
    """Copy the committed suite files into the state dir, atomically per file."""
    target.mkdir(parents=True, exist_ok=True)
    wanted = {p.name for p in source.glob("*.json")}
    for path in source.glob("*.json"):
        fd, tmp = tempfile.mkstemp(dir=target, suffix=".tmp")
        os.close(fd)
        shutil.copyfile(path, tmp)
        os.replace(tmp, target / path.name)
    for stale in target.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink(missing_ok=True)


@dataclass
class GXRuntime:
    """A Data Context with the suites loaded and one validation definition per suite."""

    context: AbstractDataContext
    project_dir: Path
    results_dir: Path
    suites: dict[str, ExpectationSuite]
    definitions: dict[str, ValidationDefinition]
    created_in_s: float


_RUNTIMES: dict[tuple[Path, Path], GXRuntime] = {}
_LOCK = threading.Lock()


def clear_context_cache() -> None:
    """Forget cached contexts (tests that edit suite files call this)."""
    with _LOCK:
        _RUNTIMES.clear()


def get_runtime(settings: Settings | None = None) -> GXRuntime:
    """The cached GX runtime for these settings; built on first use (a few hundred ms)."""
    settings = settings or get_settings()
    project_dir = _project_dir((settings.expectations_dir or REPO_EXPECTATIONS_DIR).resolve())
    results_dir = settings.gx_results_dir.resolve()
    key = (project_dir, results_dir)
    with _LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is None:
            runtime = _RUNTIMES[key] = _build_runtime(project_dir, results_dir)
    return runtime


def get_context(settings: Settings | None = None) -> AbstractDataContext:
    """The runtime Data Context (stores under ``gx_results_dir``), e.g. to build Data Docs."""
    return get_runtime(settings).context


def _runtime_config(project_dir: Path, results_dir: Path) -> dict[str, Any]:
    """The committed project config with every store and site moved below ``results_dir``."""
    config_file = project_dir / "great_expectations.yml"
    if not config_file.is_file():
        raise ValidationFailed("GX project config not found", source=str(config_file))
    config: dict[str, Any] = yaml.safe_load(config_file.read_text()) or {}
    # Paths relative to the project, a fluent datasource a hand-opened context may have
    # saved, and the config variables file: none of them belong to the runtime context.
    for key in ("config_variables_file_path", "plugins_directory", "fluent_datasources"):
        config.pop(key, None)
    folders = {
        "expectations_store": "expectations",
        "validation_results_store": "validations",
        "checkpoint_store": "checkpoints",
        "validation_definition_store": "validation_definitions",
    }
    for store_name, store in config.get("stores", {}).items():
        backend = store.get("store_backend") or {}
        if "base_directory" in backend:
            folder = folders.get(store_name, store_name)
            backend["base_directory"] = str(results_dir / folder)
            backend.pop("root_directory", None)
    for site_name, site in (config.get("data_docs_sites") or {}).items():
        backend = site.get("store_backend") or {}
        if "base_directory" in backend:
            backend["base_directory"] = str(results_dir / "data_docs" / site_name)
    config["analytics_enabled"] = False
    config["progress_bars"] = {"globally": False, "metric_calculations": False}
    return config


def _build_runtime(project_dir: Path, results_dir: Path) -> GXRuntime:
    """An ephemeral context on the committed config: no project file is ever rewritten, and
    the pandas datasource lives in memory (the frames arrive as batch parameters)."""
    started = time.perf_counter()
    import_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig

    suites_source = _suites_dir(project_dir)
    if not any(suites_source.glob("*.json")):
        raise ValidationFailed("no suite files in the GX project", source=str(suites_source))
    config = _runtime_config(project_dir, results_dir)
    _sync_suites(suites_source, results_dir / "expectations")
    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(**config))

    datasource = context.data_sources.add_or_update_pandas(DATASOURCE_NAME)
    suites: dict[str, ExpectationSuite] = {}
    definitions: dict[str, ValidationDefinition] = {}
    for path in sorted(suites_source.glob("*.json")):
        suite = context.suites.get(path.stem)
        asset = datasource.add_dataframe_asset(name=suite.name)
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_batch")
        definitions[suite.name] = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{suite.name}_batch", data=batch_definition, suite=suite)
        )
        suites[suite.name] = definitions[suite.name].suite
    elapsed = time.perf_counter() - started
    log.info("GX context for %s ready in %.2fs (results in %s)", project_dir, elapsed, results_dir)
    return GXRuntime(context, project_dir, results_dir, suites, definitions, elapsed)


# --------------------------------------------------------------------------------------------
# Running a suite on a frame and reading the failures back.


def _expectation_label(suite: str, result: ExpectationValidationResult) -> str:
    """``suite:expectation_type(column)``: enough to find the expectation in the JSON file."""
    config = result.expectation_config
    kwargs = config.kwargs if config is not None else {}
    columns = kwargs.get("column") or kwargs.get("column_list") or kwargs.get("column_A")
    if isinstance(columns, list):
        columns = ",".join(map(str, columns))
    kind = config.type if config is not None else "unknown_expectation"
    return f"{suite}:{kind}({columns})" if columns else f"{suite}:{kind}"


def _raised(result: ExpectationValidationResult) -> str | None:
    """The exception message when GX could not evaluate the expectation, else None."""
    info = result.exception_info or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            return str(item.get("exception_message") or "expectation raised")
    return None


@dataclass(frozen=True)
class _SuiteOutcome:
    success: bool
    failures: dict[int, list[str]]  # row -> failed expectation labels
    statistics: dict[str, Any]


def _run_suite(
    runtime: GXRuntime,
    suite_name: str,
    frame: pd.DataFrame,
    id_column: str,
    parameters: Mapping[str, Any],
    run_name: str,
) -> _SuiteOutcome:
    """Validate the whole frame in one GX call and map each failed expectation to its rows.

    A failed expectation without row indices (an aggregate check) fails every row. An
    expectation GX could not evaluate (a missing column, a bad parameter) is a bug in the
    suite or the flattening, not bad data: it raises ValidationFailed instead.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    definition = runtime.definitions.get(suite_name)
    if definition is None:
        raise ValidationFailed("suite not found in the GX project", source=suite_name)
    result: ExpectationSuiteValidationResult = definition.run(
        run_id=RunIdentifier(run_name=run_name),
        batch_parameters={"dataframe": frame},
        expectation_parameters=dict(parameters),
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [ROW, id_column],
            "partial_unexpected_count": 20,
        },
    )
    failures: dict[int, list[str]] = defaultdict(list)
    all_rows = [int(r) for r in frame[ROW]]
    for item in result.results:
        if item.success:
            continue
        label = _expectation_label(suite_name, item)
        error = _raised(item)
        if error is not None:
            raise ValidationFailed(
                f"GX could not evaluate {label}: {error}", source=suite_name, expectation=label
            )
        indices = (item.result or {}).get("unexpected_index_list")
        rows = (
            [int(entry[ROW]) for entry in indices if isinstance(entry, Mapping)]
            if indices is not None
            else all_rows
        )
        for row in dict.fromkeys(rows):
            failures[row].append(label)
    stats = dict(result.statistics)
    stats["rows"] = len(frame)
    stats["failed_rows"] = len(failures)
    return _SuiteOutcome(bool(result.success), dict(failures), stats)


def _parameters(settings: Settings) -> dict[str, Any]:
    """Values for the suites' ``$PARAMETER`` placeholders."""
    languages = getattr(settings, "supported_languages", None) or SUPPORTED_LANGUAGES
    params: dict[str, Any] = {
        "supported_languages": sorted(languages),
        "min_article_chars": settings.min_article_chars,
        "run_min_events_per_article": settings.run_min_events_per_article,
        "run_max_events_per_article": settings.run_max_events_per_article,
        "run_max_articles_without_events_share": settings.run_max_articles_without_events_share,
        "run_max_dead_letter_share": settings.run_max_dead_letter_share,
        "run_max_invalid_event_share": settings.run_max_invalid_event_share,
    }
    for kind in EVENT_TYPES:
        low, high = settings.run_type_share_bounds.get(kind, (0.0, 1.0))
        params[f"run_min_share_{kind}"] = low
        params[f"run_max_share_{kind}"] = high
    return params


def _reason(labels: Sequence[str]) -> str:
    noun = "expectation" if len(labels) == 1 else "expectations"
    return f"failed {len(labels)} {noun}: {', '.join(labels)}"


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_run_name(raw: str) -> str:
    """A GX run name that is also a clean path segment and URL (Airflow run ids hold ':' '+')."""
    return _UNSAFE.sub("-", raw).strip("-")[:120] or "run"


def _validate_frames(
    frames_rows: Mapping[str, list[dict[str, Any]]],
    id_column: str,
    settings: Settings,
    run_name: str | None = None,
) -> tuple[dict[int, list[str]], dict[str, bool], dict[str, Any]]:
    """Run each non-empty suite frame; merge failures per row.

    Every suite of one call shares a run name; pass the pipeline run's id so that the
    article, event and run suites of one run are grouped in Data Docs and in the run record.
    """
    try:
        return _run_frames(frames_rows, id_column, settings, run_name)
    except OSError as exc:
        raise ValidationFailed(
            f"the GX results store is not writable ({type(exc).__name__}: {exc.strerror}); "
            "nothing was published",
            source=str(settings.gx_results_dir),
        ) from exc


def _run_frames(
    frames_rows: Mapping[str, list[dict[str, Any]]],
    id_column: str,
    settings: Settings,
    run_name: str | None,
) -> tuple[dict[int, list[str]], dict[str, bool], dict[str, Any]]:
    import pandas as pd

    runtime = get_runtime(settings)
    parameters = _parameters(settings)
    failures: dict[int, list[str]] = defaultdict(list)
    suite_results: dict[str, bool] = {}
    per_suite: dict[str, Any] = {}
    skipped: list[str] = []
    run_name = (
        safe_run_name(run_name)
        if run_name
        else f"{id_column.removesuffix('_id')}s-{uuid.uuid4().hex[:12]}"
    )
    for suite_name, rows in frames_rows.items():
        if not rows:
            skipped.append(suite_name)
            continue
        frame = pd.DataFrame(rows)
        outcome = _run_suite(runtime, suite_name, frame, id_column, parameters, run_name)
        suite_results[suite_name] = outcome.success
        per_suite[suite_name] = outcome.statistics
        for row, labels in outcome.failures.items():
            failures[row].extend(labels)
    stats = {
        "suites": per_suite,
        "skipped_suites": skipped,
        "run_name": run_name,
        "context_created_in_s": round(runtime.created_in_s, 3),
        "results_dir": str(runtime.results_dir / "validations"),
    }
    return dict(failures), suite_results, stats


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def validate_events(
    events: list[Event],
    articles: Mapping[str, Article],
    settings: Settings | None = None,
    run_name: str | None = None,
) -> ValidationReport:
    """Validate a batch of events against the ``events`` suite and their type's suite.

    Args:
        events: the batch, in any order; positions in this list identify failing rows, so
            two events with the same id are told apart (both fail ``unique``: the validator
            cannot know which copy is right).
        articles: the articles by id; evidence is checked against ``article.text[start:end]``.
        settings: supplies the GX project folder, the results folder and suite parameters.
        run_name: the pipeline run's id (groups results per run); default a random name.

    Returns:
        Valid events, one ``validate`` dead letter per failing event naming every failed
        expectation, success per suite, and per-suite statistics.
    """
    settings = settings or get_settings()
    if not events:
        return ValidationReport([], [], {}, {"events": 0, "valid": 0, "invalid": 0})
    (failures, suite_results, stats), elapsed = _timed(
        lambda: _validate_frames(event_rows(events, articles), "event_id", settings, run_name)
    )
    valid: list[Event] = []
    invalid: list[DeadLetter] = []
    for i, event in enumerate(events):
        labels = failures.get(i)
        if not labels:
            valid.append(event)
            continue
        invalid.append(
            DeadLetter.build(
                stage="validate",
                reason=_reason(labels),
                source=event.event_id,
                error_type="ValidationFailed",
                article_id=event.article.article_id,
                event_id=event.event_id,
                failed_expectations=labels,
                payload=event.model_dump(mode="json"),
            )
        )
    stats.update(
        events=len(events), valid=len(valid), invalid=len(invalid), duration_s=round(elapsed, 3)
    )
    return ValidationReport(valid, invalid, suite_results, stats)


def validate_articles(
    articles: list[Article], settings: Settings | None = None, run_name: str | None = None
) -> tuple[list[Article], list[DeadLetter]]:
    """Validate a batch of articles against the ``articles`` suite (``run_name`` as above).

    Returns:
        The valid articles, and one ``validate`` dead letter per failing article (its payload
        is the article's metadata: the text is left out, its length kept).
    """
    settings = settings or get_settings()
    if not articles:
        return [], []
    failures, _, _ = _validate_frames(
        {ARTICLE_SUITE: article_rows(articles)}, "article_id", settings, run_name
    )
    valid: list[Article] = []
    invalid: list[DeadLetter] = []
    for i, article in enumerate(articles):
        labels = failures.get(i)
        if not labels:
            valid.append(article)
            continue
        payload = article.model_dump(mode="json", exclude={"text"})
        payload["text_length"] = len(article.text)
        invalid.append(
            DeadLetter.build(
                stage="validate",
                reason=_reason(labels),
                source=article.url,
                error_type="ValidationFailed",
                article_id=article.article_id,
                failed_expectations=labels,
                payload=payload,
            )
        )
    return valid, invalid


# --------------------------------------------------------------------------------------------
# The run as a whole: distributions that flag a broken extractor or a changed site layout.


@dataclass(frozen=True)
class SourceStats:
    """Pages of one source (host) in a run."""

    pages: int = 0
    articles: int = 0
    events: int = 0
    articles_without_events: int = 0
    page_dead_letters: int = 0


@dataclass(frozen=True)
class RunStats:
    """What the run-level suite looks at. ``events`` counts every event the splitter produced
    (valid or not): a broken splitter must show in the distributions even when its events
    are dead-lettered."""

    discovered: int
    articles: int
    events: int
    invalid_events: int
    page_dead_letters: int
    articles_without_events: int
    events_by_type: dict[str, int]
    sources: dict[str, SourceStats] = field(default_factory=dict)

    @classmethod
    def from_batch(
        cls,
        discovered: int,
        articles: Sequence[Article],
        events: Sequence[Event],
        dead_letters: Sequence[DeadLetter],
    ) -> RunStats:
        """Count a run after event validation: ``articles`` and ``events`` are the valid ones,
        ``dead_letters`` all of the run's (fetch, extract, split and validate)."""
        page_dead = [dl for dl in dead_letters if dl.event_id is None]
        rejected_articles = {dl.article_id for dl in page_dead if dl.article_id}
        invalid = [
            dl
            for dl in dead_letters
            if dl.event_id is not None
            and dl.stage == "validate"
            and dl.article_id not in rejected_articles
        ]
        by_type: dict[str, int] = {kind: 0 for kind in EVENT_TYPES}
        per_article: dict[str, int] = defaultdict(int)
        for event in events:
            by_type[event.event_type] = by_type.get(event.event_type, 0) + 1
            per_article[event.article.article_id] += 1
        for dl in invalid:
            kind = (dl.payload or {}).get("event_type")
            if isinstance(kind, str):
                by_type[kind] = by_type.get(kind, 0) + 1
            if dl.article_id:
                per_article[dl.article_id] += 1
        sources: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        without = 0
        for article in articles:
            src = sources[_host(article.fetched_url or article.url)]
            n = per_article.get(article.article_id, 0)
            src["pages"] += 1
            src["articles"] += 1
            src["events"] += n
            src["articles_without_events"] += n == 0
            without += n == 0
        for dl in page_dead:
            src = sources[_host(dl.source)]
            src["pages"] += 1
            src["page_dead_letters"] += 1
        return cls(
            discovered=discovered,
            articles=len(articles),
            events=len(events) + len(invalid),
            invalid_events=len(invalid),
            page_dead_letters=len(page_dead),
            articles_without_events=without,
            events_by_type=by_type,
            sources={host: SourceStats(**counts) for host, counts in sorted(sources.items())},
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunStats:
        fields_ = dict(data)
        fields_["sources"] = {
            host: SourceStats(**counts) for host, counts in (data.get("sources") or {}).items()
        }
        return cls(**fields_)


def _host(source: str) -> str:
    """The site a page belongs to: its host, or "local files" for paths and file URLs."""
    host = urlsplit(source).hostname if "://" in source else None
    return host.removeprefix("www.") if host else "local files"


def _share(part: float, whole: float, enabled: bool) -> float | None:
    return part / whole if enabled and whole else None


def run_rows(stats: RunStats, settings: Settings) -> list[dict[str, Any]]:
    """The run suite's frame: one row for the run, one per source with enough pages.

    A distribution over too small a sample is noise, so its columns are None (nulls are not
    checked by ``expect_column_values_to_be_between``) below ``run_min_articles`` pages.
    """
    enabled = stats.discovered >= settings.run_min_articles
    run: dict[str, Any] = {
        ROW: 0,
        "scope_id": "run",
        "pages": stats.discovered,
        "sample_ok": enabled,
        "events_per_article": _share(stats.events, stats.articles, enabled),
        "articles_without_events_share": _share(
            stats.articles_without_events, stats.articles, enabled
        ),
        "dead_letter_share": _share(stats.page_dead_letters, stats.discovered, enabled),
        "invalid_event_share": _share(stats.invalid_events, stats.events, enabled),
    }
    for kind in EVENT_TYPES:
        run[f"share_{kind}"] = _share(stats.events_by_type.get(kind, 0), stats.events, enabled)
    rows = [run]
    if len(stats.sources) > 1:
        for host, src in stats.sources.items():
            if src.pages < settings.run_min_pages_per_source:
                continue
            row = dict.fromkeys(run, None)
            row.update(
                {
                    ROW: len(rows),
                    "scope_id": f"source:{host}",
                    "pages": src.pages,
                    "sample_ok": True,
                    "events_per_article": _share(src.events, src.articles, True),
                    "articles_without_events_share": _share(
                        src.articles_without_events, src.articles, True
                    ),
                    "dead_letter_share": _share(src.page_dead_letters, src.pages, True),
                }
            )
            rows.append(row)
    return rows


@dataclass(frozen=True)
class RunValidation:
    """The run-level verdict. ``failed_expectations`` maps each failing expectation to the
    scopes that failed it ("run", "source:example.org"); ``checked`` is False when the run
    was too small for the distribution checks (they passed vacuously)."""

    success: bool
    checked: bool
    failed_expectations: dict[str, list[str]]
    run_name: str
    stats: dict[str, Any]

    @property
    def reason(self) -> str:
        parts = [
            f"{label} [{', '.join(scopes)}]" for label, scopes in self.failed_expectations.items()
        ]
        return "run-level expectations failed: " + "; ".join(parts) if parts else "passed"

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible, to cross an Airflow task boundary through XCom."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunValidation:
        return cls(**dict(data))


def validate_run(
    stats: RunStats | Mapping[str, Any],
    settings: Settings | None = None,
    run_name: str | None = None,
) -> RunValidation:
    """Validate the run's distributions with the ``run`` suite (one GX call).

    Args:
        stats: from :meth:`RunStats.from_batch`, or its ``as_dict()``.
        settings: thresholds (``run_*``) and where results go.
        run_name: the pipeline run's id, the same one given to the event validation.
    """
    settings = settings or get_settings()
    stats = stats if isinstance(stats, RunStats) else RunStats.from_dict(stats)
    rows = run_rows(stats, settings)
    failures, suite_results, meta = _validate_frames(
        {RUN_SUITE: rows}, "scope_id", settings, run_name
    )
    failed: dict[str, list[str]] = defaultdict(list)
    for row, labels in sorted(failures.items()):
        for label in labels:
            failed[label].append(rows[row]["scope_id"])
    return RunValidation(
        success=suite_results.get(RUN_SUITE, True),
        checked=bool(rows[0]["sample_ok"]),
        failed_expectations=dict(failed),
        run_name=meta["run_name"],
        stats={**stats.as_dict(), "rows": rows},
    )


def enforce_run_policy(run: RunValidation, settings: Settings, *, published: bool) -> None:
    """Apply ``Settings.validation_policy`` to a failed run, so Airflow marks it.

    * ``fail``: called before publishing, raises :class:`ValidationFailed` (the task fails,
      nothing of the run is published; after publishing it does nothing).
    * ``alert``: before publishing it only logs; after publishing it raises, so the run's last
      task is marked failed while downstream teams already have the events.
    """
    if run.success:
        return
    policy = settings.validation_policy
    if policy == "fail" and not published:
        raise ValidationFailed(f"run held back: {run.reason}", source=run.run_name, result=run)
    if policy == "alert":
        if published:
            raise ValidationFailed(
                f"run published with an alert: {run.reason}", source=run.run_name, result=run
            )
        log.warning("data-quality alert for %s: %s", run.run_name, run.reason)


def check_run(
    discovered: int,
    articles: Sequence[Article],
    events: Sequence[Event],
    dead_letters: Sequence[DeadLetter],
    settings: Settings,
    *,
    run_name: str,
) -> RunValidation:
    """Count, validate and apply the policy before publishing, in one call for the runner.

    Under the ``fail`` policy a failing run is recorded for the dashboard (nothing
    published) before :class:`ValidationFailed` is raised.
    """
    run = validate_run(
        RunStats.from_batch(discovered, articles, events, dead_letters), settings, run_name
    )
    try:
        enforce_run_policy(run, settings, published=False)
    except ValidationFailed:
        from pipeline.dashboard.records import record_run

        summary = {
            "discovered": discovered,
            "ingested": len(articles),
            "failed": discovered - len(articles),
            "topics": {},
            "events_by_type": dict(Counter(e.event_type for e in events)),
        }
        record_run(
            summary, settings, run_name=run_name, dead_letters=dead_letters, run=run, held=True
        )
        build_data_docs(settings, run_name=run_name)
        from pipeline.dashboard.render import build_overview

        build_overview(settings)
        raise
    return run


# --------------------------------------------------------------------------------------------
# Results kept, pruned, and rendered as Data Docs.


def results_root(settings: Settings) -> Path:
    """GX's validation results store: ``<suite>/<run_name>/<run_time>/<batch>.json``."""
    return settings.gx_results_dir / "validations"


def data_docs_root(settings: Settings) -> Path:
    return settings.gx_results_dir / "data_docs" / "local_site"


def prune_results(settings: Settings) -> list[str]:
    """Delete the results and Data Docs pages of all but the newest ``gx_results_retention``
    runs, so that building Data Docs (whose index lists every stored result) stays flat."""
    root = results_root(settings)
    latest: dict[str, str] = {}
    for path in root.glob("*/*/*/*.json"):
        run_name, run_time = path.parts[-3], path.parts[-2]
        latest[run_name] = max(run_time, latest.get(run_name, ""))
    keep = set(
        sorted(latest, key=lambda r: latest[r], reverse=True)[: settings.gx_results_retention]
    )
    dropped = sorted(set(latest) - keep)
    docs = data_docs_root(settings) / "validations"
    for run_name in dropped:
        for folder in (*root.glob(f"*/{run_name}"), *docs.glob(f"*/{run_name}")):
            shutil.rmtree(folder, ignore_errors=True)
    return dropped


def build_data_docs(settings: Settings | None = None, run_name: str | None = None) -> Path:
    """Prune old results, then build Data Docs: only this run's pages (plus the suites and the
    index) when ``run_name`` is given, the whole site otherwise. Returns the index page."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    settings = settings or get_settings()
    runtime = get_runtime(settings)
    prune_results(settings)
    identifiers: list[Any] | None = None
    if run_name:
        run_name = safe_run_name(run_name)
        # Suite pages only when missing or older than the suite: they rarely change.
        pages = data_docs_root(settings) / "expectations"
        identifiers = [
            ExpectationSuiteIdentifier(name)
            for name in runtime.suites
            if not (pages / f"{name}.html").is_file()
            or (pages / f"{name}.html").stat().st_mtime
            < (runtime.results_dir / "expectations" / f"{name}.json").stat().st_mtime
        ]
        for path in results_root(settings).glob(f"*/{run_name}/*/*.json"):
            suite, run, run_time, batch = path.parts[-4], path.parts[-3], path.parts[-2], path.stem
            identifiers.append(ValidationResultIdentifier.from_tuple((suite, run, run_time, batch)))
    runtime.context.build_data_docs(site_names=["local_site"], resource_identifiers=identifiers)
    return data_docs_root(settings) / "index.html"


# --------------------------------------------------------------------------------------------
# Benchmark: what validation adds to a run.


def benchmark(
    pages_dir: Path, n_articles: int = 100, settings: Settings | None = None
) -> dict[str, Any]:
    """Time extract+split against validate (articles, events, run) on ``n_articles`` corpus
    articles, cold (first GX use in the process) and warm; print and return the shares."""
    import gzip
    import itertools

    from pipeline.events import split_events
    from pipeline.extract import extract_article

    settings = settings or Settings(state_dir=Path(tempfile.mkdtemp(prefix="gx-bench-")))
    pages = sorted(pages_dir.glob("*.html.gz"))
    raw = [(p.name.removesuffix(".html.gz"), gzip.decompress(p.read_bytes())) for p in pages]
    timings: dict[str, Any] = {}

    def one_run(label: str) -> None:
        started = time.perf_counter()
        articles: list[Article] = []
        dead: list[DeadLetter] = []
        for i, (name, html) in zip(range(10**6), itertools.cycle(raw)):
            if len(articles) >= n_articles or i >= 3 * n_articles:
                break
            try:
                articles.append(extract_article(html, f"https://corpus.example/{name}/{i}"))
            except Exception as exc:  # a non-article page is a dead letter, as in the runner
                dead.append(DeadLetter.build(stage="extract", reason=str(exc), source=name))
        events = [e for a in articles for e in split_events(a)]
        acquired = time.perf_counter()
        run_name = f"bench-{label}-{uuid.uuid4().hex[:6]}"
        valid_articles, article_dead = validate_articles(articles, settings, run_name)
        report = validate_events(
            events, {a.article_id: a for a in valid_articles}, settings, run_name
        )
        all_dead = [*dead, *article_dead, *report.invalid]
        stats = RunStats.from_batch(
            len(articles) + len(dead), valid_articles, report.valid_events, all_dead
        )
        validate_run(stats, settings, run_name)
        validated = time.perf_counter()
        build_data_docs(settings, run_name)
        docs = time.perf_counter()
        timings[label] = {
            "articles": len(articles),
            "events": len(events),
            "extract_split_s": round(acquired - started, 3),
            "validate_s": round(validated - acquired, 3),
            "validation_share": round((validated - acquired) / (validated - started), 3),
            "data_docs_s": round(docs - validated, 3),
        }

    import_started = time.perf_counter()
    import_gx()
    timings["gx_import_s"] = round(time.perf_counter() - import_started, 3)
    one_run("cold")
    one_run("warm")
    one_run("warm2")
    for label in ("cold", "warm", "warm2"):
        t = timings[label]
        print(
            f"{label:>5}: {t['articles']} articles, {t['events']} events; extract+split "
            f"{t['extract_split_s']:.2f}s, validate {t['validate_s']:.2f}s = "
            f"{100 * t['validation_share']:.1f}% of the run; Data Docs {t['data_docs_s']:.2f}s"
        )
    print(
        f"(one-time per process, not counted above: importing GX {timings['gx_import_s']:.2f}s; "
        "'cold' includes building the GX context, a few hundred ms)"
    )
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.validate [suites|bench [PAGES_DIR] [-n N]]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pipeline.validate")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("suites", help="rewrite the suite JSON files from suite_definitions()")
    bench = sub.add_parser("bench", help="time validation against extraction on corpus pages")
    bench.add_argument(
        "pages_dir",
        nargs="?",
        default=str(REPO_EXPECTATIONS_DIR.parents[1] / "shared" / "corpus" / "pages"),
    )
    bench.add_argument("-n", type=int, default=100)
    args = parser.parse_args(argv)
    if args.command == "bench":
        logging.getLogger("trafilatura").setLevel(logging.ERROR)
        benchmark(Path(args.pages_dir), args.n)
        return 0
    for written in build_suites():
        print(written)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
