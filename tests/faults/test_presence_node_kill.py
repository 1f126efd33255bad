"""Contract section 9: "a node that dies without closing its sockets stops counting as
present within 30 s", so a text held for a customer on that node's page still goes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from support.app_server import base_config, frame_of, join, running_gateway, send_text
from support.gateway_process import GatewayNode

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]

LEASE_AND_RECLAIM = 150.0  # presence lease (20 s), plus a text job the dead node held (60 s lease)


async def test_a_text_held_for_a_page_on_a_node_that_dies_still_goes(redis_url: str, tmp_path: Path):
    raw = base_config(gateway={"redis_url": redis_url}, sms={"chat_fallback": "10m"})
    page_node = GatewayNode(raw, tmp_path, "page-node")
    await page_node.start()
    try:
        async with running_gateway(raw) as node_a:
            view = await node_a.picking_order("p-dies", sms_opt_in=True)
            shopper = await node_a.connect("shopper", await node_a.shopper_token(), max_queue=None)
            await join(shopper, "p-dies")
            customer = await websockets.connect(page_node.ws_url("customer", view["customer_token"]), max_queue=None)
            await join(customer, "p-dies")

            await send_text(shopper, "p-dies", "Still there?", "s1")
            held = await frame_of(shopper, "receipt")
            assert (held["seq"], held["sms"]) == (1, "held")
            await page_node.kill()  # SIGKILL: its sockets never say goodbye

            async def texted() -> list[str]:
                states = []
                while "delivered" not in states:
                    states.append((await frame_of(shopper, "receipt", timeout=LEASE_AND_RECLAIM))["sms"])
                return states

            # Well inside the 10-minute window: the lease of the dead node's socket ran out.
            assert await asyncio.wait_for(texted(), LEASE_AND_RECLAIM) == ["queued", "delivered"]
            assert [t.body for t in node_a.phone.outbox].count("Still there?") == 1
            await customer.close()
    finally:
        await page_node.stop()
