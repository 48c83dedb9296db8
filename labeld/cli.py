"""The `labeld` command: the daemon, the demo, the simulators and technician commands.

Technician commands are thin HTTP clients of a running daemon, so they show exactly what a remote
support tool would see.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from labeld import __version__
from labeld.errors import LabeldError
from labeld.logs import LOG_FORMATS, setup_logging

DEFAULT_URL = os.environ.get("LABELD_URL", "http://127.0.0.1:8631")


def cmd_serve(args: argparse.Namespace) -> int:
    from labeld import config as cfg
    from labeld.server import serve

    config = cfg.load(args.config) if args.config else cfg.Config()
    setup_logging(config.server.log_level, args.log_format or config.server.log_format)
    if not config.printers:
        logging.getLogger("labeld").warning("no printers configured; see examples/labeld.toml")
    serve(config, args.listen)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from labeld.demo import run_demo

    return run_demo(listen=args.listen, once=args.once)


def cmd_render(args: argparse.Namespace) -> int:
    """Render a label document (or a template with data) to PNG, exactly as labeld would print
    it on the chosen model; no daemon needed."""
    from labeld.pluginmanager import default_manager
    from labeld.intake.render import FontBook, parse_label, raster_to_png, render_label
    from labeld.intake.placeholders import fill

    plugins = default_manager()
    models = plugins.models()
    model = models.get(args.printer_model)
    if model is None:
        raise LabeldError("unknown-model", f"No model {args.printer_model!r}.",
                          f"Known: {', '.join(sorted(models))}.")
    doc = json.loads(Path(args.label).read_text(encoding="utf-8"))
    # Always filled: a template rendered without its data must say which fields are missing,
    # not print "{{ price }}" on a shelf.
    doc = fill(doc, json.loads(Path(args.data).read_text(encoding="utf-8")) if args.data else {})
    raster = render_label(parse_label(doc, default_dpi=model.dpi), FontBook(args.font_dir or []))
    Path(args.output).write_bytes(raster_to_png(raster))
    print(f"{args.output}: {raster.width}x{raster.height} dots at {raster.dpi} dpi for {model.id}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from labeld.pluginmanager import default_manager
    from labeld.sim import run

    specs = default_manager().simulators()
    spec = specs.get(args.name)
    if spec is None:
        raise LabeldError("unknown-simulator", f"No simulator named {args.name!r}.",
                          f"Available: {', '.join(sorted(specs)) or 'none'}.")
    setup_logging("info")
    run(spec, args.host, args.port, args.control_port, {})
    return 0


def _client(args: argparse.Namespace):
    import httpx

    token = getattr(args, "token", None) or os.environ.get("LABELD_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=args.url, timeout=15, headers=headers)


def _token_rooms(args: argparse.Namespace):
    """Tokens live in the store's file; the CLI opens it directly, so it works without a daemon
    (the first admin token is made this way). Returns the open Database, its tokens and its
    audit log; the caller closes the Database."""
    from labeld import config as cfg
    from labeld.security import AuditLog, TokenStore
    from labeld.store import Database

    config = cfg.load(args.config) if args.config else cfg.Config()
    db = Database(config.server.spool)
    tokens, audit = TokenStore(db), AuditLog(db)  # their tables, registered before it opens
    db.open()
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
            print(secret)  # stdout holds only the token, so scripts can capture it
            print(f"token {info.name!r} ({info.role}) created; it is shown only this once",
                  file=sys.stderr)
        elif args.action == "list":
            for t in store.list_sync():
                d = t.as_dict()
                print(f"{d['name']:<24} {d['role']:<6} {d.get('hint', ''):<10} {d['created_at']}")
        else:
            info = store.revoke_sync(args.name)
            audit.record_sync(who=who, role="admin", method="CLI", path="token revoke",
                              target=info.name, status=200)
            print(f"token {info.name!r} revoked", file=sys.stderr)
    finally:
        db.close()
    return 0


def _show(resp: Any) -> int:
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    print(json.dumps(body, indent=2, ensure_ascii=False) if not isinstance(body, str) else body)
    return 0 if resp.status_code < 400 else 1


def cmd_printers(args: argparse.Namespace) -> int:
    with _client(args) as c:
        resp = c.get("/v1/printers")
    if resp.status_code != 200:
        return _show(resp)
    for p in resp.json()["printers"]:
        reasons = ", ".join(r["code"] for r in p["state_reasons"]) or "-"
        print(f"{p['id']:<20} {p['state']:<10} {p['model']:<22} queued={p['queued']:<4} {reasons}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as c:
        resp = c.get(f"/v1/printers/{args.printer}/status")
    if resp.status_code != 200 or args.json:
        return _show(resp)
    body = resp.json()
    print(f"{body['printer']}: {body['state']} (answered={body['answered']}, "
          f"{body['latency_ms']} ms)")
    for r in body["reasons"]:
        print(f"  [{r['severity']}] {r['message']['en']} - {r['hint']['en']}")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    params = {k: v for k, v in (("printer", args.printer), ("state", args.state)) if v}
    with _client(args) as c:
        return _show(c.get("/v1/jobs", params=params))


def cmd_print(args: argparse.Namespace) -> int:
    data = Path(args.file).read_bytes() if args.file != "-" else sys.stdin.buffer.read()
    body = {"printer": args.printer, "copies": args.copies,
            "raw": {"data": base64.b64encode(data).decode(), "encoding": "base64"}}
    with _client(args) as c:
        return _show(c.post("/v1/jobs", json=body))


MARK = {"ok": "  ok ", "warn": " WARN", "fail": " FAIL", "skip": " skip"}


def _print_checks(test: dict[str, Any]) -> int:
    """Print a self-test's checks; return 0 (ok/warn) or 1 (something failed)."""
    for check in test.get("checks", []):
        line = f"  {MARK[check['status']]} {check['name']:<32} {check['detail']}"
        print(line + (f"\n          hint: {check['hint']}" if check["hint"]
                      and check["status"] in ("warn", "fail") else ""))
    return 1 if test.get("result") == "fail" else 0


