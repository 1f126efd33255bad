"""The HTTP edge's one way to refuse: raise `ApiError` (or a domain error) and let the
handlers here turn it into contract section 4's shape, `{"error":{"code","message"}}` with
`"fields"` on 422. `read_json` is the one body reader, with its size cap."""

from __future__ import annotations

import logging
import re

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.broker.base import BrokerUnavailable
from gateway.capacity import Overloaded
from gateway.orders import Conflict, ConsentRefusedError, InvalidField
from gateway.policy.lifecycle import Workflow
from gateway.store.base import OrderNotFound, StoreUnavailable
from gateway.wording import in_our_words

log = logging.getLogger("gateway.http")

MAX_BODY = 64 * 1024  # bytes; an order or an event is a few hundred


class ApiError(Exception):
    """A request refused: answered with `status` and the error shape."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


def invalid(field: str, problem: str) -> ApiError:
    """422 naming the field."""
    return ApiError(422, "invalid_body", f"{field}: {problem}", {field: problem})


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> JSONResponse:
    body: dict = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status)


def json_response(value: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


async def read_json(request: Request, schema: type, limit: int = MAX_BODY):
    """The body decoded as `schema`, read no further than `limit` bytes (413 past it)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, "too_large", f"expected a body of at most {limit} bytes")
    try:
        return msgspec.json.decode(raw, type=schema)
    except msgspec.DecodeError as exc:
        raise from_decode_error(exc) from None
    except UnicodeDecodeError as exc:  # msgspec raises it for bytes that are not UTF-8
        raise invalid("body", f"expected UTF-8 JSON: {exc.reason} at byte {exc.start}") from None


_AT = re.compile(r" - at `\$\.?([^`]*)`$")
# What a field with a pattern or a fixed set of values accepts, in the contract's words.
_ID_WORDS = "1-128 letters, digits or ._:- starting with a letter or digit"
_FORMATS = {"id": _ID_WORDS, "shopper.id": _ID_WORDS}
_CHOICES = {"workflow": tuple(workflow.value for workflow in Workflow)}


def from_decode_error(exc: msgspec.DecodeError) -> ApiError:
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


# --- the one mapping from exceptions to answers ------------------------------------------------


async def _api_error(request: Request, exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.fields)


async def _invalid_field(request: Request, exc: InvalidField) -> Response:
    return error_response(422, "invalid_body", f"{exc.field}: {exc.problem}", {exc.field: exc.problem})


async def _order_not_found(request: Request, exc: OrderNotFound) -> Response:
    return error_response(404, "not_found", f"no order {request.path_params.get('order_id')!r}")


async def _conflict(request: Request, exc: Conflict) -> Response:
    differ = dict.fromkeys(exc.fields, "differs from the order as created")
    message = f"order {exc.args[0]!r} exists with other values for: {', '.join(exc.fields)}"
    return error_response(409, "conflict", message, differ)


async def _consent_refused(request: Request, exc: ConsentRefusedError) -> Response:
    return error_response(409, exc.code, str(exc))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own 404 (no such route) and 405 (wrong method), in the API's error shape."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")


async def _unavailable(request: Request, exc: Exception) -> Response:
    """Redis is down: say so, so a client retries, rather than a bare 500."""
    log.warning("answered 503: %s", type(exc).__name__)
    return error_response(503, "unavailable", "the gateway cannot reach its store right now; try again")


async def _overloaded(request: Request, exc: Overloaded) -> Response:
    """Redis answers but this node is past what it can take (the metric and the log are the
    capacity pool's): come back after Retry-After."""
    response = error_response(
        503, "overloaded", f"the gateway is busy; retry after {exc.retry_after_seconds} s"
    )
    response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A bug: the same error shape as everything else (uvicorn still logs the traceback)."""
    return error_response(500, "internal", "the gateway failed to handle this request")


HANDLERS = {
    ApiError: _api_error,
    InvalidField: _invalid_field,
    OrderNotFound: _order_not_found,
    Conflict: _conflict,
    ConsentRefusedError: _consent_refused,
    StoreUnavailable: _unavailable,
    BrokerUnavailable: _unavailable,
    Overloaded: _overloaded,
    HTTPException: _http_error,
    Exception: _internal_error,
}
