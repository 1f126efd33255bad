import pytest

from support.app_server import frame_of, join, send_text

pytestmark = pytest.mark.e2e


async def test_chat_flows_from_shopper_to_customer_and_back(gateway):
    view = await gateway.picking_order("o-smoke", sms_opt_in=True)
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    customer = await gateway.connect("customer", view["customer_token"])
    joined = await join(shopper, "o-smoke")
    assert joined["order"] == {
        "status": "picking", "chat": "open", "workflow": "delivery", "shopper": {"name": "Alex"}
    }
    await join(customer, "o-smoke")
    await send_text(shopper, "o-smoke", "Bananas are green, ok?", "c1")
    ack = await frame_of(shopper, "ack")
    assert ack["message"]["seq"] == 1
    got = await frame_of(customer, "message")
    assert got["message"]["text"] == "Bananas are green, ok?"
    assert got["message"]["from"] == "shopper" and got["message"]["via"] == "app"
    await send_text(customer, "o-smoke", "Yes please", "k1")
    await frame_of(shopper, "message")  # its own message comes back like any other
    back = await frame_of(shopper, "message")
    assert back["message"] == {**back["message"], "seq": 2, "from": "customer", "via": "web"}
