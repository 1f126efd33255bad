"""The gateway: shopper-customer chat and order-status texts for grocery orders."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gateway")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
