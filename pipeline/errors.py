"""A small exception hierarchy: every error names the stage it happened in."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class; ``stage`` says where in the chain the error happened."""

    stage: str = "pipeline"

    def __init__(self, reason: str, *, source: str | None = None, **context: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.source = source
        self.context = context

    def __str__(self) -> str:
        where = f" [{self.source}]" if self.source else ""
        return f"{self.stage}: {self.reason}{where}"


class FetchError(PipelineError):
    stage = "fetch"


class ExtractionError(PipelineError):
    stage = "extract"


class NotAnArticleError(ExtractionError):
    """The page holds no article text worth splitting (a listing, a shop page, an error page)."""


class SplitError(PipelineError):
    stage = "split"


class ValidationFailed(PipelineError):
    stage = "validate"


class PublishError(PipelineError):
    stage = "publish"


class BrokerError(PipelineError):
    stage = "kafka"
