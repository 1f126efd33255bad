"""Twilio's Messages API, faked: a Starlette app under uvicorn on a free 127.0.0.1 port that
records every create-message request and answers as Twilio does (201 + Message JSON, or an error
body with Twilio's code). Also `prism_twilio`: the Prism mock of Twilio's own OpenAPI spec."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qsl

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from support.serving import serving

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
API_VERSION = "2010-04-01"

# Twilio's own codes and wording for the errors the fake gives unless told otherwise.
DEFAULT_ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


class RecordedRequest(msgspec.Struct, frozen=True):
    """One POST to .../Messages.json as the fake saw it, and the HTTP status it answered."""

    account_sid: str
    username: str | None
    password: str | None
    form: dict[str, str]
    answered: int
    sid: str | None = None  # the Message sid answered with 201
    media_urls: tuple[str, ...] = ()  # every MediaUrl, in order (the form keeps only the last)


class MediaRequest(msgspec.Struct, frozen=True):
    """One GET of a media URL as a fake host saw it."""

    path: str
    authorization: str | None
    answered: int


class _Media(msgspec.Struct):
    content_type: str
    data: bytes
    redirect_to: str | None = None  # answer with a redirect there instead
    held: bool = False  # answer 503 (Twilio still storing it) until released


class _Failure(msgspec.Struct, frozen=True):
    status: int
    code: int | None
    message: str


class FakeTwilio:
    """A local Messages API. `fail_next(...)` queues error answers, used in order; every other
    request with the right credentials gets 201 and a Message with a fresh SM sid."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self._failures: collections.deque[_Failure] = collections.deque()
        self._changed = asyncio.Condition()
        self._answering = asyncio.Event()  # cleared by hold_answers: creates wait for release
        self._answering.set()
        self.held: list[str] = []  # sids of the answers held back, in arrival order
        self._serving = contextlib.AsyncExitStack()
        self._media: dict[str, _Media] = {}
        self.media_requests: list[MediaRequest] = []
        self.app = Starlette(
            routes=[
                Route(
                    f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                ),
                Route(
                    f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{message_sid}}/Media/{{media_sid}}",
                    self._get_media,
                    methods=["GET"],
                ),
            ]
        )

    @property
    def accepted(self) -> list[RecordedRequest]:
        """The requests answered 201: the texts Twilio would deliver."""
        return [request for request in self.requests if request.answered == 201]

    def fail_next(self, status: int = 500, code: int | None = None, message: str | None = None) -> None:
        """Answer the next create request (after any failures already queued) with `status`."""
        default_code, default_message = DEFAULT_ERRORS.get(status, (None, "Error"))
        self._failures.append(
            _Failure(
                status=status,
                code=default_code if code is None else code,
                message=default_message if message is None else message,
            )
        )

    def hold_answers(self) -> None:
        """From now on, hold each create's answer (its sid already chosen, in `held`) until
        `release_answers()`: Twilio answering late, while its status callbacks may not."""
        self._answering.clear()

    def release_answers(self) -> None:
        self._answering.set()

    async def wait_for_held(self, n: int, timeout: float = 5) -> list[str]:
        await self.wait_for(lambda: len(self.held) >= n, timeout)
        return list(self.held)

    async def wait_for_requests(self, n: int, timeout: float = 5) -> list[RecordedRequest]:
        """Waits until at least `n` requests arrived; returns all of them."""
        return await self.wait_for(lambda: len(self.requests) >= n, timeout)

    async def wait_for_accepted(self, n: int, timeout: float = 5) -> list[RecordedRequest]:
        """Waits until at least `n` texts were accepted (201); returns them."""
        await self.wait_for(lambda: len(self.accepted) >= n, timeout)
        return self.accepted

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5) -> list[RecordedRequest]:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(condition), timeout)
            except TimeoutError:
                raise AssertionError(
                    f"fake Twilio: condition not met within {timeout}s; "
                    f"{len(self.requests)} request(s) so far, answered "
                    f"{[request.answered for request in self.requests]}"
                ) from None
        return list(self.requests)

    def add_media(
        self, data: bytes, content_type: str, *, redirect_to: str | None = None, held: bool = False
    ) -> str:
        """A photo of an inbound MMS, as Twilio keeps it: its MediaUrl, answered only with the
        account's Basic auth, with the bytes or (as Twilio does) a redirect to storage."""
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/MM{secrets.token_hex(16)}/Media/ME{secrets.token_hex(16)}"
        self._media[path] = _Media(content_type=content_type, data=data, redirect_to=redirect_to, held=held)
        return self.base_url + path

    def release(self, url: str) -> None:
        """A held photo is served from now on."""
        self._media[url.removeprefix(self.base_url)].held = False

    async def wait_for_media_requests(self, n: int, timeout: float = 5) -> list[MediaRequest]:
        await self.wait_for(lambda: len(self.media_requests) >= n, timeout)
        return list(self.media_requests)

    async def _get_media(self, request: Request) -> Response:
        username, password = _basic_auth(request.headers.get("authorization", ""))
        item = self._media.get(request.url.path)
        if (username, password) != (self.account_sid, self.auth_token):
            response: Response = _error(401)
        elif item is None:
            response = _error(404)
        elif item.held:
            response = _error(503)
        elif item.redirect_to is not None:
            response = RedirectResponse(item.redirect_to, status_code=307)
        else:
            response = Response(item.data, media_type=item.content_type)
        async with self._changed:
            self.media_requests.append(
                MediaRequest(request.url.path, request.headers.get("authorization"), response.status_code)
            )
            self._changed.notify_all()
        return response

    def sms_config(self) -> dict[str, str]:
        """The gateway's [sms] section for texting through this fake."""
        return {
            "provider": "twilio",
            "twilio_account_sid": self.account_sid,
            "twilio_auth_token": self.auth_token,
            "twilio_api_base": self.base_url,
        }

    async def start(self) -> None:
        self.base_url = await self._serving.enter_async_context(serving(self.app, lifespan="off"))

    async def close(self) -> None:
        await self._serving.aclose()

    async def __aenter__(self) -> FakeTwilio:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _create_message(self, request: Request) -> JSONResponse:
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        form = dict(pairs)
        media_urls = tuple(value for name, value in pairs if name == "MediaUrl")
        username, password = _basic_auth(request.headers.get("authorization", ""))
        path_sid = request.path_params["account_sid"]
        response = self._answer(path_sid, username, password, form, len(media_urls))
        sid = msgspec.json.decode(response.body).get("sid")
        if not self._answering.is_set():
            async with self._changed:
                self.held.append(sid)
                self._changed.notify_all()
            await self._answering.wait()
        async with self._changed:
            self.requests.append(
                RecordedRequest(
                    account_sid=path_sid, username=username, password=password,
                    form=form, answered=response.status_code, sid=sid, media_urls=media_urls,
                )
            )
            self._changed.notify_all()
        return response

    def _answer(
        self, path_sid: str, username: str | None, password: str | None, form: dict, num_media: int
    ) -> JSONResponse:
        if (username, password) != (self.account_sid, self.auth_token):
            return _error(401)
        if path_sid != self.account_sid:
            return _error(404)
        if self._failures:
            failure = self._failures.popleft()
            return _error(failure.status, failure.code, failure.message)
        for field, code in (("To", 21604), ("From", 21603)):
            if not form.get(field):
                return _error(400, code, f"A '{field}' parameter is required.")
        if not form.get("Body") and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")  # a photo alone needs none
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form["To"],
                "from": form["From"],
                "body": form.get("Body", ""),
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": "1",
                "num_media": str(num_media),
                "api_version": API_VERSION,
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "messaging_service_sid": None,
                "price": None,
                "price_unit": "USD",
                "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            status_code=201,
        )