def cmd_selftest(args: argparse.Namespace) -> int:
    with _client(args) as c:
        resp = c.post(f"/v1/printers/{args.printer}/selftest",
                      params={"print": "true" if args.print else "false"}, timeout=60)
    if resp.status_code != 200 or args.json:
        return _show(resp)
    body = resp.json()
    print(f"{body['printer']}: {body['result']} in {body['duration_ms']} ms")
    return _print_checks(body)


def cmd_doctor(args: argparse.Namespace) -> int:
    """A readable diagnosis of every printer: state, reasons, self-test, stuck jobs."""
    with _client(args) as c:
        resp = c.get("/v1/printers")
        if resp.status_code != 200:
            return _show(resp)
        worst = 0
        for p in resp.json()["printers"]:
            print(f"== {p['id']}  ({p['name']}, {p['uri']})")
            print(f"   state: {p['state']}, {p['queued']} job(s) queued")
            for r in p["state_reasons"]:
                print(f"   [{r['severity']}] {r['message']['en']} -> {r['hint']['en']}")
            test = c.post(f"/v1/printers/{p['id']}/selftest", timeout=60).json()
            worst = max(worst, _print_checks(test))
            stuck = c.get("/v1/jobs", params={"printer": p["id"], "state": "held"}).json()["jobs"]
            if stuck:
                first = stuck[0]["error"]["message"] if stuck[0]["error"] else ""
                print(f"   {len(stuck)} held job(s): {first}")
            print()
    return worst


def cmd_plugins(args: argparse.Namespace) -> int:
    with _client(args) as c:
        return _show(c.get("/v1/plugins"))


