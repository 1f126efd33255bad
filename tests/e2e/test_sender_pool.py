"""When a phone has more open orders than the pool has numbers, its texts still find the
order the customer is talking about."""

import pytest

from support.app_server import OPERATOR_KEY, auth, base_config, running_gateway

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"


async def transcript(gateway, order_id: str) -> list[str]:
    response = await gateway.http.get(f"/v1/orders/{order_id}/messages", headers=auth(OPERATOR_KEY))
    return [m["text"] for m in response.json()["messages"]]


async def test_a_new_order_on_a_shared_number_does_not_take_over_a_chat_under_way():
    async with running_gateway(base_config(sms={"numbers": ["+15005550006"]})) as gateway:
        async def text(sid: str, body: str) -> list[str]:
            return await gateway.text_in(PHONE, "+15005550006", body, sid)

        await gateway.picking_order("o-first")
        assert await text("SM1", "hi shopper") == []
        assert (await gateway.create_order("o-second")).status_code == 201  # same phone, same number
        assert await text("SM2", "also: oat milk") == []  # no "hasn't started" reply
        assert await transcript(gateway, "o-first") == ["hi shopper", "also: oat milk"]
        assert await transcript(gateway, "o-second") == []

        # Once the first order is done, texts on that number go to the open one.
        assert (await gateway.event("o-first", "delivered")).json()["applied"] is True
        await gateway.event("o-second", "picking", shopper={"id": "shopper-1", "name": "Alex"})
        assert await text("SM3", "is my second order on its way?") == []
        assert await transcript(gateway, "o-second") == ["is my second order on its way?"]
