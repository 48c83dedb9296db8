"""The console's pages: server-rendered HTML in the reader's language, a little JavaScript.

Why server-rendered: every word a person reads comes from the gettext catalogues, which live
on the server; the page needs no build step and no framework, weighs a few kilobytes, and
paints on the first response. Live parts (printer cards, the job list) are HTML fragments the
page fetches again when the event stream says something changed.

Signing in: the token typed once goes to `POST /ui/session`, which answers with an
`HttpOnly`, `SameSite=Strict` cookie holding it. The JSON API accepts that cookie like a
bearer token (labeld.http.security), and for a state change only together with the page's
CSRF token in `X-CSRF-Token`, which another site cannot read or send. So the console's
buttons call the same `/v1` operations a POS or a script calls, with the same role checks.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from labeld import i18n
from labeld.daemon import Daemon
from labeld.diagnostics import guides
from labeld.diagnostics import report as morning
from labeld.diagnostics.selftest import checks_json
from labeld.errors import LabeldError, NotFound
from labeld.fleet.connection import BrokerAccess, FleetError
from labeld.fleet.view import FleetView
from labeld.security import Role, TokenInfo, Unauthorized
from labeld.security.roles import role_required
from labeld.security.session import SESSION_COOKIE, csrf_ok, csrf_token
from labeld.views import action_json, job_json

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
LANG_COOKIE = "labeld_lang"
LANGUAGE_NAMES = {"en": "English", "hu": "Magyar"}
FLEET_ASK_S = 30.0  # a remote self-test's answer, through the broker


def static_version() -> str:
    """A short hash of the assets, so a browser caches them for good and still gets the new
    ones after an upgrade."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Visitor:
    """Who is looking at a page, in which language."""

    lang: i18n.Lang
    token: TokenInfo | None
    session: str | None

    @property
    def role(self) -> Role | None:
        return self.token.role if self.token else None


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200)


