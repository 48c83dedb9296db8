"""The technician's commands against a real daemon: tables for a person, --json for a script,
the console's actions, events, the support bundle, refusals in words, Hungarian, and pipes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import zipfile

import pytest

from labeld import cli
from labeld.cli import choose_language, main
from tests.conftest import printer, token, wait_for, wait_job


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """The words these tests read are English unless a test asks, whatever the locale says."""
    monkeypatch.setenv("LABELD_LANG", "en")
    monkeypatch.delenv("LABELD_TOKEN", raising=False)


@pytest.fixture
def shop(daemon, zebra, till):
    """A daemon with a Zebra `shelf` and a receipt printer `till`; `shop.tech` is a technician's
    token, `shop.url` the daemon's address."""
    client = daemon([printer("shelf", zebra, "zebra-generic-203"),
                     printer("till", till, "escpos-generic-80")])
    client.zebra, client.till = zebra, till
    client.url = str(client.base_url)
    client.tech = token(client, "tech", "anna")
    return client


def run(capsys, shop, *args: str, role_token: str | None = None) -> tuple[int, str, str]:
    """`labeld ARGS --url ... --token ...` in this process: exit code, stdout, stderr."""
    code = main([*args, "--url", shop.url, "--token", role_token or shop.tech])
    out, err = capsys.readouterr()
    return code, out, err


def labeld(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "LABELD_LANG": "en", **kw.pop("env", {})}
    return subprocess.Popen([sys.executable, "-m", "labeld", *args], env=env, **kw)


def raw(shop, printer_id: str, data: str) -> dict:
    resp = shop.post("/v1/jobs", json={"printer": printer_id, "raw": {"data": data}})
    assert resp.status_code == 202, resp.text
    return resp.json()


# --- looking ---------------------------------------------------------------------------------


def test_printers_is_a_table_with_the_consoles_words_and_json_for_scripts(shop, capsys):
    shop.zebra.set_fault("paper-out")
    shop.get("/v1/printers/shelf/status")  # the daemon has seen it
    code, out, _ = run(capsys, shop, "printers")
    assert code == 0
    assert out.splitlines()[0].split() == ["Printer", "State", "Model", "Queued", "Messages"]
    assert re.search(r"shelf\s+Needs attention\s+zebra-generic-203\s+0\s+Out of paper or labels",
                     out)
    assert re.search(r"till\s+Ready\s+escpos-generic-80\s+0", out)
    assert "\x1b[" not in out  # not a terminal: no colour

    code, out, _ = run(capsys, shop, "printers", "--json")  # the API's own JSON
    assert code == 0 and list(json.loads(out)) == ["printers"]
    shelf = json.loads(out)["printers"][0]
    assert shelf.keys() == shop.get("/v1/printers/shelf").json().keys()
    assert (shelf["id"], shelf["state"], shelf["state_reasons"][0]["code"]) == (
        "shelf", "stopped", "paper-out")


def test_status_exits_1_while_the_printer_needs_attention_and_0_when_fine(shop, capsys):
    shop.zebra.set_fault("paper-out")
    code, out, _ = run(capsys, shop, "status", "shelf")  # asks the printer live
    assert code == 1
    assert out.startswith("shelf: Needs attention")
    assert re.search(r"Error\s+Out of paper or labels\s+Put in a new roll and close the cover\.",
                     out)
    code, out, _ = run(capsys, shop, "status", "shelf", "--json")
    assert code == 1 and json.loads(out)["state"] == "stopped"
    assert json.loads(out)["reasons"][0]["code"] == "paper-out"

    shop.zebra.clear_faults()
    code, out, _ = run(capsys, shop, "status", "shelf")
    assert code == 0
    assert out.startswith("shelf: Ready  (answered in ") and "reports no problem" in out
    code, out, _ = run(capsys, shop, "status", "shelf", "--json")
    assert code == 0 and json.loads(out)["state"] == "idle"


