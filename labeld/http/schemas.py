"""Request and response bodies of the HTTP API (the pydantic edge; dataclasses live inside)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labeld.contracts import Reason
from labeld.delivery.printers import Printer
from labeld.diagnostics.reasons import describe
from labeld.store import Job

MAX_RAW_CHARS = 16 * 1024 * 1024  # a raw job larger than this is not a label or a receipt


class RawPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(max_length=MAX_RAW_CHARS, description="Bytes in the printer's own language.")
    encoding: Literal["utf-8", "base64"] = "utf-8"

    @model_validator(mode="after")
    def _decodable(self) -> RawPayload:
        if self.encoding == "base64":
            try:
                base64.b64decode(self.data, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("data is not valid base64") from None
        if not self.data:
            raise ValueError("data is empty")
        return self


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    role: Literal["pos", "tech", "admin"]


class DocumentPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: Literal["application/pdf", "image/png", "image/jpeg"]
    data: str = Field(min_length=1, description="The file, base64-encoded.")
    dither: Literal["threshold", "ordered", "floyd-steinberg"] = "floyd-steinberg"


class JobRequest(BaseModel):
    """A print job: the printer and exactly one payload."""

    model_config = ConfigDict(extra="forbid")
    printer: str = Field(min_length=1, max_length=63)
    raw: RawPayload | None = None
    label: dict[str, Any] | None = None
    template: str | None = None
    data: dict[str, Any] | None = None
    document: DocumentPayload | None = None
    copies: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_payload(self) -> JobRequest:
        given = [k for k in ("raw", "label", "template", "document") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one payload: raw, label, template (with data) or document;"
                             f" got {', '.join(given) or 'none'}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("raw", "label", "template", "document") if getattr(self, k) is not None)


def iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds") if ts else None


def job_json(job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.id, "printer": job.printer, "state": job.state.value, "kind": job.kind,
        "copies": job.copies, "attempts": job.attempts, "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at), "finished_at": iso(job.finished_at),
        "retry_at": iso(job.retry_at), "error": job.error, "delivery": job.delivery,
        "evidence": job.evidence,
    }
    if job.attempt_log:
        out["attempt_log"] = [
            {"n": a.n, "started_at": iso(a.started_at), "ended_at": iso(a.ended_at),
             "outcome": a.outcome, "error_code": a.error_code, "error_message": a.error_message,
             "bytes_sent": a.bytes_sent} for a in job.attempt_log]
    return out


def reasons_json(reasons: list[Reason]) -> list[dict[str, Any]]:
    return [describe(r) for r in reasons]


def printer_json(p: Printer, queued: int) -> dict[str, Any]:
    return {
        "id": p.id, "name": p.config.name or p.model.name, "uri": p.config.uri,
        "model": p.model.id, "language": p.model.language, "kind": p.model.kind,
        "dpi": p.model.dpi, "print_width_dots": p.model.print_width_dots,
        "state": p.state, "state_reasons": reasons_json(p.reasons),
        "status_checked_at": iso(p.last.checked_at), "paused": p.paused, "queued": queued,
        "crash_policy": p.crash_policy, "offline_policy": p.config.offline_policy,
    }
