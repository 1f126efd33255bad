"""WebSocket wire protocol (contract section 6): what clients may send, and the exact field names
of what the server sends."""

from __future__ import annotations

import msgspec
import pytest

from gateway.messages import (
    Ack,
    ChatMessage,
    ErrorFrame,
    Join,
    Joined,
    Leave,
    MessageFrame,
    OrderSummary,
    Ping,
    Pong,
    Presence,
    Read,
    ReadFrame,
    Receipt,
    Send,
    ShopperName,
    StatusFrame,
    Typing,
    TypingFrame,
    decode_client,
    decode_header,
    decode_server,
    encode,
)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"type":"join","order_id":"o1"}', Join(order_id="o1", after=0)),
        ('{"type":"join","order_id":"o1","after":0}', Join(order_id="o1", after=0)),
        ('{"type":"join","order_id":"o1","after":42}', Join(order_id="o1", after=42)),
        (
            '{"type":"send","order_id":"o1","client_id":"c-1","text":"On my way"}',
            Send(order_id="o1", client_id="c-1", text="On my way"),
        ),
        # Length is policy (too_long), not schema: an over-long text still decodes.
        (
            '{"type":"send","order_id":"o1","client_id":"c","text":"' + "a" * 1001 + '"}',
            Send(order_id="o1", client_id="c", text="a" * 1001),
        ),
        ('{"type":"typing","order_id":"o1"}', Typing(order_id="o1")),
        ('{"type":"read","order_id":"o1","seq":7}', Read(order_id="o1", seq=7)),
        ('{"type":"presence","order_id":"o1","visible":false}', Presence(order_id="o1", visible=False)),
        ('{"type":"leave","order_id":"o1"}', Leave(order_id="o1")),
        ('{"type":"ping"}', Ping()),
        ('{"order_id":"o1","type":"join"}', Join(order_id="o1")),  # tag need not come first
    ],
)
def test_decode_client_frame(frame, expected):
    assert decode_client(frame) == expected


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param('{"type":"join"}', id="join-missing-order_id"),
        pytest.param('{"type":"join","order_id":""}', id="join-empty-order_id"),
        pytest.param('{"type":"join","order_id":"' + "x" * 129 + '"}', id="join-order_id-too-long"),
        pytest.param('{"type":"join","order_id":"o1","after":-1}', id="join-negative-after"),
        pytest.param('{"type":"join","order_id":"o1","after":"3"}', id="join-after-as-string"),
        pytest.param('{"type":"join","order_id":"o1","after":1.5}', id="join-after-fractional"),
        pytest.param('{"type":"join","order_id":12}', id="join-order_id-as-number"),
        pytest.param('{"type":"send","order_id":"o1","text":"hi"}', id="send-missing-client_id"),
        pytest.param('{"type":"send","order_id":"o1","client_id":"","text":"hi"}', id="send-empty-client_id"),
        pytest.param('{"type":"send","order_id":"o1","client_id":"c"}', id="send-missing-text"),
        pytest.param('{"type":"send","order_id":"o1","client_id":"c","text":5}', id="send-text-as-number"),
        pytest.param('{"type":"send","order_id":"o1","client_id":"c","text":null}', id="send-text-null"),
        pytest.param('{"type":"read","order_id":"o1"}', id="read-missing-seq"),
        pytest.param('{"type":"read","order_id":"o1","seq":-2}', id="read-negative-seq"),
        pytest.param('{"type":"typing"}', id="typing-missing-order_id"),
        pytest.param('{"type":"subscribe","order_id":"o1"}', id="unknown-type"),
        pytest.param('{"type":"joined","order_id":"o1"}', id="server-frame-from-client"),
        pytest.param('{"type":"JOIN","order_id":"o1"}', id="type-in-wrong-case"),
        pytest.param('{"order_id":"o1"}', id="no-type"),
        pytest.param('{"type":null}', id="type-null"),
        pytest.param('["join","o1"]', id="array"),
        pytest.param('"ping"', id="string"),
        pytest.param("{}", id="empty-object"),
    ],
)
def test_bad_client_frame_is_a_validation_error(frame):
    with pytest.raises(msgspec.ValidationError):
        decode_client(frame)


@pytest.mark.parametrize("frame", ["", "not json", '{"type":"ping"', '{"type":"ping"} x'])
def test_malformed_json_is_a_decode_error(frame):
    with pytest.raises(msgspec.DecodeError):
        decode_client(frame)


def chat_message(**changes) -> ChatMessage:
    fields = dict(
        seq=3, id="m3", sender="shopper", via="app", text="Out of oat milk", at="2026-11-27T11:22:51.123Z"
    )
    return ChatMessage(**{**fields, **changes})


