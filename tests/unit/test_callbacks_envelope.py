"""The callback envelope (contract section 7) and its signature."""

from __future__ import annotations

import hashlib
import hmac

import msgspec
import pytest

from gateway.callbacks import Envelope, envelope, job_id, sign
from gateway.policy.consent import Consent, ConsentSource
from gateway.policy.lifecycle import Status, Workflow
from gateway.store.records import EventRecord, OrderRecord

RECEIVED_AT = 1_767_268_800.0  # 2026-01-01T12:00:00Z


def order(**changes) -> OrderRecord:
    fields = dict(
        id="A-1001",
        retailer="demo",
        workflow=Workflow.DELIVERY,
        customer_phone="+14155550101",
        customer_name="Sam",
        request_digest="d",
        status=Status.PICKING,
        consent=Consent(opt_in=True, source=ConsentSource.ORDER),
        sender="+15005550006",
        created_at=RECEIVED_AT - 60,
    )
    return OrderRecord(**{**fields, **changes})


def event(event_name: str = "picking", occurred_at: str | None = None, event_id: str = "ev-1"):
    return EventRecord(
        event_id=event_id, event_name=event_name, occurred_at=occurred_at,
        received_at=RECEIVED_AT, applied=True,
    )


def test_envelope_has_exactly_the_contract_fields():
    body = msgspec.json.decode(msgspec.json.encode(envelope(order(), event())))
    assert body == {
        "event_id": "ev-1",
        "event_name": "fulfillment.picking",
        "event_timestamp": "2026-01-01T12:00:00Z",
        "event_metadata": {
            "order_id": "A-1001",
            "retailer_id": "demo",
            "status": "picking",
            "workflow": "delivery",
        },
    }


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        (None, "2026-01-01T12:00:00Z"),  # absent: when the gateway received it
        ("2025-12-31T23:59:30Z", "2025-12-31T23:59:30Z"),
        ("2026-01-01T09:15:00-05:00", "2026-01-01T14:15:00Z"),  # converted to UTC
        ("2026-01-01T09:15:00.250+01:00", "2026-01-01T08:15:00.250Z"),
        ("2026-01-01T09:15:00", "2026-01-01T09:15:00Z"),  # no offset: taken as UTC
    ],
)
def test_event_timestamp_is_rfc3339_utc(occurred_at, expected):
    assert envelope(order(), event(occurred_at=occurred_at)).event_timestamp == expected


@pytest.mark.parametrize(
    ("event_name", "status", "workflow"),
    [
        ("staged", Status.STAGED, Workflow.PICKUP),
        ("delivering", Status.DELIVERING, Workflow.LAST_MILE),
        ("canceled", Status.CANCELED, Workflow.DELIVERY),
        ("rescheduled", Status.ACKNOWLEDGED, Workflow.DELIVERY),  # status after the event
    ],
)
def test_envelope_names_the_event_and_the_status_it_led_to(event_name, status, workflow):
    sent = envelope(order(status=status, workflow=workflow), event(event_name))
    assert sent.event_name == f"fulfillment.{event_name}"
    assert sent.event_metadata.status == status.value
    assert sent.event_metadata.workflow == workflow.value


def test_envelope_carries_no_customer_data():
    body = msgspec.json.encode(envelope(order(), event()))
    assert b"+14155550101" not in body
    assert b"Sam" not in body


def test_envelope_round_trips_through_its_struct():
    sent = envelope(order(), event())
    assert msgspec.json.decode(msgspec.json.encode(sent), type=Envelope) == sent


@pytest.mark.parametrize(
    ("body", "secret"),
    [
        (b'{"event_id":"ev-1"}', "whsec_demo"),
        (b"", "whsec_demo"),
        ('{"name":"Café"}'.encode(), "s3cr\u00e9t"),
        (b'{"event_id":"ev-1"}', ""),
    ],
)
def test_signature_is_hex_hmac_sha256_of_the_raw_body(body, secret):
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, secret) == f"sha256={expected}"


def test_signature_changes_with_body_and_secret():
    assert sign(b"a", "k") != sign(b"b", "k")
    assert sign(b"a", "k") != sign(b"a", "other")


def test_one_event_is_one_job_and_ids_do_not_collide():
    assert job_id(order(), event()) == job_id(order(status=Status.STAGED), event())
    assert job_id(order(), event(event_id="ev-2")) != job_id(order(), event())
    # "a:b" + "c" and "a" + "b:c" are different events.
    assert job_id(order(id="a:b"), event(event_id="c")) != job_id(order(id="a"), event(event_id="b:c"))
