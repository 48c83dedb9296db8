"""`labeld demo --fleet`: one command, a local Mosquitto, two demo shops, and the console's
Fleet page showing both (README, Quick start)."""

from __future__ import annotations

import subprocess
import sys

from labeld.fleet.localbroker import free_port, have_mosquitto


def test_demo_fleet_once_shows_both_shops_and_exits_0():
    assert have_mosquitto(), "mosquitto is missing: apt-get install mosquitto"
    port = free_port()
    run = subprocess.run([sys.executable, "-m", "labeld", "demo", "--fleet", "--once",
                          "--listen", f"127.0.0.1:{port}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "the fleet view sees both shops: demo-1, demo-2" in out, out
    assert f"http://127.0.0.1:{port}/ui/fleet" in out
    assert "labeld fleet --broker mqtt://127.0.0.1:" in out and "--user desk" in out
