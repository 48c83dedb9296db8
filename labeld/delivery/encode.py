"""Delivery: the exact bytes a stored job sends, and how far it moves the label counter."""

from __future__ import annotations

from labeld.contracts import PrintOptions
from labeld.delivery.printers import Printer
from labeld.errors import LabeldError
from labeld.store import MAINTENANCE, Job


def job_labels(printer: Printer, job: Job) -> int | None:
    """How far the job moves the printer's label counter: every page of a raster job is a
    label; a raw job counts as the language reads it (0 for one that prints no label), None
    where the language cannot tell. A maintenance action is None: it may feed or print labels
    that no format counts (calibration, a configuration label), so the counter cannot speak for
    it, and it is confirmed by the printer's status instead."""
    if job.kind == MAINTENANCE:
        return None
    if job.kind != "raw":
        return len(job.pages) * job.copies
    per_copy = printer.language.labels_in_raw(_raw(job))
    return None if per_copy is None else per_copy * job.copies


def job_bytes(printer: Printer, job: Job) -> bytes:
    """The exact bytes a job sends. Raises LabeldError for a payload that can never print."""
    if job.kind == MAINTENANCE:
        return _raw(job)  # the declared action's bytes, once
    if job.kind == "raw":
        return printer.language.raw_job(_raw(job), job.copies)
    if job.raw is not None:  # a receipt encoded as text at intake, for this printer's language
        return printer.language.raw_job(job.raw, job.copies)
    if not job.pages:
        raise LabeldError("no-pages", "The job has no rendered pages.", "", status=500)
    return printer.language.encode_raster(job.pages, printer.model,
                                          PrintOptions(copies=job.copies, cut=True))


def _raw(job: Job) -> bytes:
    if job.raw is None:  # the store loads them when it hands the job to delivery
        raise LabeldError("no-raw-data", "The raw job's bytes were not loaded.", "", status=500)
    return job.raw
