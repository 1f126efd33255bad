"""WebSocket close codes the gateway uses (4000-4999 are the application's), with meanings."""

# The socket fell too far behind its frames (a stalled client). Reconnect and join with
# `after=<last seq seen>`: nothing is lost, history fills the gap.
SLOW_CONSUMER = 4008

# The node is shutting down. Reconnect (to any node) and resume with `after=`.
GOING_AWAY = 1001
