"""file:// printers: a device node, a capture file, a drop folder."""

from __future__ import annotations

import pytest

from labeld.config import PrinterConfig
from labeld.contracts import Timeouts, TransportError
from labeld.drivers.transports.file import FileTransport, parse
from tests.conftest import FAST_DELIVERY, run, wait_job

TIMEOUTS = Timeouts(connect=1.0, write=1.0, read=0.2)


async def send(uri: str, data: bytes) -> None:
    async with FileTransport(uri, TIMEOUTS) as t:
        await t.write(data)
        await t.finish()
        assert await t.read_until(lambda b: bool(b), 0.2) == b""  # no back channel


def test_file_uris():
    assert parse("file:///dev/usb/lp0") == (parse("file:///dev/usb/lp0")[0], False)
    assert parse("file:///var/lib/labeld/capture/")[1] is True
    for bad in ("file://relative/x", "file:///x?y=1", "file://host/x", "socket:///x"):
        with pytest.raises(ValueError):
            FileTransport.validate_uri(bad)


def test_a_capture_file_gets_every_job_appended(tmp_path):
    target = tmp_path / "capture.prn"
    run(send(f"file://{target}", b"^XA^FDone^FS^XZ"))
    run(send(f"file://{target}", b"^XA^FDtwo^FS^XZ"))
    assert target.read_bytes() == b"^XA^FDone^FS^XZ^XA^FDtwo^FS^XZ"


def test_a_folder_gets_one_whole_file_per_job(tmp_path):
    for n in range(3):
        run(send(f"file://{tmp_path}/", b"job %d" % n))
    files = sorted(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert [f.read_bytes() for f in files] == [b"job 0", b"job 1", b"job 2"]
    assert all(f.suffix == ".prn" for f in files)  # no .part left behind


def test_a_device_node_takes_the_job(tmp_path):
    # /dev/null is a character device like /dev/usb/lp0: opened for writing, not created
    run(send("file:///dev/null", b"\x1b@receipt\n"))


def test_a_missing_device_or_folder_is_a_clear_retryable_error(tmp_path):
    with pytest.raises(TransportError) as e:
        run(send(f"file://{tmp_path}/missing/", b"x"))
    assert e.value.code == "file-not-found" and e.value.retryable


def test_a_daemon_printer_on_a_file_completes_unconfirmed(daemon, tmp_path):
    target = tmp_path / "zebra.prn"
    client = daemon([PrinterConfig(id="capture", uri=f"file://{target}",
                                   model="zebra-generic-203")],
                    delivery=FAST_DELIVERY.model_copy(update={"confirm_window_s": 1.0}))
    jid = client.post("/v1/jobs", json={"printer": "capture",
                                        "raw": {"data": "^XA^FDcaptured^FS^XZ"}}).json()["id"]
    job = wait_job(client, jid, timeout=15)  # after the confirmation window
    assert job["state"] == "completed" and job["delivery"] == "unconfirmed"
    assert target.read_bytes() == b"^XA^FDcaptured^FS^XZ"