def test_jobs_plugins_selftest_and_doctor_read_as_tables(shop, capsys):
    job = raw(shop, "till", "Nyugta\n")
    wait_job(shop, job["id"])
    code, out, _ = run(capsys, shop, "jobs")
    assert code == 0 and re.search(rf"{job['id'][:8]}\s+till\s+Printed\s+raw\s+1", out)
    code, out, _ = run(capsys, shop, "jobs", "--state", "held")
    assert code == 0 and "No jobs match." in out

    code, out, _ = run(capsys, shop, "plugins")
    assert code == 0 and re.search(r"zebra-generic-203\s+Zebra ZPL", out)
    assert "Transports:" in out and "socket" in out
    code, out, _ = run(capsys, shop, "plugins", "--json")
    assert "zebra-generic-203" in {m["id"] for m in json.loads(out)["models"]}

    code, out, _ = run(capsys, shop, "selftest", "till")
    assert code == 0 and out.startswith("Self-test of till: OK in ")
    assert re.search(r"OK\s+transport reachable", out)
    code, out, _ = run(capsys, shop, "selftest", "till", "--json")
    assert code == 0 and json.loads(out)["result"] == "ok"

    shop.zebra.set_fault("paper-out")
    code, out, _ = run(capsys, shop, "doctor")
    assert code == 1
    assert re.search(r"^shelf\s+Needs attention", out, re.M) and re.search(r"^till\s+Ready", out,
                                                                           re.M)
    assert re.search(r"Failed\s+status\s+Out of paper or labels\s+Put in a new roll", out)
    assert "Something failed" in out
    code, out, _ = run(capsys, shop, "doctor", "--json")
    report = json.loads(out)
    assert code == 1 and report["result"] == "fail"
    assert [p["printer"]["id"] for p in report["printers"]] == ["shelf", "till"]


# --- doing: every technician action of the console ------------------------------------------


def test_pause_cancel_retry_resume_and_reprint_by_a_short_job_id(shop, capsys):
    code, out, _ = run(capsys, shop, "pause", "shelf")
    assert code == 0 and "shelf paused" in out and "labeld resume shelf" in out
    assert shop.get("/v1/printers/shelf").json()["paused"] is True
    job = raw(shop, "shelf", "^XA^FDcli^FS^XZ")
    short = job["id"][:8]
    code, out, _ = run(capsys, shop, "jobs", "--printer", "shelf")
    assert re.search(rf"{short}\s+shelf\s+Waiting", out)

    code, out, _ = run(capsys, shop, "cancel", short)
    assert code == 0 and out.strip() == f"Job {short} on shelf canceled."
    assert shop.get(f"/v1/jobs/{job['id']}").json()["state"] == "canceled"
    code, out, _ = run(capsys, shop, "retry", job["id"][:6], "--json")
    assert code == 0 and json.loads(out)["state"] == "pending"

    code, out, _ = run(capsys, shop, "resume", "shelf")
    assert code == 0 and out.strip() == "shelf resumed: 1 job waiting."
    wait_job(shop, job["id"])
    code, out, _ = run(capsys, shop, "reprint", short)
    again = re.fullmatch(r"Printing it again on shelf as a new job: ([0-9a-f]{8})\.\n", out)
    assert code == 0 and again
    assert [j.data for j in shop.zebra.wait_jobs(2)] == [b"^XA^FDcli^FS^XZ"] * 2


def test_release_lets_a_held_receipt_print(shop, capsys):
    shop.till.set_fault("half-open")  # it stops reading mid-job: nothing proves it printed
    job = raw(shop, "till", "Nyugta 1\n")
    wait_for(lambda: any(r["code"] == "not-taking-data" for r in
                         shop.get("/v1/printers/till").json()["state_reasons"]), timeout=10)
    shop.till.clear_faults()
    wait_job(shop, job["id"], states=("held",))
    code, out, _ = run(capsys, shop, "jobs", "--state", "held")
    assert re.search(rf"{job['id'][:8]}\s+till\s+Held", out)
    code, out, _ = run(capsys, shop, "release", job["id"])
    assert code == 0 and out.strip() == f"Job {job['id'][:8]} released: till prints it next."
    wait_job(shop, job["id"], states=("completed",))


def test_events_list_and_follow_live(shop, capsys):
    wait_job(shop, raw(shop, "shelf", "^XA^FDone^FS^XZ")["id"])
    code, out, _ = run(capsys, shop, "events", "--printer", "shelf")
    assert code == 0 and re.search(r"shelf\s+[0-9a-f]{8}\s+Printed", out)
    code, out, _ = run(capsys, shop, "events", "--json")
    assert code == 0 and {e["kind"] for e in json.loads(out)["events"]} >= {"job"}

    follow = labeld("events", "--follow", "--json", "--printer", "shelf", "--limit", "0",
                    "--url", shop.url, "--token", shop.tech, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True)
    try:
        assert "Following the events of shelf" in follow.stderr.readline()
        shop.post("/v1/printers/shelf/selftest")
        event = json.loads(follow.stdout.readline())
        assert (event["kind"], event["printer"], event["code"]) == ("selftest", "shelf", "ok")
    finally:
        follow.send_signal(signal.SIGINT)
        assert follow.wait(10) == 130  # Ctrl-C: quietly
        assert "Traceback" not in follow.stderr.read()
        follow.stdout.close()
        follow.stderr.close()


