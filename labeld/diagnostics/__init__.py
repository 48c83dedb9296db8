"""Diagnostics: self-tests, the support bundle and the Prometheus metrics. The reasons
catalogue they word status with is labeld.reasons, below every room that shows status."""
