"""GET /openapi.json (contract section 2): a valid OpenAPI 3.1 document that matches what the
server does. Every /v1 route is in it, and every status it documents is made to happen here,
against a live gateway, with the answer's body checked against the documented schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from gateway.app import create_app
from gateway import openapi
from gateway.media.urls import MediaLinks
from gateway.openapi import OPERATIONS
from support.app_server import (
    OPERATOR_KEY,
    OTHER_RETAILER_KEY,
    RETAILER_KEY,
    SECRET,
    RunningGateway,
    auth,
    base_config,
    running_gateway,
)
from support.images import png
from support.redis_server import RedisServer

pytestmark = pytest.mark.e2e

Recipe = Callable[[RunningGateway], Awaitable[httpx.Response]]
TOO_LARGE = "x" * (64 * 1024 + 1)
ORDER = {"workflow": "delivery", "customer": {"phone": "+15551230001"}}


async def document(gateway: RunningGateway) -> dict:
    response = await gateway.http.get("/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def documented(doc: dict) -> set[tuple[str, str, int]]:
    return {
        (method, path, int(status))
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
    }


async def test_the_document_is_valid_openapi_3_1_naming_this_server(gateway):
    doc = await document(gateway)

    validate(doc)  # openapi-spec-validator picks the 3.1 validator from "openapi": "3.1.0"
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": gateway.url}]
    assert {scheme["scheme"] for scheme in doc["components"]["securitySchemes"].values()} == {"bearer"}


async def test_every_v1_route_the_app_serves_is_documented_and_nothing_more(gateway):
    app = create_app(gateway.settings)
    served = {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith(("/v1/", "/media/"))
        for method in route.methods or ()
        if method != "HEAD"
    }
    doc = await document(gateway)
    described = {(method, path) for path, item in doc["paths"].items() for method in item}

    assert described == served
    assert len(served) >= 9  # the six calls of contract section 4 before v2, the consent log, photos (10)


async def test_request_bodies_are_the_schemas_the_server_decodes_with(gateway):
    doc = await document(gateway)
    create = doc["paths"]["/v1/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = {**create, "components": doc["components"]}

    jsonschema.validate({"id": "A-1", **ORDER, "sms_opt_in": True}, schema)
    for bad in ({"id": "A-1", **ORDER, "sms_optin": True}, {"id": "A 1", **ORDER}, {"id": "A-1"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        refused = await gateway.http.post("/v1/orders", json=bad, headers=auth(RETAILER_KEY))
        assert refused.status_code == 422, refused.text  # the server refuses what the schema refuses


# Each documented (method, path, status), and the request that makes the server answer it.


async def created(gateway: RunningGateway, order_id: str, **body) -> dict:
    response = await gateway.create_order(order_id, **body)
    assert response.status_code == 201, response.text
    return response.json()


async def texted(gateway: RunningGateway, order_id: str, body: str) -> None:
    """The order's customer texts `body` to its number."""
    order = await gateway.services.store.get_order(order_id)
    await gateway.text_in(order.customer_phone, order.sender, body, f"SM-{order_id}")


async def stopped_order(gateway: RunningGateway, order_id: str) -> None:
    await created(gateway, order_id, sms_opt_in=True, customer={"phone": "+15551230009"})
    await texted(gateway, order_id, "STOP")


async def messages_with_one(gateway: RunningGateway) -> httpx.Response:
    view = await created(gateway, "oa-msg", customer={"phone": "+15551230008"})
    await texted(gateway, "oa-msg", "is it too early to ask?")  # kept for support before chat opens
    token = auth(view["customer_token"])
    response = await gateway.http.get("/v1/orders/oa-msg/messages?after=0&limit=10", headers=token)
    assert [m["text"] for m in response.json()["messages"]] == ["is it too early to ask?"]
    return response


async def create_twice(gateway: RunningGateway) -> httpx.Response:
    await created(gateway, "oa-retry")
    return await gateway.create_order("oa-retry")


async def create_conflict(gateway: RunningGateway) -> httpx.Response:
    await created(gateway, "oa-conflict")
    return await gateway.create_order("oa-conflict", locale="fr-CA")


async def event_too_large(gateway: RunningGateway) -> httpx.Response:
    await created(gateway, "oa-ev-large")
    return await gateway.event("oa-ev-large", "picking", event_id=TOO_LARGE)


