"""Figures the tests measure, printed together at the end of the pytest run.

``pytest -q`` hides what passing tests print; a test that measures something worth reading
(time and memory per hostile page, the load run, the fuzzing run) calls :func:`figure`, and
``tests/conftest.py`` prints every figure in a section of the terminal summary, so CI logs
show them.
"""

from __future__ import annotations

FIGURES: list[str] = []


def figure(text: str) -> None:
    """Keep ``text`` for the summary (and print it, for ``pytest -s``)."""
    text = text.strip("\n")
    FIGURES.append(text)
    print(text)
