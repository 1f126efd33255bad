"""The page resends a send the node answered `overloaded`, after the delay the node named and
with the same client_id, so the message lands once."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from gateway.capacity import Capacity
from support.app_server import base_config, running_gateway
from support.order_page import UI_TIMEOUT, open_order, transcript

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_an_overloaded_send_is_retried_after_the_delay_and_lands_once(redis_url, page):
    config = base_config(gateway={"redis_url": redis_url})
    async with running_gateway(config, capacity=Capacity(in_flight=1, wait=0.1, retry_after=0.3)) as node:
        view = await node.picking_order("web-busy")
        told_busy = asyncio.Event()

        def watch(ws) -> None:
            ws.on("framereceived", lambda payload: '"overloaded"' in str(payload) and told_busy.set())

        page.on("websocket", watch)
        await open_order(page, view)
        pool = node.services.connections[0].redis.connection_pool
        held = await pool.get_connection()  # the node's only Redis slot: it is busy
        try:
            await page.get_by_label("Message to your shopper").fill("When you can")
            await page.get_by_role("button", name="Send").click()
            await asyncio.wait_for(told_busy.wait(), UI_TIMEOUT / 1000)
        finally:
            await pool.release(held)

        await expect(page.locator(".msg.from-customer:not(.pending) .msg-text")).to_have_text(
            ["When you can"], timeout=UI_TIMEOUT
        )
        assert [message["text"] for message in await transcript(node, "web-busy")] == ["When you can"]
