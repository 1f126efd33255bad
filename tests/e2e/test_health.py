"""Contract section 2: liveness, readiness and metrics in embedded mode."""

import pytest

from support.app_server import (
    OPERATOR_KEY, auth, base_config, frame_of, join, running_gateway, send_text, texts_since,
)

pytestmark = pytest.mark.e2e

PHONE = "+15551230001"


async def test_healthz_says_ok(gateway):
    response = await gateway.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_in_embedded_mode(gateway):
    response = await gateway.http.get("/readyz")

    assert response.status_code == 200, response.text


async def test_metrics_are_prometheus_text_without_phone_numbers_or_message_text(gateway):
    view = await gateway.picking_order("o-metrics", sms_opt_in=True, customer={"phone": PHONE})
    shopper = await gateway.connect("shopper", await gateway.shopper_token())
    await join(shopper, "o-metrics")
    await send_text(shopper, "o-metrics", "Secret bananas", "c1")
    await frame_of(shopper, "ack")
    receipt = await frame_of(shopper, "receipt")
    assert receipt["sms"] == "queued"
    await frame_of(shopper, "receipt")  # delivered: the text went out through the console
    sender = (await gateway.services.store.get_order("o-metrics")).sender
    await gateway.text_in(PHONE, sender, "Reply text", "SM-m1")
    await frame_of(shopper, "message")
    await gateway.http.get("/v1/orders/o-missing", headers={"Authorization": "Bearer nope"})

    response = await gateway.http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "gateway_send_seconds_count", type="send") == 1  # "Secret bananas", timed
    names = ("gateway_websocket_connections", "gateway_chat_messages", "gateway_texts", "gateway_http_responses")
    for name in names:
        assert f"# TYPE {name}" in text, f"expected metric {name}"
    assert 'gateway_http_responses_total{status="201"}' in text
    assert 'gateway_http_responses_total{status="401"}' in text
    assert 'gateway_websocket_connections{role="shopper"} 1.0' in text
    secrets = (PHONE, PHONE.lstrip("+"), sender.lstrip("+"), "Secret bananas", "Reply text", view["customer_token"])
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked into /metrics"
    assert "o-metrics" not in text and "o-missing" not in text  # routes by template, not by path


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None when it is not there."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_time_requests_by_route_template_and_provider_calls_by_outcome(gateway):
    await gateway.picking_order("o-timed-1", sms_opt_in=True)  # a picking text: one provider call
    await gateway.picking_order("o-timed-2", customer={"phone": "+15551230002"})
    for order_id in ("o-timed-1", "o-timed-2", "o-unknown"):
        await gateway.http.get(f"/v1/orders/{order_id}", headers=auth(OPERATOR_KEY))
    await texts_since(gateway.phone, 0, 1)
    await gateway.jobs.drained("text")

    text = (await gateway.http.get("/metrics")).text

    count = "gateway_http_request_seconds_count"
    assert sample(text, count, route="/v1/orders/{order_id}", method="GET") == 3
    assert sample(text, count, route="/v1/orders", method="POST") == 2
    assert sample(text, count, route="/v1/orders/{order_id}/events", method="POST") == 2
    assert sample(text, "gateway_sms_provider_seconds_count", outcome="sent") == 1
    assert sample(text, "gateway_send_seconds_count", type="send") is None  # no chat sent yet
    assert sample(text, "gateway_redis_up") == 1.0
    assert (sample(text, "process_resident_memory_bytes") or 0) > 0


async def test_a_redis_that_does_not_answer_reads_as_down_in_the_metrics(restartable_redis):
    async with running_gateway(base_config(gateway={"redis_url": restartable_redis.url})) as node:
        assert sample((await node.http.get("/metrics")).text, "gateway_redis_up") == 1.0
        await restartable_redis.astop()
        assert sample((await node.http.get("/metrics")).text, "gateway_redis_up") == 0.0
        await restartable_redis.astart()  # so the node stops promptly


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-the-key"}, 401),
        ({"Authorization": "Basic bWV0cmljcy1rZXktMDEyMzQ1"}, 401),
        ({"Authorization": "Bearer metrics-key-012345"}, 200),
        ({"Authorization": "bearer metrics-key-012345"}, 200),
    ],
)
async def test_metrics_key_guards_metrics(headers, status):
    async with running_gateway(base_config(gateway={"metrics_key": "metrics-key-012345"})) as gateway:
        response = await gateway.http.get("/metrics", headers=headers)

        assert response.status_code == status, response.text
        if status == 401:
            assert response.json()["error"]["code"] == "unauthorized"
            assert "gateway_" not in response.text
        else:
            assert "# TYPE gateway_http_responses" in response.text
        assert (await gateway.http.get("/healthz")).status_code == 200  # health stays open


async def test_metrics_are_open_without_a_metrics_key(gateway):
    assert (await gateway.http.get("/metrics")).status_code == 200


async def test_metrics_show_the_job_queue_depth_and_retries(fake_twilio):
    """A text the provider refuses for now waits in the queue and counts as a retry."""
    raw = base_config(sms={"provider": "twilio", **fake_twilio.sms_config()})
    async with running_gateway(raw) as gateway:
        fake_twilio.fail_next(status=503)
        await gateway.picking_order("o-queued", sms_opt_in=True)  # its picking text meets the 503
        await gateway.jobs.retried("text", 1)

        text = (await gateway.http.get("/metrics")).text
        assert sample(text, "gateway_job_retries_total", kind="text") == 1
        assert sample(text, "gateway_job_queue_depth", kind="text") == 1  # waiting for its next try
        assert sample(text, "gateway_job_queue_depth", kind="callback") == 0
