"""A bug or an unexpected store answer fails one request or frame, in the error shape, and
leaves the socket open."""

import json

import pytest

from gateway.broker.memory import MemoryBroker
from gateway.store.memory import MemoryStore
from support.app_server import OPERATOR_KEY, auth, frame_of, next_frame, running_gateway

pytestmark = pytest.mark.e2e


class StoreWithABug(MemoryStore):
    """Reading the chat of an order named o-bug fails the way a bug would."""

    async def messages(self, order_id, after, limit):
        if order_id == "o-bug":
            raise RuntimeError("a bug in reading history")
        return await super().messages(order_id, after, limit)


@pytest.fixture
async def gateway():
    broker = MemoryBroker()
    async with running_gateway(broker=broker, store=StoreWithABug(broker)) as running:
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