MESSAGE_JSON = {
    "seq": 3,
    "id": "m3",
    "from": "shopper",
    "via": "app",
    "text": "Out of oat milk",
    "at": "2026-11-27T11:22:51.123Z",
}


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param(
            Joined(
                order_id="o1",
                order=OrderSummary(status="picking", chat="open", workflow="delivery"),
                history=[chat_message()],
                last_seq=3,
            ),
            {
                "type": "joined",
                "order_id": "o1",
                "order": {"status": "picking", "chat": "open", "workflow": "delivery"},
                "history": [MESSAGE_JSON],
                "last_seq": 3,
            },
            id="joined-history_lost-omitted-when-false",
        ),
        pytest.param(
            Joined(
                order_id="o1",
                order=OrderSummary(status="brand_new", chat="not_started", workflow="pickup"),
                history=[],
                last_seq=0,
                history_lost=True,
            ),
            {
                "type": "joined",
                "order_id": "o1",
                "order": {"status": "brand_new", "chat": "not_started", "workflow": "pickup"},
                "history": [],
                "last_seq": 0,
                "history_lost": True,
            },
            id="joined-history_lost",
        ),
        pytest.param(
            Joined(
                order_id="o1",
                order=OrderSummary(
                    status="picking", chat="open", workflow="delivery", shopper=ShopperName(name="Alex")
                ),
                history=[],
                last_seq=0,
            ),
            {
                "type": "joined",
                "order_id": "o1",
                "order": {"status": "picking", "chat": "open", "workflow": "delivery", "shopper": {"name": "Alex"}},
                "history": [],
                "last_seq": 0,
            },
            id="joined-with-shopper",
        ),
        pytest.param(
            MessageFrame(order_id="o1", message=chat_message()),
            {"type": "message", "order_id": "o1", "message": MESSAGE_JSON},
            id="message-client_id-omitted-when-none",
        ),
        pytest.param(
            MessageFrame(order_id="o1", message=chat_message(sender="customer", via="web", client_id="c-9")),
            {
                "type": "message",
                "order_id": "o1",
                "message": {**MESSAGE_JSON, "from": "customer", "via": "web", "client_id": "c-9"},
            },
            id="message-with-client_id",
        ),
        pytest.param(
            Ack(client_id="c-9", message=chat_message(client_id="c-9")),
            {"type": "ack", "client_id": "c-9", "message": {**MESSAGE_JSON, "client_id": "c-9"}},
            id="ack",
        ),
        pytest.param(
            StatusFrame(order_id="o1", status="delivered", chat="closed"),
            {"type": "status", "order_id": "o1", "status": "delivered", "chat": "closed"},
            id="status",
        ),
        pytest.param(
            StatusFrame(order_id="o1", status="picking", chat="open", shopper=ShopperName(name="Alex")),
            {"type": "status", "order_id": "o1", "status": "picking", "chat": "open", "shopper": {"name": "Alex"}},
            id="status-with-shopper",
        ),
        pytest.param(
            Receipt(order_id="o1", seq=3, sms="delivered"),
            {"type": "receipt", "order_id": "o1", "seq": 3, "sms": "delivered"},
            id="receipt",
        ),
        pytest.param(
            TypingFrame(order_id="o1", sender="customer"),
            {"type": "typing", "order_id": "o1", "from": "customer"},
            id="typing",
        ),
        pytest.param(
            ReadFrame(order_id="o1", by="shopper", seq=3),
            {"type": "read", "order_id": "o1", "by": "shopper", "seq": 3},
            id="read",
        ),
        pytest.param(
            ErrorFrame(code="not_joined", message="join o1 first"),
            {"type": "error", "code": "not_joined", "message": "join o1 first"},
            id="error-client_id-omitted-when-none",
        ),
        pytest.param(
            ErrorFrame(code="too_long", message="at most 1000 characters, got 1001", client_id="c-9"),
            {
                "type": "error",
                "code": "too_long",
                "message": "at most 1000 characters, got 1001",
                "client_id": "c-9",
            },
            id="error-with-client_id",
        ),
        pytest.param(Pong(), {"type": "pong"}, id="pong"),
    ],
)
def test_server_frame_uses_contract_field_names(frame, expected):
    wire = encode(frame)
    assert msgspec.json.decode(wire) == expected
    assert decode_server(wire) == frame


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            MessageFrame(order_id="o1", message=chat_message()),
            {"type": "message", "order_id": "o1", "seq": 3, "from": "shopper", "by": None},
        ),
        (
            TypingFrame(order_id="o2", sender="customer"),
            {"type": "typing", "order_id": "o2", "seq": None, "from": "customer", "by": None},
        ),
        (
            ReadFrame(order_id="o3", by="customer", seq=5),
            {"type": "read", "order_id": "o3", "seq": None, "from": None, "by": "customer"},
        ),
        (
            StatusFrame(order_id="o4", status="picking", chat="open"),
            {"type": "status", "order_id": "o4", "seq": None, "from": None, "by": None},
        ),
    ],
)
def test_channel_header_reads_the_routing_fields(frame, expected):
    header = decode_header(encode(frame))
    seen = {
        "type": header.type,
        "order_id": header.order_id,
        "seq": header.message.seq if header.message else None,
        "from": header.message.sender if header.message else header.sender,
        "by": header.by,
    }
    assert seen == expected
