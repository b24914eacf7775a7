"""Every log line of a process is JSON, stdlib loggers included, with secrets masked."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from services.kit.logs import configure_logging


@pytest.fixture
def restore_logging():  # type: ignore[no-untyped-def]
    yield
    logging.getLogger().handlers.clear()
    structlog.reset_defaults()


def test_stdlib_and_structlog_lines_are_json_and_masked(
        capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    # Configured inside the test: pytest swaps sys.stderr between setup and call.
    configure_logging("test-svc", "INFO", True)
    logging.getLogger("uvicorn.error").info("Started server process %s", 42)
    logging.getLogger("some.lib").warning("connecting to postgresql://app:hunter2@db/x")
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("some.lib").exception("failed")
    structlog.get_logger("tenantry.test").info("called", authorization="Bearer abc.def")
    logging.getLogger("alembic.runtime.plugins").info("setup plugin x")  # held at WARNING
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [line["event"] for line in lines] == [
        "Started server process 42", "connecting to postgresql://app:***@db/x", "failed", "called"]
    assert all(line["service"] == "test-svc" and line["timestamp"] for line in lines)
    assert lines[0]["logger"] == "uvicorn.error" and lines[0]["level"] == "info"
    assert "ValueError: bad" in lines[2]["exception"]
    assert lines[3]["authorization"] == "***"
    assert "hunter2" not in json.dumps(lines) and "abc.def" not in json.dumps(lines)
