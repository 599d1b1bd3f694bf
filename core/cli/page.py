"""The operator's page of `integrate serve`, under /ui/ in serve's one HTTP app: the pending
queue, runs, failures and a flow's plan for every spec served. Every action goes through the
CLI's own functions (resolve, retry, a dry run). No page and no action without the token
(INTEGRATE_UI_TOKEN): a login form sets an HttpOnly, SameSite=Strict session cookie, and
every POST of a session carries its CSRF token; or a request brings the token as a bearer."""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from integrate.cli import _open_state, state_options
from integrate.cli import pageviews as views
from integrate.cli.pageauth import TOKEN_VARIABLE, ui_token
from integrate.cli.pagesearch import label_of, search_target, taken
from integrate.cli.records import pending_rows, resolve_pending, retry_failed
from integrate.cli.running import _run_now
from integrate.errors import IntegrateError
from integrate.secrets import REDACTOR

log = logging.getLogger("integrate.serve")

COOKIE = "integrate_ui"
SESSION_HOURS = 12
MOST_SESSIONS = 100
PLAN_LINES = 500
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class Pages:
    """The WSGI app of /ui/ for these specs (loaded with their plugins), their state as serve
    uses it (the sandbox's with `sandbox`)."""

    def __init__(
        self,
        specs: Sequence[Any],
        plugins: Any,
        token: str,
        *,
        sandbox: bool = False,
        state: str | None = None,
    ):
        self.specs = {spec.name: spec for spec in specs}
        self.plugins = plugins
        self.token = token
        self.sandbox = sandbox
        self.state = state
        self.sessions: dict[str, tuple[str, float]] = {}  # id → (CSRF token, expiry)
        self.flash: dict[str, tuple[str, str]] = {}  # session → (note, error) of its last POST
        self.decided: dict[str, list[views.Decision]] = {}
        self.lock = threading.Lock()  # one action (a run or a decision) at a time

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        try:
            response = self.route(request)
        except IntegrateError as exc:
            log.error("operator page: %s", REDACTOR.redact(str(exc)))
            response = Response(
                views.layout("Error", views.message_box("", str(exc))),
                status=500,
                content_type="text/html; charset=utf-8",
            )
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        return response(environ, start_response)

    # ---- auth ------------------------------------------------------------------------

    def _session(self, request: Any) -> str | None:
        """The request's live session id, or None."""
        sid = request.cookies.get(COOKIE, "")
        found = self.sessions.get(sid)
        if found is None or found[1] < time.time():
            self.sessions.pop(sid, None)
            return None
        return str(sid)

    def _bearer(self, request: Any) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self._good(given.strip())

    def _good(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _login(self, request: Any) -> Any:
        from werkzeug.wrappers import Response

        if request.method == "GET":
            return _html(views.login())
        if request.method != "POST":
            return _html("GET or POST only", 405)
        if not self._good(request.form.get("token", "")):
            log.warning("operator page: a log-in with a wrong token refused")
            return _html(views.login("That is not the token."), 401)
        now = time.time()
        for sid, (_, expiry) in list(self.sessions.items()):
            if expiry < now:
                del self.sessions[sid]
                self.flash.pop(sid, None)
        while len(self.sessions) >= MOST_SESSIONS:
            del self.sessions[next(iter(self.sessions))]
        sid = secrets.token_urlsafe(32)
        self.sessions[sid] = (secrets.token_urlsafe(32), now + SESSION_HOURS * 3600)
        response = Response(status=303, headers={"Location": "/ui/"})
        response.set_cookie(
            COOKIE,
            sid,
            max_age=SESSION_HOURS * 3600,
            path="/ui",
            httponly=True,
            samesite="Strict",
            secure=request.scheme == "https",
        )
        return response

    # ---- routing ---------------------------------------------------------------------

    def route(self, request: Any) -> Any:
        from werkzeug.wrappers import Response

        path = request.path
        if path == "/ui/login":
            return self._login(request)
        sid = self._session(request)
        if sid is None and not self._bearer(request):
            if request.method == "GET":
                return Response(status=303, headers={"Location": "/ui/login"})
            return _html(views.login("Log in first."), 401)
        csrf = self.sessions[sid][0] if sid else ""
        if request.method == "POST" and sid is not None:
            given = request.form.get("csrf", "")
            if not hmac.compare_digest(given.encode(), csrf.encode()):
                log.warning("operator page: a POST without the session's CSRF token refused")
                return _html(views.layout("Refused", views.message_box("", CSRF_REFUSED)), 403)
        if request.method not in ("GET", "HEAD", "POST"):
            return _html("GET or POST only", 405)
        if path == "/ui/logout" and request.method == "POST":
            if sid:
                self.sessions.pop(sid, None)
                self.flash.pop(sid, None)
            response = Response(status=303, headers={"Location": "/ui/login"})
            response.delete_cookie(COOKIE, path="/ui")
            return response
        if path in ("/ui", "/ui/"):
            return _html(views.index(self._overview(), csrf))
        parts = path.split("/")  # '', 'ui', 's', name, page[, id]
        if len(parts) < 5 or parts[2] != "s" or parts[3] not in self.specs:
            return _html(views.layout("Not found", "<p>No such page.</p>", csrf=csrf), 404)
        spec, page = self.specs[parts[3]], parts[4]
        note, error = self.flash.pop(sid, ("", "")) if sid else ("", "")
        post = request.method == "POST"
        if page == "pending" and not post:
            return _html(self._pending(spec, request.args, csrf, note, error))
        if page == "resolve" and post:
            return self._after(
                sid, f"/ui/s/{quote(spec.name)}/pending", *self._resolve(spec, request.form)
            )
        if page == "runs" and not post and len(parts) == 5:
            return _html(views.runs(spec.name, self._store(spec, lambda s: s.runs(50)), csrf))
        if page == "runs" and not post and len(parts) == 6 and parts[5].isdigit():
            found = [
                r
                for r in self._store(spec, lambda s: s.runs(10_000))
                if r["run_id"] == int(parts[5])
            ]
            if not found:
                return _html(views.layout("Not found", "<p>No such run.</p>", csrf=csrf), 404)
            return _html(views.run_detail(spec.name, found[0], csrf))
        if page == "failures" and not post:
            rows = self._store(spec, lambda s: s.held(kinds=("fail",)))
            return _html(views.failures(spec.name, rows, csrf, note, error))
        if page == "retry" and post:
            return self._after(
                sid, f"/ui/s/{quote(spec.name)}/failures", *self._retry(spec, request.form)
            )
        if page == "plan":
            if not post:
                return _html(views.plan(spec.name, spec.flows, csrf))
            return _html(self._plan(spec, request.form.get("flow", ""), csrf))
        return _html(views.layout("Not found", "<p>No such page.</p>", csrf=csrf), 404)

    def _after(self, sid: str | None, where: str, note: str, error: str) -> Any:
        """After a POST: back to the page it came from (303), its outcome said there once."""
        from werkzeug.wrappers import Response

        if sid is not None:
            self.flash[sid] = (note, error)
        return Response(status=303, headers={"Location": where})

    # ---- pages and actions -----------------------------------------------------------

    def _store(self, spec: Any, read: Callable[[Any], Any]) -> Any:
        try:
            store = _open_state(spec, self.state, self.sandbox)
        except IntegrateError:
            return []  # no run yet: nothing to show
        try:
            return read(store)
        finally:
            store.close()

    def _overview(self) -> list[dict[str, Any]]:
        out = []
        for spec in self.specs.values():
            counts: Any = self._store(
                spec,
                lambda s: (
                    len(s.held(kinds=("queue",))),
                    len(s.held(kinds=("fail",))),
                    s.runs(1),
                ),
            ) or (0, 0, [])
            last = counts[2][0] if counts[2] else None
            when = (
                f"#{last['run_id']} {str(last['started_at'])[:19]} {last['status']}"
                if last
                else "none"
            )
            out.append(
                {
                    "name": spec.name,
                    "path": spec.path,
                    "pending": counts[0],
                    "failures": counts[1],
                    "last_run": when,
                }
            )
        return out

    def _pending(self, spec: Any, args: Any, csrf: str, note: str, error: str) -> str:
        rows = self._store(spec, lambda s: pending_rows(spec, s, None))
        search: dict[str, Any] = {}
        flow, record, q = args.get("flow", ""), args.get("record", ""), args.get("q", "").strip()
        held = [r for r in rows if r.flow == flow and r.source_id == record]
        if held and q:
            search = {"flow": flow, "record": record, "q": q}
            try:
                search["hits"] = self._search(spec, held[0], q)
            except IntegrateError as exc:
                search["error"] = f"the search failed: {exc}"
        return views.pending(spec.name, rows, self._decisions(spec), search, csrf, note, error)

    def _search(self, spec: Any, row: Any, q: str) -> list[dict[str, Any]]:
        from integrate.engine import RunOptions

        with self.lock:
            if self.sandbox:
                from integrate.sandbox import sandboxed

                with sandboxed(spec, self.plugins, dry_run=True) as options:
                    hits = search_target(spec, self.plugins, options, row, q)
            else:
                options = RunOptions(dry_run=True, **state_options(self.state))
                hits = search_target(spec, self.plugins, options, row, q)
        promised = self._store(spec, lambda s: taken(spec, s, row, hits))
        return [dict(h, taken=promised.get(h["id"], "")) for h in hits]

    def _decisions(self, spec: Any) -> list[views.Decision]:
        """The decisions made here, each marked done once a run carried it out."""
        mine = self.decided.get(spec.name, [])
        if not mine:
            return []

        def status(store: Any) -> list[views.Decision]:
            waiting = {(h.flow, h.source_id) for h in store.held(kinds=("queue",))}
            out = []
            for d in mine:
                if (d.flow, d.source_id) in waiting:
                    out.append(replace(d, done=""))
                    continue
                linked = store.linked_to(d.flow, d.side_index, d.source_id)
                done = f"done: linked to {linked}" if linked else "done"
                out.append(replace(d, done=done))
            return out

        return list(self._store(spec, status))

    def _resolve(self, spec: Any, form: Any) -> tuple[str, str]:
        flow, record = form.get("flow", ""), form.get("record", "")
        action, target = form.get("action", ""), form.get("target", "").strip()
        if action not in ("create", "map") or (action == "map" and not target):
            return "", "Choose create as new, or map to a record."
        with self.lock:
            try:
                store = _open_state(spec, self.state, self.sandbox)
            except IntegrateError as exc:
                return "", str(exc)
            try:
                rows = [r for r in pending_rows(spec, store, flow, 0.0) if r.source_id == record]
                if not rows:
                    return "", f"No record {record} waits in flow {flow} (decided or gone)."
                if rows[0].resolution:
                    return "", f"{record} is decided already; the next run carries it out."
                what = resolve_pending(
                    spec, store, flow, record, map_to=target if action == "map" else None, keep=None
                )
            except IntegrateError as exc:
                return "", str(exc)
            finally:
                store.close()
        label = label_of(rows[0].record) or record
        sides = [s.name for s in getattr(spec.flows[flow], "sides", ())]
        index = sides.index(rows[0].side) if rows[0].side in sides else 0
        self.decided.setdefault(spec.name, []).append(
            views.Decision(flow, record, label, what, index)
        )
        return f"{flow} {label}: will {what}. The next run carries it out.", ""

    def _retry(self, spec: Any, form: Any) -> tuple[str, str]:
        from integrate.engine import RunFailed

        flow = form.get("flow", "")
        if flow not in spec.flows:
            return "", f"No flow named {flow}."
        with self.lock:
            try:
                report = retry_failed(
                    spec, self.plugins, (flow,), sandbox=self.sandbox, state_file=self.state
                )
            except RunFailed as exc:
                return "", f"The retry run failed: {exc}"
            except IntegrateError as exc:
                return "", f"The retry run was not made: {exc}"
        failed = report.failed_records
        return f"Retry run #{report.run_id} {report.status}: {failed} record(s) failed again.", ""

    def _plan(self, spec: Any, flow: str, csrf: str) -> str:
        from integrate.engine import RunFailed
        from integrate.render import change_line

        if flow not in spec.flows:
            return views.plan(spec.name, spec.flows, csrf, error=f"No flow named {flow}.")
        lines: list[str] = []

        def observe(change: Any) -> None:
            if len(lines) < PLAN_LINES:
                lines.append(change_line(change))

        settings: dict[str, Any] = {"dry_run": True, "flows": (flow,), "observer": observe}
        with self.lock:
            try:
                report = _run_now(
                    spec, self.plugins, self.sandbox, False, self.state, None, settings
                )
            except RunFailed as exc:
                return views.plan(
                    spec.name, spec.flows, csrf, flow, error=f"The plan failed: {exc}"
                )
            except IntegrateError as exc:
                return views.plan(spec.name, spec.flows, csrf, flow, error=str(exc))
        totals = "; ".join(
            f"{f.flow}: "
            + ", ".join(
                f"{n} {k}" for k, n in f.as_dict()["totals"].items() if n and k != "actions"
            )
            for f in report.flows
        )
        summary = f"Plan of {flow} (nothing written): {totals or 'nothing to do'}"
        return views.plan(spec.name, spec.flows, csrf, flow, lines, summary)


CSRF_REFUSED = (
    "Refused: the form did not carry this session's CSRF token. Reload the page and try again."
)


def _html(body: str, status: int = 200) -> Any:
    from werkzeug.wrappers import Response

    return Response(body, status=status, content_type="text/html; charset=utf-8")


__all__ = ["TOKEN_VARIABLE", "Pages", "ui_token"]