def _error(status: int, code: int | None = None, message: str | None = None) -> JSONResponse:
    default_code, default_message = DEFAULT_ERRORS.get(status, (None, "Error"))
    code = default_code if code is None else code
    body = {
        "code": code,
        "message": default_message if message is None else message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None, None
    return username, password


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as fake:
        yield fake


class FakeHost:
    """Another web host: Twilio's media storage (a redirect's target), or a host an MMS names
    that the gateway must never contact. Records every request it gets."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[MediaRequest] = []
        self._files: dict[str, tuple[str, bytes]] = {}
        self._serving = contextlib.AsyncExitStack()
        self.app = Starlette(routes=[Route("/{path:path}", self._get, methods=["GET"])])

    def put(self, data: bytes, content_type: str) -> str:
        path = f"/files/{secrets.token_hex(8)}"
        self._files[path] = (content_type, data)
        return self.base_url + path

    def redirect_loop(self) -> str:
        """A URL that redirects to itself, for ever."""
        return self.base_url + "/loop"

    async def _get(self, request: Request) -> Response:
        found = self._files.get(request.url.path)
        if request.url.path == "/loop":
            response: Response = RedirectResponse(self.redirect_loop(), status_code=302)
        elif found is None:
            response = Response(status_code=404)
        else:
            response = Response(found[1], media_type=found[0])
        self.requests.append(MediaRequest(request.url.path, request.headers.get("authorization"), response.status_code))
        return response

    async def __aenter__(self) -> FakeHost:
        # "localhost", not 127.0.0.1: another host name than the fake Twilio's, not only another port.
        url = await self._serving.enter_async_context(serving(self.app, lifespan="off"))
        self.base_url = url.replace("127.0.0.1", "localhost")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._serving.aclose()


@pytest.fixture
async def media_storage() -> AsyncIterator[FakeHost]:
    """Where the fake Twilio's media URLs may redirect to (Twilio's storage is another host)."""
    async with FakeHost() as host:
        yield host


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeHost]:
    """A host no MediaUrl may make the gateway contact."""
    async with FakeHost() as host:
        yield host


# Prism ---------------------------------------------------------------------------------------


MOCK_TWILIO = Path(__file__).resolve().parents[2] / "scripts" / "mock-twilio"


@pytest.fixture(scope="session")
def prism_twilio() -> Iterator[str]:
    """Base URL of Prism serving Twilio's OpenAPI spec: it answers 201 to a request the spec
    accepts and 422 to one it does not. Fails (never skips) when it cannot start."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryFile("w+") as errors:
        try:
            process = subprocess.Popen(
                [sys.executable, str(MOCK_TWILIO), "--port", str(port)],
                stdout=subprocess.PIPE, stderr=errors, text=True,
            )
        except OSError as exc:
            pytest.fail(f"cannot run {MOCK_TWILIO}: {exc}")
        line = process.stdout.readline()  # blocks until READY, or EOF when it gave up
        if not line.startswith("READY"):
            process.kill()
            process.wait()
            errors.seek(0)
            pytest.fail(
                f"{MOCK_TWILIO} did not start Prism (needs node and npm; the first run installs Prism "
                f"and Twilio's spec from npm). Expected a READY line, got {line!r}. "
                f"stderr:\n{errors.read()[-2000:]}"
            )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()  # the script stops Prism on SIGTERM
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()

