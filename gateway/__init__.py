"""The gateway: shopper-customer chat and order-status texts for grocery orders."""
