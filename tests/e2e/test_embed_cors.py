"""Contract section 8: `GET /embed.js`, the modules it imports and the token-authenticated calls
the element makes answer CORS (and preflights) for `allowed_origins` only; nothing else is
opened to other origins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from support.app_server import OPERATOR_KEY, RunningGateway, auth, base_config, running_gateway

pytestmark = pytest.mark.e2e

SHOP = "https://shop.example"
ELSEWHERE = "https://evil.example"
IMPORT = re.compile(r'^import [^;]*? from "([^"]+)";', re.M)


@pytest.fixture
async def gateway() -> AsyncIterator[RunningGateway]:
    async with running_gateway(base_config(gateway={"allowed_origins": [SHOP + "/"]})) as running:
        yield running


async def embed_modules(gateway) -> list[str]:
    """/embed.js and every module it imports, directly or not, as paths."""
    found, queue = [], ["/embed.js"]
    while queue:
        path = queue.pop()
        if path in found:
            continue
        found.append(path)
        source = (await gateway.http.get(path)).text
        for spec in IMPORT.findall(source):
            base = path.rsplit("/", 1)[0] + "/"
            queue.append(re.sub(r"/\./", "/", base + spec))
    return found


async def test_embed_js_and_its_modules_answer_cors_for_an_allowed_origin(gateway):
    modules = await embed_modules(gateway)

    assert modules[:2] == ["/embed.js", "/static/orderchat.js"]
    assert {"/static/socket.js", "/static/time.js"} <= set(modules)
    for path in modules:
        response = await gateway.http.get(path, headers={"Origin": SHOP})
        assert response.status_code == 200, path
        assert "javascript" in response.headers["content-type"], path
        assert response.headers.get("access-control-allow-origin") == SHOP, path
        assert "Origin" in response.headers.get("vary", ""), path


async def test_embed_js_says_nothing_to_another_origin(gateway):
    for path in await embed_modules(gateway):
        response = await gateway.http.get(path, headers={"Origin": ELSEWHERE})
        assert response.status_code == 200  # the file is public; the browser refuses it to that page
        assert "access-control-allow-origin" not in response.headers, path


async def test_the_fragment_needs_the_orders_customer_token(gateway):
    view = (await gateway.create_order("emb-1")).json()
    other = (await gateway.create_order("emb-2", customer={"phone": "+15551230002"})).json()
    headers = {"Origin": SHOP}

    ok = await gateway.http.get("/embed/orders/emb-1", headers={**headers, **auth(view["customer_token"])})
    missing = await gateway.http.get("/embed/orders/emb-1", headers=headers)
    operator = await gateway.http.get("/embed/orders/emb-1", headers={**headers, **auth(OPERATOR_KEY)})
    foreign = await gateway.http.get("/embed/orders/emb-1", headers={**headers, **auth(other["customer_token"])})

    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert ok.headers["cache-control"] == "no-store"
    assert ok.text.startswith('<link rel="stylesheet" href="/static/style.css">')
    assert '<main id="order" data-order-id="emb-1"' in ok.text
    assert "<html" not in ok.text
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "unauthorized")
    assert operator.status_code == 401  # the element is the customer's; the operator has the API
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "not_found")
    assert missing.headers["access-control-allow-origin"] == SHOP  # so the element can say why


@pytest.mark.parametrize(
    ("path", "method"),
    [("/v1/orders/emb-3/sms", "PUT"), ("/embed/orders/emb-3", "GET"), ("/v1/orders/emb-3/media", "POST")],
)
async def test_preflights_for_the_elements_calls(gateway, path, method):
    request = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization,content-type"}

    allowed = await gateway.http.options(path, headers={"Origin": SHOP, **request})
    refused = await gateway.http.options(path, headers={"Origin": ELSEWHERE, **request})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert method in allowed.headers["access-control-allow-methods"]
    assert {"authorization", "content-type"} <= set(allowed.headers["access-control-allow-headers"].lower().split(", "))
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def test_the_sms_switch_works_across_origins_for_the_customer(gateway):
    view = (await gateway.create_order("emb-4")).json()

    response = await gateway.http.put(
        "/v1/orders/emb-4/sms", json={"opt_in": True}, headers={"Origin": SHOP, **auth(view["customer_token"])}
    )

    assert response.status_code == 200
    assert response.json() == {"opt_in": True, "source": "customer"}
    assert response.headers["access-control-allow-origin"] == SHOP


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/orders/emb-5"),
        ("GET", "/v1/orders/emb-5/messages"),
        ("POST", "/v1/orders"),
        ("POST", "/v1/orders/emb-5/events"),
        ("GET", "/orders/emb-5"),
        ("GET", "/static/style.css"),
        ("GET", "/static/dev.js"),
        ("GET", "/healthz"),
    ],
)
async def test_nothing_else_is_opened_to_other_origins(gateway, method, path):
    await gateway.create_order("emb-5")
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization"}

    simple = await gateway.http.request(method, path, headers={"Origin": SHOP, **auth(OPERATOR_KEY)})
    options = await gateway.http.options(path, headers=preflight)

    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in options.headers
    assert options.status_code == 405


async def test_without_allowed_origins_nothing_is_opened():
    async with running_gateway() as gateway:
        response = await gateway.http.get("/embed.js", headers={"Origin": SHOP})

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
