"""Logs: one format for labeld's and uvicorn's lines; JSON lines for journald, text in a
terminal."""

import io
import json
import logging
import os
import pty
import select
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest

from labeld.i18n import N_, Message, translator
from labeld.logs import JsonFormatter, TextFormatter, resolve_format, setup_logging
from tests.conftest import free_port, printer, wait_for


def record(message: str = "job %s completed", *args, level: int = logging.INFO,
           extra: dict | None = None, exc_info=None) -> logging.LogRecord:
    """A record as `log.info(message, *args, extra=extra)` on labeld.delivery.scheduler makes it."""
    logger = logging.getLogger("labeld.delivery.scheduler")
    return logger.makeRecord(logger.name, level, __file__, 1, message, args, exc_info,
                             extra=extra)


def test_a_json_line_carries_time_level_logger_message_and_the_extra_fields():
    line = JsonFormatter().format(record("job %s completed", 42,
                                         extra={"printer": "shelf", "job": 42, "code": "ok"}))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["logger"] == "labeld.delivery.scheduler"
    assert entry["message"] == "job 42 completed"
    assert (entry["printer"], entry["job"], entry["code"]) == ("shelf", 42, "ok")
    when = datetime.fromisoformat(entry["time"])
    assert when.utcoffset() is not None and abs(time.time() - when.timestamp()) < 60
    assert set(entry) == {"time", "level", "logger", "message", "printer", "job", "code"}


def test_a_json_line_keeps_the_traceback_odd_values_and_extras_named_like_its_keys():
    try:
        raise ValueError("bad byte")
    except ValueError:
        rec = record("delivery failed", level=logging.ERROR, exc_info=sys.exc_info(),
                     extra={"level": "deep", "when": datetime(2024, 5, 1)})
    entry = json.loads(JsonFormatter().format(rec))
    assert entry["level"] == "error" and entry["extra_level"] == "deep"
    assert "ValueError: bad byte" in entry["exception"]
    assert entry["when"] == "2024-05-01 00:00:00"  # not JSON by itself: written as text
    assert "exc_info" not in entry and "args" not in entry


def test_uvicorns_coloured_copy_of_its_message_is_not_a_field():
    rec = logging.getLogger("uvicorn.error").makeRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (7,), None,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"})
    entry = json.loads(JsonFormatter().format(rec))
    assert entry["message"] == "Started server process [7]" and "color_message" not in entry


def test_a_text_line_is_readable_and_shows_the_extra_fields():
    line = TextFormatter().format(record("job %s completed", 42,
                                         extra={"printer": "shelf", "code": "ok"}))
    assert line.endswith(" INFO labeld.delivery.scheduler: job 42 completed"
                         " [printer=shelf code=ok]")
    assert TextFormatter().format(record("plain")).endswith("labeld.delivery.scheduler: plain")


def test_auto_is_text_on_a_terminal_and_json_elsewhere(tmp_path):
    primary, secondary = pty.openpty()
    try:
        with open(secondary, "w", closefd=False) as terminal:
            assert resolve_format("auto", terminal) == "text"
            assert resolve_format("json", terminal) == "json"
    finally:
        os.close(primary)
        os.close(secondary)
    with open(tmp_path / "out.log", "w") as file:
        assert resolve_format("auto", file) == "json"
        assert resolve_format("text", file) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"