def test_bundle_downloads_the_support_zip_and_says_where(shop, capsys, tmp_path):
    code, out, _ = run(capsys, shop, "bundle", "-o", str(tmp_path / "for-support.zip"))
    assert code == 0
    assert re.fullmatch(rf"Support bundle saved to {re.escape(str(tmp_path))}/for-support\.zip "
                        r"\(\d+ kB\): send it to whoever supports you\.\n", out)
    assert "printers.json" in zipfile.ZipFile(tmp_path / "for-support.zip").namelist()
    code, out, _ = run(capsys, shop, "bundle", "-o", str(tmp_path))  # a folder: the daemon's name
    [made] = tmp_path.glob("labeld-support-*.zip")
    assert code == 0 and str(made) in out
    assert not list(tmp_path.glob("*.part"))


# --- refusals in words ----------------------------------------------------------------------


def test_refusals_show_the_apis_message_and_hint_and_exit_3(shop, capsys, tmp_path):
    code = main(["printers", "--url", shop.url])
    err = capsys.readouterr().err
    assert code == 3 and "This request needs an API token. [401 token-required]" in err
    assert "Give the token with --token, or set LABELD_TOKEN." in err

    code, _, err = run(capsys, shop, "printers", role_token="lbd_not-a-token")
    assert code == 3 and "[401 token-invalid]" in err and "The token came from --token." in err

    code, _, err = run(capsys, shop, "status", "shelf", role_token=token(shop, "pos"))
    assert code == 3 and "needs the staff role; this token has pos. [403 insufficient-role]" in err
    assert "pausing, retrying, reprinting, the report and the support bundle need a tech" in err
    code, _, err = run(capsys, shop, "pause", "shelf", role_token=token(shop, "staff"))
    assert code == 3 and "needs the tech role; this token has staff." in err

    code, _, err = run(capsys, shop, "status", "cellar")
    assert code == 3 and "There is no printer 'cellar'. [404 unknown-printer]" in err
    assert "hint: Configured printers: shelf, till." in err

    (tmp_path / "label.zpl").write_text("^XA^XZ")
    code, _, err = run(capsys, shop, "print", "shelf", str(tmp_path / "label.zpl"),
                       "--copies", "0")
    assert code == 3 and "copies:" in err and "[422 invalid-request]" in err

    code, _, err = run(capsys, shop, "cancel", "0123abcd")
    assert code == 3 and "No job id begins with 0123abcd" in err
    job = raw(shop, "till", "done\n")
    wait_job(shop, job["id"])
    code, _, err = run(capsys, shop, "cancel", job["id"])
    assert code == 3 and "[409 job-finished]" in err
    assert "Traceback" not in err


# --- Hungarian ------------------------------------------------------------------------------


def test_lang_hu_shows_hungarian_words_and_the_reasons_in_hungarian(shop, capsys, monkeypatch):
    shop.zebra.set_fault("paper-out")
    code, out, _ = run(capsys, shop, "--lang", "hu", "status", "shelf")
    assert code == 1 and out.startswith("shelf: Beavatkozást igényel")
    assert "Kifogyott a papír vagy a címke" in out
    assert "Tegyen be új tekercset, és csukja le a fedelet." in out
    code, out, _ = run(capsys, shop, "printers", "--lang", "hu")  # after the command too
    assert re.search(r"shelf\s+Beavatkozást igényel", out) and "Nyomtató" in out
    assert re.search(r"till\s+Nyomtatásra kész", out)

    monkeypatch.setenv("LABELD_LANG", "hu")
    code, out, _ = run(capsys, shop, "selftest", "shelf")
    assert code == 1 and re.search(r"Sikertelen\s+\S", out)
    code, out, _ = run(capsys, shop, "printers", "--lang", "en")  # the option wins
    assert "Needs attention" in out


def test_the_language_comes_from_the_option_the_environment_the_config_or_the_locale(tmp_path):
    config = tmp_path / "labeld.toml"
    config.write_text('[server]\nlanguage = "hu"\n')
    english = tmp_path / "en.toml"
    english.write_text('[server]\nlanguage = "en"\n')
    assert choose_language(environ={}) == "en"
    assert choose_language(environ={"LANG": "hu_HU.UTF-8"}) == "hu"
    assert choose_language(environ={"LANG": "C.UTF-8"}) == "en"
    assert choose_language(environ={"LC_ALL": "hu_HU.UTF-8", "LANG": "en_US.UTF-8"}) == "hu"
    assert choose_language(environ={"LANG": "de_DE.UTF-8", "LANGUAGE": "de:hu"}) == "hu"
    assert choose_language(config=str(config), environ={"LANG": "en_GB.UTF-8"}) == "hu"
    assert choose_language(config=str(english), environ={"LANG": "hu_HU.UTF-8"}) == "en"
    assert choose_language(config=str(tmp_path / "missing.toml"), environ={"LANG": "hu_HU"}) \
        == "hu"
    assert choose_language(config=str(config), environ={"LABELD_LANG": "en"}) == "en"
    assert choose_language("en", environ={"LABELD_LANG": "hu"}) == "en"
    assert choose_language(environ={"LABELD_LANG": "de", "LANG": "hu_HU.UTF-8"}) == "hu"


