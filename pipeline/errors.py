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


class RefusedURLError(FetchError):
    """The URL is one the fetcher must not reach: another scheme, a private address."""


class RobotsDisallowed(FetchError):
    """robots.txt asks us not to fetch this URL: the page is skipped, not failed."""


class DiscoveryError(PipelineError):
    """A feed, sitemap or homepage could not be read, so its articles are unknown."""

    stage = "discover"


class ExtractionError(PipelineError):
    stage = "extract"


class NotAnArticleError(ExtractionError):
    """The page holds no article text worth splitting (a listing, a shop page, an error page)."""


class SplitError(PipelineError):
    stage = "split"


class WorkerError(PipelineError):
    """A worker process raised, or died without a result."""

    stage = "worker"


class ValidationFailed(PipelineError):
    """A suite could not run, or a run failed its run-level expectations.

    ``result`` carries the :class:`pipeline.validate.RunValidation` when there is one.
    """

    stage = "validate"

    @property
    def result(self) -> object | None:
        return self.context.get("result")


class PublishError(PipelineError):
    stage = "publish"


class BrokerError(PipelineError):
    stage = "kafka"


class LedgerError(PipelineError):
    """The dedup ledger could not be read or written."""

    stage = "ledger"
