"""Prometheus metrics, one registry per app. Labels never carry phone numbers or text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import (
    PLATFORM_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

# Seconds: most calls take a few milliseconds; a provider call or a stalled Redis, seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # CPU, memory, open files of this node
        self.registry.register(PLATFORM_COLLECTOR)
        # Latency: labels are route templates and outcomes, never an order id or a phone.
        self.http_seconds = Histogram(
            "gateway_http_request_seconds", "HTTP requests by route template (webhooks included)",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.provider_seconds = Histogram(
            "gateway_sms_provider_seconds", "Calls to the SMS provider's API, by outcome",
            ["outcome"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.job_depth = Gauge(
            "gateway_job_queue_depth", "Jobs waiting or running, by kind, at the last scrape", ["kind"],
            registry=self.registry,
        )
        self.job_retries = Counter(
            "gateway_job_retries", "Job attempts that will run again, by kind", ["kind"], registry=self.registry
        )
        self.redis_up = Gauge(
            "gateway_redis_up", "1 when the store answered a PING at the last scrape (embedded: 1)",
            registry=self.registry,
        )
        self.connections = Gauge(
            "gateway_websocket_connections", "Open WebSockets on this node", ["role"],
            registry=self.registry,
        )
        self.messages = Counter(
            "gateway_chat_messages", "Chat messages stored", ["via"], registry=self.registry
        )
        self.texts = Counter(
            "gateway_texts", "Outbound texts by SMS state reached", ["state"], registry=self.registry
        )
        self.inbound_texts = Counter(
            "gateway_inbound_texts", "Inbound texts by what they did", ["action"],
            registry=self.registry,
        )
        self.http = Counter(
            "gateway_http_responses", "HTTP responses by status code", ["status"],
            registry=self.registry,
        )
        self.callbacks = Counter(
            "gateway_callbacks", "Retailer callback attempts by outcome (delivered, retried, exhausted)",
            ["outcome"], registry=self.registry,
        )
        self.overloaded = Counter(
            "gateway_overloaded",
            "Work refused as overloaded: Redis commands past the pool's wait, sends past their socket's line",
            registry=self.registry,
        )
        self.frames = Counter(
            "gateway_ws_errors", "Error frames sent, by code", ["code"], registry=self.registry
        )

        # Faults and leaks (issue 9): what was kept or cut off, and live counts a soak watches.
        self.early_statuses = Counter(
            "gateway_early_status_reports", "Status reports kept because they beat the send's answer",
            registry=self.registry,
        )
        self.stalled_sockets = Counter(
            "gateway_stalled_sockets", "Sockets aborted because they stopped reading", registry=self.registry
        )
        self.hub_rooms = Gauge(
            "gateway_hub_rooms", "Orders with a subscription on this node", registry=self.registry
        )
        self.hub_sockets = Gauge(
            "gateway_hub_attachments", "Socket attachments to orders on this node", registry=self.registry
        )
        self.tasks = Gauge("gateway_asyncio_tasks", "asyncio tasks alive on this node", registry=self.registry)
        self.tasks.set_function(_task_count)

    def watch_hub(self, rooms: Callable[[], int], attachments: Callable[[], int]) -> None:
        self.hub_rooms.set_function(rooms)
        self.hub_sockets.set_function(attachments)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _task_count() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # read outside the node's loop
        return 0
