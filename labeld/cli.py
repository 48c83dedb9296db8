"""The `labeld` command: the daemon, the demo, the simulators and the technician's commands.

Technician commands are thin HTTP clients of a running daemon, so they show exactly what a remote
support tool would see: tables for a person (Rich; colour only on a terminal), `--json` for a
script (the API's own JSON), words in English or Hungarian (the gettext catalogues, like the
console), and a sentence with a hint instead of a traceback when something is wrong. Only
`labeld token` opens the spool itself, to make the first token.

Exit codes (README, "Command line"): 0 done and fine; 1 the printer or a check is not fine
(`status`, `selftest`, `doctor`, `discover` finding nothing); 2 labeld could not do it here
(usage, no daemon at the URL, no spool, a busy port, an unreadable file); 3 the daemon refused
(its message and hint are shown: 401, 403, 404, 409, 422...); 130 Ctrl-C; 141 whoever read the
output went away (`| head`), as for a tool stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import functools
import json
import logging
import os
import re
import socket
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

from labeld import __version__, i18n
from labeld.errors import LabeldError
from labeld.logs import LOG_FORMATS, setup_logging

if TYPE_CHECKING:
    import httpx
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

DEFAULT_URL = os.environ.get("LABELD_URL", "http://127.0.0.1:8631")
CONFIG_EXAMPLE = "/etc/labeld/labeld.toml"
SHORT_ID = 8  # job ids are shown this long; any unique beginning names a job
JOBS_SEARCHED = 1000  # the newest jobs a short id is looked for in (the API's largest page)

PIPE_WIDTH = 400  # columns of a table written to a pipe or file: wide enough not to wrap a row
EXIT_OK, EXIT_NOT_FINE, EXIT_CANNOT, EXIT_REFUSED = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_PIPE_CLOSED = 130, 141


# --- words -----------------------------------------------------------------------------------
# The language of this run, chosen by main() (choose_language). `_("...")` and `ngettext(...)`
# are the names `pybabel extract` looks for (README, "Translations"): the English sentence is
# the id, placeholders are named and filled here.

_lang: i18n.Lang = i18n.FALLBACK


def _(message: str, /, **values: Any) -> str:
    tr = i18n.translator(_lang)
    return tr.format(message, **values) if values else tr.gettext(message)


def ngettext(singular: str, plural: str, n: int, /, **values: Any) -> str:
    return i18n.translator(_lang).nformat(singular, plural, n, **values)


def _language_of(tag: str | None) -> i18n.Lang | None:
    """`hu`, `hu-HU`, `hu_HU.UTF-8` -> hu; None for anything labeld does not speak (`C`)."""
    primary = re.split(r"[-_.@:]", tag.strip(), maxsplit=1)[0].lower() if tag else ""
    return next((lang for lang in i18n.SUPPORTED if lang == primary), None)


def _configured_language(config: str | None) -> str | None:
    """`server.language` of a config file, read leniently: a broken file is the command's to
    report, in whatever language the rest chooses."""
    if not config:
        return None
    try:
        language = tomllib.loads(Path(config).read_text(encoding="utf-8"))["server"]["language"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return language if isinstance(language, str) else None


def _system_language(environ: Mapping[str, str]) -> str | None:
    """The locale's language as gettext finds it: LANGUAGE's list (unless the locale is C),
    else the first of LC_ALL, LC_MESSAGES, LANG that is set."""
    locale = next((environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(v)), None)
    if locale and locale.split(".")[0] not in ("C", "POSIX") and environ.get("LANGUAGE"):
        chosen = [tag for tag in environ["LANGUAGE"].split(":") if _language_of(tag)]
        if chosen:
            return chosen[0]
    return locale


def choose_language(flag: str | None = None, config: str | None = None,
                    environ: Mapping[str, str] = os.environ) -> i18n.Lang:
    """--lang, then LABELD_LANG, then `server.language` of --config, then the system locale,
    else English; a source naming a language labeld does not speak is passed over."""
    for tag in (flag, environ.get("LABELD_LANG"), _configured_language(config),
                _system_language(environ)):
        lang = _language_of(tag)
        if lang is not None:
            return lang
    return i18n.FALLBACK


def _pre_scan(argv: list[str]) -> tuple[str | None, str | None]:
    """--lang and --config wherever they are, before the parser (whose help is worded in the
    chosen language) exists."""
    flags: dict[str, str | None] = {"--lang": None, "--config": None}
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if name in flags:
            flags[name] = value if eq else (argv[i + 1] if i + 1 < len(argv) else None)
    return flags["--lang"], flags["--config"]


# --- output ----------------------------------------------------------------------------------


class CliError(Exception):
    """Something the person can act on: said in one sentence and hints, never a traceback."""

    def __init__(self, message: str, *hints: str, exit_code: int = EXIT_CANNOT):
        super().__init__(message)
        self.message, self.hints, self.exit_code = message, [h for h in hints if h], exit_code


def _console(stderr: bool = False) -> Console:
    """Rich on stdout (or stderr): colours and the terminal's width on a terminal; on a pipe
    or file no colour (Rich's own test, which also honours NO_COLOR and FORCE_COLOR) and lines
    as wide as they are (not $COLUMNS, which some tools export), so a row stays one line."""
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return _console_class()(file=stream, highlight=False, markup=False, emoji=False,
                            width=None if tty else PIPE_WIDTH, soft_wrap=not tty)


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # Rich would exit(1); main says 141, quietly
            self.quiet = True
            raise BrokenPipeError

    return _Console


def _say(*lines: str | Text) -> None:
    console = _console()
    for line in lines:
        console.print(line)


def _note(line: str | Text) -> None:
    """A remark about the run (not its result) on stderr, so stdout stays the result."""
    _console(stderr=True).print(line)


def _complain(message: str, hints: list[str]) -> None:
    from rich.text import Text

    label = _("hint")
    text = Text("labeld: ", "bold red")
    text.append(message)
    for hint in hints:
        text.append(f"\n  {label}: ", "yellow")
        text.append(hint)
    _console(stderr=True).print(text)


def _json(body: Any) -> None:
    print(json.dumps(body, indent=2, ensure_ascii=False))


def _text(value: object, style: str = "") -> Text:
    from rich.text import Text

    return Text("" if value is None else str(value), style)


def _styled(sentence: str, words: Mapping[str, str]) -> Text:
    """A translated sentence with some of its words coloured (wherever the language put them)."""
    text = _text(sentence)
    for word, style in words.items():
        if word and style:
            text.highlight_words([word], style)
    return text


def _table(*columns: str, title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold",
                  title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(column)
    return table


def _indented(renderable: Any, by: int = 2) -> Any:
    from rich.padding import Padding

    return Padding(renderable, (0, 0, 0, by), expand=False)


@contextlib.contextmanager
def _working(what: str) -> Iterator[None]:
    """A spinner on a terminal's stderr while the daemon works (self-tests take seconds)."""
    console = _console(stderr=True)
    if not console.is_terminal:
        yield
        return
    with console.status(what):
        yield


def _when(iso: str | None) -> str:
    """An API time in this computer's time: the time alone today, with the date otherwise."""
    if not iso:
        return ""
    try:
        at = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    return at.strftime("%H:%M:%S" if at.date() == datetime.now().astimezone().date()
                       else "%Y-%m-%d %H:%M")


def _decimal(x: float) -> str:
    """0.7 in English, 0,7 in Hungarian."""
    from babel.numbers import format_decimal

    return str(format_decimal(round(x, 1), format="0.#", locale=_lang))


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} kB" if n < 1024 ** 2 else \
        f"{n / 1024 ** 2:.1f} MB"


# The words a technician reads for the API's codes: the console's words, the console's colours
# (green ready, blue printing, red needs attention).

def _printer_state(printer: Mapping[str, Any]) -> Text:
    word, style = {"idle": (_("Ready"), "green"), "processing": (_("Printing"), "blue"),
                   "stopped": (_("Needs attention"), "bold red")}.get(
        printer.get("state", ""), (str(printer.get("state")), ""))
    text = _text(word, style)
    if printer.get("paused"):
        text.append(f" ({_('paused')})", "yellow")
    return text


def _job_state(state: str) -> Text:
    word, style = {"pending": (_("Waiting"), ""), "processing": (_("Printing"), "blue"),
                   "held": (_("Held"), "yellow"), "completed": (_("Printed"), "green"),
                   "canceled": (_("Canceled"), "dim"), "aborted": (_("Failed"), "bold red"),
                   }.get(state, (state, ""))
    return _text(word, style)


CHECK_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
SEVERITY_STYLES = {"error": "red", "warning": "yellow", "report": "dim"}


def _check_word(status: str) -> str:
    return {"ok": _("OK"), "warn": _("Warning"), "fail": _("Failed"),
            "skip": _("Skipped")}.get(status, status)


