"""Diagnostics: self-tests, the support bundle, the reasons catalogue (English and Hungarian)
and the Prometheus metrics."""
