"""One router per resource. Each route reads its input, calls one operation of the daemon
(labeld.daemon.Daemon) and shapes the answer (labeld.views); none touches the store, a
printer or the scheduler. Docstrings are the OpenAPI descriptions shown at /docs."""

from labeld.http.routers import (actions, events, jobs, printers, security, service,
                                 templates)

__all__ = ["actions", "events", "jobs", "printers", "security", "service", "templates"]
