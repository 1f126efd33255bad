"""Fixtures shared by the whole suite live in tests/support/, one module per thing they run."""

pytest_plugins = [
    "support.redis_server",
    "support.redis_cluster",
    "support.app_server",
    "support.callback_receiver",
    "support.fake_twilio",
    "support.logging_state",
]