class Console:
    """The console of one daemon: its templates in each language and its routes."""

    def __init__(self, daemon: Daemon):
        self.daemon = daemon
        self.catalogues = daemon.catalogues
        self.version = static_version()
        # The support desk's fleet view ([desk] configured): kept running with the app, shown
        # at /ui/fleet to technicians.
        desk = daemon.config.desk
        self.fleet = FleetView(BrokerAccess.from_desk(desk)) if desk else None

    async def start(self) -> None:
        if self.fleet is not None:
            await self.fleet.start()

    async def stop(self) -> None:
        if self.fleet is not None:
            await self.fleet.stop()

    @cached_property
    def _environments(self) -> dict[str, Environment]:
        # One Jinja environment per language: gettext is installed per environment, and two
        # are cheaper than building one per request.
        return {lang: self._environment(self.catalogues.translator(lang))
                for lang in i18n.SUPPORTED}

    def _environment(self, tr: i18n.Translator) -> Environment:
        env = Environment(loader=FileSystemLoader(HERE / "templates"),
                          autoescape=select_autoescape(("html",)), extensions=["jinja2.ext.i18n"],
                          trim_blocks=True, lstrip_blocks=True)
        # Not Jinja's "newstyle" gettext, which fills %(name)s itself: labeld's messages name
        # their placeholders {name}, filled by the translator (autoescape still escapes the
        # result, values included).
        env.install_gettext_callables(  # type: ignore[attr-defined]
            lambda message, **values: tr.format(message, **values),
            lambda singular, plural, n, **values: tr.nformat(singular, plural, n, **values),
            newstyle=False)
        env.globals.update(
            static=lambda name: f"/ui/static/{name}?v={self.version}",
            languages=list(LANGUAGE_NAMES.items()),
            state_words={"idle": tr.gettext("Ready"), "processing": tr.gettext("Printing"),
                         "stopped": tr.gettext("Needs attention")},
            job_words={"pending": tr.gettext("Waiting"), "processing": tr.gettext("Printing"),
                       "held": tr.gettext("Held"), "completed": tr.gettext("Printed"),
                       "canceled": tr.gettext("Canceled"), "aborted": tr.gettext("Failed")},
            check_words={"ok": tr.gettext("OK"), "warn": tr.gettext("Warning"),
                         "fail": tr.gettext("Failed"), "skip": tr.gettext("Skipped")},
            age=lambda iso: _age(tr, iso),
            job_error=lambda error: self._job_error(tr, error),
            # a raw job's warning (ZPL without ^CI28...) named as its guide names it
            warning_title=lambda code: i18n.say(guides.title(code, self.catalogues), tr),
            when=lambda iso: _when(iso),
            shop_time=lambda iso: self._shop_time(iso),
            duration=lambda seconds: _duration(tr, seconds),
            updated=lambda iso: _updated(tr, iso),
        )
        # `actions | select("reachable_by", role)`: the maintenance actions a visitor may run.
        env.tests["reachable_by"] = lambda action, role: bool(role) and Role(role).covers(
            action["needs"])
        return env

    def _shop_time(self, iso: str | None) -> str:
        """A time on the shop's clock ([support] timezone, else this machine's): a
        technician far away reads the shop's evening, not their own."""
        if not iso:
            return ""
        tz = morning.zone(self.daemon.config.support)
        at = datetime.fromisoformat(iso)
        return (at.astimezone(tz) if tz else at.astimezone()).strftime("%Y-%m-%d %H:%M")

    @staticmethod
    def _job_error(tr: i18n.Translator, error: dict[str, Any]) -> tuple[str, str, str]:
        """A job's error in the reader's language (job_json words it in every language), and
        the particulars as delivery said them (which address refused), when they say more."""
        message = error["message_i18n"][tr.lang]
        detail = error.get("message") or ""
        return message, error["hint_i18n"][tr.lang], "" if detail == message else detail

    # -- who is asking -----------------------------------------------------------------------

    async def visitor(self, request: Request) -> Visitor:
        lang = i18n.negotiate(request.headers.get("accept-language"),
                              request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
                              self.daemon.config.server.language)
        session = request.cookies.get(SESSION_COOKIE)
        info = await self.daemon.token_store.verify(session) if session else None
        return Visitor(lang, info, session if info else None)

    def render(self, request: Request, visitor: Visitor, page_template: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        role = visitor.role
        env = self._environments[visitor.lang]
        tr = self.catalogues.translator(visitor.lang)
        html = env.get_template(page_template).render(
            lang=visitor.lang, role=role, who=visitor.token.name if visitor.token else "",
            role_name={Role.POS: tr.gettext("shop"), Role.STAFF: tr.gettext("shop staff"),
                       Role.TECH: tr.gettext("technician"),
                       Role.ADMIN: tr.gettext("administrator")}.get(role, "") if role else "",
            # What the page offers follows the API's roles (README, Security): staff release,
            # cancel, self-test and follow a guide; a technician also pauses, retries, reprints,
            # reads the report.
            can_staff=bool(role and role.covers(Role.STAFF)),
            can_tech=bool(role and role.covers(Role.TECH)),
            has_fleet=self.fleet is not None,
            csrf=csrf_token(visitor.session) if visitor.session else "", **context)
        response = HTMLResponse(html, status_code=status, headers={
            "Cache-Control": "no-store", "Content-Language": visitor.lang,
            "Vary": "Cookie, Accept-Language"})
        if request.query_params.get("lang") in i18n.SUPPORTED:
            response.set_cookie(LANG_COOKIE, visitor.lang, max_age=365 * 86400, httponly=True,
                                samesite="strict", path="/")
        return response

    # -- the routes --------------------------------------------------------------------------

    def router(self) -> APIRouter:
        r = APIRouter(prefix="/ui", include_in_schema=False)
        page = self._page

        @r.get("")
        @r.get("/")
        async def home() -> RedirectResponse:
            return RedirectResponse("/ui/printers", status_code=303)

        @r.get("/login", response_class=HTMLResponse)
        async def login(request: Request, next: str = "/ui/printers") -> HTMLResponse:  # noqa: A002
            visitor = await self.visitor(request)
            safe_next = next if next.startswith("/ui/") else "/ui/printers"
            return self.render(request, visitor, "login.html", page="login", next=safe_next)

        @r.post("/session", status_code=204)
        async def sign_in(body: SessionRequest, request: Request) -> Response:
            info = await self.daemon.token_store.verify(body.token)
            if info is None:
                raise Unauthorized("token-invalid", "The API token is not valid (unknown or "
                                   "revoked).", "Check the token, or ask an administrator.")
            response = Response(status_code=204)
            response.set_cookie(SESSION_COOKIE, body.token, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https", path="/")
            return response

        @r.delete("/session", status_code=204)
        async def sign_out() -> Response:
            response = Response(status_code=204)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response

        @r.get("/printers", response_class=HTMLResponse)
        async def printers(request: Request) -> Response:
            return await page(request, Role.POS, "printers.html", self._printers_context)

        @r.get("/fragments/printers", response_class=HTMLResponse)
        async def printers_fragment(request: Request) -> Response:
            return await page(request, Role.POS, "_printers.html", self._printers_context)

        @r.get("/printers/{printer_id}", response_class=HTMLResponse)
        async def printer(request: Request, printer_id: str) -> Response:
            return await page(request, Role.STAFF, "printer.html",
                              lambda: self._printer_context(printer_id))

        @r.get("/fragments/printers/{printer_id}", response_class=HTMLResponse)
        async def printer_fragment(request: Request, printer_id: str) -> Response:
            async def context() -> dict[str, Any]:
                return {"printers": [await self.daemon.printer(printer_id)], "single": True}
            return await page(request, Role.STAFF, "_printers.html", context)

        @r.get("/printers/{printer_id}/guides/{code}", response_class=HTMLResponse)
        async def guide(request: Request, printer_id: str, code: str) -> Response:
            async def context() -> dict[str, Any]:
                return {"p": await self.daemon.printer(printer_id),
                        "g": await self.daemon.guide(printer_id, code)}
            return await page(request, Role.STAFF, "guide.html", context)

        @r.post("/printers/{printer_id}/selftest", response_class=HTMLResponse)
        async def selftest(request: Request, printer_id: str,
                           print: bool = False) -> Response:  # noqa: A002 - the API's name
            async def context() -> dict[str, Any]:
                report = await self.daemon.selftest(printer_id, print_label=print)
                # Each check in every language; the fragment shows the reader's (`lang`).
                return {"result": report.result,
                        "checks": checks_json(report.checks, self.catalogues)}
            return await page(request, Role.STAFF, "_selftest.html", context, state_change=True)

        @r.get("/jobs", response_class=HTMLResponse)
        async def jobs(request: Request) -> Response:
            return await page(request, Role.POS, "jobs.html", self._jobs_context)

        @r.get("/fragments/jobs", response_class=HTMLResponse)
        async def jobs_fragment(request: Request) -> Response:
            return await page(request, Role.POS, "_jobs.html", self._jobs_context)

        @r.get("/report", response_class=HTMLResponse)
        async def report_page(request: Request, since: datetime | None = None,
                              until: datetime | None = None) -> Response:
            async def context() -> dict[str, Any]:
                return {"report": (await self.daemon.report(since, until)).as_json()}
            return await page(request, Role.TECH, "report.html", context)

        @r.get("/print", response_class=HTMLResponse)
        async def print_page(request: Request, printer: str | None = None,
                             template: str | None = None) -> Response:
            return await page(request, Role.POS, "print.html",
                              lambda: self._print_context(printer, template))

        self._fleet_routes(r)
        return r

    def _fleet_routes(self, r: APIRouter) -> None:
        """The fleet page: every shop and printer as the broker shows them, failing first,
        refreshed when the view's version moves; a remote self-test per printer."""
        page = self._page

        def view() -> FleetView:
            if self.fleet is None:
                raise NotFound("fleet-not-configured", "This labeld has no [desk] section: it "
                               "shows no fleet.", "See README, The fleet view.")
            return self.fleet

        async def context() -> dict[str, Any]:
            return {"fleet": view().snapshot().as_json()}

        @r.get("/fleet", response_class=HTMLResponse)
        async def fleet_page(request: Request, failing: bool = False) -> Response:
            async def page_context() -> dict[str, Any]:
                return {**(await context()), "only_failing": failing}
            return await page(request, Role.TECH, "fleet.html", page_context)

        @r.get("/fragments/fleet", response_class=HTMLResponse)
        async def fleet_fragment(request: Request) -> Response:
            return await page(request, Role.TECH, "_fleet.html", context)

        @r.get("/fleet/state")
        async def fleet_state(request: Request) -> dict[str, Any]:
            """What the page polls: the view's version (a change happened) and the link."""
            await self._check(request, Role.TECH, state_change=False)
            fleet = view()
            return {"version": fleet.version, "connected": fleet.connected}

        @r.post("/fleet/{shop}/printers/{printer_id}/selftest", response_class=HTMLResponse)
        async def fleet_selftest(request: Request, shop: str, printer_id: str,
                                 print: bool = False) -> Response:  # noqa: A002 - the API's name
            async def selftest_context() -> dict[str, Any]:
                visitor = await self.visitor(request)
                try:
                    report = await view().ask(shop, "selftest",
                                              {"printer": printer_id, "print": print},
                                              timeout=FLEET_ASK_S)
                except FleetError as exc:  # in the reader's language, as the page speaks
                    tr = self.catalogues.translator(visitor.lang)
                    raise LabeldError(exc.code, i18n.say(exc.message, tr),
                                      i18n.say(exc.hint, tr), status=exc.status) from None
                return {"shop": shop, "test": report}
            return await page(request, Role.TECH, "_fleet_selftest.html", selftest_context,
                              state_change=True)

    async def _check(self, request: Request, role: Role, *, state_change: bool) -> Visitor:
        visitor = await self.visitor(request)
        if visitor.token is None:
            raise Unauthorized("token-required", "Sign in first.", "Open /ui/login.")
        if state_change and not csrf_ok(visitor.session or "", request.headers.get("x-csrf-token")):
            raise Unauthorized("csrf-token-invalid", "The page's CSRF token is missing or wrong.",
                               "Reload the page and try again.")
        if not visitor.token.role.covers(role):
            raise role_required(role, visitor.token.role, f"{request.method} {request.url.path}")
        return visitor

    async def _page(self, request: Request, role: Role, template: str,
                    context: Callable[[], Any], *, state_change: bool = False) -> Response:
        visitor = await self.visitor(request)
        if visitor.token is None:
            if template.startswith("_") or state_change:
                raise Unauthorized("token-required", "Sign in first.", "Open /ui/login.")
            return RedirectResponse(f"/ui/login?next={request.url.path}", status_code=303)
        if state_change:
            await self._check(request, role, state_change=True)
        elif not visitor.token.role.covers(role):
            return self.render(request, visitor, "forbidden.html", status=403, page="")
        name = template.removeprefix("_").removesuffix(".html")
        return self.render(request, visitor, template, page=name, **(await context()))

    # -- page data ---------------------------------------------------------------------------

    async def _printers_context(self) -> dict[str, Any]:
        return {"printers": await self.daemon.printers()}

    async def _printer_context(self, printer_id: str) -> dict[str, Any]:
        # Every declared action with the role it needs (`needs`): the page shows a visitor
        # those their role reaches; the API checks again when one is run.
        return {"p": await self.daemon.printer(printer_id),
                "actions": [{**action_json(a, self.catalogues), "needs": a.role}
                            for a in self.daemon.actions(printer_id)]}

    async def _jobs_context(self) -> dict[str, Any]:
        jobs = await self.daemon.jobs(limit=100)
        return {"jobs": [job_json(j, self.catalogues) for j in jobs]}

    async def _print_context(self, printer: str | None, template: str | None) -> dict[str, Any]:
        printers = await self.daemon.printers()
        names = [t["name"] for t in await self.daemon.templates()]
        chosen = template if template in names else (names[0] if names else None)
        fields: list[str] = []
        sample: dict[str, Any] = {}
        if chosen:
            info = await self.daemon.template(chosen)
            fields, sample = info.fields, info.sample
        return {"printers": printers, "printer": printer, "templates": names,
                "chosen": chosen, "fields": fields, "sample": sample}


def _age(tr: i18n.Translator, iso: str | None) -> str:
    if not iso:
        return tr.gettext("status not read yet")
    seconds = max(0, int(time.time() - datetime.fromisoformat(iso).timestamp()))
    if seconds < 120:
        return tr.ngettext("status read {n} second ago", "status read {n} seconds ago",
                           seconds).format(n=seconds)
    minutes = seconds // 60
    return tr.ngettext("status read {n} minute ago", "status read {n} minutes ago",
                       minutes).format(n=minutes)


def _updated(tr: i18n.Translator, iso: str | None) -> str:
    """How long ago the desk last heard about something (a shop's printer)."""
    if not iso:
        return tr.gettext("not heard yet")
    seconds = max(0, int(time.time() - datetime.fromisoformat(iso).timestamp()))
    if seconds < 120:
        return tr.ngettext("updated {n} second ago", "updated {n} seconds ago",
                           seconds).format(n=seconds)
    if seconds < 7200:
        return tr.ngettext("updated {n} minute ago", "updated {n} minutes ago",
                           seconds // 60).format(n=seconds // 60)
    return tr.ngettext("updated {n} hour ago", "updated {n} hours ago",
                       seconds // 3600).format(n=seconds // 3600)


def _duration(tr: i18n.Translator, seconds: float) -> str:
    minutes = round(seconds / 60)
    if seconds < 60:
        return tr.format("{n} s", n=round(seconds))
    if minutes < 60:
        return tr.format("{n} min", n=minutes)
    return tr.format("{h} h {m} min", h=minutes // 60, m=minutes % 60)


def _when(iso: str | None) -> str:
    """Local time of the shop's computer: what the person at the printer reads on the wall."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
