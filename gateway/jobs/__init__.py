"""Jobs: durable, delayed, leased work (outbound texts, retailer callbacks)."""
