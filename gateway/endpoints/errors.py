"""The JSON error shape of contract section 4, and turning decode errors into it."""

from __future__ import annotations

import re

import msgspec
from starlette.responses import JSONResponse

from gateway.policy.lifecycle import Workflow
from gateway.wording import in_our_words

_AT = re.compile(r" - at `\$\.?([^`]*)`$")
# What a field with a pattern or a fixed set of values accepts, in the contract's words.
_ID_WORDS = "1-128 letters, digits or ._:- starting with a letter or digit"
_FORMATS = {"id": _ID_WORDS, "shopper.id": _ID_WORDS}
_CHOICES = {"workflow": tuple(workflow.value for workflow in Workflow)}


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
    words = in_our_words(problem, choices=_CHOICES.get(field, ()), format_words=_FORMATS.get(field, ""))
    return invalid(field or "body", words)