def cmd_discover(args: argparse.Namespace) -> int:
    """Scan this machine's buses directly (no daemon needed, e.g. before the first config)."""
    from labeld.pluginmanager import default_manager

    found = default_manager().discover()
    if args.json:
        print(json.dumps([{"uri": d.uri, "description": d.description, "model": d.model,
                           "details": d.details} for d in found], indent=2))
        return 0
    if not found:
        print("No printer found on USB. Check the cable and power; network printers are "
              "configured by address (socket://HOST:9100).")
        return 1
    for d in found:
        print(f"{d.uri:<40} {d.description}  (model: {d.model or 'unknown, pick one'})")
    print("\nFor the config file:")
    for n, d in enumerate(found, 1):
        print(f'\n[[printers]]\nid = "printer-{n}"\nuri = "{d.uri}"\n'
              f'model = "{d.model or "CHOOSE-A-MODEL (labeld plugins)"}"')
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labeld", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"labeld {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the daemon")
    p.add_argument("--config", help="TOML config file (default: none, no printers)")
    p.add_argument("--listen", help="HOST:PORT (default from the config, else 127.0.0.1:8631)")
    p.add_argument("--log-format", choices=LOG_FORMATS,
                   help="json, text, or auto: text in a terminal, JSON lines otherwise (journald)"
                        " (default: server.log_format from the config, else auto)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="daemon + simulated printers + a sample label and receipt")
    p.add_argument("--listen", default="127.0.0.1:8631", help="HOST:PORT for the demo daemon")
    p.add_argument("--once", action="store_true",
                   help="exit after the demo prints instead of waiting")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("render", help="render a label document to PNG (no daemon needed)")
    p.add_argument("label", help="label document (JSON), or a template with --data")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--printer-model", default="zebra-generic-203", help="model id (its dpi)")
    p.add_argument("--data", help="JSON file of template fields, if LABEL has placeholders")
    p.add_argument("--font-dir", action="append", help="extra font folder (repeatable)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("simulate", help="run a virtual printer on loopback")
    p.add_argument("name", help="simulator name, e.g. zpl or escpos")
    p.add_argument("--port", type=int, default=9100, help="printer port (0 = any free port)")
    p.add_argument("--control-port", type=int, default=0, help="control HTTP port (0 = any free)")
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("discover", help="find USB printers on this machine (no daemon needed)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_discover)

    def client_parser(name: str, helptext: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--url", default=DEFAULT_URL, help="daemon URL (default $LABELD_URL)")
        p.add_argument("--token", help="API token (default $LABELD_TOKEN)")
        p.set_defaults(func=func)
        return p

    client_parser("printers", "list printers of a running daemon", cmd_printers)
    client_parser("plugins", "list loaded plugins and models", cmd_plugins)
    client_parser("doctor", "diagnose every printer of a running daemon, in plain words",
                  cmd_doctor)
    p = client_parser("selftest", "run one printer's self-test", cmd_selftest)
    p.add_argument("printer")
    p.add_argument("--print", action="store_true", help="also print the diagnostic label")
    p.add_argument("--json", action="store_true")
    p = client_parser("status", "live status of one printer", cmd_status)
    p.add_argument("printer")
    p.add_argument("--json", action="store_true")
    p = client_parser("jobs", "list jobs", cmd_jobs)
    p.add_argument("--printer")
    p.add_argument("--state")
    p = client_parser("print", "send a file as a raw job (in the printer's language)", cmd_print)
    p.add_argument("printer")
    p.add_argument("file", help="file to send, or - for stdin")
    p.add_argument("--copies", type=int, default=1)

    p = sub.add_parser("token", help="API tokens: create, list, revoke (in the spool file)")
    tsub = p.add_subparsers(dest="action", required=True)
    for action in ("create", "list", "revoke"):
        t = tsub.add_parser(action)
        t.add_argument("--config", help="the daemon's TOML config (to find its spool)")
        if action == "create":
            t.add_argument("--name", required=True, help="who or what uses it, e.g. till-1")
            t.add_argument("--role", required=True, choices=("pos", "tech", "admin"))
        elif action == "revoke":
            t.add_argument("name", help="the token's name or id")
        t.set_defaults(func=cmd_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LabeldError as exc:
        hint = f"\n  hint: {exc.hint}" if exc.hint else ""
        print(f"labeld: {exc.message}{hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:  # unreadable file, bad JSON
        print(f"labeld: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        import httpx

        if isinstance(exc, httpx.TransportError):  # technician command, daemon not reachable
            print(f"labeld: cannot reach the daemon at {getattr(args, 'url', '?')}: {exc}\n"
                  "  hint: is `labeld serve` running? Set --url or LABELD_URL.", file=sys.stderr)
            return 2
        raise
