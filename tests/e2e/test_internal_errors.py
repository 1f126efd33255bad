"""A bug or an unexpected store answer fails one request or frame, in the error shape, and
leaves the socket open."""

import json

import pytest

import dataclasses

from gateway.chatlog.memory import MemoryChatLog
from support.app_server import OPERATOR_KEY, auth, frame_of, next_frame, running_gateway

pytestmark = pytest.mark.e2e


class LogWithABug:
    """The embedded chat log, except that reading the chat of an order named o-bug fails the
    way a bug would."""

    def __init__(self, log: MemoryChatLog) -> None:
        self._log = log

    def __getattr__(self, name):
        return getattr(self._log, name)

    async def page(self, order_id, after, limit):
        if order_id == "o-bug":
            raise RuntimeError("a bug in reading history")
        return await self._log.page(order_id, after, limit)


@pytest.fixture
async def gateway():
    def with_a_bug(services):
        return dataclasses.replace(services, chat_log=LogWithABug(services.chat_log))

    async with running_gateway(wrap=with_a_bug) as running:
        yield running


async def test_an_http_call_that_hits_a_bug_answers_500_in_the_error_shape(gateway):
    await gateway.create_order("o-bug")
    response = await gateway.http.get("/v1/orders/o-bug/messages", headers=auth(OPERATOR_KEY))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"


async def test_a_join_that_hits_a_bug_gets_an_error_frame_and_the_socket_stays(gateway):
    view = (await gateway.create_order("o-bug")).json()
    customer = await gateway.connect("customer", view["customer_token"])
    await customer.send(json.dumps({"type": "join", "order_id": "o-bug"}))
    assert (await frame_of(customer, "error"))["code"] == "unavailable"
    await customer.send(json.dumps({"type": "ping"}))
    assert (await next_frame(customer))["type"] == "pong"