async def sms_by_customer(gateway: RunningGateway) -> httpx.Response:
    view = await created(gateway, "oa-sms-cust")
    token = auth(view["customer_token"])
    return await gateway.http.put("/v1/orders/oa-sms-cust/sms", json={"opt_in": True}, headers=token)


async def sms_after_stop(gateway: RunningGateway) -> httpx.Response:
    await stopped_order(gateway, "oa-sms-stop")
    return await gateway.http.put("/v1/orders/oa-sms-stop/sms", json={"opt_in": True}, headers=auth(OPERATOR_KEY))


def after_creating(order_id: str, request: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]) -> Recipe:
    async def recipe(gateway: RunningGateway) -> httpx.Response:
        await created(gateway, order_id)
        return await request(gateway.http)

    return recipe


def plain(request: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]) -> Recipe:
    async def recipe(gateway: RunningGateway) -> httpx.Response:
        return await request(gateway.http)

    return recipe


def customer_of(order_id: str, request: Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]) -> Recipe:
    async def recipe(gateway: RunningGateway) -> httpx.Response:
        view = await created(gateway, order_id)
        return await request(gateway.http, view["customer_token"])

    return recipe


def media_link(gateway: RunningGateway, order_id: str, media_id: str, expires_at: int = 2**32) -> str:
    return MediaLinks(SECRET, gateway.url).url(order_id, media_id, expires_at)


async def photo_upload(gateway: RunningGateway, order_id: str, *, token: str | None = None, **options) -> httpx.Response:
    """Uploads a PNG (or `content`, as `content_type`) to an open order, with its customer's token."""
    if token is None:
        token = (await gateway.picking_order(order_id))["customer_token"]
    headers = {"Content-Type": options.get("content_type", "image/png"), **auth(token)}
    return await gateway.http.post(f"/v1/orders/{order_id}/media", content=options.get("content", png()), headers=headers)


async def photo_by_stranger_shopper(gateway: RunningGateway) -> httpx.Response:
    await gateway.picking_order("oa-up-403", shopper_id="shopper-1")
    return await photo_upload(gateway, "oa-up-403", token=await gateway.shopper_token("shopper-2"))


async def photo_before_chat(gateway: RunningGateway) -> httpx.Response:
    view = await created(gateway, "oa-up-409")
    return await photo_upload(gateway, "oa-up-409", token=view["customer_token"])


async def served_photo(gateway: RunningGateway) -> httpx.Response:
    uploaded = (await photo_upload(gateway, "oa-photo")).json()
    return await gateway.http.get(media_link(gateway, "oa-photo", uploaded["media_id"]))


async def photo_upload_down(gateway: RunningGateway) -> httpx.Response:
    token = gateway.services.tokens.customer("oa-down", gateway.services.clock())
    return await photo_upload(gateway, "oa-down", token=token)


ORDERS, ORDER_ITEM = "/v1/orders", "/v1/orders/{order_id}"
EVENTS, SMS = "/v1/orders/{order_id}/events", "/v1/orders/{order_id}/sms"
MESSAGES, CONSENT = "/v1/orders/{order_id}/messages", "/v1/orders/{order_id}/consent"
TOKENS = "/v1/shoppers/{shopper_id}/tokens"
UPLOAD, PHOTO = "/v1/orders/{order_id}/media", "/media/{media_id}"
RETAILER, OPERATOR, OTHER, NOBODY = auth(RETAILER_KEY), auth(OPERATOR_KEY), auth(OTHER_RETAILER_KEY), auth("nobody")
PICKING = {"event_id": "e1", "event_name": "picking"}

