"""Store: the durable state of orders, chat and phones."""
