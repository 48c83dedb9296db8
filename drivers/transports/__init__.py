"""Transports: one module per way of reaching a printer, each registered by URI scheme."""
