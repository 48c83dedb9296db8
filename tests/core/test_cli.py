"""The labeld command line: simulate, demo and the technician commands, as a user runs them."""

import re
import signal
import socket
import subprocess
import sys

import pytest

from labeld.cli import main
from tests.conftest import printer, token, wait_job

HEALTHY_HS = (b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
              b"\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n")


def labeld(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "labeld", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_simulate_serves_a_zebra_that_answers_host_status_byte_for_byte():
    proc = subprocess.Popen([sys.executable, "-m", "labeld", "simulate", "zpl", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(re.search(r"printer on [\d.]+:(\d+)", line).group(1))
        assert "control interface at http://" in line and "paper-out" in line
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"~HS")
            reply = b""
            while reply.count(b"\x03\r\n") < 3:
                reply += s.recv(1024)
        assert reply == HEALTHY_HS
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_simulate_rejects_an_unknown_simulator_by_name():
    proc = labeld("simulate", "laser")
    assert proc.returncode == 2
    assert "laser" in proc.stderr and "zpl" in proc.stderr


def test_demo_prints_a_label_and_a_receipt_and_says_where_to_look():
    proc = labeld("demo", "--once", "--listen", "127.0.0.1:0", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"API at http://127\.0\.0\.1:\d+", proc.stdout)
    assert re.search(r"demo-zpl .* completed", proc.stdout)
    assert re.search(r"demo-escpos .* completed", proc.stdout)
    assert re.search(r"demo-tspl .* completed", proc.stdout)
    assert "/jobs" in proc.stdout and "preview.png" in proc.stdout and "/page/0.png" in proc.stdout
    assert re.search(r"token \(admin, for this demo only\): lbd_\S+", proc.stdout)


def test_discover_scans_this_machine_without_a_daemon():
    # This machine has no USB printer (nor, maybe, a USB bus): the scan says so and fails, so
    # that a script can tell; --json gives an empty list.
    proc = labeld("discover")
    assert proc.returncode == 1 and "No printer found on USB" in proc.stdout
    proc = labeld("discover", "--json")
    assert proc.returncode == 0 and proc.stdout.strip() == "[]"


@pytest.fixture
def url(daemon, simulator):
    zebra = simulator("zpl")
    zebra.set_fault("head-open")
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    return str(client.base_url), client, zebra


def test_technician_commands_talk_to_a_running_daemon(url, capsys, tmp_path, monkeypatch):
    base, client, zebra = url
    monkeypatch.setenv("LABELD_TOKEN", token(client, "tech"))
    assert main(["status", "shelf", "--url", base]) == 0
    out = capsys.readouterr().out
    assert "shelf: stopped" in out and "Print head is open" in out

    assert main(["printers", "--url", base]) == 0
    assert re.search(r"shelf\s+stopped\s+zebra-generic-203", capsys.readouterr().out)

    zebra.clear_faults()
    f = tmp_path / "label.zpl"
    f.write_bytes(b"^XA^FDfrom the CLI^FS^XZ")
    assert main(["print", "shelf", str(f), "--url", base, "--token", token(client, "pos")]) == 0
    import json
    job = json.loads(capsys.readouterr().out)
    wait_job(client, job["id"])
    assert [j.data for j in zebra.wait_jobs(1)] == [b"^XA^FDfrom the CLI^FS^XZ"]

    assert main(["jobs", "--printer", "shelf", "--url", base]) == 0
    assert job["id"] in capsys.readouterr().out


def test_a_technician_command_without_a_daemon_says_so_plainly(capsys):
    assert main(["printers", "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the daemon" in err and "labeld serve" in err


def test_render_writes_the_png_a_printer_would_print(tmp_path):
    import json

    import zxingcpp
    from PIL import Image

    label = {"width_mm": 50, "height_mm": 30, "elements": [
        {"type": "text", "x_mm": 2, "y_mm": 2, "text": "{{ name }}", "size_pt": 10},
        {"type": "barcode", "symbology": "code128", "data": "{{ sku }}", "x_mm": 4, "y_mm": 10,
         "height_mm": 12, "module_dots": 2}]}
    (tmp_path / "tag.json").write_text(json.dumps(label))
    (tmp_path / "data.json").write_text(json.dumps({"name": "Kifli", "sku": "KIF-0042"}))
    out = tmp_path / "tag.png"
    proc = labeld("render", str(tmp_path / "tag.json"), "--data", str(tmp_path / "data.json"),
                  "-o", str(out), "--printer-model", "zebra-generic-300")
    assert proc.returncode == 0, proc.stderr
    assert "at 300 dpi" in proc.stdout
    image = Image.open(out)
    assert image.size == (591, 354)  # 50 x 30 mm at 300 dpi
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == ["KIF-0042"]
    missing = labeld("render", str(tmp_path / "tag.json"), "-o", str(out))
    assert missing.returncode == 2 and "name" in missing.stderr and "sku" in missing.stderr
