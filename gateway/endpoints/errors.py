"""The JSON error shape of contract section 4, and turning decode errors into it."""

from __future__ import annotations

import re

import msgspec
from starlette.responses import JSONResponse

_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> JSONResponse:
    body: dict = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status)


def invalid(field: str, problem: str) -> JSONResponse:
    return error(422, "invalid_body", f"{field}: {problem}", {field: problem})


def from_decode_error(exc: msgspec.DecodeError) -> JSONResponse:
    """msgspec says "Expected `str`, got `int` - at `$.customer.phone`": name the field."""
    text = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return invalid("body", f"expected a JSON object: {text}")
    match = _AT.search(text)
    problem = _AT.sub("", text)
    field = match[1] if match else ""
    for pattern in (r"Object missing required field `([^`]+)`", r"Object contains unknown field `([^`]+)`"):
        named = re.match(pattern, problem)
        if named:
            field = f"{field}.{named[1]}" if field else named[1]
    return invalid(field or "body", problem)
