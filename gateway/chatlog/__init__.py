"""ChatLog: each order's messages in seq order, and their texts' receipts."""
