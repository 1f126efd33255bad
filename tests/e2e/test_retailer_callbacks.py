"""Every applied order event reaches the retailer's callback_url, signed, in both modes; an
event that changes nothing does not."""

import pytest

from support.app_server import base_config, running_gateway
from support.callback_receiver import CallbackReceiver

pytestmark = pytest.mark.e2e

SECRET = "cb-secret"


def config(receiver: CallbackReceiver, communications: str) -> dict:
    return base_config(retailers={"shop": {
        "api_key": "rk-shop", "communications": communications,
        "callback_url": f"{receiver.url}/events", "callback_secret": SECRET,
    }})


@pytest.mark.parametrize("communications", ["platform", "retailer"])
async def test_applied_events_are_called_back_signed_and_others_are_not(callback_receiver, communications):
    async with running_gateway(config(callback_receiver, communications)) as gateway:
        assert (await gateway.create_order("o-cb", key="rk-shop")).status_code == 201
        assert (await gateway.event("o-cb", "acknowledged", "e1", key="rk-shop")).json()["applied"]
        [first] = await callback_receiver.wait_for(1)

        assert (await gateway.event("o-cb", "acknowledged", "e1")).json()["applied"] is False  # repeat
        assert (await gateway.event("o-cb", "brand_new", "e2")).json()["applied"] is False  # late
        assert (await gateway.event("o-cb", "delivered", "e3")).json()["applied"] is True
        await callback_receiver.wait_for(2)
        await gateway.jobs.drained("callback")  # anything else queued has gone too

    assert [r.json()["event_id"] for r in callback_receiver.requests] == ["e1", "e3"]
    assert all(CallbackReceiver.signature_is_valid(r, SECRET) for r in callback_receiver.requests)
    body = first.json()
    assert body["event_name"] == "fulfillment.acknowledged"
    assert body["event_metadata"] == {
        "order_id": "o-cb", "retailer_id": "shop", "status": "acknowledged", "workflow": "delivery",
    }
    assert body["event_timestamp"].endswith("Z")


async def test_a_retailer_that_owns_messaging_gets_callbacks_and_its_customers_no_texts(callback_receiver):
    async with running_gateway(config(callback_receiver, "retailer")) as gateway:
        await gateway.create_order("o-own", key="rk-shop", sms_opt_in=True)
        await gateway.event("o-own", "picking", shopper={"id": "shopper-1", "name": "Alex"})
        await gateway.event("o-own", "delivered")
        await callback_receiver.wait_for(2)
        await gateway.jobs.drained("text")
        view = await gateway.http.get("/v1/orders/o-own", headers={"Authorization": "Bearer rk-shop"})
        assert view.json()["chat"] == "unavailable"
        assert gateway.phone.outbox == []
