"""Evaluation harness: precision, recall and F1 of the event splitter against analyst labels.

Label format (JSON lines, one object per labelled event): ``file`` (a page name such as
``fr-001.html.gz``), ``event_type`` (``statement`` | ``military_update`` | ``commitment``, or
``null`` on the single line of a page with no events), ``evidence`` (the sentence or clause of
the article text that carries the event), optional ``alt_evidence`` (other sentences an analyst
would accept), ``borderline`` and the type's details fields (``speaker`` for statements, ...).

Matching rule: a predicted event matches a labelled one when the type is the same, at least
half of the labelled evidence's words occur in the predicted evidence and, for statements,
the labelled speaker's last name (accents and case folded) occurs in the predicted speaker.
Each labelled event matches at most one prediction and each prediction at most one label
(maximum bipartite matching, so the order of events never changes the score).

Borderline labels are optional: they do not count towards recall when missed, and a
prediction that matches one is not a false positive.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.models import Article, Event

EVENT_TYPES = ("statement", "military_update", "commitment")
_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case and strip accents: "Écrivain" -> "ecrivain"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def last_name(speaker: str) -> str:
    """The token a predicted speaker must contain: the last word of the labelled speaker."""
    tokens = words(speaker)
    return tokens[-1] if tokens else ""


@dataclass(frozen=True)
class Label:
    """One labelled event (or, with ``event_type`` None, the mark of a page without events)."""

    file: str
    event_type: str | None
    evidence: str
    alt_evidence: tuple[str, ...] = ()
    speaker: str | None = None
    borderline: bool = False
    fields: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def load_labels(path: Path) -> list[Label]:
    """Read a labels file; blank lines and lines starting with ``#`` are skipped."""
    labels: list[Label] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: {exc}") from exc
        event_type = obj.get("event_type")
        if event_type is not None and event_type not in EVENT_TYPES:
            raise ValueError(f"{path}:{n}: unknown event_type {event_type!r}")
        if event_type is not None and not obj.get("evidence"):
            raise ValueError(f"{path}:{n}: a labelled event needs its evidence")
        labels.append(
            Label(
                file=str(obj["file"]),
                event_type=event_type,
                evidence=str(obj.get("evidence") or ""),
                alt_evidence=tuple(obj.get("alt_evidence") or ()),
                speaker=obj.get("speaker"),
                borderline=bool(obj.get("borderline", False)),
                fields=obj,
            )
        )
    return labels


def evidence_matches(label_evidence: str, predicted_evidence: str) -> bool:
    """At least half of the labelled evidence's words occur in the predicted evidence."""
    wanted = words(label_evidence)
    if not wanted:
        return False
    have = set(words(predicted_evidence))
    return sum(1 for w in wanted if w in have) * 2 >= len(wanted)


def event_matches(label: Label, event: Event) -> bool:
    """The matching rule of the module docstring."""
    if label.event_type != event.event_type:
        return False
    if not any(
        evidence_matches(ev, event.evidence.text) for ev in (label.evidence, *label.alt_evidence)
    ):
        return False
    if label.event_type == "statement" and label.speaker:
        predicted = getattr(event.details, "speaker", None) or ""
        name = last_name(label.speaker)
        return bool(name) and name in " ".join(words(predicted))
    return True


def _max_matching(n_left: int, edges: dict[int, list[int]]) -> dict[int, int]:
    """Maximum bipartite matching (augmenting paths): returns right index -> left index."""
    owner: dict[int, int] = {}

    def augment(left: int, seen: set[int]) -> bool:
        for right in edges.get(left, []):
            if right in seen:
                continue
            seen.add(right)
            if right not in owner or augment(owner[right], seen):
                owner[right] = left
                return True
        return False

    for left in range(n_left):
        augment(left, set())
    return owner


@dataclass
class TypeScore:
    tp_labels: int = 0  # required labels matched
    labels: int = 0  # required labels
    tp_predictions: int = 0  # predictions matched to any label (borderline included)
    predictions: int = 0

    @property
    def precision(self) -> float:
        return self.tp_predictions / self.predictions if self.predictions else 1.0

    @property
    def recall(self) -> float:
        return self.tp_labels / self.labels if self.labels else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    """Scores per event type, misses and false events per page, negatives."""

    scores: dict[str, TypeScore]
    pages: int
    labelled_events: int
    negative_pages: int
    false_on_negatives: dict[str, int]
    missed: list[Label]
    false_positives: list[tuple[str, Event]]

    @property
    def max_false_per_negative(self) -> int:
        return max(self.false_on_negatives.values(), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "labelled_events": self.labelled_events,
            "negative_pages": self.negative_pages,
            "false_events_on_negative_pages": self.false_on_negatives,
            "types": {
                t: {
                    "precision": round(s.precision, 3),
                    "recall": round(s.recall, 3),
                    "f1": round(s.f1, 3),
                    "labels": s.labels,
                    "predictions": s.predictions,
                    "matched_labels": s.tp_labels,
                    "matched_predictions": s.tp_predictions,
                }
                for t, s in self.scores.items()
            },
        }

    def table(self) -> str:
        """The table the CLI prints and docs/evaluation.md shows."""
        lines = [
            f"{'event type':<16} {'P':>6} {'R':>6} {'F1':>6} {'labels':>7} {'predicted':>9}",
        ]
        for t, s in self.scores.items():
            lines.append(
                f"{t:<16} {s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f} "
                f"{s.labels:>7} {s.predictions:>9}"
            )
        lines.append(
            f"pages {self.pages}, labelled events {self.labelled_events}, "
            f"pages without events {self.negative_pages}, "
            f"max false events on such a page {self.max_false_per_negative}"
        )
        return "\n".join(lines)


