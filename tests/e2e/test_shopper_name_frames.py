"""Contract v2 section 6: a customer learns its shopper's name from `joined` and `status`, and
a page opened before the shopper was assigned learns it the moment one is; the page's
`presence` frame is accepted."""

from __future__ import annotations

import json

import pytest

from support.app_server import frame_of, join, next_frame

pytestmark = pytest.mark.e2e


async def customer_of(gateway, order_id: str, **body):
    """A customer socket of a new order, and the order's create view."""
    created = await gateway.create_order(order_id, **body)
    assert created.status_code == 201, created.text
    view = created.json()
    return await gateway.connect("customer", view["customer_token"]), view


async def assert_nothing_before_pong(ws) -> None:
    await ws.send(json.dumps({"type": "ping"}))
    assert await next_frame(ws) == {"type": "pong"}


async def test_joined_has_no_shopper_until_one_is_assigned(gateway):
    customer, _ = await customer_of(gateway, "name-1")

    joined = await join(customer, "name-1")

    assert joined["order"] == {"status": "brand_new", "chat": "not_started", "workflow": "delivery"}


async def test_status_frame_carries_the_shopper_assigned_by_the_event(gateway):
    customer, view = await customer_of(gateway, "name-2")
    await join(customer, "name-2")

    await gateway.event("name-2", "picking", shopper={"id": "shopper-1", "name": "Alex"})

    assert await frame_of(customer, "status") == {
        "type": "status", "order_id": "name-2", "status": "picking", "chat": "open", "shopper": {"name": "Alex"},
    }
    rejoined = await join(await gateway.connect("customer", view["customer_token"]), "name-2")
    assert rejoined["order"]["shopper"] == {"name": "Alex"}


async def test_a_shopper_changed_by_an_event_that_does_not_move_the_order_is_announced(gateway):
    view = await gateway.picking_order("name-3")
    bystander, _ = await customer_of(gateway, "name-3x", customer={"phone": "+15551230003"})
    await join(bystander, "name-3x")  # another order: hears nothing of this one
    watcher = await gateway.connect("customer", view["customer_token"])
    await join(watcher, "name-3")

    # Late (ranks below picking) but it hands the order to another shopper.
    late = await gateway.event("name-3", "acknowledged", shopper={"id": "shopper-2", "name": "Sam"})

    assert late.json() == {"applied": False, "status": "picking"}
    assert await frame_of(watcher, "status") == {
        "type": "status", "order_id": "name-3", "status": "picking", "chat": "open", "shopper": {"name": "Sam"},
    }
    await assert_nothing_before_pong(bystander)


async def test_an_event_that_changes_neither_status_nor_shopper_sends_no_status(gateway):
    view = await gateway.picking_order("name-4")  # shopper-1, Alex
    customer = await gateway.connect("customer", view["customer_token"])
    await join(customer, "name-4")

    same = await gateway.event("name-4", "acknowledged", shopper={"id": "shopper-1", "name": "Alex"})
    repeated = await gateway.event("name-4", "picking", shopper={"id": "shopper-9", "name": "Kim"})

    assert same.json() == {"applied": False, "status": "picking"}
    assert repeated.json() == {"applied": False, "status": "picking"}  # same event_id as before
    await assert_nothing_before_pong(customer)


async def test_last_mile_status_carries_the_driver(gateway):
    customer, _ = await customer_of(gateway, "name-5", workflow="last_mile")
    await join(customer, "name-5")

    await gateway.event("name-5", "delivering", shopper={"id": "driver-1", "name": "Dana"})

    status = await frame_of(customer, "status")
    assert (status["status"], status["chat"], status["shopper"]) == ("delivering", "unavailable", {"name": "Dana"})


@pytest.mark.parametrize("visible", [True, False])
async def test_presence_frame_is_accepted(gateway, visible):
    customer, _ = await customer_of(gateway, f"name-6-{visible}")
    await join(customer, f"name-6-{visible}")

    await customer.send(json.dumps({"type": "presence", "order_id": f"name-6-{visible}", "visible": visible}))

    await assert_nothing_before_pong(customer)


async def test_presence_frame_without_visible_is_a_bad_frame(gateway):
    customer, _ = await customer_of(gateway, "name-7")
    await join(customer, "name-7")

    await customer.send(json.dumps({"type": "presence", "order_id": "name-7"}))

    error = await frame_of(customer, "error")
    assert error["code"] == "bad_frame"
    assert "visible" in error["message"]
