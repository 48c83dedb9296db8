"""The JSON shapes of labeld's things (jobs, printers, reasons, events), in one place.

Every front door shows the same shapes: the HTTP API answers with them, the support bundle
writes them, the event stream sends them. They sit below all of those, so that diagnostics and
events never import the HTTP layer to learn how a job looks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from labeld.contracts import MaintenanceAction, Reason, TextProfile
from labeld import i18n
from labeld.i18n import Catalogues
from labeld.reasons import describe, error_json
from labeld.store import Event, Job

if TYPE_CHECKING:  # only annotations name it: views read a printer, they never drive one
    from labeld.delivery.printers import Printer


def iso(ts: float | None) -> str | None:
    """A Unix time as ISO 8601 UTC with milliseconds; None (never set) stays None."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds") if ts else None


def job_json(job: Job, catalogues: Catalogues = i18n.CORE) -> dict[str, Any]:
    """A job; its error also in every language, worded by `catalogues` (the daemon's)."""
    out: dict[str, Any] = {
        "id": job.id, "printer": job.printer, "state": job.state.value, "kind": job.kind,
        "copies": job.copies, "attempts": job.attempts, "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at), "finished_at": iso(job.finished_at),
        "retry_at": iso(job.retry_at), "error": error_json(job.error, catalogues),
        "delivery": job.delivery,
        "evidence": job.evidence, "owner": job.owner, "warnings": job.warnings,
        # which maintenance action a `maintenance` job runs (None for a print job)
        "action": job.payload.get("action") if job.kind == "maintenance" else None,
    }
    if job.attempt_log:
        out["attempt_log"] = [
            {"n": a.n, "started_at": iso(a.started_at), "ended_at": iso(a.ended_at),
             "outcome": a.outcome, "error_code": a.error_code, "error_message": a.error_message,
             "bytes_sent": a.bytes_sent} for a in job.attempt_log]
    return out


def reasons_json(reasons: list[Reason], catalogues: Catalogues) -> list[dict[str, Any]]:
    """Reasons as people read them, in every language, worded by `catalogues` (labeld's own
    and the plugins': the daemon's `catalogues`)."""
    return [describe(r, catalogues) for r in reasons]


def printer_json(p: Printer, queued: int, catalogues: Catalogues) -> dict[str, Any]:
    return {
        "id": p.id, "name": p.config.name or p.model.name, "uri": p.config.uri,
        "model": p.model.id, "language": p.model.language, "kind": p.model.printer_type,
        "dpi": p.model.dpi, "print_width_dots": p.model.print_width_dots,
        "state": p.state, "state_reasons": reasons_json(p.reasons, catalogues),
        "status_checked_at": iso(p.last.checked_at), "paused": p.paused, "queued": queued,
        "crash_policy": p.crash_policy, "offline_policy": p.config.offline_policy,
    }


def event_json(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "at": iso(e.at), "printer": e.printer, "job": e.job_id, "kind": e.kind,
            "code": e.code, "message": e.message, "data": e.data}


def action_json(action: MaintenanceAction, catalogues: Catalogues = i18n.CORE) -> dict[str, Any]:
    """A maintenance action as a person chooses it: its words in every language, the role it
    needs, whether it uses media, its parameter; never its bytes (a caller names an action, it
    never sends one)."""
    param = action.param
    return {
        "id": action.id, "title": i18n.words(action.title, catalogues),
        "explanation": i18n.words(action.explanation, catalogues),
        "role": action.role.value, "prints": action.prints,
        "param": None if param is None else {
            "name": param.name, "minimum": param.minimum, "maximum": param.maximum,
            "default": param.default, "label": i18n.words(param.label, catalogues)},
    }


def text_profile_json(profile: TextProfile | None) -> dict[str, Any] | None:
    """What a receipt printer prints from its own fonts (GET /v1/plugins), or None."""
    if profile is None:
        return None
    return {"source": profile.source, "columns": profile.columns,
            "cell_dots": [profile.cell_width, profile.cell_height],
            "code_pages": [{"table": p.table, "name": p.name} for p in profile.code_pages],
            "barcodes": sorted(profile.barcodes), "qr": profile.qr,
            "full_cut": profile.full_cut, "partial_cut": profile.partial_cut,
            "drawer": profile.drawer, "notes": list(profile.notes)}
