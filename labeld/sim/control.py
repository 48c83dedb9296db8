"""The simulator's control port: a deliberately tiny HTTP/1.1 server (one request per
connection) and its router.

    GET /state                    name, ports, faults, jobs, counters, connection counts
    PUT /faults/NAME              set a fault (body: none, {"value": true} or {"value": N})
    DELETE /faults/NAME, /faults  clear one fault, or all
    GET /jobs, DELETE /jobs       the jobs received (data base64), or forget them
    GET /jobs/N, /jobs/N/data     one job as JSON, or its raw bytes
    GET /jobs/N/pages             how many pages the device rendered for job N
    GET /jobs/N/page/K.png        page K as a PNG

It has no dependency beyond asyncio streams and runs on the simulator's loop; every operation is
one of Simulator's own methods. Errors are labeld's JSON error body with the error's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from labeld.errors import Invalid, LabeldError, NotFound
from labeld.sim.device import SimJob

if TYPE_CHECKING:
    from labeld.sim.printer import Simulator

log = logging.getLogger("labeld.sim")


class ControlServer:
    """The control port of one Simulator: `asyncio.start_server(ControlServer(sim).handle,
    host, port)`."""

    def __init__(self, sim: Simulator):
        self.sim = sim

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body, content_type = await self._exchange(reader)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            writer.close()
            return
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        writer.close()

    async def _exchange(self, reader: asyncio.StreamReader) -> tuple[int, bytes, str]:
        request_line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
            if not line:
                break
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        parts = request_line.split()
        if len(parts) != 3:
            return _json_error(Invalid("bad-request", "Malformed HTTP request line."))
        method, target, _ = parts
        length = int(headers.get("content-length", "0") or 0)
        if length > 1 << 20:
            return _json_error(Invalid("body-too-large", "Request body over 1 MiB."))
        body = await reader.readexactly(length) if length else b""
        path = unquote(urlsplit(target).path).rstrip("/") or "/"
        try:
            return await self.route(method.upper(), path, body)
        except LabeldError as exc:
            return _json_error(exc)

    async def route(self, method: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["state"]:
                return _json(self.sim.state())
            case "PUT", ["faults", name]:
                await self.sim.set_fault(name, _fault_value(body))
                return _json(self.sim.state())
            case "DELETE", ["faults", name]:
                await self.sim.clear_fault(name)
                return _json(self.sim.state())
            case "DELETE", ["faults"]:
                await self.sim.clear_faults()
                return _json(self.sim.state())
            case "GET", ["jobs"]:
                return _json([job.as_json() for job in self.sim.jobs])
            case "DELETE", ["jobs"]:
                self.sim.clear_jobs()
                return _json(self.sim.state())
            case "GET", ["jobs", index]:
                return _json(self._job(index).as_json())
            case "GET", ["jobs", index, "data"]:
                return 200, self._job(index).data, "application/octet-stream"
            case "GET", ["jobs", index, "pages"]:
                count = len(self._pages(index))
                return _json({"index": int(index), "pages": count})
            case "GET", ["jobs", index, "page", name] if name.endswith(".png"):
                return 200, self._page(index, name.removesuffix(".png")), "image/png"
        known = {("state",), ("faults",), ("jobs",)}
        if tuple(parts[:1]) in known:
            raise LabeldError("method-not-allowed", f"{method} is not supported on {path}.",
                              "See GET /state, PUT|DELETE /faults/NAME, GET|DELETE /jobs.",
                              status=405)
        raise NotFound("not-found", f"No such resource: {path}.",
                       "Try GET /state, PUT|DELETE /faults/NAME, GET /jobs, "
                       "GET /jobs/N/data, GET /jobs/N/pages, GET /jobs/N/page/K.png, "
                       "DELETE /jobs.")

    def _job(self, index: str) -> SimJob:
        if index.isdigit() and int(index) < len(self.sim.jobs):
            return self.sim.jobs[int(index)]
        raise NotFound("unknown-job", f"No job with index {index!r}.",
                       f"Indexes run from 0 to {len(self.sim.jobs) - 1}." if self.sim.jobs
                       else "No job has arrived yet.")

    def _pages(self, index: str) -> list[bytes]:
        job = self._job(index)
        try:
            pages = self.sim.device.render(job)
        except Exception:
            # As for sessions: a device bug must not take the control interface down.
            log.exception("simulator %s: rendering job %s failed", self.sim.name, index)
            raise LabeldError("render-failed", f"Rendering job {index} failed.",
                              "The simulator's log has the details.", status=500) from None
        if pages is None:
            raise NotFound("no-rendering", f"The {self.sim.name} simulator does not render jobs.",
                           "Use GET /jobs/N/data for the bytes it received.")
        return pages

    def _page(self, index: str, number: str) -> bytes:
        pages = self._pages(index)
        if number.isdigit() and int(number) < len(pages):
            return pages[int(number)]
        raise NotFound("unknown-page", f"Job {index} has no page {number!r}.",
                       f"Pages run from 0 to {len(pages) - 1}." if pages
                       else "Nothing in this job was rendered (rasters only).")


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            422: "Unprocessable Entity", 500: "Internal Server Error"}


def _json(value: Any, status: int = 200) -> tuple[int, bytes, str]:
    return status, json.dumps(value).encode("utf-8"), "application/json"


def _json_error(exc: LabeldError) -> tuple[int, bytes, str]:
    return _json({"error": exc.as_dict()}, exc.status)


def _fault_value(body: bytes) -> object:
    if not body.strip():
        return True
    try:
        payload = json.loads(body)
    except ValueError:
        raise Invalid("invalid-json", "The request body is not JSON.",
                      'Send {"value": true} or {"value": N}, or no body.') from None
    if not isinstance(payload, dict) or set(payload) - {"value"}:
        raise Invalid("invalid-body", 'The body must be an object with one key, "value".',
                      'Send {"value": true} or {"value": N}, or no body.')
    return payload.get("value", True)

