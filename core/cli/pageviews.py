"""The HTML of the operator's page (`integrate serve`): one function per page, plain
server-rendered markup, every value escaped here (`html.escape`), no JavaScript."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from integrate.cli.pagesearch import label_of
from integrate.secrets import REDACTOR

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center}
header a{color:#fff}header form{margin-left:auto}
main{padding:1em 1.5em;max-width:1100px}
table{border-collapse:collapse;background:#fff;margin:.4em 0 1.2em;width:100%}
th,td{border:1px solid #d5d9de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef1f4}.num{text-align:right}
.note{background:#e8f4ea;border:1px solid #9cc9a5;padding:.5em .8em;margin:.6em 0}
.error{background:#fbeaea;border:1px solid #e0a0a0;padding:.5em .8em;margin:.6em 0}
.muted{color:#66707a}pre{background:#fff;border:1px solid #d5d9de;padding:.5em;overflow:auto}
form.inline{display:inline}button{cursor:pointer}nav a{margin-right:1em}
"""


@dataclass(frozen=True)
class Decision:
    """A decision made on the page for one queued record; `done` says what the run did."""

    flow: str
    source_id: str
    label: str
    what: str
    side_index: int = 0  # the record's side in the flow (where its link is looked up)
    done: str = ""  # "" while it waits for a run


def e(value: Any) -> str:
    """Text for HTML, secrets scrubbed."""
    return escape(REDACTOR.redact(str(value)), quote=True)


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(csrf)}">'


def layout(title: str, body: str, *, csrf: str = "", spec: str = "") -> str:
    """The frame of every page: title, the spec's navigation, a log-out button."""
    nav = ""
    if spec:
        base = f"/ui/s/{quote(spec)}"
        links = ("pending", "runs", "failures", "plan")
        nav = "<nav>" + "".join(f'<a href="{base}/{p}">{p}</a>' for p in links) + "</nav>"
    out = ""
    if csrf:
        out = (
            f'<form method="post" action="/ui/logout">{csrf_field(csrf)}'
            '<button type="submit">log out</button></form>'
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{e(title)} · integrate</title><style>{STYLE}</style></head><body>"
        f'<header><a href="/ui/"><b>integrate</b></a>{nav}{out}</header>'
        f"<main><h1>{e(title)}</h1>{body}</main></body></html>"
    )


def login(message: str = "") -> str:
    warn = f'<p class="error">{e(message)}</p>' if message else ""
    return layout(
        "Log in",
        f"{warn}<p>The operator page needs the token serve was started with "
        "(INTEGRATE_UI_TOKEN).</p>"
        '<form method="post" action="/ui/login"><label>Token '
        '<input type="password" name="token" autocomplete="current-password" autofocus>'
        '</label> <button type="submit">Log in</button></form>',
    )


def index(specs: Sequence[Mapping[str, Any]], csrf: str) -> str:
    rows = "".join(
        f'<tr><td><a href="/ui/s/{quote(s["name"])}/pending">{e(s["name"])}</a></td>'
        f"<td>{e(s['path'])}</td><td class=num>{e(s['pending'])}</td>"
        f"<td class=num>{e(s['failures'])}</td><td>{e(s['last_run'])}</td></tr>"
        for s in specs
    )
    return layout(
        "Integrations",
        "<table><tr><th>integration</th><th>spec</th><th>pending</th><th>open failures</th>"
        f"<th>last run</th></tr>{rows}</table>",
        csrf=csrf,
    )


def message_box(note: str, error: str) -> str:
    out = f'<p class="note">{e(note)}</p>' if note else ""
    return out + (f'<p class="error">{e(error)}</p>' if error else "")


def _record_table(record: Mapping[str, Any]) -> str:
    shown = REDACTOR.redact_data(dict(record))
    rows = "".join(
        f"<tr><th>{e(k)}</th><td>{e(v if isinstance(v, str) else json.dumps(v, default=str))}"
        "</td></tr>"
        for k, v in shown.items()
        if not str(k).startswith("$") and v not in (None, "")
    )
    return f"<table>{rows}</table>"


def _resolve_form(spec: str, csrf: str, row: Any, action: str, target: str, text: str) -> str:
    extra = f'<input type="hidden" name="target" value="{e(target)}">' if target else ""
    return (
        f'<form class="inline" method="post" action="/ui/s/{quote(spec)}/resolve">'
        f'{csrf_field(csrf)}<input type="hidden" name="flow" value="{e(row.flow)}">'
        f'<input type="hidden" name="record" value="{e(row.source_id)}">'
        f'<input type="hidden" name="action" value="{e(action)}">{extra}'
        f'<button type="submit">{e(text)}</button></form>'
    )


