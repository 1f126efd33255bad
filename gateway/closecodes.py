"""WebSocket close codes the gateway uses, with their meanings."""

# A handshake refused (bad or expired token, Origin not allowed). Sent before accept, so the
# client sees HTTP 403, as contract section 6 says.
POLICY_VIOLATION = 1008

# The socket fell too far behind its frames (a stalled client). Reconnect and join with
# `after=<last seq seen>`: nothing is lost, history fills the gap.
SLOW_CONSUMER = 4008

# Not ours, but clients meet them: 1012 (service restart) when a node shuts down, 1009 for a
# frame over 1 MiB. Either way, reconnect (to any node) and join with `after=`.
