"""ChatLog.answer and latest_open_proposal (gateway/chatlog/base.py), proven against the memory
and the Redis implementations: the first answer wins, atomically, from any node."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest

from gateway import messages
from gateway.channels import order_channel
from gateway.chatlog.base import Answered
from gateway.policy.chat import Role, Via
from gateway.store.base import OrderNotFound
from gateway.store.records import AnswerRef, ChatMessage, Proposal, ProposalAnswer
from integration.test_store_contract import TIMEOUT, Backend, backend, new_order  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

AT = "2024-05-01T12:00:00.000Z"


def proposal(item: str = "Oat milk", client_id: str | None = None) -> ChatMessage:
    return ChatMessage(
        seq=0, id=f"m-{uuid.uuid4().hex}", sender=Role.SHOPPER, via=Via.APP, text="", at=AT,
        client_id=client_id, proposal=Proposal(item=item, options=["Almond milk", 'Soy "barista"']),
    )


def answer(seq: int, choice: int, via: Via = Via.WEB, client_id: str | None = None) -> ChatMessage:
    return ChatMessage(
        seq=0, id=f"m-{uuid.uuid4().hex}", sender=Role.CUSTOMER, via=via, text=f"choice {choice}", at=AT,
        client_id=client_id, answer=AnswerRef(seq=seq, choice=choice),
    )


async def test_the_first_answer_is_written_into_the_proposal_and_published(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    offered, _ = await backend.log.append(order.id, proposal(client_id="p1"))
    async with backend.broker.subscribe(order_channel(order.id)) as payloads:
        stored, outcome = await backend.other_log.answer(order.id, answer(offered.seq, 2, Via.SMS))
        frames = [messages.decode_server(await asyncio.wait_for(anext(payloads), TIMEOUT)) for _ in range(2)]
    assert outcome is Answered.NEW and stored is not None and stored.seq == 2
    assert stored.answer == AnswerRef(seq=1, choice=2)
    assert frames[0] == messages.MessageFrame(order_id=order.id, message=stored)
    expected = ProposalAnswer(choice=2, via=Via.SMS, at=AT)
    assert frames[1] == messages.ProposalFrame(order_id=order.id, seq=1, answer=expected)
    history = await backend.log.messages(order.id, 0, 10)
    # The proposal keeps its seq and place, and now carries its answer; the rest is unchanged.
    assert [m.seq for m in history] == [1, 2]
    assert history[0].proposal == Proposal(item="Oat milk", options=["Almond milk", 'Soy "barista"'], answer=expected)
    assert history[0].id == offered.id and history[1] == stored
    # A retried propose returns the proposal as it is now.
    retried, created = await backend.log.append(order.id, proposal(client_id="p1"))
    assert not created and retried == history[0]


async def test_answers_racing_from_two_nodes_store_exactly_one(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    offered, _ = await backend.log.append(order.id, proposal())
    logs = [backend.log, backend.other_log]
    results = await asyncio.gather(*(logs[i % 2].answer(order.id, answer(offered.seq, i % 3)) for i in range(10)))
    outcomes = [outcome for _, outcome in results]
    assert outcomes.count(Answered.NEW) == 1 and outcomes.count(Answered.ALREADY) == 9
    winner = next(message for message, outcome in results if outcome is Answered.NEW)
    history = await backend.log.messages(order.id, 0, 20)
    assert [m.seq for m in history] == [1, 2] and history[1] == winner
    assert history[0].proposal.answer.choice == winner.answer.choice


async def test_a_retried_answer_returns_the_first_and_stores_nothing(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    offered, _ = await backend.log.append(order.id, proposal())
    first, outcome = await backend.log.answer(order.id, answer(offered.seq, 1, client_id="a1"))
    again, repeat = await backend.other_log.answer(order.id, answer(offered.seq, 1, client_id="a1"))
    assert (outcome, repeat) == (Answered.NEW, Answered.REPEAT) and again == first
    other, late = await backend.log.answer(order.id, answer(offered.seq, 0, client_id="a2"))
    assert (other, late) == (None, Answered.ALREADY)
    assert await backend.log.last_seq(order.id) == 2


async def test_only_a_proposal_can_be_answered(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    plain, _ = await backend.log.append(order.id, msgspec.structs.replace(proposal(), proposal=None, text='"answer":null'))
    offered, _ = await backend.log.append(order.id, proposal())
    await backend.log.answer(order.id, answer(offered.seq, 1))
    reply = (await backend.log.messages(order.id, 2, 1))[0]
    for seq in (0, plain.seq, reply.seq, 99):
        assert await backend.other_log.answer(order.id, answer(seq, 1)) == (None, Answered.NO_PROPOSAL)
    assert await backend.log.last_seq(order.id) == 3
    with pytest.raises(OrderNotFound):
        await backend.log.answer("o-missing", answer(1, 1))


async def test_latest_open_proposal_skips_answered_ones(backend: Backend) -> None:
    order = new_order()
    await backend.store.create_order(order)
    assert await backend.log.latest_open_proposal(order.id) is None
    first, _ = await backend.log.append(order.id, proposal("Oat milk"))
    second, _ = await backend.log.append(order.id, proposal("Rye bread"))
    await backend.log.append(order.id, msgspec.structs.replace(proposal(), proposal=None, text="and the eggs?"))
    latest = await backend.other_log.latest_open_proposal(order.id)
    assert latest is not None and latest.seq == second.seq
    await backend.log.answer(order.id, answer(second.seq, 0))
    latest = await backend.other_log.latest_open_proposal(order.id)
    assert latest is not None and latest.seq == first.seq
    await backend.log.answer(order.id, answer(first.seq, 1))
    assert await backend.other_log.latest_open_proposal(order.id) is None
