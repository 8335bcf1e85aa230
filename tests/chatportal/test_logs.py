"""Structured logs: JSON lines with request/connection ids, and the text format."""

from __future__ import annotations

import io
import json
import logging
import logging.config

from foundation import logs


def capture(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    config = logs.logging_config(log_format=log_format, level="DEBUG")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestIdFilter())
    factory = config["formatters"][log_format if log_format == "json" else "text"]
    handler.setFormatter(
        logs.JsonFormatter() if "()" in factory else logging.Formatter(factory["format"])
    )
    logger = logging.getLogger(f"test.logs.{log_format}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_json_lines_carry_level_logger_message_and_request_id():
    logger, stream = capture("json")
    token = logs.REQUEST_ID.set("req-123")
    try:
        logger.warning("chat %s failed", "abc", extra={"conversation": "c-1", "seq": 7})
    finally:
        logs.REQUEST_ID.reset(token)
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "test.logs.json"
    assert entry["message"] == "chat abc failed"
    assert entry["request_id"] == "req-123"
    assert entry["conversation"] == "c-1" and entry["seq"] == 7
    assert entry["ts"].endswith("+00:00")


def test_json_lines_keep_tracebacks_in_one_line():
    logger, stream = capture("json")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert "ValueError: boom" in entry["exc"]
    assert entry["request_id"] == "-"


def test_text_lines_show_the_request_id():
    logger, stream = capture("text")
    token = logs.REQUEST_ID.set("ws-abc")
    try:
        logger.info("hello")
    finally:
        logs.REQUEST_ID.reset(token)
    assert "[ws-abc] hello" in stream.getvalue()


def test_the_setting_picks_the_formatter():
    assert (
        logs.logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"]
        == "json"
    )
    assert (
        logs.logging_config(log_format="TEXT", level="INFO")["handlers"]["console"]["formatter"]
        == "text"
    )
    assert (
        logs.logging_config(log_format="nonsense", level="INFO")["handlers"]["console"]["formatter"]
        == "text"
    )
    # The configuration is valid for dictConfig as a whole.
    logging.config.dictConfig(logs.logging_config(log_format="json", level="INFO"))
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


async def test_the_real_application_answers_with_a_request_id():
    from channels.testing import HttpCommunicator

    from chatportal.asgi import application

    communicator = HttpCommunicator(
        application,
        "GET",
        "/healthz",
        headers=[(b"host", b"127.0.0.1"), (b"x-request-id", b"probe-1")],
    )
    response = await communicator.get_response(timeout=15)
    assert response["status"] == 200
    assert (b"x-request-id", b"probe-1") in response["headers"]


async def test_the_asgi_stack_sets_and_echoes_request_ids():
    seen: list[str] = []

    async def app(scope, receive, send):
        seen.append(logs.current_request_id())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = logs.RequestIdMiddleware(app)
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    await middleware({"type": "http", "headers": [(b"x-request-id", b"lb-42")]}, receive, send)
    assert seen[-1] == "lb-42"
    assert (b"x-request-id", b"lb-42") in sent[0]["headers"]
    # A header that could inject into logs is replaced by our own id.
    await middleware({"type": "http", "headers": [(b"x-request-id", b"a\nb c")]}, receive, send)
    assert seen[-1] != "a\nb c" and len(seen[-1]) == 32
    await middleware({"type": "websocket", "headers": []}, receive, send)
    assert seen[-1].startswith("ws-")
    await middleware(
        {"type": "websocket", "headers": [(b"x-request-id", b"nginx-7f")]}, receive, send
    )
    assert seen[-1] == "nginx-7f"
    assert logs.current_request_id() == "-"
