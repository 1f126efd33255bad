"""Presence: whether a customer is reading the Order Status page, shared by every node."""
