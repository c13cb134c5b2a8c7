"""Keeping credentials out of logs: which values are secret, and a filter that masks them.

Credentials come only from settings (``SecretStr`` fields, filled from the environment) or
Airflow Connections; nothing else holds one. Error messages name URLs without their
passwords; as a second line of defence every log record the CLI or an Airflow task writes
passes through a filter that replaces each known secret value with ``***``, and inside
Airflow the values are registered with Airflow's own secrets masker too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from pydantic import SecretStr

from pipeline.settings import Settings

MASK = "***"
# Shorter values would mask ordinary words; no real password is this short.
MIN_SECRET_LENGTH = 4
# The userinfo of a URL anywhere in a text: scheme, then everything up to the last "@"
# before the path, query, fragment or a space.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@")


def redact_url(text: str) -> str:
    """``text`` (a URL, or a message with URLs) with every URL's ``user:password@`` replaced
    by ``***@``: safe to log and to put in a dead letter."""
    return _USERINFO.sub(r"\1***@", text)


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold: the ``SecretStr`` fields and the ledger URL's password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    try:
        password = make_url(settings.resolved_ledger_url).password
    except ArgumentError:
        password = None
    if password:
        values.append(str(password))
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that masks secret values and URL credentials in the formatted
    message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact_url(redact(message, self.secrets))
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, masked, so handlers print this text instead.
            record.exc_text = redact_url(
                redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            )
            record.exc_info = None
        return True


def install_log_redaction(
    settings: Settings, logger: logging.Logger | None = None, *, airflow: bool = False
) -> None:
    """Mask the settings' secrets in every handler of ``logger`` (the root logger by default);
    with ``airflow`` (inside a task) register them with Airflow's secrets masker too.

    Only a task asks for Airflow's masker: importing it sets up Airflow's logging, which the
    command line must not get."""
    secrets = secret_values(settings)
    target = logger or logging.getLogger()
    for handler in target.handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        handler.addFilter(RedactingFilter(secrets))
    if not airflow:
        return
    from airflow.sdk.log import mask_secret

    for secret in secrets:
        mask_secret(secret)
