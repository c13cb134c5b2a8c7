"""Which values are secret, and that the log filter masks them in messages and tracebacks."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from pipeline.secrets import MASK, install_log_redaction, secret_values
from pipeline.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        state_dir=tmp_path,
        kafka_sasl_password="sasl-secret-1",
        kafka_ssl_password="ssl-secret-2",
        ledger_url="postgresql://pipeline:db-secret-3@db.example/ledger",
    )


def test_every_secret_of_the_settings_is_known_and_none_is_in_their_repr(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    values = secret_values(settings)
    assert {"sasl-secret-1", "ssl-secret-2", "db-secret-3"} <= set(values)
    assert not any(value in repr(settings) for value in values)
    assert secret_values(Settings(state_dir=tmp_path)) == []  # SQLite: nothing secret


def test_log_records_are_masked_in_messages_arguments_and_tracebacks(tmp_path: Path) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test_secrets_masking")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    install_log_redaction(_settings(tmp_path), logger)
    try:
        logger.warning("connecting with %s", "sasl-secret-1")
        logger.warning("url postgresql://pipeline:db-secret-3@db.example/ledger")
        logger.warning("redirected to %s", "https://reader:hunter22@news.example/a")
        try:
            raise ValueError("bad password ssl-secret-2")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "secret-" not in out
    assert out.startswith(f"connecting with {MASK}\nurl {MASK}\n")  # the ledger URL is secret
    assert "redirected to https://***@news.example/a" in out and "hunter22" not in out
    assert f"ValueError: bad password {MASK}" in out  # the traceback is kept, masked


def test_debug_logging_leaves_out_httpcores_wire_trace(tmp_path: Path) -> None:
    """At DEBUG the CLI logs the pipeline's detail, not httpcore's raw headers and cookies."""
    from pipeline.cli import configure_logging

    root, httpcore = logging.getLogger(), logging.getLogger("httpcore")
    saved = (root.level, list(root.handlers), httpcore.level)
    try:
        root.handlers[:] = []  # as in a fresh CLI process (pytest attaches its own)
        configure_logging(Settings(state_dir=tmp_path, log_level="DEBUG"))
        assert logging.getLogger("pipeline").isEnabledFor(logging.DEBUG)
        assert not httpcore.isEnabledFor(logging.DEBUG)
        assert httpcore.isEnabledFor(logging.INFO)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        httpcore.setLevel(saved[2])