def _severity(reason: Mapping[str, Any]) -> Text:
    severity = reason.get("severity", "")
    word = {"error": _("Error"), "warning": _("Warning"), "report": _("Note")}.get(severity,
                                                                                   severity)
    return _text(word, SEVERITY_STYLES.get(severity, ""))


def _words(reason: Mapping[str, Any], key: str) -> str:
    """A reason's message or hint in this run's language (the API sends every language)."""
    texts = reason.get(key) or {}
    return str(texts.get(_lang) or texts.get(i18n.FALLBACK) or reason.get("code", ""))


def _reasons(reasons: list[Mapping[str, Any]]) -> Text:
    text = _text("")
    for n, reason in enumerate(reasons):
        text.append("; " if n else "")
        text.append(_words(reason, "message"), SEVERITY_STYLES.get(reason.get("severity"), ""))
    return text


def _job_problem(error: Mapping[str, Any] | None) -> tuple[str, str]:
    """A job's error and hint in this run's language (the API words them in every language;
    a daemon older than that only in English)."""
    if not error:
        return "", ""
    message = (error.get("message_i18n") or {}).get(_lang)
    hint = (error.get("hint_i18n") or {}).get(_lang)
    return (str(message or error.get("message") or error.get("code") or ""),
            str(hint if message else error.get("hint") or ""))


# --- the daemon's API ------------------------------------------------------------------------


def _seg(value: str) -> str:
    return quote(value, safe="")