RECIPES: dict[tuple[str, str, int], Recipe] = {
    ("post", ORDERS, 201): plain(lambda h: h.post(ORDERS, json={"id": "oa-new", **ORDER}, headers=RETAILER)),
    ("post", ORDERS, 200): create_twice,
    ("post", ORDERS, 401): plain(lambda h: h.post(ORDERS, json={"id": "oa-401", **ORDER})),
    ("post", ORDERS, 403): plain(lambda h: h.post(ORDERS, json={"id": "oa-403", **ORDER}, headers=OPERATOR)),
    ("post", ORDERS, 409): create_conflict,
    ("post", ORDERS, 413): plain(lambda h: h.post(ORDERS, json={"id": TOO_LARGE, **ORDER}, headers=RETAILER)),
    ("post", ORDERS, 422): plain(lambda h: h.post(ORDERS, json={"id": "oa-422"}, headers=RETAILER)),
    ("get", ORDER_ITEM, 200): after_creating("oa-get", lambda h: h.get("/v1/orders/oa-get", headers=OPERATOR)),
    ("get", ORDER_ITEM, 401): after_creating("oa-get-401", lambda h: h.get("/v1/orders/oa-get-401", headers=NOBODY)),
    ("get", ORDER_ITEM, 403): customer_of("oa-get-403", lambda h, t: h.get("/v1/orders/oa-get-403", headers=auth(t))),
    ("get", ORDER_ITEM, 404): after_creating("oa-get-404", lambda h: h.get("/v1/orders/oa-get-404", headers=OTHER)),
    ("post", EVENTS, 200): after_creating(
        "oa-ev", lambda h: h.post("/v1/orders/oa-ev/events", json=PICKING, headers=OPERATOR)
    ),
    ("post", EVENTS, 401): after_creating("oa-ev-401", lambda h: h.post("/v1/orders/oa-ev-401/events", json=PICKING)),
    ("post", EVENTS, 403): customer_of(
        "oa-ev-403", lambda h, t: h.post("/v1/orders/oa-ev-403/events", json=PICKING, headers=auth(t))
    ),
    ("post", EVENTS, 404): plain(lambda h: h.post("/v1/orders/oa-none/events", json=PICKING, headers=OPERATOR)),
    ("post", EVENTS, 413): event_too_large,
    ("post", EVENTS, 422): after_creating(
        "oa-ev-422", lambda h: h.post("/v1/orders/oa-ev-422/events", json={"event_id": "e1"}, headers=OPERATOR)
    ),
    ("put", SMS, 200): sms_by_customer,
    ("put", SMS, 401): after_creating(
        "oa-sms-401", lambda h: h.put("/v1/orders/oa-sms-401/sms", json={"opt_in": True})
    ),
    ("put", SMS, 403): after_creating(
        "oa-sms-403", lambda h: h.put("/v1/orders/oa-sms-403/sms", json={"opt_in": True}, headers=RETAILER)
    ),
    ("put", SMS, 404): plain(lambda h: h.put("/v1/orders/oa-none/sms", json={"opt_in": True}, headers=OPERATOR)),
    ("put", SMS, 409): sms_after_stop,
    ("put", SMS, 413): after_creating(
        "oa-sms-413", lambda h: h.put("/v1/orders/oa-sms-413/sms", content=TOO_LARGE, headers=OPERATOR)
    ),
    ("put", SMS, 422): after_creating(
        "oa-sms-422", lambda h: h.put("/v1/orders/oa-sms-422/sms", json={"opt_in": "yes"}, headers=OPERATOR)
    ),
    ("get", MESSAGES, 200): messages_with_one,
    ("get", MESSAGES, 401): after_creating("oa-msg-401", lambda h: h.get("/v1/orders/oa-msg-401/messages")),
    ("get", MESSAGES, 404): after_creating(
        "oa-msg-404", lambda h: h.get("/v1/orders/oa-msg-404/messages", headers=OTHER)
    ),
    ("get", MESSAGES, 422): after_creating(
        "oa-msg-422", lambda h: h.get("/v1/orders/oa-msg-422/messages?limit=0", headers=RETAILER)
    ),
    ("get", CONSENT, 200): after_creating("oa-con", lambda h: h.get("/v1/orders/oa-con/consent", headers=RETAILER)),
    ("get", CONSENT, 401): after_creating("oa-con-401", lambda h: h.get("/v1/orders/oa-con-401/consent")),
    ("get", CONSENT, 403): customer_of(
        "oa-con-403", lambda h, t: h.get("/v1/orders/oa-con-403/consent", headers=auth(t))
    ),
    ("get", CONSENT, 404): after_creating(
        "oa-con-404", lambda h: h.get("/v1/orders/oa-con-404/consent", headers=OTHER)
    ),
    ("post", TOKENS, 201): plain(lambda h: h.post("/v1/shoppers/s-1/tokens", headers=OPERATOR)),
    ("post", TOKENS, 401): plain(lambda h: h.post("/v1/shoppers/s-1/tokens", headers=NOBODY)),
    ("post", TOKENS, 403): plain(lambda h: h.post("/v1/shoppers/s-1/tokens", headers=RETAILER)),
    ("post", TOKENS, 422): plain(lambda h: h.post("/v1/shoppers/not%20an%20id/tokens", headers=OPERATOR)),
    ("post", UPLOAD, 201): lambda g: photo_upload(g, "oa-up"),
    ("post", UPLOAD, 401): lambda g: photo_upload(g, "oa-up-401", token="nobody"),
    ("post", UPLOAD, 403): photo_by_stranger_shopper,
    ("post", UPLOAD, 404): customer_of("oa-up-404", lambda h, t: h.post(
        "/v1/orders/oa-none/media", content=png(), headers={"Content-Type": "image/png", **auth(t)}
    )),
    ("post", UPLOAD, 409): photo_before_chat,
    ("post", UPLOAD, 413): lambda g: photo_upload(g, "oa-up-413", content=b"\x89PNG" + bytes(5_000_000)),
    ("post", UPLOAD, 415): lambda g: photo_upload(g, "oa-up-415", content_type="image/jpeg"),
    ("get", PHOTO, 200): served_photo,
    ("get", PHOTO, 403): lambda g: g.http.get(media_link(g, "oa-any", "m1", expires_at=1)),
    ("get", PHOTO, 404): lambda g: g.http.get(media_link(g, "oa-purged", "m1")),
}

