"""/v1/printers: the configured printers, their live status, self-test, pause and resume.

Shop staff (`staff`) ask a printer now and run its self-test (the diagnostic label too): what
someone at the printer does when it stops outside support hours. Pausing and resuming a queue
stay with the technician."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from fastapi import APIRouter

from labeld.diagnostics.selftest import checks_json
from labeld.http.deps import POS, STAFF, TECH, DaemonDep
from labeld.security import TokenInfo
from labeld.http.schemas import (UNKNOWN_PRINTER, Printer, PrinterList, PrinterStatus,
                                 SelfTestReport, documented)

router = APIRouter(tags=["printers"])

ONE_PRINTER = {404: {"unknown-printer": UNKNOWN_PRINTER}}


@router.get("/v1/printers", dependencies=[POS], **documented(PrinterList))
async def list_printers(daemon: DaemonDep) -> dict[str, Any]:
    """Every configured printer with its state and reasons, as last seen."""
    return {"printers": await daemon.printers()}


@router.get("/v1/printers/{printer_id}", dependencies=[POS],
            **documented(Printer, 404, 422, examples=ONE_PRINTER))
async def get_printer(printer_id: str, daemon: DaemonDep) -> dict[str, Any]:
    """One printer, as last seen."""
    return await daemon.printer(printer_id)


@router.get("/v1/printers/{printer_id}/status", dependencies=[STAFF],
            **documented(PrinterStatus, 403, 404, 422, examples=ONE_PRINTER))
async def printer_status(printer_id: str, daemon: DaemonDep) -> dict[str, Any]:
    """Ask the device now; answers within the status timeout even if the printer is dead."""
    return await daemon.printer_status(printer_id)


@router.post("/v1/printers/{printer_id}/selftest", dependencies=[STAFF],
             **documented(SelfTestReport, 403, 404, 422, examples=ONE_PRINTER))
async def selftest(printer_id: str, daemon: DaemonDep,
                   print: bool = False) -> dict[str, Any]:  # noqa: A002
    """Ordered checks (reachable, identification, status, latency, media, configuration,
    model plugins' checks, and with ?print=true a diagnostic label); each bounded. A check's
    `name`, `detail` and `hint` are English; `name_i18n`, `detail_i18n` and `hint_i18n` carry
    them in every language ({"en", "hu"}), like a reason's `message`."""
    report = await daemon.selftest(printer_id, print_label=print)
    return {**asdict(replace(report, checks=[])),
            "checks": checks_json(report.checks, daemon.catalogues)}


@router.post("/v1/printers/{printer_id}/pause",
             **documented(Printer, 403, 404, 422, examples=ONE_PRINTER,
                          description="The printer, paused (kept across restarts)."))
async def pause(printer_id: str, daemon: DaemonDep, token: TokenInfo = TECH) -> dict[str, Any]:
    """Hold the printer's queue until resumed, across restarts too (a `printer` event
    `paused` names who)."""
    return await daemon.pause(printer_id, token)


@router.post("/v1/printers/{printer_id}/resume",
             **documented(Printer, 403, 404, 422, examples=ONE_PRINTER,
                          description="The printer, printing again."))
async def resume(printer_id: str, daemon: DaemonDep, token: TokenInfo = TECH) -> dict[str, Any]:
    """Release the printer's queue (a `printer` event `resumed` names who)."""
    return await daemon.resume(printer_id, token)
