"""Prometheus metrics, one registry per app. Labels never carry phone numbers or text."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
            "gateway_overloaded", "Store commands refused after waiting for capacity (answered overloaded)",
            registry=self.registry,
        )
        self.frames = Counter(
            "gateway_ws_errors", "Error frames sent, by code", ["code"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
