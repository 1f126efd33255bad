"""Property-based fuzzing (hypothesis) of what the outside sends a running gateway: WebSocket
frames, Twilio webhook forms and API bodies. Whatever arrives, the gateway never answers 500,
never closes a healthy socket, and always answers in the contract's error shape."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from websockets.sync.client import connect

from gateway import messages
from support.app_server import OPERATOR_KEY, RETAILER_KEY, auth, base_config, running_gateway

pytestmark = pytest.mark.e2e

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ERROR_CODES = {
    "bad_frame", "not_authorized", "not_joined", "chat_not_open", "chat_closed", "chat_unavailable",
    "too_long", "rate_limited", "bad_media", "already_answered", "unavailable", "overloaded",
}
REPLIES = {"pong", "ack", "joined", "message", "receipt", "typing", "read", "status", "error"}
ORDER = "o-fuzz"


class Live:
    """The gateway on its own thread and loop, so hypothesis drives it with blocking clients."""

    def __init__(self) -> None:
        self.url = ""
        self.customer_token = ""
        self.shopper_token = ""
        self.twilio_token = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by the fixture
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        config = base_config(limits={"chat_per_second": 100000})
        async with running_gateway(config) as gateway:
            view = await gateway.picking_order(ORDER)
            self.customer_token = view["customer_token"]
            self.shopper_token = await gateway.shopper_token()
            self.twilio_token = gateway.settings.sms.twilio_auth_token or "unused"
            self.url = gateway.url
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    gateway = Live()
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    assert gateway._ready.wait(30), "the gateway did not start"
    if gateway._failure is not None:
        raise gateway._failure
    yield gateway
    gateway.stop()
    thread.join(30)


@pytest.fixture(scope="module")
def http(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, trust_env=False, timeout=10) as client:
        yield client


def assert_error_shape(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text  # embedded: nothing is ever unavailable
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]


# --- WebSocket frames ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
frame_types = st.sampled_from(["join", "send", "typing", "read", "leave", "ping", "presence", "propose", "answer", "nope"])
field_values = {
    "order_id": st.sampled_from([ORDER, "o-other", "", "x" * 200]) | st.text(max_size=20) | json_values,
    "client_id": st.text(max_size=140) | json_values,
    "text": st.text(max_size=1100) | json_values,
    "after": st.integers(-5, 2**60) | json_values,
    "seq": st.integers(-5, 2**60) | json_values,
}
frames = st.one_of(
    st.builds(
        lambda kind, fields: json.dumps({"type": kind, **fields}),
        frame_types,
        st.fixed_dictionaries({}, optional=field_values),
    ),
    json_values.map(json.dumps),
    st.text(max_size=200),
)


@pytest.fixture(scope="module")
def sockets(live: Live) -> Iterator[dict]:
    with contextlib.ExitStack() as stack:
        opened = {}
        for role, token in (("shopper", live.shopper_token), ("customer", live.customer_token)):
            url = f"{live.url.replace('http', 'ws', 1)}/ws/{role}?token={token}"
            ws = stack.enter_context(connect(url, open_timeout=10))
            ws.send(json.dumps({"type": "join", "order_id": ORDER}))
            opened[role] = ws
        yield opened


def is_ping(frame: str | bytes) -> bool:
    """Whether the gateway reads this frame as a ping (it answers a pong of its own); a
    binary frame never is."""
    if isinstance(frame, bytes):
        return False
    try:
        return isinstance(messages.decode_client(frame), messages.Ping)
    except msgspec.DecodeError:
        return False


def replies_until_pong(ws, sent: str | bytes) -> list[dict]:
    """Everything the gateway answered to `sent`, up to the pong of a ping sent after it."""
    ws.send('{"type":"ping"}')
    pongs = 2 if is_ping(sent) else 1
    seen = []
    while pongs:
        frame = json.loads(ws.recv(timeout=10))  # raises if the socket was closed
        if frame["type"] == "pong":
            pongs -= 1
        else:
            seen.append(frame)
    return seen


@EXAMPLES
@given(frame=frames, role=st.sampled_from(["shopper", "customer"]))
def test_any_frame_gets_a_contract_answer_and_the_socket_stays(sockets, frame, role):
    ws = sockets[role]
    ws.send(frame)
    for reply in replies_until_pong(ws, frame):  # a closed socket raises here
        assert reply["type"] in REPLIES
        if reply["type"] == "error":
            assert reply["code"] in ERROR_CODES, reply
            assert isinstance(reply["message"], str) and reply["message"]


@settings(max_examples=20, deadline=None)
@given(payload=st.binary(min_size=1, max_size=100))
def test_a_binary_frame_is_a_bad_frame_and_the_socket_stays(sockets, payload):
    ws = sockets["customer"]
    ws.send(payload)
    errors = [reply for reply in replies_until_pong(ws, payload) if reply["type"] == "error"]
    assert [error["code"] for error in errors] == ["bad_frame"]


# --- Twilio forms -------------------------------------------------------------------------

form_values = st.text(max_size=40) | st.sampled_from(["", "STOP", "start", "+15551230001", "+15005550006", "delivered", "30003"])
forms = st.dictionaries(
    st.sampled_from([
        "MessageSid", "SmsSid", "From", "To", "Body", "MessageStatus", "ErrorCode", "NumMedia", "OptOutType",
        "AccountSid", "MediaUrl0", "MediaContentType0",
    ]) | st.text(max_size=10),
    form_values,
    max_size=8,
)


@EXAMPLES
@given(form=forms, path=st.sampled_from(["/twilio/inbound", "/twilio/status"]), signed=st.booleans())
def test_any_twilio_form_gets_an_answer_never_a_500(live, http, form, path, signed):
    form = {key: value.replace("\x00", "") for key, value in form.items() if "\x00" not in key}
    signature = RequestValidator(live.twilio_token).compute_signature(live.url + path, form) if signed else "nope"
    response = http.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert_error_shape(response)
    if not signed:
        assert response.status_code == 403


# --- API bodies ---------------------------------------------------------------------------

order_bodies = st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=20) | json_values,
    "workflow": st.sampled_from(["delivery", "pickup", "last_mile", "x"]) | json_values,
    "customer": st.fixed_dictionaries({}, optional={"phone": st.text(max_size=20) | json_values, "name": json_values}) | json_values,
    "sms_opt_in": json_values,
    "locale": json_values,
})
event_bodies = st.fixed_dictionaries({}, optional={
    "event_id": st.text(max_size=20) | json_values,
    "event_name": st.sampled_from(["picking", "delivered", "canceled", "rescheduled", "nope"]) | json_values,
    "occurred_at": st.sampled_from(["2026-01-01T00:00:00Z", "yesterday"]) | json_values,
    "shopper": st.fixed_dictionaries({}, optional={"id": json_values, "name": json_values}) | json_values,
})
calls = st.one_of(
    st.tuples(st.just("POST"), st.just("/v1/orders"), st.just(RETAILER_KEY), order_bodies.map(json.dumps)),
    st.tuples(st.just("POST"), st.just(f"/v1/orders/{ORDER}-other/events"), st.just(OPERATOR_KEY), event_bodies.map(json.dumps)),
    st.tuples(st.just("PUT"), st.just(f"/v1/orders/{ORDER}/sms"), st.just(OPERATOR_KEY),
              st.fixed_dictionaries({}, optional={"opt_in": json_values}).map(json.dumps)),
    st.tuples(st.sampled_from(["POST", "PUT"]), st.sampled_from(["/v1/orders", f"/v1/orders/{ORDER}/sms"]),
              st.sampled_from([RETAILER_KEY, OPERATOR_KEY, "bad"]), st.text(max_size=100)),
)


@EXAMPLES
@given(call=calls)
def test_any_api_body_gets_the_contracts_answer_never_a_500(http, call):
    method, path, key, body = call
    response = http.request(method, path, content=body.encode(), headers={**auth(key), "Content-Type": "application/json"})
    assert_error_shape(response)
    if response.status_code == 422:
        assert response.json()["error"]["fields"]
