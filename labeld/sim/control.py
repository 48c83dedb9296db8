"""The simulator's control port: a Starlette app served by uvicorn on the simulator's own loop.

    GET /state                    name, ports, faults, jobs, counters, settings, connections
    PUT /faults/NAME              set a fault (body: none, {"value": true} or {"value": N})
    DELETE /faults/NAME, /faults  clear one fault, or all
    GET /jobs, DELETE /jobs       the jobs received (data base64), or forget them
    GET /jobs/N, /jobs/N/data     one job as JSON, or its raw bytes (N from 1: the first job)
    GET /jobs/N/pages             how many pages the device rendered for job N
    GET /jobs/N/page/K.png        page K as a PNG (K from 1, as GET /v1/jobs/ID/preview.png?page=K)

Every operation is one of Simulator's own methods. Errors, the router's 404 and 405 included,
are labeld's JSON error body `{"error": {"code", "message", "hint"}}` with the error's status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from labeld.errors import Invalid, LabeldError, NotFound, error_body
from labeld.sim.device import Device, SimJob

log = logging.getLogger("labeld.sim")

# A fault is set with a few bytes of JSON; anything this big is a mistake, not a request.
MAX_BODY_BYTES = 1 << 20
# How long stop() lets a request in flight finish before it cuts the connection.
SHUTDOWN_GRACE_S = 1
ROUTES_HINT = ("Try GET /state, PUT|DELETE /faults/NAME, DELETE /faults, GET|DELETE /jobs, "
               "GET /jobs/N, GET /jobs/N/data, GET /jobs/N/pages, GET /jobs/N/page/K.png.")
FAULT_BODY_HINT = 'Send {"value": true} or {"value": N}, or no body.'


class Controlled(Protocol):
    """What the control port drives: the operations of labeld.sim.printer.Simulator that it
    serves (the simulator makes its control server, so this module does not import it)."""

    @property
    def name(self) -> str: ...

    @property
    def device(self) -> Device: ...

    @property
    def jobs(self) -> list[SimJob]: ...

    def state(self) -> dict[str, Any]: ...

    async def set_fault(self, name: str, value: object = True) -> None: ...

    async def clear_fault(self, name: str) -> None: ...

    async def clear_faults(self) -> None: ...

    def clear_jobs(self) -> None: ...


class ControlServer:
    """The control port of one Simulator: `port = await ControlServer(sim).start(host, port)`,
    later `await stop()`. Both run on the simulator's loop."""

    def __init__(self, sim: Controlled):
        self.sim = sim
        self.app = Starlette(
            routes=[
                Route("/state", self._state, methods=["GET"]),
                Route("/faults", self._faults, methods=["DELETE"]),
                Route("/faults/{name}", self._fault, methods=["PUT", "DELETE"]),
                Route("/jobs", self._jobs, methods=["GET", "DELETE"]),
                Route("/jobs/{index}", self._job_json, methods=["GET"]),
                Route("/jobs/{index}/data", self._job_data, methods=["GET"]),
                Route("/jobs/{index}/pages", self._job_pages, methods=["GET"]),
                Route("/jobs/{index}/page/{number}.png", self._job_page, methods=["GET"]),
            ],
            exception_handlers={LabeldError: _labeld_error, HTTPException: _http_error,
                                Exception: _internal_error})
        self._server: _Uvicorn | None = None
        self._serving: asyncio.Task[None] | None = None

    # -- lifecycle

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port) and serve; return the port once it answers."""
        sock = await _bind(host, port)
        server = _Uvicorn(uvicorn.Config(
            # log_level: uvicorn's loggers (process-wide) keep its per-start and per-stop info
            # lines out of the log. No logging setup of its own (it would reconfigure the
            # process's logging at every simulator start), no access log, no proxy headers to
            # trust, no websockets to import: a loopback control port needs none of them.
            self.app, lifespan="off", log_level="warning", log_config=None, access_log=False,
            proxy_headers=False, ws="none", interface="asgi3",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S))
        loop = asyncio.get_running_loop()
        serving = loop.create_task(server.serve(sockets=[sock]),
                                   name=f"simulator-{self.sim.name}-control")
        ready = loop.create_task(server.ready.wait())
        try:
            await asyncio.wait({serving, ready}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            serving.cancel()
            sock.close()
            raise
        finally:
            ready.cancel()
        if not server.ready.is_set():
            sock.close()
            serving.result()  # raises why it ended
            raise RuntimeError(f"simulator {self.sim.name}: control server ended at start")
        self._server, self._serving = server, serving
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, let requests in flight finish (SHUTDOWN_GRACE_S at most), close
        every connection, and return once uvicorn has finished."""
        server, serving, self._server, self._serving = self._server, self._serving, None, None
        if server is None or serving is None:
            return
        server.exit()
        try:
            await serving
        except Exception:
            log.exception("simulator %s: control server failed while stopping", self.sim.name)

    # -- routes

    async def _state(self, request: Request) -> Response:
        return JSONResponse(self.sim.state())

    async def _faults(self, request: Request) -> Response:
        await self.sim.clear_faults()
        return JSONResponse(self.sim.state())

    async def _fault(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "PUT":
            await self.sim.set_fault(name, _fault_value(await _body(request)))
        else:
            await self.sim.clear_fault(name)
        return JSONResponse(self.sim.state())

    async def _jobs(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sim.clear_jobs()
            return JSONResponse(self.sim.state())
        return JSONResponse([job.as_json() for job in self.sim.jobs])

    async def _job_json(self, request: Request) -> Response:
        return JSONResponse(self._job(request.path_params["index"]).as_json())

    async def _job_data(self, request: Request) -> Response:
        return Response(self._job(request.path_params["index"]).data,
                        media_type="application/octet-stream")

    async def _job_pages(self, request: Request) -> Response:
        number = request.path_params["index"]
        return JSONResponse({"number": int(number), "pages": len(self._pages(number))})

    async def _job_page(self, request: Request) -> Response:
        index, number = request.path_params["index"], request.path_params["number"]
        pages = self._pages(index)
        if number.isdigit() and 1 <= int(number) <= len(pages):
            return Response(pages[int(number) - 1], media_type="image/png")
        raise NotFound("unknown-page", f"Job {index} has no page {number!r}.",
                       f"Pages run from 1 to {len(pages)}." if pages
                       else "Nothing in this job was rendered (rasters only).")

    def _job(self, number: str) -> SimJob:
        if number.isdigit() and 1 <= int(number) <= len(self.sim.jobs):
            return self.sim.jobs[int(number) - 1]
        raise NotFound("unknown-job", f"No job number {number!r}.",
                       f"Jobs are numbered from 1 to {len(self.sim.jobs)}." if self.sim.jobs
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


class _Uvicorn(uvicorn.Server):
    """uvicorn as one part of a simulator, which says when it starts and stops."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self._exit = asyncio.Event()
        # Set whenever a connection or a request task ends, so that shutdown wakes when the
        # last one goes. uvicorn's protocols take these sets when a connection is made.
        self._left = asyncio.Event()
        self.server_state.connections = _Watched(self._left)
        self.server_state.tasks = _Watched(self._left)

    def exit(self) -> None:
        self.should_exit = True
        self._exit.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # SIGINT and SIGTERM belong to whoever runs the simulator (`labeld simulate` stops the
        # whole simulator on them); uvicorn would take them over while it serves.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        # uvicorn polls should_exit every 0.1 s; tests start and stop hundreds of simulators,
        # so wait for exit() instead. Its other periodic work is the Date header (date_header
        # is on by default): keep it true once a second.
        counter = 0
        while not await self.on_tick(counter):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), 1.0)
            counter += 10  # on_tick refreshes the Date header when counter % 10 == 0

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own shutdown sleeps a fixed 0.1 s after asking connections to close, 0.1 s
        # on every simulator stop (tests stop hundreds); this one waits only while a request is
        # still being answered. With lifespan off, that was all it had to do.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after
        state = self.server_state
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while state.connections or state.tasks:
                    self._left.clear()  # nothing can leave between the check and the wait
                    await self._left.wait()
        except TimeoutError:
            log.warning("simulator control port: %d request(s) cut off at shutdown",
                        len(state.tasks))
            for task in list(state.tasks):
                task.cancel()
            for connection in list(state.connections):
                connection.transport.close()
        for server in self.servers:
            await server.wait_closed()


class _Watched(set[Any]):
    """A set of uvicorn's server state that says when something leaves it (uvicorn discards a
    closed connection and a finished request task)."""

    def __init__(self, left: asyncio.Event) -> None:
        super().__init__()
        self._left = left

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._left.set()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._left.set()


async def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on the first address `host` resolves to, as the printer port does, so
    that the port is known (port 0) before uvicorn starts, and a port in use is an OSError
    here rather than uvicorn's sys.exit."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(100)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _error(status: int, code: str, message: str, hint: str = "",
           headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, hint), status_code=status, headers=headers)


async def _labeld_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LabeldError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    """The router's own errors: no route for the path (404), or not that method (405)."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        return _error(404, "not-found", f"No such resource: {path}.", ROUTES_HINT)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return _error(405, "method-not-allowed", f"{request.method} is not supported on {path}.",
                      f"{path} takes {allowed}." if allowed else ROUTES_HINT, headers=exc.headers)
    return _error(exc.status_code, "http-error", str(exc.detail), headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises once this answer is out, and uvicorn logs the traceback.
    return _error(500, "internal-error", f"{request.method} {request.url.path} failed.",
                  "The simulator's log has the details.")


async def _body(request: Request) -> bytes:
    """The request body, refused past MAX_BODY_BYTES before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
    return bytes(body)


def _too_large() -> LabeldError:
    return LabeldError("too-large", f"The request body is larger than {MAX_BODY_BYTES} bytes.",
                       FAULT_BODY_HINT, status=413)


def _fault_value(body: bytes) -> object:
    if not body.strip():
        return True
    try:
        payload: Any = json.loads(body)
    except ValueError:
        raise Invalid("invalid-json", "The request body is not JSON.", FAULT_BODY_HINT) from None
    if not isinstance(payload, dict) or set(payload) - {"value"}:
        raise Invalid("invalid-body", 'The body must be an object with one key, "value".',
                      FAULT_BODY_HINT)
    return payload.get("value", True)
