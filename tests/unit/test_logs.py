"""Log lines (contract section 2): no token or full phone in any line, ours or uvicorn's; one
format for both; JSON lines with ts, level, logger, msg and order_id where known."""

from __future__ import annotations

import json
import logging
import logging.config
import sys

import pytest

from gateway.logs import LogFormatter, config, redact

TOKEN = "YwBrN-NRby1waG9uZQ.yVKY5_wYmyYQOXFE1gz2xQ"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f'127.0.0.1:5000 - "WebSocket /ws/customer?token={TOKEN}" [accepted]',
            '127.0.0.1:5000 - "WebSocket /ws/customer?token=***" [accepted]',
        ),
        (
            f'127.0.0.1:5000 - "GET /orders/o-1?token={TOKEN} HTTP/1.1" 200',
            '127.0.0.1:5000 - "GET /orders/o-1?token=*** HTTP/1.1" 200',
        ),
        (f"/orders/o-1?lang=fr&token={TOKEN}&x=1", "/orders/o-1?lang=fr&token=***&x=1"),
        (f"/media/m1?sig={TOKEN}", "/media/m1?sig=***"),
        (f"callback https://shop.example/cb?access_token={TOKEN}", "callback https://shop.example/cb?access_token=***"),
        (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer ***"),
        ("text to +15551230001 from +15005550006", "text to +1********01 from +1********06"),
        ("GET /dev/api/phone/texts?phone=%2B15551230001", "GET /dev/api/phone/texts?phone=+1********01"),
        ("text to +1********01 (12 chars)", "text to +1********01 (12 chars)"),  # already masked
        ("order ORDER-10428 moved to picking", "order ORDER-10428 moved to picking"),  # ids stay
        ("took 1234567 ms", "took 1234567 ms"),  # digits without + are not phones
    ],
)
def test_redact_masks_tokens_and_phones_and_leaves_the_rest(line, expected):
    assert redact(line) == expected


def record(name: str, msg: str, args: tuple = (), *, level: int = logging.INFO, exc_info=None, **extra):
    made = logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


ACCESS = ('%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET", f"/v1/orders/o-42/messages?token={TOKEN}", "1.1", 200))


def test_json_line_has_the_required_fields_and_no_token():
    line = LogFormatter("json").format(record("uvicorn.access", *ACCESS))
    parsed = json.loads(line)
    assert parsed["level"] == "INFO" and parsed["logger"] == "uvicorn.access"
    assert parsed["ts"].endswith("Z") and "T" in parsed["ts"]
    assert parsed["msg"] == '127.0.0.1:5000 - "GET /v1/orders/o-42/messages?token=*** HTTP/1.1" 200'
    assert parsed["order_id"] == "o-42"  # from the access line's path
    assert TOKEN not in line


def test_order_id_comes_from_extra():
    line = LogFormatter("json").format(record("gateway.texting", "text refused", order_id="o-7"))
    assert json.loads(line)["order_id"] == "o-7"
    text = LogFormatter("text").format(record("gateway.texting", "text refused", order_id="o-7"))
    assert text.endswith("INFO gateway.texting: text refused (order o-7)")


def test_a_line_about_no_order_has_no_order_id():
    assert "order_id" not in json.loads(LogFormatter("json").format(record("gateway", "started")))


def test_a_traceback_stays_on_the_json_line_and_is_redacted():
    try:
        raise RuntimeError(f"boom for /ws/shopper?token={TOKEN}")
    except RuntimeError:
        made = record("gateway.sockets", "could not handle", level=logging.ERROR, exc_info=sys.exc_info())
    line = LogFormatter("json").format(made)
    assert "\n" not in line
    parsed = json.loads(line)
    assert "RuntimeError" in parsed["exc"] and TOKEN not in line


def test_text_line_is_timestamp_level_logger_message():
    line = LogFormatter("text").format(record("uvicorn.error", '%s - "WebSocket %s" [accepted]',
                                               ("127.0.0.1:1", f"/ws/customer?token={TOKEN}")))
    ts, level, rest = line.split(" ", 2)
    assert ts.endswith("Z") and level == "INFO"
    assert rest == 'uvicorn.error: 127.0.0.1:1 - "WebSocket /ws/customer?token=***" [accepted]'


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match='"text" or "json"'):
        LogFormatter("xml")


def test_config_sends_uvicorns_loggers_through_the_same_handler(capsys, restored_logging):
    logging.config.dictConfig(config("json"))
    for name in ("uvicorn.error", "uvicorn.access", "gateway.sms"):
        logging.getLogger(name).info("to /ws/customer?token=%s", TOKEN)
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["logger"] for line in lines] == ["uvicorn.error", "uvicorn.access", "gateway.sms"]
    assert all(TOKEN not in line for line in lines)
