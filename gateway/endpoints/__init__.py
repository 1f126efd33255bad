"""HTTP and WebSocket endpoints: accept, decode, authorize, call a service, answer."""
