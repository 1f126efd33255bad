"""SMS: the transport seam and its implementations."""