@pytest.fixture
def root_logger():
    """The root logger as it was: setup_logging changes it for the whole process."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def test_setup_logging_routes_every_logger_through_one_handler(root_logger):
    first = io.StringIO()
    setup_logging("info", "json", first)
    out = io.StringIO()
    setup_logging("debug", "json", out)  # a second call replaces the first handler
    logging.getLogger("labeld.delivery.scheduler").info("printer state changed",
                                               extra={"printer": "shelf", "code": "paper-out"})
    logging.getLogger("uvicorn.error").warning("a uvicorn line")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["logger"], e["message"]) for e in lines] == [
        ("labeld.delivery.scheduler", "printer state changed"), ("uvicorn.error", "a uvicorn line")]
    assert lines[0]["printer"] == "shelf" and lines[0]["code"] == "paper-out"
    assert first.getvalue() == ""


# --- people's lines in the shop's language ---------------------------------------------------

PAUSED = N_("printer {printer}: paused (since before the restart)", printer="shelf")


def test_a_sentence_logged_as_words_is_written_in_the_handlers_language():
    hungarian = translator("hu")
    entry = json.loads(JsonFormatter(hungarian).format(record(PAUSED)))
    assert entry["message"] == "shelf nyomtató: szünetel (már az újraindítás előtt is szünetelt)"
    # the English beside it, so that one journal filter works in every shop
    assert entry["message_en"] == "printer shelf: paused (since before the restart)"
    assert TextFormatter(hungarian).format(record(PAUSED)).endswith(
        "labeld.delivery.scheduler: shelf nyomtató: szünetel (már az újraindítás előtt is "
        "szünetelt)")
    held = Message.ngettext("printer {printer}: {code}; {n} job held",
                            "printer {printer}: {code}; {n} jobs held", 3, printer="shelf",
                            code="paper-out")
    assert JsonFormatter(hungarian).format(record(held)).count("3 feladat visszatartva") == 1


def test_english_lines_and_other_peoples_lines_are_written_as_logged():
    entry = json.loads(JsonFormatter().format(record(PAUSED)))
    assert entry["message"] == "printer shelf: paused (since before the restart)"
    assert "message_en" not in entry
    # a %-formatted line (uvicorn's, a plugin's) has no translation: it stays as it was logged
    entry = json.loads(JsonFormatter(translator("hu")).format(record("job %s completed", 42)))
    assert entry["message"] == "job 42 completed" and "message_en" not in entry


def test_the_scheduler_tells_a_hungarian_shop_what_its_printer_does(root_logger, daemon, zebra):
    out = io.StringIO()
    setup_logging("info", "text", out, lang="hu")
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    zebra.set_fault("paper-out")
    job = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": "^XA^FDa^FS^XZ"}})
    assert job.status_code == 202
    wait_for(lambda: "1 feladat visszatartva" in out.getvalue())
    assert "shelf nyomtató: leállt (paper-out)" in out.getvalue()
    zebra.clear_faults()
    wait_for(lambda: "shelf nyomtató: újra üzemkész; 1 feladat továbbengedve" in out.getvalue())
    wait_for(lambda: f"a(z) {job.json()['id']} azonosítójú feladat kinyomtatva" in out.getvalue())


# --- the real daemon --------------------------------------------------------------------------


def serve(tmp_path, *args: str, stderr, language: str = "en") -> subprocess.Popen:
    """`labeld serve` with no printers (so it logs a warning of its own) on a free port."""
    config = tmp_path / "labeld.toml"
    config.write_text(f'[server]\nspool = "{tmp_path / "spool.db"}"\nlanguage = "{language}"\n')
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "LABELD_LANG")}
    return subprocess.Popen([sys.executable, "-m", "labeld", "serve", "--config", str(config),
                             "--listen", f"127.0.0.1:{free_port()}", *args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                            env=env)


def read_until(fd: int, text: str, timeout: float = 30) -> str:
    out = ""
    deadline = time.monotonic() + timeout
    while text not in out:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            pytest.fail(f"{text!r} not written within {timeout} s; got {out!r}")
        out += os.read(fd, 4096).decode()
    return out


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def json_lines_of_a_run(tmp_path, language: str = "en") -> list[dict]:
    """Every line `labeld serve` writes to a pipe from its start to its stop, as JSON (every
    line must be JSON, not just most)."""
    proc = serve(tmp_path, stderr=subprocess.PIPE, language=language)
    try:
        out = read_until(proc.stderr.fileno(), "Uvicorn running on")
    finally:
        stop(proc)
        out += proc.stderr.read().decode()
        proc.stderr.close()
    return [json.loads(line) for line in out.splitlines()]


def test_the_daemon_writes_json_lines_for_itself_and_uvicorn_when_not_on_a_terminal(tmp_path):
    lines = json_lines_of_a_run(tmp_path)
    seen = {(e["level"], e["logger"], e["message"].split(" on ")[0]) for e in lines}
    assert ("warning", "labeld", "no printers configured; see examples/labeld.toml") in seen
    assert ("info", "uvicorn.error", "Uvicorn running") in seen
    assert ("info", "uvicorn.error", "Application shutdown complete.") in seen
    assert all(set(e) >= {"time", "level", "logger", "message"} for e in lines)


def test_the_daemon_logs_in_the_configured_language(tmp_path):
    warning = next(e for e in json_lines_of_a_run(tmp_path, "hu") if e["logger"] == "labeld")
    assert warning["message"].startswith("nincs beállított nyomtató")
    assert warning["message_en"] == "no printers configured; see examples/labeld.toml"


def test_the_daemon_writes_text_on_a_terminal_unless_told_json(tmp_path):
    for args, looks_like_json in (((), False), (("--log-format", "json"), True)):
        primary, secondary = pty.openpty()
        proc = serve(tmp_path, *args, stderr=secondary)
        os.close(secondary)
        try:
            out = read_until(primary, "Uvicorn running on")
        finally:
            stop(proc)
            os.close(primary)
        lines = [line for line in out.splitlines() if line.strip()]
        assert all(line.startswith("{") == looks_like_json for line in lines), out
        if not looks_like_json:
            assert any(" WARNING labeld: no printers configured" in line for line in lines), out
            assert any(" INFO uvicorn.error: Uvicorn running on" in line for line in lines), out
