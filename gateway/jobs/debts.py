"""Debts: what a change to an order owes the outside world (a text, a retailer callback),
written into the order's outbox in the same atomic step as the change itself, then moved to
the job queue (gateway/jobs/outbox.py). A node that dies between the two leaves the debt in
the outbox, where another node's drainer finds it."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from gateway.store.records import MediaRef

TEXT = "text"  # the job kind of a text to a customer (gateway/texting.py runs it)


class Debt(msgspec.Struct, frozen=True):
    """One job owed: its kind, its id (unique in the job queue; the same debt is the same
    job, so draining it twice queues it once) and the producer's payload."""

    kind: str
    id: str
    payload: bytes


class TextJob(msgspec.Struct, frozen=True):
    """A text job's payload. `seq` is last, so a script that numbers a message as it stores
    it can write the job by splicing its seq in (`message_text_parts`)."""

    order_id: str
    body: str
    media_urls: list[str] = []  # its photos' signed URLs: sent as MMS
    held_until: float | None = None  # held while the customer reads the page, until then at most
    seq: int | None = None  # the shopper message this carries; None for a notification


encode_text_job = msgspec.json.encode
decode_text_job = msgspec.json.Decoder(TextJob).decode


def message_text_id(order_id: str, seq: int) -> str:
    return f"{order_id}:message:{seq}"


def event_text_id(order_id: str, event_id: str) -> str:
    return f"{order_id}:event:{event_id}"


def text_debt(job: TextJob, job_id: str) -> Debt:
    return Debt(kind=TEXT, id=job_id, payload=encode_text_job(job))


def message_text_debt(
    order_id: str, body: str, seq: int, media: Sequence[MediaRef] | None = None, held_until: float | None = None
) -> Debt:
    """The text (an MMS with its photos) a shopper message owes its customer."""
    job = TextJob(
        order_id=order_id, body=body, media_urls=[ref.url for ref in media or ()], held_until=held_until, seq=seq
    )
    return text_debt(job, message_text_id(order_id, seq))


def message_text_parts(
    order_id: str, body: str, media: Sequence[MediaRef] | None = None, held_until: float | None = None
) -> tuple[bytes, bytes]:
    """The id prefix and the payload prefix of a shopper message's text job, for a script
    that appends the seq: id = prefix + seq, payload = payload prefix + seq + "}"."""
    payload = message_text_debt(order_id, body, 0, media, held_until).payload
    if not payload.endswith(b',"seq":0}'):
        raise AssertionError(f"expected seq last in a text job, got {payload!r}")
    return message_text_id(order_id, 0)[:-1].encode(), payload[: -len(b"0}")]


# An outbox entry: field = the job id, value = kind + "\n" + payload (a kind has no newline).


def entry_value(debt: Debt) -> bytes:
    return debt.kind.encode() + b"\n" + debt.payload


def entry_debt(job_id: bytes | str, value: bytes) -> Debt:
    kind, _, payload = value.partition(b"\n")
    return Debt(kind=kind.decode(), id=job_id if isinstance(job_id, str) else job_id.decode(), payload=payload)
