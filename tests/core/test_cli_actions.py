"""`labeld actions PRINTER` and `labeld action PRINTER ACTION` against a real daemon: the list in
words, a run followed until the printer has done it, a question first on a terminal, and
refusals in words with the exit codes of the other commands."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

import pytest

from labeld.cli import main
from tests.conftest import printer, token


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("LABELD_LANG", "en")
    monkeypatch.delenv("LABELD_TOKEN", raising=False)


@pytest.fixture
def shop(daemon, zebra):
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    client.zebra = zebra
    client.url = str(client.base_url)
    client.staff = token(client, "staff", "eva")
    return client


def run(capsys, shop, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--url", shop.url, "--token", shop.staff])
    out, err = capsys.readouterr()
    return code, out, err


def test_actions_lists_each_with_its_role_and_range(shop, capsys):
    code, out, _ = run(capsys, shop, "actions", "shelf")
    assert code == 0
    for words in ("calibrate", "Calibrate the labels", "darkness", "10 to 25, default 15",
                  "labeld action shelf ACTION"):
        assert words in out, words
    code, out, _ = run(capsys, shop, "actions", "shelf", "--json")
    assert [a["id"] for a in json.loads(out)["actions"]][:2] == ["calibrate", "config-label"]


def test_action_runs_and_says_when_the_printer_has_done_it(shop, capsys):
    code, out, _ = run(capsys, shop, "action", "shelf", "calibrate", "--yes")
    assert code == 0 and out.startswith("Done: calibrate ran on shelf")
    assert [j.data for j in shop.zebra.jobs()] == [b"~JC"]


def test_refusals_are_in_words_with_exit_3_and_send_nothing(shop, capsys):
    code, _, err = run(capsys, shop, "action", "shelf", "format", "--yes")
    assert code == 3 and "[404 unknown-action]" in err and "labeld actions PRINTER" in err
    code, _, err = run(capsys, shop, "action", "shelf", "darkness", "--value", "20", "--yes")
    assert code == 3 and "[403 insufficient-role]" in err  # darkness needs a technician
    tech = token(shop, "tech")
    code = main(["action", "shelf", "darkness", "--value", "40", "--yes", "--url", shop.url,
                 "--token", tech])
    assert code == 3 and "[422 value-out-of-range]" in capsys.readouterr().err
    assert shop.zebra.jobs() == []


def ask_on_a_terminal(shop, answer: bytes) -> str:
    """`labeld action shelf feed` with a terminal as stdin; `answer` typed at the question."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "labeld", "action", "shelf", "feed", "--url", shop.url,
         "--token", shop.staff], stdin=follower, stdout=subprocess.PIPE, stderr=follower,
        env={**os.environ, "LABELD_LANG": "en"})
    os.close(follower)
    said = b""
    while b"[y/N]" not in said:
        ready, _, _ = select.select([leader], [], [], 30)
        assert ready, f"no question; so far: {said!r}"
        said += os.read(leader, 1024)
    os.write(leader, answer)
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    assert b"Feed one label" in said and b"use some labels or paper" in said
    return out.decode()


def test_on_a_terminal_it_asks_first(shop):
    assert "Nothing was sent." in ask_on_a_terminal(shop, b"n\r")
    assert shop.zebra.jobs() == []
    assert "Done: feed ran on shelf" in ask_on_a_terminal(shop, b"y\r")
    assert [j.data for j in shop.zebra.jobs()] == [b"~PH"]