def test_the_system_locale_chooses_hungarian_for_a_command_run_as_is(shop):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "LABELD_"))}
    proc = subprocess.run([sys.executable, "-m", "labeld", "printers", "--url", shop.url,
                           "--token", shop.tech], capture_output=True, text=True, timeout=60,
                          env={**env, "LANG": "hu_HU.UTF-8"})
    assert proc.returncode == 0 and "Nyomtatásra kész" in proc.stdout


# --- pipes ----------------------------------------------------------------------------------


def test_a_listing_piped_to_head_ends_quietly(shop):
    env = {**os.environ, "LABELD_LANG": "en", "LABELD_TOKEN": shop.tech}
    line = f"{sys.executable} -m labeld printers --url {shop.url} | head -1"
    proc = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60,
                          env=env)
    assert proc.returncode == 0 and proc.stdout.split() == ["Printer", "State", "Model",
                                                            "Queued", "Messages"]
    assert proc.stderr == ""


def test_a_reader_that_went_away_gets_no_traceback_and_exit_141(shop):
    """The reader closes its end before labeld writes a word (what `| head -1` does to a long
    listing): no BrokenPipeError, no "Exception ignored" at exit."""
    for args in (["printers"], ["jobs", "--json"], ["events", "--follow", "--limit", "5"]):
        proc = labeld(*args, "--url", shop.url, "--token", shop.tech, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
        proc.stdout.close()
        if args[0] == "events":  # something to write once it is following
            wait_for(lambda p=proc: shop.post("/v1/printers/till/selftest")
                     and p.poll() is not None, timeout=20, interval=0.3)
        assert proc.wait(30) == 141, args
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert "Following the events" in err if args[0] == "events" else err == "", err
        assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err


def test_the_words_go_through_gettext(monkeypatch):
    """Every sentence of the CLI is a catalogue id: Hungarian once translated, never a KeyError
    or a format error for a placeholder."""
    monkeypatch.setattr(cli, "_lang", "hu")
    assert cli._("Ready") == "Nyomtatásra kész"
    assert cli.ngettext("{n} job waiting", "{n} jobs waiting", 3) == "3 feladat vár"
    assert cli._("Port {port} on {host} is already in use by another program.", port=1,
                 host="h")


# --- the morning report ----------------------------------------------------------------------


def test_report_shows_each_printers_evening_in_words_and_exits_1_while_something_is_held(
        shop, capsys):
    from datetime import UTC, datetime

    since = datetime.now(UTC).isoformat()
    kati = token(shop, "staff", "kati")
    shop.till.set_fault("cover-open")
    held = raw(shop, "till", "thanks\n")
    wait_for(lambda: shop.get(f"/v1/jobs/{held['id']}").json()["state"] == "held")
    canceled = raw(shop, "till", "spare\n")
    main(["cancel", canceled["id"], "--url", shop.url, "--token", kati])
    capsys.readouterr()

    code, out, _ = run(capsys, shop, "report", "--since", since)
    assert code == 1  # the receipt printer's cover is still open, a receipt waits
    assert re.search(r"^shelf\s+Zebra", out, re.M)
    assert "Nothing happened, and nothing is wrong." in out  # the label printer's evening
    assert re.search(r"still on\s+\d+ s\s+Printer cover is open", out)
    assert re.search(rf"kati \(staff\)\s+kati canceled job {canceled['id'][:8]}", out)
    assert "Still wrong now:" in out and "1 job held" in out

    code, out, _ = run(capsys, shop, "report", "--since", since, "--json")
    body = json.loads(out)
    assert code == 1 and [p["printer"] for p in body["printers"]] == ["shelf", "till"]
    code, out, _ = run(capsys, shop, "report", "--since", since, "--lang", "hu")
    from labeld.reasons import lookup

    assert lookup("cover-open").message.hu in out  # the faults in the reader's language
    code, _, err = run(capsys, shop, "report", role_token=kati)
    assert code == 3 and "[403 insufficient-role]" in err
