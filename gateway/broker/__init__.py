"""Broker: carries frames between gateway nodes."""