def pending(
    spec: str,
    rows: Sequence[Any],
    decisions: Sequence[Decision],
    search: Mapping[str, Any],
    csrf: str,
    note: str = "",
    error: str = "",
) -> str:
    """Each queued record with its reason, candidates and scores, a search over the target,
    and the two decisions; a decided record says the next run carries it out."""
    parts = [message_box(note, error)]
    if decisions:
        items = "".join(
            f"<tr><td>{e(d.flow)}</td><td>{e(d.label)} ({e(d.source_id)})</td>"
            f"<td>{e(d.what)}</td><td>{e(d.done or 'waits for the next run')}</td></tr>"
            for d in decisions
        )
        parts.append(
            "<h2>Decided on this page</h2><table><tr><th>flow</th><th>record</th>"
            f"<th>decision</th><th>status</th></tr>{items}</table>"
        )
    flows: dict[str, list[Any]] = {}
    for row in rows:
        flows.setdefault(row.flow, []).append(row)
    if not rows:
        parts.append("<p>The pending queue is empty.</p>")
    for flow, held in flows.items():
        parts.append(f"<h2>flow {e(flow)}: {len(held)} waiting</h2>")
        for row in held:
            parts.append(_pending_row(spec, row, search, csrf))
    return layout(f"{spec}: pending queue", "".join(parts), csrf=csrf, spec=spec)


def _pending_row(spec: str, row: Any, search: Mapping[str, Any], csrf: str) -> str:
    out = [
        f'<section class="held" id="held-{e(row.source_id)}"><h3>{e(label_of(row.record))} '
        f'<span class="muted">({e(row.side)} {e(row.source_id)})</span></h3>'
        f"<p>{e(row.reason)}</p>",
        _record_table(row.record),
    ]
    resolution = row.resolution or {}
    if resolution:
        what = (
            f"map to {resolution.get('target_id')}"
            if resolution.get("action") == "map"
            else "create as new"
            if resolution.get("action") == "create"
            else f"keep {resolution.get('side')}'s values"
        )
        out.append(f'<p class="note decided">Decided: {e(what)}. The next run carries it out.</p>')
        return "".join(out) + "</section>"
    if row.candidates:
        cands = "".join(
            f"<tr><td>{e(c.get('label', ''))}</td><td>{e(c.get('object', ''))} {e(c['id'])}</td>"
            f"<td class=num>{e(c.get('score', ''))}</td>"
            f"<td>{_resolve_form(spec, csrf, row, 'map', str(c['id']), 'Map to this')}</td></tr>"
            for c in row.candidates
        )
        out.append(
            f"<table><tr><th>candidate</th><th>id</th><th>score</th><th></th></tr>{cands}</table>"
        )
    else:
        out.append('<p class="muted">No candidates left to map it to.</p>')
    mine = search.get("flow") == row.flow and search.get("record") == row.source_id
    query = str(search.get("q", "")) if mine else ""
    out.append(
        f'<form method="get" action="/ui/s/{quote(spec)}/pending">'
        f'<input type="hidden" name="flow" value="{e(row.flow)}">'
        f'<input type="hidden" name="record" value="{e(row.source_id)}">'
        f'<input type="search" name="q" value="{e(query)}" placeholder="search the target">'
        ' <button type="submit">Search</button></form>'
    )
    if mine:
        hits = search.get("hits") or []
        if search.get("error"):
            out.append(f'<p class="error">{e(search["error"])}</p>')
        elif not hits:
            out.append(f'<p class="muted">No target record matches {e(query)!s}.</p>')
        else:
            found = "".join(
                f"<tr><td>{e(h['label'])}</td><td>{e(h['object'])} {e(h['id'])}</td><td>"
                + (
                    f'<span class="muted">{e(h["taken"])}</span>'
                    if h.get("taken")
                    else _resolve_form(spec, csrf, row, "map", h["id"], "Map to this")
                )
                + "</td></tr>"
                for h in hits
            )
            out.append(f"<table><tr><th>found</th><th>id</th><th></th></tr>{found}</table>")
    out.append(
        "<p>" + _resolve_form(spec, csrf, row, "create", "", "Create as new") + "</p></section>"
    )
    return "".join(out)


def _totals(stats: Mapping[str, Any] | None) -> str:
    lines = []
    for flow in (stats or {}).get("flows", []):
        counts = ", ".join(
            f"{k} {v}" for k, v in flow.get("totals", {}).items() if v and k != "actions"
        )
        lines.append(f"{e(flow['flow'])}: {e(counts or 'nothing')}")
    return "<br>".join(lines)


