"""Delivery: one supervised worker per printer takes jobs from the store, encodes them in the
printer's language and sends them over its transport, reading status before and after."""
