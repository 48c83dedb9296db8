"""`labeld fleet`: the fleet in a table or JSON, only what fails, changes live, and a shop's
self-test run through the broker; the broker's refusals in words. Real Mosquitto, simulated
shops."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from labeld.cli import main
from tests.fleet.fleetkit import USERS, ShopsThread, fleet_broker


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("LABELD_LANG", "en")


@pytest.fixture
def fleet(broker, tmp_path):
    """Two shops, bp-12 (Buda: shelf and till) and deb-3 (shelf and till); `fleet.desk` is a
    desk configuration file for the technician anna, `fleet.args` its flags."""
    b = fleet_broker(broker)
    shops = ShopsThread()
    shops.open(b, "bp-12", name="Buda")
    shops.open(b, "deb-3")
    (tmp_path / "anna.pass").write_text(USERS["anna"] + "\n")
    desk = tmp_path / "desk.toml"
    desk.write_text(f'[desk]\nbroker = "mqtts://127.0.0.1:{b.tls_port}"\nusername = "anna"\n'
                    f'password_file = "{tmp_path / "anna.pass"}"\nca_file = "{b.ca_file}"\n')
    shops.broker, shops.desk, shops.tmp = b, str(desk), tmp_path
    yield shops
    shops.close()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_shows_every_shop_and_printer(fleet, capsys):
    code, out, _ = run(capsys, "fleet", "--config", fleet.desk)
    assert code == 0, out
    lines = out.splitlines()
    assert any("bp-12 (Buda)" in line and "online" in line and "shelf" in line for line in lines)
    assert sum("Ready" in line for line in lines) == 4
    assert "0 waiting" in out


def test_a_fault_makes_it_exit_1_and_failing_shows_only_it(fleet, capsys):
    fleet.call(fleet.shops["deb-3"].set_fault("till", "paper-out"))
    code, out, _ = run(capsys, "fleet", "--config", fleet.desk)
    assert code == 1
    assert out.index("deb-3") < out.index("bp-12 (Buda)")  # failing first
    fleet.call(fleet.shops["bp-12"].set_jobs("shelf", queued=3, held=1))
    code, out, _ = run(capsys, "fleet", "--failing", "--config", fleet.desk)
    assert code == 1
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert len(rows) == 2, out
    assert "till" in rows[1] and "out of paper" in rows[1].lower()  # deb-3's till...
    assert "shelf" in rows[0] and "1 held" in rows[0]  # ...and bp-12's shelf, nothing else


def test_failing_with_nothing_failing_says_so(fleet, capsys):
    code, out, _ = run(capsys, "fleet", "--failing", "--config", fleet.desk)
    assert code == 0 and "no printer needs attention" in out


def test_json_is_the_snapshot(fleet, capsys):
    fleet.call(fleet.shops["bp-12"].set_fault("shelf", "head-open"))
    code, out, _ = run(capsys, "fleet", "--json", "--config", fleet.desk)
    body = json.loads(out)
    assert code == 1 and body["connected"] is True
    assert [s["shop"] for s in body["shops"]] == ["bp-12", "deb-3"]
    shelf = body["shops"][0]["printers"][0]
    assert shelf["printer"] == "shelf" and shelf["state"] == "stopped" and shelf["failing"]
    assert shelf["reasons"][0]["code"] == "head-open" and shelf["reasons"][0]["hint"]["hu"]
    code, out, _ = run(capsys, "fleet", "--json", "--failing", "--config", fleet.desk)
    assert [(s["shop"], [p["printer"] for p in s["printers"]])
            for s in json.loads(out)["shops"]] == [("bp-12", ["shelf"])]


def test_flags_instead_of_a_config_file(fleet, capsys):
    b = fleet.broker
    code, out, _ = run(capsys, "fleet", "--broker", f"mqtts://127.0.0.1:{b.tls_port}",
                       "--user", "anna", "--password-file", str(fleet.tmp / "anna.pass"),
                       "--ca", str(b.ca_file))
    assert code == 0 and "deb-3" in out


def test_hungarian_reasons(fleet, capsys):
    fleet.call(fleet.shops["deb-3"].set_fault("shelf", "paper-out"))
    code, out, _ = run(capsys, "fleet", "--lang", "hu", "--config", fleet.desk)
    assert code == 1 and "papír" in out.lower()


def test_a_remote_self_test_is_answered_through_the_broker(fleet, capsys):
    code, out, _ = run(capsys, "fleet", "selftest", "bp-12", "shelf", "--config", fleet.desk)
    assert code == 0, out
    assert "bp-12" in out and "Self-test of shelf: OK" in out and "transport reachable" in out
    fleet.call(fleet.shops["bp-12"].set_fault("shelf", "paper-out"))
    code, out, _ = run(capsys, "fleet", "--config", fleet.desk, "selftest", "bp-12", "shelf",
                       "--print", "--json")
    body = json.loads(out)
    assert code == 1 and body["result"] == "fail"
    assert [c["name"] for c in body["checks"]] == ["transport reachable", "status", "test print"]
    asker, request = fleet.shops["bp-12"].requests[-1]
    assert (asker.role, asker.user, request["args"]) == ("tech", "anna",
                                                          {"printer": "shelf", "print": True})


def test_a_shop_refusal_is_exit_3_with_its_words(fleet, capsys):
    code, _, err = run(capsys, "fleet", "selftest", "bp-12", "nope", "--config", fleet.desk)
    assert code == 3 and "There is no printer" in err and "[unknown-printer]" in err


def test_a_reader_gets_a_clear_timeout(fleet, capsys):
    (fleet.tmp / "eve.pass").write_text(USERS["eve"])
    code, _, err = run(capsys, "fleet", "selftest", "bp-12", "shelf", "--timeout", "1",
                       "--config", fleet.desk, "--user", "eve",
                       "--password-file", str(fleet.tmp / "eve.pass"))
    assert code == 2
    assert "did not answer within 1 s" in err and "eve" in err and "ACL" in err
    assert fleet.shops["bp-12"].requests == []


def test_a_wrong_password_and_no_broker_are_said_in_words(fleet, capsys):
    (fleet.tmp / "bad.pass").write_text("wrong")
    code, _, err = run(capsys, "fleet", "--config", fleet.desk, "--password-file",
                       str(fleet.tmp / "bad.pass"))
    assert code == 2 and "refused the user anna" in err and "hint:" in err
    fleet.broker.stop()
    t0 = time.monotonic()
    code, _, err = run(capsys, "fleet", "--config", fleet.desk)
    assert code == 2 and "Cannot reach the broker" in err and time.monotonic() - t0 < 5
    code, _, err = run(capsys, "fleet", "--broker", "mqtt://fleet.example.com", "--user", "a")
    assert code == 2 and "clear text" in err


def test_follow_prints_changes_live(fleet):
    proc = subprocess.Popen([sys.executable, "-m", "labeld", "fleet", "--follow", "--json",
                             "--config", fleet.desk], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert {s["shop"] for s in first["shops"]} == {"bp-12", "deb-3"}
        fleet.call(fleet.shops["deb-3"].set_fault("shelf", "paper-out"))
        for line in proc.stdout:
            change = json.loads(line)
            if change["kind"] == "printers":
                break
        assert (change["shop"], change["printer"]) == ("deb-3", "shelf")
        assert change["state"]["failing"] is True
    finally:
        proc.terminate()
        proc.wait(10)
