"""The simulator engine, language-free: jobs, buffering, transport faults, connection counts,
control HTTP.

A toy device stands in for a printer language: `?` is a status query answered with `OK\\n`
(or `JAM\\n` while jammed), `!` subscribes the connection to unsolicited `CHANGED\\n`
notices, every other byte is job data.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest

from labeld.contracts import SimulatorSpec
from labeld.errors import Invalid, NotFound
from labeld.sim import (GARBAGE_REPLY, GENERIC_FAULT_NAMES, Device, FaultSpec, Session,
                        Simulator, SimulatorThread, spec_faults)
from tests.conftest import connect, free_port, read_exactly, send_job, wait_for


class ToySession(Session):
    def __init__(self, device: ToyDevice):
        self.device = device
        self.watching = False

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        if b"!" in chunk:
            self.watching = True
        reply = b"".join(self.device.status() for _ in range(chunk.count(b"?")))
        return reply, chunk.replace(b"?", b"").replace(b"!", b"")

    def state_changed(self) -> bytes:
        return b"CHANGED\n" if self.watching else b""


class ToyDevice(Device):
    FAULTS: ClassVar[tuple[FaultSpec, ...]] = (
        FaultSpec("jammed", "stops printing", stops_printing=True),
        FaultSpec("dusty", "a warning that does not stop printing"),
    )

    def new_session(self) -> ToySession:
        return ToySession(self)

    def status(self) -> bytes:
        return b"JAM\n" if self.has("jammed") else b"OK\n"


TOY = SimulatorSpec(name="toy", language="toy", description="test device",
                    faults=spec_faults(ToyDevice), factory=ToyDevice)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(TOY) as running:
        yield running


@pytest.fixture
def control(sim: SimulatorThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.control_url, timeout=5) as client:
        yield client




def assert_silent(sock: socket.socket, within: float = 0.3) -> None:
    sock.settimeout(within)
    with pytest.raises(TimeoutError):
        sock.recv(100)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# --- jobs


def test_each_connection_is_one_job_holding_exactly_its_non_query_bytes(sim):
    send_job(sim.port, b"hello ")
    send_job(sim.port, b"wor?ld")
    jobs = sim.wait_jobs(2)
    assert [j.data for j in jobs] == [b"hello ", b"world"]
    assert [j.index for j in jobs] == [0, 1]
    assert all(j.complete and j.printed and not j.canceled for j in jobs)
    assert jobs[0].connection != jobs[1].connection


def test_a_status_only_connection_is_answered_and_records_no_job(sim):
    with connect(sim.port) as sock:
        sock.sendall(b"??")
        assert read_exactly(sock, 6) == b"OK\nOK\n"
    send_job(sim.port, b"after")
    assert [j.data for j in sim.wait_jobs(1)] == [b"after"]


def test_a_sender_that_closes_without_reading_the_reply_still_delivers_a_complete_job(sim):
    """Its kernel answers our reply with a reset; the job had already arrived whole."""
    for _ in range(5):
        send_job(sim.port, b"abc?def")
    assert all(j.complete and j.data == b"abcdef" for j in sim.wait_jobs(5))


def test_jobs_keep_connection_order_when_connections_end_out_of_order():
    device = ToyDevice()
    device.record(b"second", True, connection=3)
    device.record(b"first", True, connection=2)
    assert [(j.index, j.data) for j in device.jobs] == [(0, b"first"), (1, b"second")]


def test_wait_jobs_times_out_with_a_clear_error(sim):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="0 of 1 jobs"):
        sim.wait_jobs(1, timeout=0.2)
    assert time.monotonic() - started < 2


def test_jobs_returns_a_snapshot(sim):
    sim.set_fault("jammed")
    send_job(sim.port, b"x")
    snapshot = sim.wait_jobs(1)
    sim.clear_faults()
    assert snapshot[0].printed is False
    assert sim.jobs()[0].printed is True


def test_jobs_wait_in_the_buffer_while_a_stopping_fault_is_active_and_print_in_order_after(sim):
    sim.set_fault("jammed")
    for data in (b"one", b"two"):
        send_job(sim.port, data)
    jobs = sim.wait_jobs(2)
    assert [(j.data, j.printed) for j in jobs] == [(b"one", False), (b"two", False)]
    assert sim.state()["buffered"] == 2
    sim.clear_fault("jammed")
    assert [(j.data, j.printed) for j in sim.jobs()] == [(b"one", True), (b"two", True)]
    assert sim.state()["counters"]["jobs_printed"] == 2


def test_a_fault_that_does_not_stop_printing_does_not_buffer(sim):
    sim.set_fault("dusty")
    send_job(sim.port, b"x")
    assert sim.wait_jobs(1)[0].printed


def test_device_state_changes_push_unsolicited_bytes_to_subscribed_connections(sim):
    with connect(sim.port) as sock:
        sock.sendall(b"!?")
        assert read_exactly(sock, 3) == b"OK\n"
        sim.set_fault("dusty")
        assert read_exactly(sock, 8) == b"CHANGED\n"


def test_the_asyncio_api_mirrors_the_thread_runner():
    async def scenario() -> None:
        async with Simulator(TOY) as sim:
            await sim.set_fault("jammed")
            _, writer = await asyncio.open_connection("127.0.0.1", sim.port)
            writer.write(b"async job")
            await writer.drain()
            writer.close()
            jobs = await sim.wait_jobs(1, timeout=2)
            assert (jobs[0].data, jobs[0].printed) == (b"async job", False)
            await sim.clear_faults()
            assert sim.jobs[0].printed and sim.faults == {}

    asyncio.run(scenario())


# --- transport faults


def test_offline_refuses_connections_then_listens_again_on_the_same_port(sim):
    port = sim.port
    sim.set_fault("offline")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    sim.clear_fault("offline")
    assert sim.port == port
    send_job(port, b"back")
    assert sim.wait_jobs(1)[0].data == b"back"


def test_drop_after_closes_the_connection_after_n_bytes_and_records_an_incomplete_job(sim):
    sim.set_fault("drop-after", 10)
    with connect(sim.port) as sock:
        sock.sendall(b"0123456789abcdefghij")
        sock.settimeout(2)
        # An orderly close, or a reset, since the sender's surplus bytes were never read.
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(100) == b""
    job = sim.wait_jobs(1)[0]
    assert (job.data, job.complete, job.printed) == (b"0123456789", False, False)


def test_drop_after_zero_hangs_up_at_once_and_records_nothing(sim):
    sim.set_fault("drop-after", 0)
    with connect(sim.port) as sock:
        sock.settimeout(2)
        assert sock.recv(10) == b""
    with pytest.raises(TimeoutError):
        sim.wait_jobs(1, timeout=0.2)


def test_slow_reads_at_roughly_the_given_rate(sim):
    sim.set_fault("slow", 4000)
    started = time.monotonic()
    send_job(sim.port, b"x" * 2000)
    sim.wait_jobs(1, timeout=5)
    elapsed = time.monotonic() - started
    assert 0.3 < elapsed < 3.0  # 2000 bytes at 4000 B/s: 0.5 s


def test_reset_mid_job_resets_after_n_bytes_and_records_an_incomplete_job(sim):
    sim.set_fault("reset-mid-job", 10)
    with connect(sim.port) as sock:
        sock.sendall(b"0123456789")  # exactly N: nothing unread is left to cause a reset
        sock.settimeout(2)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    job = sim.wait_jobs(1)[0]
    assert (job.data, job.complete, job.printed) == (b"0123456789", False, False)
    assert sim.state()["counters"]["jobs_printed"] == 0


def test_drop_after_at_the_same_point_is_a_clean_close_not_a_reset(sim):
    """The counterpart of the test above: it is the fault, not the unread bytes, that resets."""
    sim.set_fault("drop-after", 10)
    with connect(sim.port) as sock:
        sock.sendall(b"0123456789")
        sock.settimeout(2)
        assert sock.recv(100) == b""


def test_reset_mid_job_lets_shorter_jobs_through_whole(sim):
    sim.set_fault("reset-mid-job", 100)
    with connect(sim.port) as sock:
        sock.sendall(b"short")
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        assert sock.recv(100) == b""  # the printer's clean close after the sender's
    job = sim.wait_jobs(1)[0]
    assert (job.data, job.complete, job.printed) == (b"short", True, True)


def test_reset_on_status_resets_instead_of_answering(sim):
    sim.set_fault("reset-on-status")
    with connect(sim.port) as sock:
        sock.sendall(b"?")
        sock.settimeout(2)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)  # no "OK\n" first: the answer never left
    sim.wait_until(lambda s: s.connection_counts()["status_connections"] == 1)
    assert sim.jobs() == []


def test_reset_on_status_cuts_a_job_that_asks_for_status_and_spares_one_that_does_not(sim):
    sim.set_fault("reset-on-status")
    with connect(sim.port) as sock:
        sock.sendall(b"job?")
        sock.settimeout(2)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    send_job(sim.port, b"plain job")
    jobs = sim.wait_jobs(2)
    assert [(j.data, j.complete, j.printed) for j in jobs] == [(b"job", False, False),
                                                             (b"plain job", True, True)]


def test_half_open_takes_a_small_job_into_the_kernel_and_never_reads_or_closes(sim):
    sim.set_fault("half-open")
    with connect(sim.port) as sock:
        sock.sendall(b"x" * 1000)  # succeeds: the kernel buffers it, nobody reads it
        sock.shutdown(socket.SHUT_WR)  # the end of the job, as labeld's finish() sends it
        assert_silent(sock, 0.5)  # no reply, no EOF, no reset
        assert sim.connection_counts()["held_connections"] == 1
        assert sim.jobs() == []


def test_half_open_stalls_a_large_job(sim):
    sim.set_fault("half-open")
    with connect(sim.port) as sock:
        sock.settimeout(1)
        # More than the receive buffer plus the sender's own send buffer (Linux loopback lets
        # that grow to tcp_wmem's maximum, 4 MiB by default): the write must time out.
        with pytest.raises(TimeoutError):
            sock.sendall(b"x" * (16 << 20))
        assert sim.connection_counts()["held_connections"] == 1
    assert sim.jobs() == []


def test_clearing_half_open_resets_held_connections_records_nothing_and_serves_again(sim):
    sim.set_fault("half-open")
    with connect(sim.port) as sock:
        sock.sendall(b"never read?")
        sim.wait_until(lambda s: s.connection_counts()["held_connections"] == 1)
        sim.clear_fault("half-open")
        sock.settimeout(2)
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
    send_job(sim.port, b"after")
    assert [j.data for j in sim.wait_jobs(1)] == [b"after"]
    counts = sim.connection_counts()
    assert (counts["connections"], counts["status_connections"], counts["held_connections"]) \
        == (2, 0, 0)


def test_half_open_stops_reading_a_connection_that_was_already_open(sim):
    with connect(sim.port) as sock:
        sock.sendall(b"begun ")
        sim.wait_until(lambda s: s.connection_counts()["open_connections"] == 1)
        sim.set_fault("half-open")
        sim.wait_until(lambda s: s.connection_counts()["held_connections"] == 1)
        sock.sendall(b"and ended?")
        assert_silent(sock)  # "?" was not read, so not answered
    time.sleep(0.2)
    # The sender has closed, but an unread connection does not notice: still held, no job.
    assert sim.connection_counts()["held_connections"] == 1
    assert sim.jobs() == []
    sim.clear_fault("half-open")
    sim.wait_until(lambda s: s.connection_counts()["open_connections"] == 0)
    assert sim.jobs() == []


def test_refuse_for_refuses_then_listens_again_by_itself_on_the_same_port(sim):
    port = sim.port
    sim.set_fault("refuse-for", 1)
    started = time.monotonic()
    assert refused(port)
    assert sim.faults() == {"refuse-for": 1}
    time.sleep(0.5)
    assert refused(port)  # not before the N seconds are up
    wait_for(lambda: not refused(port), timeout=3)
    assert 0.9 < time.monotonic() - started < 3
    assert sim.faults() == {} and sim.port == port
    send_job(port, b"back")
    assert sim.wait_jobs(1)[0].data == b"back"


def test_refuse_for_leaves_a_printer_that_is_also_offline_offline(sim):
    sim.set_fault("offline")
    sim.set_fault("refuse-for", 1)
    time.sleep(1.5)
    assert sim.faults() == {"offline": True}
    assert refused(sim.port)
    sim.clear_fault("offline")
    send_job(sim.port, b"back")
    sim.wait_jobs(1)


def test_refuse_for_cleared_early_listens_at_once(sim):
    sim.set_fault("refuse-for", 60)
    assert refused(sim.port)
    sim.clear_fault("refuse-for")
    send_job(sim.port, b"back")
    sim.wait_jobs(1)


def test_silent_never_answers_status_queries(sim):
    sim.set_fault("silent")
    with connect(sim.port) as sock:
        sock.sendall(b"?")
        assert_silent(sock)


def test_garbage_answers_with_bytes_no_printer_would_send(sim):
    sim.set_fault("garbage")
    with connect(sim.port) as sock:
        sock.sendall(b"?")
        assert read_exactly(sock, len(GARBAGE_REPLY)) == GARBAGE_REPLY


def test_fault_values_are_checked(sim):
    with pytest.raises(Invalid, match="needs a whole number"):
        sim.set_fault("slow", True)
    with pytest.raises(Invalid, match=">= 1"):
        sim.set_fault("slow", 0)
    with pytest.raises(NotFound, match="no fault named"):
        sim.set_fault("on-fire")


def test_setting_a_flag_to_false_clears_it(sim):
    sim.set_fault("jammed")
    sim.set_fault("jammed", False)
    assert sim.faults() == {}


# --- connection counts


def test_connections_and_status_only_connections_are_counted_with_their_times(sim):
    before = time.time()
    for _ in range(3):
        with connect(sim.port) as sock:
            sock.sendall(b"?")
            assert read_exactly(sock, 3) == b"OK\n"
    send_job(sim.port, b"job")
    send_job(sim.port, b"job with a query?")  # carries job data: not a status connection
    send_job(sim.port, b"")  # neither
    sim.wait_jobs(2)
    sim.wait_until(lambda s: s.connection_counts()["open_connections"] == 0)
    assert sim.connection_counts() == {"connections": 6, "status_connections": 3,
                                       "open_connections": 0, "held_connections": 0}
    assert sim.status_connections_since(before) == 3
    assert sim.connections_since(before) == 6
    later = time.time() + 1
    assert sim.status_connections_since(later) == 0 and sim.connections_since(later) == 0


def test_a_silenced_query_still_makes_a_status_connection(sim):
    """What matters for "no busy polling" is that the client asked, not that it was answered."""
    sim.set_fault("silent")
    with connect(sim.port) as sock:
        sock.sendall(b"?")
        assert_silent(sock, 0.1)
    sim.wait_until(lambda s: s.connection_counts()["status_connections"] == 1)


def test_a_polling_rate_can_be_measured(sim):
    """How a test catches a busy poller: status connections per second over a window."""
    start = time.time()
    for _ in range(10):
        with connect(sim.port) as sock:
            sock.sendall(b"?")
            read_exactly(sock, 3)
        time.sleep(0.02)
    sim.wait_until(lambda s: s.connection_counts()["status_connections"] == 10)
    rate = sim.status_connections_since(start) / (time.time() - start)
    assert rate > 5  # this loop polls far too fast for a printer; a test would assert < 1


# --- control HTTP


def test_state_describes_the_simulator(sim, control):
    state = control.get("/state").json()
    assert state == {"name": "toy", "language": "toy", "port": sim.port,
                     "control_port": sim.control_port, "faults": {},
                     "available_faults": [*GENERIC_FAULT_NAMES, "jammed", "dusty"],
                     "jobs": 0, "buffered": 0, "counters": {"jobs_printed": 0},
                     "settings": {}, "connections": 0, "status_connections": 0,
                     "open_connections": 0, "held_connections": 0}


def test_state_counts_connections_over_http(sim, control):
    with connect(sim.port) as sock:
        sock.sendall(b"?")
        read_exactly(sock, 3)
    send_job(sim.port, b"job")
    sim.wait_jobs(1)
    sim.wait_until(lambda s: s.connection_counts()["open_connections"] == 0)
    state = control.get("/state").json()
    assert (state["connections"], state["status_connections"]) == (2, 1)


def test_new_faults_over_http(sim, control):
    assert control.put("/faults/refuse-for", json={"value": 60}).json()["faults"] == {
        "refuse-for": 60}
    assert refused(sim.port)
    control.delete("/faults/refuse-for")
    assert control.put("/faults/reset-mid-job", json={"value": 0}).status_code == 200
    assert control.put("/faults/reset-on-status").status_code == 200
    assert control.put("/faults/half-open").json()["faults"] == {
        "reset-mid-job": 0, "reset-on-status": True, "half-open": True}
    resp = control.put("/faults/refuse-for", json={"value": 0})
    assert (resp.status_code, resp.json()["error"]["code"]) == (422, "bad-fault-value")
    assert control.delete("/faults").json()["faults"] == {}
    send_job(sim.port, b"ok")
    sim.wait_jobs(1)


def test_put_and_delete_faults_over_http(control):
    assert control.put("/faults/jammed").json()["faults"] == {"jammed": True}
    resp = control.put("/faults/drop-after", json={"value": 5})
    assert resp.status_code == 200 and resp.json()["faults"] == {"jammed": True, "drop-after": 5}
    assert control.delete("/faults/jammed").json()["faults"] == {"drop-after": 5}
    assert control.delete("/faults/jammed").status_code == 200  # clearing twice is fine
    control.put("/faults/silent", json={"value": True})
    assert control.delete("/faults").json()["faults"] == {}


def test_a_stopping_fault_set_over_http_holds_jobs_and_clearing_it_prints_them(sim, control):
    control.put("/faults/jammed")
    send_job(sim.port, b"held")
    sim.wait_jobs(1)
    assert control.get("/jobs").json()[0]["printed"] is False
    assert control.get("/state").json()["buffered"] == 1
    control.delete("/faults/jammed")
    assert control.get("/jobs").json()[0]["printed"] is True


def test_a_transport_fault_set_over_http_acts_on_the_printer_port(sim, control):
    control.put("/faults/silent")
    with connect(sim.port) as sock:
        sock.sendall(b"?")
        assert_silent(sock)
    control.delete("/faults/silent")
    with connect(sim.port) as sock:
        sock.sendall(b"?")
        assert read_exactly(sock, 3) == b"OK\n"


def test_offline_over_http(sim, control):
    control.put("/faults/offline")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1)
    control.delete("/faults/offline")
    send_job(sim.port, b"ok")
    sim.wait_jobs(1)


@pytest.mark.parametrize("path, body, status, code", [
    ("/faults/on-fire", None, 404, "unknown-fault"),
    ("/faults/slow", {"value": "fast"}, 422, "bad-fault-value"),
    ("/faults/slow", {"value": 0}, 422, "bad-fault-value"),
    ("/faults/jammed", {"value": 7}, 422, "bad-fault-value"),
    ("/faults/jammed", {"colour": "red"}, 422, "invalid-body"),
    ("/faults/jammed", [True], 422, "invalid-body"),
    ("/faults/drop-after", {"value": -1}, 422, "bad-fault-value"),
])
def test_fault_errors_are_json_with_code_message_and_hint(control, path, body, status, code):
    resp = control.put(path, json=body) if body is not None else control.put(path)
    assert resp.status_code == status
    error = resp.json()["error"]
    assert error["code"] == code and error["message"] and error["hint"]


def test_a_body_that_is_not_json_is_rejected(control):
    resp = control.put("/faults/jammed", content=b"{nope", headers={"content-type": "text/plain"})
    assert (resp.status_code, resp.json()["error"]["code"]) == (422, "invalid-json")


def test_a_body_over_a_mebibyte_is_refused_and_sets_nothing(control):
    resp = control.put("/faults/jammed", content=b" " * ((1 << 20) + 1))
    assert (resp.status_code, resp.json()["error"]["code"]) == (413, "too-large")
    assert control.get("/state").json()["faults"] == {}


def test_a_refused_fault_leaves_the_faults_as_they_were(control):
    control.put("/faults/slow", json={"value": 100})
    assert control.put("/faults/slow", json={"value": 0}).status_code == 422
    assert control.put("/faults/on-fire").status_code == 404
    assert control.get("/state").json()["faults"] == {"slow": 100}


def test_jobs_over_http(sim, control):
    sim.set_fault("jammed")
    send_job(sim.port, b"\x00binary\xff")
    sim.wait_jobs(1)
    [job] = control.get("/jobs").json()
    assert (job["index"], job["number"], job["size"]) == (0, 1, 8)
    assert (job["complete"], job["printed"], job["canceled"]) == (True, False, False)
    assert base64.b64decode(job["data_b64"]) == b"\x00binary\xff"
    assert control.get("/state").json()["buffered"] == 1
    data = control.get("/jobs/1/data")
    assert data.headers["content-type"] == "application/octet-stream"
    assert data.content == b"\x00binary\xff"
    assert control.get("/jobs/1").json()["size"] == 8
    assert control.get("/jobs/2/data").json()["error"]["code"] == "unknown-job"
    assert control.get("/jobs/0/data").json()["error"]["code"] == "unknown-job"  # from 1
    assert control.delete("/jobs").json()["jobs"] == 0
    assert control.get("/jobs").json() == []


@pytest.mark.parametrize("path", ["/nowhere", "/jobs/0/nothing", "/faults/jammed/now"])
def test_an_unknown_route_is_a_json_404_that_lists_the_routes(control, path):
    resp = control.get(path)
    assert resp.status_code == 404
    error = resp.json()["error"]
    assert error["code"] == "not-found" and path in error["message"]
    assert "GET /state" in error["hint"]


def test_a_method_a_route_does_not_take_is_a_json_405_that_says_which_it_takes(control):
    resp = control.post("/state")
    assert (resp.status_code, resp.json()["error"]["code"]) == (405, "method-not-allowed")
    resp = control.get("/faults/jammed")
    assert resp.status_code == 405
    assert set(resp.headers["allow"].split(", ")) == {"PUT", "DELETE"}
    assert "PUT" in resp.json()["error"]["hint"]


def test_a_missing_job_or_page_is_a_json_404_with_its_own_code(sim, control):
    assert control.get("/jobs/0").json()["error"]["code"] == "unknown-job"
    assert control.get("/jobs/first").json()["error"]["code"] == "unknown-job"
    send_job(sim.port, b"x")
    sim.wait_jobs(1)
    resp = control.get("/jobs/1/page/1.png")  # the toy device draws nothing
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "no-rendering")


def test_a_control_client_may_keep_its_connection_open_between_requests(control):
    for _ in range(3):
        assert control.get("/state").status_code == 200
    assert control.put("/faults/dusty").status_code == 200


def test_stopping_closes_the_control_port_promptly_with_a_client_still_connected():
    sim = SimulatorThread(TOY).start()
    with httpx.Client(base_url=sim.control_url, timeout=5) as client:
        assert client.get("/state").status_code == 200  # its connection stays open
        started = time.monotonic()
        sim.stop()
        assert time.monotonic() - started < 0.5
        with pytest.raises(httpx.ConnectError):
            client.get("/state")


def test_a_control_port_in_use_fails_the_start_and_leaves_the_printer_port_closed():
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            SimulatorThread(TOY, port=port, control_port=taken.getsockname()[1]).start()
    assert refused(port)


# --- the blocking entry point behind `labeld simulate`


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_says_where_it_listens_and_exits_cleanly_on_a_signal(signum):
    code = ("from labeld.sim import run; from labeld.drivers.zpl.simulator import SPEC; "
            "run(SPEC, '127.0.0.1', 0, 0, {})")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "127.0.0.1:" in line and "/state" in line, line
        control_url = line.split("control interface at ")[1].split()[0]
        assert httpx.get(control_url, timeout=5).json()["name"] == "zpl"
        proc.send_signal(signum)
        assert proc.wait(5) == 0
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