# 503: the store is down. Any order id will do, since the lookup is what fails.
OUTAGE_RECIPES: dict[tuple[str, str, int], Recipe] = {
    ("post", ORDERS, 503): plain(lambda h: h.post(ORDERS, json={"id": "oa-down", **ORDER}, headers=RETAILER)),
    ("get", ORDER_ITEM, 503): plain(lambda h: h.get("/v1/orders/oa-down", headers=OPERATOR)),
    ("post", EVENTS, 503): plain(lambda h: h.post("/v1/orders/oa-down/events", json=PICKING, headers=OPERATOR)),
    ("put", SMS, 503): plain(lambda h: h.put("/v1/orders/oa-down/sms", json={"opt_in": True}, headers=OPERATOR)),
    ("get", MESSAGES, 503): plain(lambda h: h.get("/v1/orders/oa-down/messages", headers=OPERATOR)),
    ("get", CONSENT, 503): plain(lambda h: h.get("/v1/orders/oa-down/consent", headers=OPERATOR)),
    ("post", UPLOAD, 503): photo_upload_down,
    ("get", PHOTO, 503): lambda g: g.http.get(media_link(g, "oa-down", "m1")),
}


def answer_schema(doc: dict, method: str, path: str, status: int) -> dict:
    content = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return {**content["schema"], "components": doc["components"]}


async def run_recipes(gateway: RunningGateway, doc: dict, recipes: dict[tuple[str, str, int], Recipe]) -> list[str]:
    """Makes each request; returns what went wrong, one line per (method, path, status)."""
    problems = []
    for (method, path, status), recipe in recipes.items():
        response = await recipe(gateway)
        if response.status_code != status:
            problems.append(f"{method} {path}: expected {status}, got {response.status_code} {response.text}")
            continue
        documented_types = doc["paths"][path][method]["responses"][str(status)]["content"]
        if "application/json" not in documented_types:  # a photo: its type must be one documented
            if response.headers["content-type"] not in documented_types:
                problems.append(f"{method} {path} {status}: {response.headers['content-type']} is not documented")
            continue
        try:
            jsonschema.validate(response.json(), answer_schema(doc, method, path, status))
        except jsonschema.ValidationError as exc:
            problems.append(f"{method} {path} {status}: body does not match the document: {exc.message}")
    return problems


def test_every_documented_status_has_a_request_that_makes_it_happen():
    doc = openapi.document()
    assert documented(doc) == set(RECIPES) | set(OUTAGE_RECIPES)
    assert {(op.method, op.path) for op in OPERATIONS} == {(m, p) for m, p, _ in documented(doc)}


async def test_every_documented_status_is_what_the_server_answers(gateway):
    doc = await document(gateway)

    assert await run_recipes(gateway, doc, RECIPES) == []


@pytest.mark.integration
async def test_every_call_that_needs_the_store_answers_503_while_it_is_down(restartable_redis: RedisServer):
    async with running_gateway(base_config(gateway={"redis_url": restartable_redis.url})) as gateway:
        doc = await document(gateway)
        await restartable_redis.astop()
        try:
            problems = await run_recipes(gateway, doc, OUTAGE_RECIPES)
        finally:
            await restartable_redis.astart()  # the gateway stops as it would in service: on a live Redis

        assert problems == []
