"""The Order Status page, /dev and the embeddable element: static files, no build step.

This folder ships inside the wheel as the package gateway.web (see pyproject.toml)."""
