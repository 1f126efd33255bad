"""Broker: carries frames between gateway nodes."""

from gateway.broker.base import Broker, order_channel

__all__ = ["Broker", "order_channel"]
