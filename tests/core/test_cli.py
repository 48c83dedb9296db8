"""The labeld command line: simulate, demo and the technician commands, as a user runs them."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from labeld.cli import CONFIG_EXAMPLE, main
from labeld.config import ServerConfig
from tests.conftest import free_port, printer, token, wait_job

HEALTHY_HS = (b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
              b"\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n")


def labeld(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "labeld", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "LABELD_LANG": "en"})


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
    assert "/jobs" in proc.stdout and "preview.png" in proc.stdout and "/page/1.png" in proc.stdout
    assert re.search(r"token \(admin, for this demo only\): lbd_\S+", proc.stdout)


def test_discover_scans_this_machine_without_a_daemon():
    # This machine has no USB printer (nor, maybe, a USB bus): the scan says so and fails, so
    # that a script can tell; --json gives an empty list.
    proc = labeld("discover")
    assert proc.returncode == 1 and "No printer found on USB" in proc.stdout
    proc = labeld("discover", "--json")
    assert proc.returncode == 0 and proc.stdout.strip() == "[]"


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """The words these tests read are English, whatever this machine's locale says."""
    monkeypatch.setenv("LABELD_LANG", "en")


@pytest.fixture
def url(daemon, simulator):
    zebra = simulator("zpl")
    zebra.set_fault("head-open")
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    return str(client.base_url), client, zebra


def test_technician_commands_talk_to_a_running_daemon(url, capsys, tmp_path, monkeypatch):
    base, client, zebra = url
    monkeypatch.setenv("LABELD_TOKEN", token(client, "tech"))
    assert main(["status", "shelf", "--url", base]) == 1  # the head is open: not fine
    out = capsys.readouterr().out
    assert "shelf: Needs attention" in out and "Print head is open" in out

    assert main(["printers", "--url", base]) == 0
    assert re.search(r"shelf\s+Needs attention\s+zebra-generic-203", capsys.readouterr().out)

    zebra.clear_faults()
    f = tmp_path / "label.zpl"
    f.write_bytes(b"^XA^FDfrom the CLI^FS^XZ")
    assert main(["print", "shelf", str(f), "--url", base, "--token", token(client, "pos"),
                 "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    wait_job(client, job["id"])
    assert [j.data for j in zebra.wait_jobs(1)] == [b"^XA^FDfrom the CLI^FS^XZ"]

    assert main(["jobs", "--printer", "shelf", "--url", base]) == 0
    assert job["id"][:8] in capsys.readouterr().out
    assert main(["jobs", "--printer", "shelf", "--url", base, "--json"]) == 0
    assert job["id"] in [j["id"] for j in json.loads(capsys.readouterr().out)["jobs"]]


def test_a_technician_command_without_a_daemon_says_where_and_how_to_start_it(capsys):
    nobody = f"http://127.0.0.1:{free_port()}"
    assert main(["printers", "--url", nobody]) == 2
    err = capsys.readouterr().err
    assert f"Cannot reach the daemon at {nobody}: nothing is listening there" in err
    assert "(connection refused)" in err
    assert "labeld serve --config" in err and "systemctl start labeld" in err
    assert "--url or LABELD_URL" in err and "Traceback" not in err


def test_an_address_that_is_no_url_is_said_so(capsys):
    assert main(["printers", "--url", "shelf-pc"]) == 2
    assert "shelf-pc is not an address of a labeld daemon" in capsys.readouterr().err


# --- tokens: the spool is made only on purpose --------------------------------------------


def labeld_env(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "labeld", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "LABELD_LANG": "en", **(env or {})})


def test_token_commands_without_a_config_never_make_the_default_spool():
    default = Path(ServerConfig().spool)
    if default.exists():
        pytest.skip(f"{default} exists on this machine: a real labeld lives here")
    folder_was_there = default.parent.exists()
    for args in (("list",), ("create", "--name", "x", "--role", "tech"), ("revoke", "x")):
        proc = labeld_env("token", *args)
        assert proc.returncode == 2, proc.stderr
        assert f"There is no spool at {default}" in proc.stderr
        assert f"--config {CONFIG_EXAMPLE}" in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stdout == ""
    assert not default.exists() and default.parent.exists() == folder_was_there


def test_token_create_makes_the_spool_its_config_names_and_only_create_does(tmp_path):
    spool = tmp_path / "spool.db"
    config = tmp_path / "labeld.toml"
    config.write_text(f'[server]\nspool = "{spool}"\n')
    for args in (("list",), ("revoke", "anna")):
        proc = labeld_env("token", *args, "--config", str(config))
        assert proc.returncode == 2
        assert f"The spool {spool} of {config} does not exist yet" in proc.stderr
        assert not spool.exists()
    made = labeld_env("token", "create", "--name", "anna", "--role", "tech", "--config",
                      str(config))
    assert made.returncode == 0 and made.stdout.startswith("lbd_")
    assert f"Making a new spool at {spool}" in made.stderr and "shown only this once" in made.stderr
    assert spool.exists()
    listed = labeld_env("token", "list", "--config", str(config))
    assert re.search(r"anna\s+tech\s+lbd_", listed.stdout) and made.stdout.strip() not in \
        listed.stdout
    as_json = json.loads(labeld_env("token", "list", "--config", str(config), "--json").stdout)
    assert [t["name"] for t in as_json["tokens"]] == ["anna"]

    elsewhere = tmp_path / "other.toml"
    elsewhere.write_text(f'[server]\nspool = "{tmp_path / "no-such-dir" / "spool.db"}"\n')
    proc = labeld_env("token", "create", "--name", "b", "--role", "pos", "--config",
                      str(elsewhere))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not (tmp_path / "no-such-dir").exists()
    missing = labeld_env("token", "list", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "nope.toml" in missing.stderr


# --- a port someone else listens on ---------------------------------------------------------


@pytest.fixture
def busy_port():
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_busy_port_says_which_and_what_to_do(command, busy_port, tmp_path):
    config = tmp_path / "labeld.toml"  # never the default spool, should the check fail
    config.write_text(f'[server]\nspool = "{tmp_path / "spool.db"}"\n')
    args = ["--config", str(config)] if command == "serve" else ["--once"]
    proc = labeld_env(command, *args, "--listen", f"127.0.0.1:{busy_port}")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"Port {busy_port} on 127.0.0.1 is already in use by another program" in proc.stderr
    assert re.search(rf"labeld {command} --listen 127\.0\.0\.1:\d+", proc.stderr)
    assert "Traceback" not in proc.stderr and not (tmp_path / "spool.db").exists()


def test_render_writes_the_png_a_printer_would_print(tmp_path):
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