class Api:
    """A running daemon's HTTP API: JSON in, JSON out; a refusal becomes a CliError with the
    API's message and hint (exit 3), an unreachable daemon one that says where and what to do
    (exit 2)."""

    def __init__(self, args: argparse.Namespace):
        import httpx

        self.url = str(args.url).rstrip("/")
        self.token_from = "--token" if args.token else "LABELD_TOKEN" if os.environ.get(
            "LABELD_TOKEN") else None
        token = args.token or os.environ.get("LABELD_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            self.http = httpx.Client(base_url=self.url, timeout=15, headers=headers)
        except (httpx.InvalidURL, TypeError):
            raise self._bad_url() from None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.call("POST", path, **kw)

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None, timeout: float | None = None) -> Any:
        import httpx

        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        try:
            resp = self.http.request(method, path, params=params, json=json, **extra)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self.unreachable(exc) from None
        if resp.status_code >= 400:
            raise self.refused(resp)
        return self._json(resp)

    @contextlib.contextmanager
    def stream(self, path: str, *, params: Mapping[str, Any] | None = None,
               read_timeout: float = 60) -> Iterator[httpx.Response]:
        """A response read as it comes (events, the support bundle); transport errors while
        reading say the same as when connecting."""
        import httpx

        timeout = httpx.Timeout(15, read=read_timeout)
        try:
            with self.http.stream("GET", path, params=params, timeout=timeout) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise self.refused(resp)
                yield resp
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self.unreachable(exc) from None

    def _json(self, resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise CliError(_("The server at {url} does not answer like labeld.", url=self.url),
                           _("Check --url (or LABELD_URL): it names the labeld daemon, e.g. "
                             "http://127.0.0.1:8631.")) from None

    def _bad_url(self) -> CliError:
        return CliError(_("{url} is not an address of a labeld daemon.", url=self.url),
                        _("Give it as http://HOST:PORT, e.g. --url http://127.0.0.1:8631."))

    def unreachable(self, exc: Exception) -> CliError:
        import httpx

        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return self._bad_url()
        if isinstance(exc, httpx.ConnectError):
            refused = "refused" in str(exc).lower() or f"errno {errno.ECONNREFUSED}" in str(
                exc).lower()
            why = (_("nothing is listening there (connection refused)") if refused
                   else str(exc) or type(exc).__name__)
            return CliError(
                _("Cannot reach the daemon at {url}: {reason}.", url=self.url, reason=why),
                _("Is labeld running? Start it with `sudo systemctl start labeld`, or by hand "
                  "with `labeld serve --config {config}`.", config=CONFIG_EXAMPLE),
                _("If it runs elsewhere, name it with --url or LABELD_URL."))
        if isinstance(exc, httpx.TimeoutException):
            return CliError(_("The daemon at {url} did not answer in time.", url=self.url),
                            _("It may be busy or stuck: try again, and see its log "
                              "(`journalctl -u labeld`)."))
        return CliError(_("The connection to the daemon at {url} failed: {reason}.",
                          url=self.url, reason=str(exc) or type(exc).__name__),
                        _("Try again; if it keeps happening, see the daemon's log "
                          "(`journalctl -u labeld`)."))

    def refused(self, resp: httpx.Response) -> CliError:
        """The API's error (message and hint as it words them), plus what the CLI knows."""
        try:
            error = resp.json()["error"]
            message, hint, code = str(error["message"]), str(error.get("hint") or ""), \
                str(error.get("code") or "")
        except (ValueError, KeyError, TypeError):
            return CliError(_("The server at {url} answered {status} and no labeld error: is it "
                              "labeld?", url=self.url, status=resp.status_code),
                            _("Check --url (or LABELD_URL)."), exit_code=EXIT_REFUSED)
        # The API's hint says how to make a token; the CLI adds where it looks for one.
        extra: list[str] = []
        if code == "token-required":
            extra = [_("Give the token with --token, or set LABELD_TOKEN.")]
        elif code == "token-invalid":
            extra = [_("The token came from {source}.", source=self.token_from)]
        elif code == "insufficient-role":
            extra = [_("Shop staff (a staff token) may look at printers, run the self-test and "
                       "release or cancel jobs; pausing, retrying, reprinting, the report and "
                       "the support bundle need a tech or admin token.")]
        elif code == "unknown-job":
            extra = [_("`labeld jobs` lists the jobs.")]
        elif code in ("unknown-action", "value-out-of-range", "unexpected-value"):
            extra = [_("`labeld actions PRINTER` lists each action with its range.")]
        return CliError(f"{message} [{resp.status_code} {code}]", hint, *extra,
                        exit_code=EXIT_REFUSED)

    def job_id(self, given: str) -> str:
        """A whole job id, or the job whose id begins with `given` among the newest jobs."""
        if re.fullmatch(r"[0-9a-f]{32}", given):
            return given
        jobs = self.get("/v1/jobs", params={"limit": JOBS_SEARCHED})["jobs"]
        found = [j["id"] for j in jobs if j["id"].startswith(given.lower())]
        if len(found) == 1:
            return str(found[0])
        if not found:
            raise CliError(_("No job id begins with {id} among the newest {n} jobs.", id=given,
                             n=JOBS_SEARCHED),
                           _("`labeld jobs` lists the jobs; give an older job's whole id."),
                           exit_code=EXIT_REFUSED)
        raise CliError(_("{id} is the beginning of several job ids: {ids}.", id=given,
                         ids=", ".join(found[:5])),
                       _("Give more of the id."))


# --- commands: the daemon, the demo, the simulators ------------------------------------------


def _check_port(host: str, port: int, command: str) -> None:
    """Refuse, in words, a port another program already listens on: the same bind uvicorn
    makes (SO_REUSEADDR, so a port left in TIME_WAIT is not taken for busy)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        return
    except OSError as exc:
        if exc.errno == errno.EACCES:
            raise CliError(_("labeld may not listen on port {port}: ports below 1024 need "
                             "privileges.", port=port),
                           _("Use a port from 1024 up: --listen {host}:8631.", host=host)
                           ) from None
        if exc.errno != errno.EADDRINUSE:
            return  # an address this computer does not have: uvicorn says so itself
    other = next((p for p in range(port + 1, min(port + 50, 65536)) if _free(family, host, p)),
                 port + 1)
    raise CliError(
        _("Port {port} on {host} is already in use by another program.", port=port, host=host),
        _("Is labeld already running there? `labeld printers --url http://{host}:{port}` asks "
          "it, `systemctl status labeld` shows the service, and `ss -ltnp 'sport = :{port}'` "
          "names the program.", host=host, port=port),
        _("Stop that program, or listen elsewhere: labeld {command} --listen {host}:{other}",
          command=command, host=host, other=other))


def _free(family: int, host: str, port: int) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError:
        return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    from labeld import config as cfg
    from labeld.server import serve

    config = cfg.load(args.config) if args.config else cfg.Config()
    # People's log lines in the run's language: --lang, LABELD_LANG, then server.language.
    setup_logging(config.server.log_level, args.log_format or config.server.log_format,
                  lang=_lang)
    host, port = cfg.check_listen(config, args.listen)
    _check_port(host, port, "serve")
    if not config.printers:
        logging.getLogger("labeld").warning(
            i18n.N_("no printers configured; see examples/labeld.toml"))
    serve(config, args.listen)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from labeld.config import parse_listen
    from labeld.demo import run_demo

    try:
        host, port = parse_listen(args.listen)
    except ValueError:
        raise CliError(_("--listen wants HOST:PORT, e.g. 127.0.0.1:8631; got {value}.",
                         value=args.listen)) from None
    _check_port(host, port, "demo")
    if args.fleet:
        from labeld.fleet.localbroker import have_mosquitto

        if not have_mosquitto():
            raise CliError(_("Mosquitto is not installed: sudo apt-get install mosquitto"),
                           _("labeld demo --fleet starts a Mosquitto broker on this computer "
                             "for its two demo shops; labeld demo alone needs none."))
    return run_demo(listen=args.listen, once=args.once, fleet=args.fleet)


def cmd_render(args: argparse.Namespace) -> int:
    """Render a label document (or a template with data) to PNG, exactly as labeld would print
    it on the chosen model; no daemon needed."""
    from labeld.intake.placeholders import fill
    from labeld.intake.render import FontBook, parse_label, raster_to_png, render_label
    from labeld.pluginmanager import default_manager

    plugins = default_manager()
    models = plugins.models()
    model = models.get(args.printer_model)
    if model is None:
        raise CliError(_("There is no printer model {model}.", model=args.printer_model),
                       _("Known models: {models}.", models=", ".join(sorted(models))))
    doc = json.loads(_read(Path(args.label)).decode("utf-8"))
    # Always filled: a template rendered without its data must say which fields are missing,
    # not print "{{ price }}" on a shelf.
    doc = fill(doc, json.loads(_read(Path(args.data)).decode("utf-8")) if args.data else {})
    raster = render_label(parse_label(doc, default_dpi=model.dpi), FontBook(args.font_dir or []))
    Path(args.output).write_bytes(raster_to_png(raster))
    _say(_("{file}: {width}x{height} dots at {dpi} dpi for {model}", file=args.output,
           width=raster.width, height=raster.height, dpi=raster.dpi, model=model.id))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from labeld.pluginmanager import default_manager
    from labeld.sim import run

    specs = default_manager().simulators()
    spec = specs.get(args.name)
    if spec is None:
        raise CliError(_("There is no simulator named {name}.", name=args.name),
                       _("Available: {names}.", names=", ".join(sorted(specs)) or "-"))
    setup_logging("info")
    run(spec, args.host, args.port, args.control_port, {})
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(_("Cannot read {file}: {reason}.", file=path,
                         reason=exc.strerror or exc)) from None


# --- commands: tokens (the spool, no daemon needed) ------------------------------------------


def _token_rooms(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Tokens live in the spool file; `labeld token` opens it directly, so it works without a
    daemon (the first admin token is made this way). Only `create` with a --config that names
    the spool may make a new spool file: a listing or a revocation never does, nor does anything
    without --config (the default /var/lib/labeld/spool.db is the daemon's, and a file made
    there by the wrong user would lock the daemon out). Returns the open Database, its tokens
    and its audit log; the caller closes the Database."""
    import sqlite3

    from labeld import config as cfg
    from labeld.security import AuditLog, TokenStore
    from labeld.store import Database

    config = cfg.load(args.config) if args.config else cfg.Config()
    spool = Path(config.server.spool)
    where = spool.absolute()
    if not spool.exists():
        if not args.config:
            raise CliError(
                _("There is no spool at {path}, labeld's default: no --config was given.",
                  path=where),
                _("Name the daemon's configuration: labeld token {action} --config {config}",
                  action=args.action, config=CONFIG_EXAMPLE))
        if args.action != "create":
            raise CliError(
                _("The spool {path} of {config} does not exist yet: it has no tokens.",
                  path=where, config=args.config),
                _("The daemon makes it when it first starts, and so does `labeld token create "
                  "--config {config}`. If the daemon already runs, check server.spool in "
                  "{config}.", config=args.config))
        if not spool.parent.is_dir():
            raise CliError(_("The folder of the spool {path} does not exist.", path=where),
                           _("Check server.spool in {config}, or create the folder for the "
                             "daemon's user.", config=args.config))
        _note(_("Making a new spool at {path}: the daemon started with {config} will use it.",
                path=where, config=args.config))
    db = Database(config.server.spool)
    tokens, audit = TokenStore(db), AuditLog(db)  # their tables, registered before it opens
    try:
        db.open()
    except (sqlite3.Error, OSError) as exc:
        raise CliError(_("Cannot open the spool {path}: {reason}.", path=where, reason=exc),
                       _("Run the command as the daemon's user, e.g. sudo -u labeld labeld token "
                         "{action} --config {config}", action=args.action,
                         config=args.config or CONFIG_EXAMPLE)) from None
    return db, tokens, audit


def cmd_token(args: argparse.Namespace) -> int:
    from labeld.security import Role

    db, store, audit = _token_rooms(args)
    try:
        who = f"cli:{os.environ.get('USER', 'unknown')}"
        if args.action == "create":
            secret, info = store.create_sync(args.name, Role.parse(args.role))
            audit.record_sync(who=who, role="admin", method="CLI", path="token create",
                              target=info.name, status=201)
            print(secret, flush=True)  # stdout holds only the token, so scripts can capture it
            _note(_("Token {name} ({role}) created; it is shown only this once.",
                    name=info.name, role=info.role.value))
        elif args.action == "list":
            tokens = [t.as_dict() for t in store.list_sync()]
            if args.json:
                _json({"tokens": tokens})
                return 0
            if not tokens:
                _say(_("No tokens yet: make one with labeld token create --name NAME --role "
                       "ROLE."))
                return 0
            table = _table(_("Name"), _("Role"), _("Begins with"), _("Created"))
            for t in tokens:
                created = datetime.fromtimestamp(float(t["created_at"])).astimezone().isoformat(
                    timespec="seconds")
                table.add_row(_text(t["name"], "bold"), _text(t["role"]), _text(t.get("hint")),
                              _text(created))
            _say(table)
        else:
            info = store.revoke_sync(args.name)
            audit.record_sync(who=who, role="admin", method="CLI", path="token revoke",
                              target=info.name, status=200)
            _note(_("Token {name} revoked.", name=info.name))
    finally:
        db.close()
    return 0


# --- commands: looking (printers, status, jobs, plugins, events) -----------------------------


def cmd_printers(args: argparse.Namespace) -> int:
    with Api(args) as api:
        body = api.get("/v1/printers")
    if args.json:
        _json(body)
        return 0
    if not body["printers"]:
        _say(_("No printers are configured yet. Add them to the [[printers]] section of the "
               "configuration file."))
        return 0
    table = _table(_("Printer"), _("State"), _("Model"), _("Queued"), _("Messages"))
    table.columns[3].justify = "right"
    for p in body["printers"]:
        table.add_row(_text(p["id"], "bold"), _printer_state(p), _text(p["model"]),
                      _text(p["queued"]), _reasons(p["state_reasons"]))
    _say(table)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """The printer asked now; exit 1 when it needs attention (an error reason: stopped)."""
    with Api(args) as api, _working(_("Asking the printer…")):
        body = api.get(f"/v1/printers/{_seg(args.printer)}/status", timeout=30)
    worst = EXIT_NOT_FINE if body.get("state") == "stopped" else EXIT_OK
    if args.json:
        _json(body)
        return worst
    state = _printer_state(body)
    answered = (_("answered in {ms} ms", ms=_decimal(float(body.get("latency_ms") or 0)))
                if body.get("answered") else _("no answer from the printer"))
    line = _text(f"{body['printer']}: ", "bold")
    line.append_text(state)
    line.append(f"  ({answered})", "dim" if body.get("answered") else "yellow")
    _say(line)
    if body["reasons"]:
        table = _table(_("Severity"), _("What is wrong"), _("What to do"))
        for r in body["reasons"]:
            table.add_row(_severity(r), _text(_words(r, "message")), _text(_words(r, "hint")))
        _say(_indented(table))
    elif body.get("answered"):
        _say(_text("  " + _("The printer reports no problem."), "green"))
    return worst


def cmd_jobs(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {k: v for k, v in (("printer", args.printer),
                                                ("state", args.state)) if v}
    if args.limit or not args.json:
        params["limit"] = args.limit or 20
    with Api(args) as api:
        body = api.get("/v1/jobs", params=params)
    if args.json:
        _json(body)
        return 0
    jobs = body["jobs"]
    if not jobs:
        _say(_("No jobs yet.") if not (args.printer or args.state) else
             _("No jobs match."))
        return 0
    table = _table(_("Job"), _("Printer"), _("State"), _("Kind"), _("Copies"), _("Created"),
                   _("Problem"))
    table.columns[4].justify = "right"
    for j in jobs:
        problem, hint = _job_problem(j.get("error"))
        cell = _text(problem, "red" if j["state"] in ("aborted", "held") else "")
        if hint and j["state"] not in ("completed", "canceled"):
            cell.append(f"\n{hint}", "dim")
        table.add_row(_text(j["id"][:SHORT_ID], "bold"), _text(j["printer"]),
                      _job_state(j["state"]), _text(_kind(j["kind"])), _text(j["copies"]),
                      _text(_when(j["created_at"])), cell)
    _say(table)
    if len(jobs) == params.get("limit") and not args.limit:
        _note(_("The newest {n} jobs; --limit N shows more.", n=len(jobs)))
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    with Api(args) as api:
        body = api.get("/v1/plugins")
    if args.json:
        _json(body)
        return 0
    plugins = _table(_("Plugin"), _("Version"), _("Package"), _("Loaded"), title=_("Plugins"))
    for p in body["plugins"]:
        loaded = _text(_("OK"), "green") if p.get("ok", not p.get("errors")) else \
            _text("; ".join(map(str, p.get("errors") or [])), "bold red")
        plugins.add_row(_text(p["name"], "bold"), _text(p.get("version")),
                        _text(p.get("distribution")), loaded)
    models = _table(_("Model"), _("Name"), _("Language"), _("dpi"), _("Kind"), _("Plugin"),
                    title=_("Printer models"))
    models.columns[3].justify = "right"
    for m in sorted(body["models"], key=lambda m: m["id"]):
        models.add_row(_text(m["id"], "bold"), _text(m["name"]), _text(m["language"]),
                       _text(m["dpi"]), _text(_kind(m.get("kind"))), _text(m.get("plugin")))
    _say(plugins, "", models, "",
         _("Languages: {languages}", languages=", ".join(body["languages"])),
         _("Transports: {transports}", transports=", ".join(body["transports"])))
    return 0


def _kind(kind: str | None) -> str:
    """A printer's kind (label, receipt) or a job's (label, template, document, raw)."""
    return {"label": _("label"), "receipt": _("receipt"), "template": _("template"),
            "document": _("document"), "raw": _("raw"),
            "maintenance": _("maintenance")}.get(kind or "", kind or "")


def _event_words(event: Mapping[str, Any]) -> Text:
    """What an event says, in this run's language where the event carries the words."""
    kind, code, data = event.get("kind"), event.get("code") or "", event.get("data") or {}
    message = event.get("message") or ""
    if kind == "printer-status":
        text = _printer_state({"state": data.get("state", "")})
        if data.get("reasons"):
            text.append(": ")
            text.append_text(_reasons(data["reasons"]))
        return text
    if kind == "job" and code in ("released", "canceled") and "by" in data:
        # a person's act (Daemon.release, Daemon.cancel), named
        who = str(data.get("by") or "labeld")
        return _text(_("Released by {who}", who=who) if code == "released" else
                     _("Canceled by {who}", who=who), "yellow")
    if kind == "job":
        text = _job_state(code)
        if code == "completed" and data.get("delivery"):
            delivery = {"confirmed": _("the printer confirmed it"),
                        "unconfirmed": _("the printer did not confirm it"),
                        "sent": _("sent")}.get(data["delivery"], data["delivery"])
            text.append(f" ({delivery})", "dim")
        elif message and message != code:
            text.append(f": {message}")
        return text
    if kind == "selftest":
        word = _check_word(code)
        return _styled(_("Self-test: {result}", result=word), {word: CHECK_STYLES.get(code, "")})
    return _text(" ".join(str(x) for x in (kind, code, message) if x))


def _event_line(event: Mapping[str, Any]) -> Text:
    line = _text(f"{_when(event.get('at')):<8}  ", "dim")
    line.append(f"{event.get('printer') or '-'}  ", "bold")
    if event.get("job"):
        line.append(f"{str(event['job'])[:SHORT_ID]}  ")
    line.append_text(_event_words(event))
    return line


def _history(api: Api, printer: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` stored events, newest first: one printer's, or every printer's."""
    printers = [printer] if printer else [p["id"] for p in api.get("/v1/printers")["printers"]]
    events = [e for pid in printers for e in api.get(f"/v1/printers/{_seg(pid)}/events",
                                                     params={"limit": limit})["events"]]
    return sorted(events, key=lambda e: e["seq"], reverse=True)[:limit]


def _sse(resp: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-Sent Events as (event name, data): `job`, `printer-status`... and `gap`."""
    name, data = "message", []
    for line in resp.iter_lines():
        if not line:
            if data:
                try:
                    yield name, json.loads("\n".join(data))
                except ValueError:
                    yield name, {}
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _sep, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


def cmd_events(args: argparse.Namespace) -> int:
    """Stored events (oldest of the newest N first, as a log reads), or with --follow those
    and then every new one as it happens, until Ctrl-C."""
    limit = args.limit if args.limit is not None else 20
    with Api(args) as api:
        if not args.follow:
            events = _history(api, args.printer, limit) if limit else []
            if args.json:
                _json({"events": events})
                return 0
            if not events:
                _say(_("No events yet."))
                return 0
            table = _table(_("Time"), _("Printer"), _("Job"), _("What happened"))
            for e in reversed(events):
                table.add_row(_text(_when(e["at"]), "dim"), _text(e.get("printer"), "bold"),
                              _text((e.get("job") or "")[:SHORT_ID]), _event_words(e))
            _say(table)
            return 0
        params = {"printer": args.printer} if args.printer else None
        # Subscribed first, then the history: an event in between comes twice, and is shown
        # once (by its seq).
        with api.stream("/v1/events", params=params) as resp:
            history = list(reversed(_history(api, args.printer, limit))) if limit else []
            _note(_text(_("Following the events of {printer}; Ctrl-C stops.",
                          printer=args.printer) if args.printer else
                        _("Following the events of every printer; Ctrl-C stops."), "dim"))
            seen = history[-1]["seq"] if history else 0
            for event in history:
                _follow_line(event, args.json)
            for name, event in _sse(resp):
                if name == "gap":
                    _note(_text(_("Some events were missed: the connection was too slow."),
                                "yellow"))
                    if args.json:
                        print(json.dumps({"kind": "gap"}), flush=True)
                    continue
                if int(event.get("seq") or 0) <= seen:
                    continue
                _follow_line(event, args.json)
    _note(_("The daemon ended the event stream (it is stopping)."))
    return 0


def _follow_line(event: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(event, ensure_ascii=False), flush=True)
    else:
        _say(_event_line(event))


# --- commands: doing (print, cancel, release, retry, reprint, pause, resume, bundle) ---------


def cmd_print(args: argparse.Namespace) -> int:
    data = _read(Path(args.file)) if args.file != "-" else sys.stdin.buffer.read()
    body = {"printer": args.printer, "copies": args.copies,
            "raw": {"data": base64.b64encode(data).decode(), "encoding": "base64"}}
    with Api(args) as api:
        job = api.post("/v1/jobs", json=body)
    if args.json:
        _json(job)
    else:
        _say(_("Job {job} queued for {printer}.", job=job["id"][:SHORT_ID],
               printer=job["printer"]))
    return 0


def _job_action(args: argparse.Namespace, method: str, suffix: str,
                said: Callable[[dict[str, Any]], str]) -> int:
    with Api(args) as api:
        job = api.call(method, f"/v1/jobs/{_seg(api.job_id(args.job))}{suffix}")
    if args.json:
        _json(job)
    else:
        _say(said(job))
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    return _job_action(args, "DELETE", "", lambda j: _(
        "Job {job} on {printer} canceled.", job=j["id"][:SHORT_ID], printer=j["printer"]))


def cmd_release(args: argparse.Namespace) -> int:
    return _job_action(args, "POST", "/release", lambda j: _(
        "Job {job} released: {printer} prints it next.", job=j["id"][:SHORT_ID],
        printer=j["printer"]))


def cmd_retry(args: argparse.Namespace) -> int:
    return _job_action(args, "POST", "/retry", lambda j: _(
        "Job {job} is queued again on {printer}.", job=j["id"][:SHORT_ID],
        printer=j["printer"]))


def cmd_reprint(args: argparse.Namespace) -> int:
    return _job_action(args, "POST", "/reprint", lambda j: _(
        "Printing it again on {printer} as a new job: {job}.", job=j["id"][:SHORT_ID],
        printer=j["printer"]))


def _printer_action(args: argparse.Namespace, action: str) -> dict[str, Any]:
    with Api(args) as api:
        return dict(api.post(f"/v1/printers/{_seg(args.printer)}/{action}"))


def cmd_pause(args: argparse.Namespace) -> int:
    printer = _printer_action(args, "pause")
    if args.json:
        _json(printer)
    else:
        _say(_("{printer} paused: it prints nothing until `labeld resume {printer}`; new jobs "
               "wait.", printer=printer["id"]))
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    printer = _printer_action(args, "resume")
    if args.json:
        _json(printer)
    else:
        _say(ngettext("{printer} resumed: {n} job waiting.", "{printer} resumed: {n} jobs waiting.",
                      int(printer["queued"]), printer=printer["id"]))
    return 0


def _said(texts: Mapping[str, Any] | None) -> str:
    """A text the API words in every language ({"en", "hu"}), in this run's."""
    texts = texts or {}
    return str(texts.get(_lang) or texts.get(i18n.FALLBACK) or "")


def cmd_actions(args: argparse.Namespace) -> int:
    with Api(args) as api:
        body = api.get(f"/v1/printers/{_seg(args.printer)}/actions")
    if args.json:
        _json(body)
        return EXIT_OK
    if not body["actions"]:
        _say(_("{printer} has no maintenance actions.", printer=args.printer))
        return EXIT_OK
    table = _table(_("Action"), _("What it does"), _("Role"), _("Uses media"), _("Value"),
                   title=_("Maintenance actions of {printer}", printer=args.printer))
    for a in body["actions"]:
        param = a.get("param")
        value = (_("{minimum} to {maximum}, default {default}", minimum=param["minimum"],
                   maximum=param["maximum"], default=param["default"]) if param else "")
        table.add_row(_text(a["id"], "bold"),
                      _said(a["title"]) + "\n" + _said(a["explanation"]),
                      _text(a["role"]), _text(_("yes") if a["prints"] else _("no")),
                      _text(value))
    _say(table, _("Run one with `labeld action {printer} ACTION`.", printer=args.printer))
    return EXIT_OK


ACTION_WAIT_S = 120.0  # a calibration feeds labels for seconds, a busy printer finishes first


def cmd_action(args: argparse.Namespace) -> int:
    """Run a maintenance action: asked first on a terminal, then followed until it ran."""
    path = f"/v1/printers/{_seg(args.printer)}/actions"
    with Api(args) as api:
        if not args.yes and sys.stdin.isatty():
            listed = {a["id"]: a for a in api.get(path)["actions"]}
            if args.action not in listed:
                raise CliError(_("{printer} has no maintenance action {action}.",
                                 printer=args.printer, action=args.action),
                               _("Its actions: {actions} (`labeld actions {printer}`).",
                                 actions=", ".join(listed) or "-", printer=args.printer),
                               exit_code=EXIT_REFUSED)
            action = listed[args.action]
            question = _("Run “{title}” on {printer} now?", title=_said(action["title"]),
                         printer=args.printer)
            if action["prints"]:
                question += " " + _("The printer will use some labels or paper.")
            # Plain stderr, not Rich: "[y/N]" would be read as markup and vanish.
            choices = _("y/N")
            sys.stderr.write(f"{question} [{choices}] ")
            sys.stderr.flush()
            answer = sys.stdin.readline()
            if answer.strip().lower() not in (_("y"), _("yes"), "y", "yes"):
                _say(_("Nothing was sent."))
                return EXIT_OK
        job = api.post(f"{path}/{_seg(args.action)}", json={"value": args.value})
        deadline = time.monotonic() + ACTION_WAIT_S
        with _working(_("The printer runs it after the job it is printing…")):
            while job["state"] not in ("completed", "canceled", "aborted") and \
                    time.monotonic() < deadline:
                time.sleep(0.5)
                job = api.get(f"/v1/jobs/{_seg(job['id'])}")
    if args.json:
        _json(job)
    elif job["state"] == "completed":
        _say(_("Done: {action} ran on {printer} (job {job}).", action=args.action,
               printer=args.printer, job=job["id"][:SHORT_ID]))
    elif job["state"] in ("canceled", "aborted"):
        message, hint = _job_problem(job.get("error"))
        _say(_("{action} did not run on {printer}: {problem}", action=args.action,
               printer=args.printer, problem=message or job["state"]), hint)
    else:
        message, _hint = _job_problem(job.get("error"))
        _say(_("{action} is still waiting on {printer} (job {job}){reason}.",
               action=args.action, printer=args.printer, job=job["id"][:SHORT_ID],
               reason=": " + message if message else ""))
    return EXIT_OK if job["state"] == "completed" else EXIT_NOT_FINE


def cmd_bundle(args: argparse.Namespace) -> int:
    """The support bundle, streamed to a file (or stdout with -o -), then where it is."""
    if args.output == "-" and sys.stdout.isatty():
        raise CliError(_("The bundle is a zip file: it would scramble the terminal."),
                       _("Give -o FILE, or send it into a pipe."))
    collecting = _("Collecting the support bundle (every printer is tested)…")
    with Api(args) as api, _working(collecting), \
            api.stream("/v1/support-bundle", read_timeout=300) as resp:
        named = re.search(r'filename="?([^";]+)"?', resp.headers.get("content-disposition",
                                                                      ""))
        name = Path(named.group(1)).name if named else "labeld-support.zip"
        if args.output == "-":
            size = _copy(resp, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            _note(_("Support bundle written to stdout ({size}).", size=_size(size)))
            return 0
        target = Path(args.output or name)
        if target.is_dir():
            target /= name
        part = target.with_name(target.name + ".part")
        try:
            with part.open("wb") as f:
                size = _copy(resp, f)
            part.replace(target)
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise CliError(_("Cannot write {file}: {reason}.", file=target,
                             reason=exc.strerror or exc),
                           _("Choose another place with -o FILE.")) from None
    _say(_("Support bundle saved to {file} ({size}): send it to whoever supports you.",
           file=target.absolute(), size=_size(size)))
    return 0


def _copy(resp: httpx.Response, out: Any) -> int:
    size = 0
    for chunk in resp.iter_bytes():
        out.write(chunk)
        size += len(chunk)
    return size


# --- commands: diagnosing (selftest, doctor, discover) ---------------------------------------


def _check_words(check: Mapping[str, Any], key: str) -> str:
    """A check's name, detail or hint in this run's language (`name_i18n`...), else as the
    daemon words it."""
    texts = check.get(f"{key}_i18n") or {}
    return str(texts.get(_lang) or check.get(key) or "")


def _checks(test: Mapping[str, Any]) -> Table:
    table = _table(_("Result"), _("Check"), _("Detail"), _("What to do"))
    for check in test.get("checks", []):
        status = check["status"]
        table.add_row(_text(_check_word(status), CHECK_STYLES.get(status, "")),
                      _text(_check_words(check, "name")), _text(_check_words(check, "detail")),
                      _text(_check_words(check, "hint") if status in ("warn", "fail") else ""))
    return table


def _result_line(test: Mapping[str, Any]) -> Text:
    word = _check_word(test.get("result", ""))
    line = _styled(_("Self-test of {printer}: {result} in {ms} ms", printer=test["printer"],
                     result=word, ms=round(float(test.get("duration_ms") or 0))),
                   {word: CHECK_STYLES.get(test.get("result", ""), "")})
    return line


def cmd_selftest(args: argparse.Namespace) -> int:
    with Api(args) as api, _working(_("Testing the printer…")):
        body = api.post(f"/v1/printers/{_seg(args.printer)}/selftest",
                        params={"print": "true" if args.print else "false"}, timeout=60)
    worst = EXIT_NOT_FINE if body.get("result") == "fail" else EXIT_OK
    if args.json:
        _json(body)
        return worst
    _say(_result_line(body), _indented(_checks(body)))
    return worst


def _in_lang(texts: Mapping[str, str] | None) -> str:
    """One text of the API's {"en": ..., "hu": ...} in this run's language."""
    texts = texts or {}
    return str(texts.get(_lang) or texts.get(i18n.FALLBACK) or "")


def _guide_steps(guide: Mapping[str, Any] | None) -> None:
    """A guide's numbered steps under the fault they fix, and what the person should see."""
    if not guide:
        return
    for n, step in enumerate(guide["steps"], 1):
        _say(_text(f"    {n}. {_in_lang(step)}"))
    expect = _in_lang(guide.get("expect"))
    if expect:
        _say(_text("    " + _("When it worked: {expect}", expect=expect), "dim"))


def cmd_doctor(args: argparse.Namespace) -> int:
    """A readable diagnosis of every printer: state, reasons, self-test, held jobs."""
    report: list[dict[str, Any]] = []
    with Api(args) as api, _working(_("Testing the printers…")):
        for listed in api.get("/v1/printers")["printers"]:
            pid = _seg(listed["id"])
            test = api.post(f"/v1/printers/{pid}/selftest", timeout=60)
            # Read after the self-test, which asked the printer: its state is the one just seen.
            p = api.get(f"/v1/printers/{pid}")
            held = api.get("/v1/jobs", params={"printer": p["id"], "state": "held"})["jobs"]
            # The steps for someone at the printer, one guide per fault and for held jobs.
            guides = api.get(f"/v1/printers/{pid}/guides")["guides"]
            report.append({"printer": p, "selftest": test, "held_jobs": held, "guides": guides})
    failed = any(r["selftest"].get("result") == "fail" for r in report)
    if args.json:
        _json({"result": "fail" if failed else "ok", "printers": report})
        return EXIT_NOT_FINE if failed else EXIT_OK
    if not report:
        _say(_("No printers are configured yet. Add them to the [[printers]] section of the "
               "configuration file."))
        return EXIT_OK
    for r in report:
        p, test, held = r["printer"], r["selftest"], r["held_jobs"]
        guides = {g["code"]: g for g in r["guides"]}
        head = _text(f"{p['id']}  ", "bold")
        head.append_text(_printer_state(p))
        head.append("  " + ngettext("{n} job waiting", "{n} jobs waiting", int(p["queued"])))
        _say(head, _text(f"  {p['name']} · {p['uri']}", "dim"))
        for reason in p["state_reasons"]:
            line = _text("  ")
            line.append_text(_severity(reason))
            line.append(f": {_words(reason, 'message')} → {_words(reason, 'hint')}")
            _say(line)
            _guide_steps(guides.get(reason["code"]))
        _say(_indented(_result_line(test)), _indented(_checks(test), 4))
        if held:
            problem, hint = _job_problem(held[0].get("error"))
            _say(_text("  " + ngettext("{n} job held: {problem}", "{n} jobs held; the first: "
                                       "{problem}", len(held), problem=problem), "yellow"))
            if hint:
                _say(_text(f"    {hint}", "dim"))
            _guide_steps(guides.get("jobs-held"))
        _say("")
    if failed:
        _say(_text(_("Something failed: the checks marked Failed say what to do."),
                   "bold red"))
    else:
        _say(_text(_("Every printer passed its self-test."), "green"))
    return EXIT_NOT_FINE if failed else EXIT_OK


def _shop_time(iso: str | None, zone: str) -> str:
    """A report's time on the shop's clock (its [support] zone; a technician far away reads
    the shop's evening, not their own)."""
    if not iso:
        return ""
    at = datetime.fromisoformat(iso)
    try:
        from zoneinfo import ZoneInfo

        return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, KeyError, OSError):  # no zone name: this machine's zone
        return at.astimezone().strftime("%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if seconds < 60:
        return _("{n} s", n=round(seconds))
    if minutes < 60:
        return _("{n} min", n=minutes)
    return _("{h} h {m} min", h=minutes // 60, m=minutes % 60)


def cmd_report(args: argparse.Namespace) -> int:
    """The morning report; exit 1 while something is still wrong or held."""
    params = {k: v for k, v in (("since", args.since), ("until", args.until)) if v}
    with Api(args) as api:
        body = api.get("/v1/report", params=params)
    attention = any(p["still_wrong"] or p["held_jobs"] for p in body["printers"])
    code = EXIT_NOT_FINE if attention else EXIT_OK
    if args.json:
        _json(body)
        return code
    zone = body.get("timezone") or ""
    _say(_text(_("What happened from {since} to {until} ({zone})",
                 since=_shop_time(body["since"], zone), until=_shop_time(body["until"], zone),
                 zone=zone), "bold"), "")
    if not body["printers"]:
        _say(_("No printers are configured yet. Add them to the [[printers]] section of the "
               "configuration file."))
        return code
    for p in body["printers"]:
        _say(_text(f"{p['printer']}  ", "bold") + _text(p["name"], "dim"))
        if not (p["faults"] or p["actions"] or p["still_wrong"] or p["held_jobs"]):
            _say(_text("  " + _("Nothing happened, and nothing is wrong."), "green"), "")
            continue
        if p["faults"]:
            faults = _table(_("From"), _("To"), _("For"), _("What was wrong"),
                            title=_("Faults"))
            for f in p["faults"]:
                faults.add_row(_text(_shop_time(f["started"], zone)),
                               _text(_shop_time(f["ended"], zone)) if f["ended"] else
                               _text(_("still on"), "bold red"),
                               _text(_duration(float(f["duration_s"]))),
                               _text(_words(f, "message"), SEVERITY_STYLES.get(f["severity"],
                                                                               "")))
            _say(_indented(faults))
        if p["actions"]:
            done = _table(_("Time"), _("Who"), _("What was done"), title=_("What was done"))
            for a in p["actions"]:
                who = a["by"] or ""
                if a["role"]:
                    who += f" ({a['role']})"
                done.add_row(_text(_shop_time(a["at"], zone)), _text(who),
                             _text(a["text"].get(_lang) or a["text"].get(i18n.FALLBACK)))
            _say(_indented(done))
        if p["still_wrong"]:
            line = _text("  " + _("Still wrong now: "), "bold red")
            line.append_text(_reasons(p["still_wrong"]))
            _say(line)
        if p["held_jobs"]:
            first, _hint = _job_problem(p["held_jobs"][0].get("error"))
            _say(_text("  " + ngettext("{n} job held: {problem}", "{n} jobs held; the first: "
                                       "{problem}", len(p["held_jobs"]), problem=first),
                       "yellow"))
        _say("")
    return code


def cmd_discover(args: argparse.Namespace) -> int:
    """Scan this machine's buses directly (no daemon needed, e.g. before the first config)."""
    from labeld.pluginmanager import default_manager

    with _working(_("Looking for printers…")):
        found = default_manager().discover()
    if args.json:
        _json([{"uri": d.uri, "description": d.description, "model": d.model,
                "details": d.details} for d in found])
        return 0
    if not found:
        _say(_("No printer found on USB. Check the cable and power; network printers are "
               "configured by address (socket://HOST:9100)."))
        return EXIT_NOT_FINE
    table = _table(_("URI"), _("Printer"), _("Model"))
    for d in found:
        table.add_row(_text(d.uri, "bold"), _text(d.description),
                      _text(d.model) if d.model else _text(_("unknown: pick one (labeld "
                                                             "plugins)"), "yellow"))
    _say(table, _("For the configuration file:"))
    for n, d in enumerate(found, 1):
        print(f'\n[[printers]]\nid = "printer-{n}"\nuri = "{d.uri}"\n'
              f'model = "{d.model or "CHOOSE-A-MODEL"}"')
    return 0


# --- commands: the fleet (the support desk's view over MQTT) ---------------------------------


FLEET_CONNECT_S = 10.0  # the broker answers within this, or `labeld fleet` says why not


def _fleet_access(args: argparse.Namespace) -> Any:
    """Where the broker is and who we are there: [desk] of --config, each key overridden by
    its flag (--broker, --user, --password-file, --ca), checked like the configuration."""
    from labeld import config as cfg
    from labeld.fleet.connection import BrokerAccess

    desk = cfg.load(args.config).desk if getattr(args, "config", None) else None
    merged: dict[str, Any] = desk.model_dump(exclude_none=True) if desk else {}
    for flag, key in (("broker", "broker"), ("user", "username"),
                      ("password_file", "password_file"), ("ca", "ca_file")):
        value = getattr(args, flag, None)
        if value:
            merged[key] = value
            if key == "password_file":
                merged.pop("password", None)
    if not merged.get("broker") or not merged.get("username"):
        raise CliError(_("labeld fleet needs the broker and your user name there."),
                       _("Give --config with a [desk] section (see README, The fleet view), or "
                         "--broker mqtts://HOST[:PORT] --user NAME --password-file FILE --ca "
                         "CA.pem."))
    checked = cfg.from_dict({"desk": merged}, getattr(args, "config", None) or "--broker").desk
    assert checked is not None
    return BrokerAccess.from_desk(checked)


def _fleet_problem(exc: Any) -> CliError:
    """A FleetError in this run's language: what went wrong on the channel and what to do;
    the shop's own refusal (exit 3) as it words it."""
    tr = i18n.translator(_lang)
    message, hint = i18n.say(exc.message, tr), i18n.say(exc.hint, tr)
    if exc.code.startswith("broker-") or exc.code == "no-answer":
        return CliError(message, hint)
    return CliError(f"{message} [{exc.code}]", hint, exit_code=EXIT_REFUSED)


def _fleet_online(shop: Mapping[str, Any]) -> Text:
    if shop["online"] is True:
        return _text(_("online"), "green")
    return _text(_("offline") if shop["online"] is False else _("not heard yet"), "bold red")


def _fleet_state(printer: Mapping[str, Any]) -> Text:
    if printer["state"] not in ("idle", "processing", "stopped"):
        return _text(_("unknown"), "dim")
    return _printer_state(printer)


def _fleet_queue(printer: Mapping[str, Any]) -> Text:
    text = _text(ngettext("{n} waiting", "{n} waiting", int(printer["queued"])))
    if printer["held"]:
        text.append(", " + ngettext("{n} held", "{n} held", int(printer["held"])), "yellow")
    return text


def _fleet_table(snapshot: Mapping[str, Any]) -> Table:
    table = _table(_("Shop"), _("Online"), _("Printer"), _("State"), _("Reasons"), _("Queue"),
                   _("Last update"))
    for shop in snapshot["shops"]:
        name = _text(shop["shop"], "bold")
        if shop["name"] != shop["shop"]:
            name.append(f" ({shop['name']})", "dim")
        rows = shop["printers"] or [None]
        for n, p in enumerate(rows):
            first = n == 0
            table.add_row(name if first else _text(""), _fleet_online(shop) if first else
                          _text(""), _text(p["printer"] if p else "-"),
                          _fleet_state(p) if p else _text(""),
                          _reasons(p["reasons"]) if p else _text(""),
                          _fleet_queue(p) if p else _text(""),
                          _text(_when((p or {}).get("updated") or shop["updated"]), "dim"))
    return table


def _fleet_line(change: Any, shop: Mapping[str, Any] | None) -> Text | None:
    """One change as a line of `labeld fleet --follow`."""
    line = _text(f"{_when(datetime.now().astimezone().isoformat()):<8}  ", "dim")
    if change.kind == "connection":
        line.append(_("The connection to the broker was lost; trying again."), "yellow")
        return line
    if shop is None:
        return None
    line.append(f"{shop['shop']}  ", "bold")
    if change.kind == "presence":
        line.append_text(_fleet_online(shop))
        return line
    if change.kind in ("printers", "queue") and change.printer:
        p = next((x for x in shop["printers"] if x["printer"] == change.printer), None)
        if p is None:
            return None
        line.append(f"{p['printer']}  ", "bold")
        line.append_text(_fleet_state(p))
        if p["reasons"]:
            line.append(": ")
            line.append_text(_reasons(p["reasons"]))
        line.append("  ")
        line.append_text(_fleet_queue(p))
        return line
    return None


def cmd_fleet(args: argparse.Namespace) -> int:
    """Every shop and printer as the broker shows them; with --follow, their changes live."""
    import asyncio

    from labeld.fleet.connection import FleetError

    access = _fleet_access(args)
    try:
        if getattr(args, "fleet_action", None) == "selftest":
            return asyncio.run(_fleet_selftest(args, access))
        return asyncio.run(_fleet_look(args, access))
    except FleetError as exc:
        raise _fleet_problem(exc) from None


async def _fleet_view(access: Any, wait: float) -> Any:
    from labeld.fleet.view import FleetView

    view = await FleetView(access).start()
    try:
        with _working(_("Connecting to the broker…")):
            await view.wait_connected(FLEET_CONNECT_S)
            await view.settle(quiet_s=0.3, timeout=wait)
    except BaseException:
        await view.stop()
        raise
    return view


async def _fleet_look(args: argparse.Namespace, access: Any) -> int:
    view = await _fleet_view(access, args.wait)
    try:
        full = view.snapshot()
        shown = full.only_failing() if args.failing else full
        code = EXIT_NOT_FINE if any(s["failing"] for s in full.shops) else EXIT_OK
        if args.json:
            print(json.dumps(shown.as_json(), ensure_ascii=False, indent=None if args.follow
                             else 2), flush=True)
        elif not full.shops:
            _say(_("No shop has published anything to the broker at {url} yet.",
                   url=access.url))
        elif not shown.shops:
            _say(_text(_("Every shop is online and no printer needs attention."), "green"))
        else:
            _say(_fleet_table(shown.as_json()))
        if not args.follow:
            return code
        _note(_text(_("Following the fleet; Ctrl-C stops."), "dim"))
        async with view.changes() as changes:
            while True:
                change = await changes.get()
                shop = view.shop(change.shop) if change.shop else None
                if args.failing and shop is not None and not shop["failing"] \
                        and change.kind not in ("presence",):
                    continue
                if args.json:
                    print(json.dumps({"shop": change.shop, "kind": change.kind,
                                      "printer": change.printer, "state": shop,
                                      "event": change.event}, ensure_ascii=False), flush=True)
                    continue
                line = _fleet_line(change, shop)
                if line is not None:
                    _say(line)
    finally:
        await view.stop()


async def _fleet_selftest(args: argparse.Namespace, access: Any) -> int:
    view = await _fleet_view(access, 0.5)
    try:
        with _working(_("Testing the printer…")):
            body = await view.ask(args.shop, "selftest",
                                  {"printer": args.printer, "print": bool(args.print)},
                                  timeout=args.timeout)
    finally:
        await view.stop()
    worst = EXIT_NOT_FINE if body.get("result") == "fail" else EXIT_OK
    if args.json:
        _json(body)
        return worst
    head = _text(f"{args.shop}  ", "bold")
    head.append_text(_result_line(body))
    _say(head, _indented(_checks(body)))
    return worst


# --- the parser ------------------------------------------------------------------------------


class _Help(argparse.HelpFormatter):
    """argparse's own headings in this run's language."""

    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)

    def start_section(self, heading: str | None) -> None:
        super().start_section({"options": _("options"), "positional arguments": _("arguments")
                               }.get(heading or "", heading))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        label, more = _("hint"), _("{command} --help says more.", command=self.prog)
        self.exit(EXIT_CANNOT, f"{self.prog}: {message}\n  {label}: {more}\n")


def build_parser() -> argparse.ArgumentParser:
    from labeld.contracts import Role

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                        help=_("show this help and exit"))
    common.add_argument("--lang", choices=i18n.SUPPORTED, default=argparse.SUPPRESS,
                        help=_("the language of the output: en or hu (default: LABELD_LANG, "
                               "else server.language of --config, else the system's)"))

    parser = _Parser(prog="labeld", description=_("labeld: the print daemon for label and "
                                                  "receipt printers, and its tools."),
                     formatter_class=_Help, add_help=False, parents=[common])
    parser.set_defaults(lang=None)
    parser.add_argument("--version", action="version", version=f"labeld {__version__}",
                        help=_("show labeld's version and exit"))
    sub = parser.add_subparsers(dest="command", required=True, metavar=_("COMMAND"))

    def command(name: str, helptext: str, func: Callable[[argparse.Namespace], int]
                ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext, description=helptext, formatter_class=_Help,
                           add_help=False, parents=[common])
        p.set_defaults(func=func)
        return p

    def json_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true",
                       help=_("the API's JSON instead of a table, for scripts"))

    def client(name: str, helptext: str, func: Callable[[argparse.Namespace], int],
               json_out: bool = True) -> argparse.ArgumentParser:
        p = command(name, helptext, func)
        p.add_argument("--url", default=DEFAULT_URL,
                       help=_("the daemon's address (default: LABELD_URL, else "
                              "http://127.0.0.1:8631)"))
        p.add_argument("--token", help=_("API token (default: LABELD_TOKEN)"))
        if json_out:
            json_option(p)
        return p

    p = command("serve", _("run the daemon"), cmd_serve)
    p.add_argument("--config", help=_("TOML configuration file (default: none, no printers)"))
    p.add_argument("--listen", help=_("HOST:PORT (default: server.listen of the configuration, "
                                      "else 127.0.0.1:8631)"))
    p.add_argument("--log-format", choices=LOG_FORMATS,
                   help=_("json, text, or auto: text on a terminal, JSON lines otherwise "
                          "(journald) (default: server.log_format of the configuration, else "
                          "auto)"))

    p = command("demo", _("a daemon with simulated printers, a sample label and receipt"),
                cmd_demo)
    p.add_argument("--listen", default="127.0.0.1:8631",
                   help=_("HOST:PORT of the demo's daemon (default: 127.0.0.1:8631)"))
    p.add_argument("--once", action="store_true",
                   help=_("exit after the demo has printed instead of waiting"))
    p.add_argument("--fleet", action="store_true",
                   help=_("also the fleet support channel: a local Mosquitto, two demo shops and "
                          "the console's Fleet page showing both (needs mosquitto installed)"))

    p = command("render", _("render a label document to PNG (no daemon needed)"), cmd_render)
    p.add_argument("label", help=_("label document (JSON), or a template with --data"))
    p.add_argument("-o", "--output", required=True, help=_("PNG file to write"))
    p.add_argument("--printer-model", default="zebra-generic-203",
                   help=_("model id (its dpi and width)"))
    p.add_argument("--data", help=_("JSON file of the template's fields"))
    p.add_argument("--font-dir", action="append", help=_("extra font folder (repeatable)"))

    p = command("simulate", _("run a virtual printer on this computer"), cmd_simulate)
    p.add_argument("name", help=_("simulator name, e.g. zpl or escpos"))
    p.add_argument("--port", type=int, default=9100,
                   help=_("printer port (0: any free port)"))
    p.add_argument("--control-port", type=int, default=0,
                   help=_("control HTTP port (0: any free port)"))
    p.add_argument("--host", default="127.0.0.1", help=_("address to listen on"))

    p = command("discover", _("find USB printers on this computer (no daemon needed)"),
                cmd_discover)
    json_option(p)

    client("printers", _("the printers of a running daemon"), cmd_printers)
    p = client("status", _("ask one printer now; exit 1 if it needs attention"), cmd_status)
    p.add_argument("printer", help=_("printer id"))
    p = client("jobs", _("the newest jobs"), cmd_jobs)
    p.add_argument("--printer", help=_("only this printer's jobs"))
    p.add_argument("--state", choices=("pending", "held", "processing", "completed",
                                       "canceled", "aborted"),
                   help=_("only jobs in this state"))
    p.add_argument("--limit", type=int,
                   help=_("how many (default: 20; with --json the API's 100)"))
    client("plugins", _("loaded plugins, printer models, languages and transports"), cmd_plugins)
    p = client("events", _("what happened: printer status changes, job outcomes, self-tests"),
               cmd_events)
    p.add_argument("--printer", help=_("only this printer's events"))
    p.add_argument("--follow", "-f", action="store_true",
                   help=_("keep showing new events as they happen, until Ctrl-C (with --json: "
                          "one JSON object a line)"))
    p.add_argument("--limit", type=int,
                   help=_("how many past events (default: 20; 0 with --follow: only new ones)"))
    p = client("doctor", _("diagnose every printer in plain words; exit 1 if a check failed"),
               cmd_doctor)
    p = client("report", _("the morning report: faults since the support desk closed, what was "
                           "done and by whom; exit 1 while something is still wrong or held"),
               cmd_report)
    p.add_argument("--since", help=_("from this time, ISO 8601 (default: when the support desk "
                                     "last closed)"))
    p.add_argument("--until", help=_("to this time, ISO 8601 (default: now)"))
    p = client("selftest", _("one printer's self-test; exit 1 if a check failed"), cmd_selftest)
    p.add_argument("printer", help=_("printer id"))
    p.add_argument("--print", action="store_true", help=_("also print the diagnostic label"))

    p = client("print", _("send a file to a printer as it is (in the printer's language)"),
               cmd_print)
    p.add_argument("printer", help=_("printer id"))
    p.add_argument("file", help=_("file to send, or - for stdin"))
    p.add_argument("--copies", type=int, default=1, help=_("how many copies"))
    for name, helptext, func in (
            ("cancel", _("cancel a job that has not finished"), cmd_cancel),
            ("release", _("release a held job: it prints next"), cmd_release),
            ("retry", _("queue a failed or canceled job again"), cmd_retry),
            ("reprint", _("print a finished job again, as a new job"), cmd_reprint)):
        p = client(name, helptext, func)
        p.add_argument("job", help=_("job id, or its beginning as `labeld jobs` shows it"))
    for name, helptext, func in (
            ("pause", _("pause a printer: its jobs wait until resumed"), cmd_pause),
            ("resume", _("resume a paused printer"), cmd_resume)):
        p = client(name, helptext, func)
        p.add_argument("printer", help=_("printer id"))
    p = client("actions", _("a printer's maintenance actions: calibrate, feed, test print..."),
               cmd_actions)
    p.add_argument("printer", help=_("printer id"))
    p = client("action", _("run a printer's maintenance action (asks first on a terminal); "
                           "exit 1 if it did not run"), cmd_action)
    p.add_argument("printer", help=_("printer id"))
    p.add_argument("action", help=_("the action's id, as `labeld actions PRINTER` shows it"))
    p.add_argument("--value", type=int, help=_("the action's value (e.g. the darkness)"))
    p.add_argument("--yes", "-y", action="store_true", help=_("do not ask first"))
    p = client("bundle", _("download the support bundle (a zip for whoever supports you)"),
               cmd_bundle, json_out=False)
    p.add_argument("-o", "--output",
                   help=_("file or folder to save it in (default: the name the daemon gives, "
                          "here; -: stdout)"))

    # The fleet: a client of the vendor's MQTT broker, not of a daemon (README, "The fleet
    # view"). Its connection flags are the same before and after `selftest`.
    broker = argparse.ArgumentParser(add_help=False)
    broker.add_argument("--config", default=argparse.SUPPRESS,
                        help=_("TOML configuration with a [desk] section: the broker, your user "
                               "name and password file, the CA"))
    broker.add_argument("--broker", default=argparse.SUPPRESS,
                        help=_("the broker, mqtts://HOST[:PORT] (default: desk.broker)"))
    broker.add_argument("--user", default=argparse.SUPPRESS,
                        help=_("your user name at the broker (default: desk.username)"))
    broker.add_argument("--password-file", default=argparse.SUPPRESS,
                        help=_("a file holding your password (default: desk.password_file)"))
    broker.add_argument("--ca", default=argparse.SUPPRESS,
                        help=_("the CA that signed the broker's certificate (default: "
                               "desk.ca_file, else the system's)"))
    p = sub.add_parser("fleet", help=_("every shop and printer as the fleet's broker shows them; "
                                       "exit 1 if something is failing"),
                       description=_("every shop and printer as the fleet's broker shows them; "
                                     "exit 1 if something is failing"),
                       formatter_class=_Help, add_help=False, parents=[common, broker])
    p.set_defaults(func=cmd_fleet, fleet_action=None)
    json_option(p)
    p.add_argument("--failing", action="store_true",
                   help=_("only shops that are offline and printers with an error or held jobs"))
    p.add_argument("--follow", "-f", action="store_true",
                   help=_("keep showing changes as they happen, until Ctrl-C (with --json: one "
                          "JSON object a line)"))
    p.add_argument("--wait", type=float, default=2.0,
                   help=_("seconds to wait for the shops' state after connecting (default: 2)"))
    fsub = p.add_subparsers(dest="fleet_action", metavar=_("ACTION"))
    t = fsub.add_parser("selftest", help=_("a shop's printer's self-test, run remotely; exit 1 "
                                           "if a check failed"),
                        description=_("a shop's printer's self-test, run remotely; exit 1 if a "
                                      "check failed"),
                        formatter_class=_Help, add_help=False, parents=[common, broker])
    t.add_argument("shop", help=_("shop id"))
    t.add_argument("printer", help=_("printer id"))
    t.add_argument("--print", action="store_true", help=_("also print the diagnostic label"))
    t.add_argument("--timeout", type=float, default=60.0,
                   help=_("seconds to wait for the shop's answer (default: 60)"))
    json_option(t)

    p = command("token", _("API tokens: create, list, revoke (in the spool file)"), cmd_token)
    tsub = p.add_subparsers(dest="action", required=True, metavar=_("ACTION"))
    for action, helptext in (("create", _("make a token; only its secret goes to stdout")),
                             ("list", _("the tokens (never their secrets)")),
                             ("revoke", _("revoke a token: it stops working"))):
        t = tsub.add_parser(action, help=helptext, description=helptext, formatter_class=_Help,
                            add_help=False, parents=[common])
        t.add_argument("--config", help=_("the daemon's TOML configuration (where its spool "
                                          "is); see README, Command line"))
        if action == "create":
            t.add_argument("--name", required=True, help=_("who or what uses it, e.g. till-1"))
            t.add_argument("--role", required=True, choices=[r.value for r in Role],
                           help=_("pos: print and read; staff: also look after the printers, "
                                  "self-test, release and cancel any job; tech: also diagnose "
                                  "and act on jobs and printers; admin: everything"))
        elif action == "revoke":
            t.add_argument("name", help=_("the token's name or id"))
        else:
            json_option(t)
        t.set_defaults(func=cmd_token)
    return parser


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    global _lang
    argv = sys.argv[1:] if argv is None else list(argv)
    flag, config = _pre_scan(argv)
    _lang = choose_language(flag, config)
    args = build_parser().parse_args(argv)
    if args.lang:
        _lang = args.lang
    try:
        return _run(args)
    except BrokenPipeError:  # on stdout, or on stderr while complaining
        return _reader_gone()


def _run(args: argparse.Namespace) -> int:
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except CliError as exc:
        _complain(exc.message, exc.hints)
        return exc.exit_code
    except LabeldError as exc:  # a bad config, an unknown token name...: the words it carries
        _complain(exc.message, [exc.hint])
        return EXIT_CANNOT
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # a file that cannot be read or is not JSON
        _complain(str(exc), [])
        return EXIT_CANNOT
    except Exception as exc:  # a person reads what went wrong, not a traceback
        if os.environ.get("LABELD_DEBUG"):
            raise
        error = f"{type(exc).__name__}: {exc}"
        _complain(_("Something unexpected went wrong: {error}", error=error),
                  [_("This is a bug in labeld; LABELD_DEBUG=1 shows where.")])
        return EXIT_CANNOT


def _reader_gone() -> int:
    """The reader of stdout left (`| head`): no noise, and nothing left to flush at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_PIPE_CLOSED