def score(labels: Sequence[Label], predictions: dict[str, Sequence[Event]]) -> Report:
    """Match predictions to labels page by page and count per type.

    Args:
        labels: all labels (several pages).
        predictions: the events predicted for each labelled page, by file name.
    """
    scores = {t: TypeScore() for t in EVENT_TYPES}
    by_file: dict[str, list[Label]] = {}
    for lab in labels:
        by_file.setdefault(lab.file, []).append(lab)
    missed: list[Label] = []
    false_positives: list[tuple[str, Event]] = []
    false_on_negatives: dict[str, int] = {}
    for name, page_labels in sorted(by_file.items()):
        events = list(predictions.get(name, ()))
        real = [lab for lab in page_labels if lab.event_type is not None]
        edges = {
            i: [j for j, e in enumerate(events) if event_matches(lab, e)]
            for i, lab in enumerate(real)
        }
        # Required labels first so that a borderline label never takes a prediction a
        # required one needs.
        order = sorted(range(len(real)), key=lambda i: real[i].borderline)
        ordered_edges = {k: edges[i] for k, i in enumerate(order)}
        owner = _max_matching(len(order), ordered_edges)
        matched_labels = {order[k] for k in owner.values()}
        for e in events:
            scores[e.event_type].predictions += 1
        for j in owner:
            scores[events[j].event_type].tp_predictions += 1
        for i, lab in enumerate(real):
            if lab.borderline:
                continue
            scores[lab.event_type].labels += 1  # type: ignore[index]
            if i in matched_labels:
                scores[lab.event_type].tp_labels += 1  # type: ignore[index]
            else:
                missed.append(lab)
        false_positives.extend((name, e) for j, e in enumerate(events) if j not in owner)
        if not real:
            false_on_negatives[name] = len(events)
    return Report(
        scores=scores,
        pages=len(by_file),
        labelled_events=sum(1 for lab in labels if lab.event_type is not None),
        negative_pages=len(false_on_negatives),
        false_on_negatives=false_on_negatives,
        missed=missed,
        false_positives=false_positives,
    )


def read_article(path: Path) -> Article | None:
    """Extract one stored page (gzipped or not); None when it is not an article."""
    from pipeline.errors import NotAnArticleError
    from pipeline.extract import extract_article

    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return extract_article(raw, "file://" + path.name)
    except NotAnArticleError:
        return None


def predict(
    files: Iterable[str],
    pages_dir: Path,
    splitter: Callable[[Article], list[Event]] | None = None,
) -> dict[str, list[Event]]:
    """Run extraction and the splitter on each named page of ``pages_dir``."""
    if splitter is None:
        from pipeline.events import split_events as splitter
    out: dict[str, list[Event]] = {}
    for name in files:
        article = read_article(pages_dir / name)
        out[name] = list(splitter(article)) if article is not None else []
    return out


def evaluate(labels_path: Path, pages_dir: Path) -> Report:
    """Load the labels, split their pages and score."""
    labels = load_labels(labels_path)
    files = sorted({lab.file for lab in labels})
    return score(labels, predict(files, pages_dir))


def run_cli(labels_path: str, pages_dir: str, as_json: bool = False, verbose: bool = False) -> int:
    """``python -m pipeline evaluate``: print the table (or JSON); 0 even when scores are low."""
    report = evaluate(Path(labels_path), Path(pages_dir))
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
        return 0
    print(report.table())
    if verbose:
        for lab in report.missed:
            print(f"  missed {lab.file} {lab.event_type} {lab.speaker or ''}: {lab.evidence[:100]}")
        for name, e in report.false_positives:
            who = getattr(e.details, "speaker", None) or getattr(e.details, "location", "")
            print(f"  false  {name} {e.event_type} {who}: {e.evidence.text[:100]}")
    return 0