def _calls(stats: Mapping[str, Any] | None) -> str:
    calls = (stats or {}).get("calls", {})
    return "<br>".join(
        f"{e(alias)}: {e(c.get('reads', 0))} reads, {e(c.get('writes', 0))} writes"
        for alias, c in calls.items()
        if c.get("reads") or c.get("writes")
    )


def runs(spec: str, rows: Sequence[Mapping[str, Any]], csrf: str) -> str:
    body = "".join(
        f'<tr><td><a href="/ui/s/{quote(spec)}/runs/{int(r["run_id"])}">#{int(r["run_id"])}</a>'
        f"</td><td>{e(str(r['started_at'])[:19])}</td><td>{e(r['trigger'])}</td>"
        f"<td>{e(r['status'])}{' (dry run)' if r['dry_run'] else ''}</td>"
        f"<td>{_totals(r['stats'])}</td><td>{_calls(r['stats'])}</td></tr>"
        for r in rows
    )
    table = (
        "<table><tr><th>run</th><th>started</th><th>trigger</th><th>status</th>"
        f"<th>per flow</th><th>API calls</th></tr>{body}</table>"
        if rows
        else "<p>No runs yet.</p>"
    )
    return layout(f"{spec}: runs", table, csrf=csrf, spec=spec)


def run_detail(spec: str, row: Mapping[str, Any], csrf: str) -> str:
    stats = row["stats"] or {}
    why = [
        f"{e(f['flow'])}: {e(r['count'])} {e(r['outcome'])} — {e(r['reason'])}"
        for f in stats.get("flows", [])
        for r in f.get("reasons", [])
    ]
    parts = [
        f"<p>{e(row['status'])}{' (dry run)' if row['dry_run'] else ''}, trigger "
        f"{e(row['trigger'])}, started {e(row['started_at'])}, finished "
        f"{e(row['finished_at'] or '-')}</p>",
        f"<table><tr><th>per flow</th><td>{_totals(stats)}</td></tr>"
        f"<tr><th>API calls</th><td>{_calls(stats) or '-'}</td></tr></table>",
    ]
    if row.get("message"):
        parts.append(f'<p class="error">{e(row["message"])}</p>')
    parts.append("<h2>why</h2>")
    parts.append(
        "<ul>" + "".join(f"<li>{w}</li>" for w in why) + "</ul>"
        if why
        else "<p class=muted>Nothing to explain: every record was as it should be.</p>"
    )
    for notice in stats.get("notices", []):
        parts.append(f"<p class=note>{e(notice)}</p>")
    return layout(f"{spec}: run #{int(row['run_id'])}", "".join(parts), csrf=csrf, spec=spec)


def failures(spec: str, rows: Sequence[Any], csrf: str, note: str = "", error: str = "") -> str:
    parts = [message_box(note, error)]
    if not rows:
        parts.append("<p>No open failures.</p>")
    flows = list(dict.fromkeys(r.flow for r in rows))
    for flow in flows:
        parts.append(
            f"<h2>flow {e(flow)}</h2>"
            f'<form method="post" action="/ui/s/{quote(spec)}/retry">{csrf_field(csrf)}'
            f'<input type="hidden" name="flow" value="{e(flow)}">'
            f'<button type="submit">Retry the failures of {e(flow)} now</button></form>'
        )
        for row in rows:
            if row.flow == flow:
                parts.append(
                    f"<h3>{e(row.side)} {e(row.source_id)}</h3><p class=error>{e(row.reason)}"
                    f"</p><p class=muted>attempts {e(row.attempts)}, last {e(row.last_seen)}"
                    f"</p>{_record_table(row.record)}"
                )
    return layout(f"{spec}: failures", "".join(parts), csrf=csrf, spec=spec)


def plan(
    spec: str,
    flows: Iterable[str],
    csrf: str,
    flow: str = "",
    lines: Sequence[str] = (),
    summary: str = "",
    error: str = "",
) -> str:
    options = "".join(f"<option{' selected' if f == flow else ''}>{e(f)}</option>" for f in flows)
    parts = [
        f'<form method="post" action="/ui/s/{quote(spec)}/plan">{csrf_field(csrf)}'
        f'<label>flow <select name="flow">{options}</select></label> '
        '<button type="submit">Plan (dry run)</button></form>',
        message_box("", error),
    ]
    if summary:
        parts.append(f'<p class="note">{e(summary)}</p>')
        shown = "\n".join(e(line) for line in lines) or "nothing to do"
        parts.append(f"<pre>{shown}</pre>")
    return layout(f"{spec}: plan", "".join(parts), csrf=csrf, spec=spec)


def query(**params: str) -> str:
    return "?" + urlencode(params)
