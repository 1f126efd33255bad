"""Log lines (contract section 2): one format for the gateway's loggers and uvicorn's, as text
or as one JSON object a line, with nothing a reader of the logs must not see.

Tokens travel in URLs (`/ws/customer?token=…`, `/orders/{id}?token=…`, `/media/{id}?sig=…`),
and uvicorn writes URLs into its access and WebSocket lines, so every line is redacted here,
at the one formatter every handler uses, rather than at each call. The gateway's own code
never logs a message text and masks phones itself (`phones.mask`); the phone pattern below
is a second net for a number that reaches a line some other way (a URL's query, a library)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from gateway.phones import mask

FORMATS = ("text", "json")

# `token=`, `access_token=`, `sig=` ... in a URL or a message: the value up to the next
# separator. `Bearer <credential>` in a quoted header.
_CREDENTIAL = re.compile(r"(?i)(\b\w*token=|\bsig=|\bsignature=)[^&\s\"'<>]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"'<>]+")
# A full international number: + (or %2B, as a URL writes it) and 7 to 15 digits.
_PHONE = re.compile(r"(?:\+|%2[bB])(\d{7,15})(?!\d)")
# Which order an access line is about: /v1/orders/{id}... and /orders/{id} (the page).
_ORDER_PATH = re.compile(r"^/(?:v1/)?orders/([A-Za-z0-9._:-]+)")

MASKED = "***"


def redact(text: str) -> str:
    """`text` without credentials or full phone numbers."""
    text = _CREDENTIAL.sub(lambda m: m[1] + MASKED, text)
    text = _BEARER.sub(lambda m: m[1] + MASKED, text)
    return _PHONE.sub(lambda m: mask("+" + m[1]), text)


class LogFormatter(logging.Formatter):
    """Formats every record, ours and uvicorn's, the same way: redacted, as text or as JSON
    with `ts`, `level`, `logger`, `msg`, and `order_id` when the record is about an order
    (`extra={"order_id": ...}`, or the path of an access line)."""

    def __init__(self, log_format: str = "text") -> None:
        super().__init__()
        if log_format not in FORMATS:
            raise ValueError(f'expected a log format of "text" or "json", got {log_format!r}')
        self.json_lines = log_format == "json"

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        problem = redact(self.formatException(record.exc_info)) if record.exc_info else ""
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        ts = ts.replace("+00:00", "Z")
        order_id = getattr(record, "order_id", None) or _order_of_access(record)
        if self.json_lines:
            line = {"ts": ts, "level": record.levelname, "logger": record.name, "msg": message}
            if order_id:
                line["order_id"] = str(order_id)
            if problem:
                line["exc"] = problem
            return json.dumps(line, ensure_ascii=False)
        text = f"{ts} {record.levelname} {record.name}: {message}"
        if order_id and str(order_id) not in message:
            text += f" (order {order_id})"
        return f"{text}\n{problem}" if problem else text


def _order_of_access(record: logging.LogRecord) -> str | None:
    # uvicorn.access records carry (client, method, path, http_version, status) as args.
    if record.name != "uvicorn.access" or not isinstance(record.args, tuple) or len(record.args) < 3:
        return None
    match = _ORDER_PATH.match(str(record.args[2]))
    return match[1] if match else None


def config(log_format: str) -> dict:
    """A `logging.config.dictConfig` document: one stderr handler with LogFormatter on the root
    logger, and uvicorn's loggers handing their records to it (uvicorn takes this as its
    `log_config`, so it does not install its own unredacted formatters)."""
    uvicorn = {"handlers": [], "propagate": True, "level": "INFO"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"gateway": {"()": LogFormatter, "log_format": log_format}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "gateway", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": uvicorn,
            "uvicorn.error": uvicorn,
            "uvicorn.access": uvicorn,
            # Every outbound request at INFO: noise next to our own lines about the same call.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
    }
