"""Reports for a chosen period, with server-rendered SVG bar charts (our own few lines, no scripts) and CSV export."""

from __future__ import annotations

import html
from datetime import date, datetime, time, timedelta

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from staff_console.context import NavItem, act, db, requires, settings
from storage.services import reports

NAV = [NavItem("Reports", "/reports", ("admin",), order=80)]
BAR_HEIGHT, GAP, LABEL_WIDTH, WIDTH = 22, 6, 170, 560


def bar_chart(title: str, pairs: list[tuple[str, float]] | list[tuple[str, int]], unit: str = "") -> Markup:
    """A horizontal bar chart as inline SVG; labels are escaped, values scaled to the largest."""
    if not pairs:
        return Markup(f'<p class="muted">{html.escape(title)}: no data</p>')
    largest = max(float(v) for _, v in pairs) or 1.0
    height = len(pairs) * (BAR_HEIGHT + GAP) + 28
    parts = [f'<svg class="chart" role="img" aria-label="{html.escape(title, quote=True)}" '
             f'viewBox="0 0 {WIDTH} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{html.escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="600">{html.escape(title)}</text>']
    span = WIDTH - LABEL_WIDTH - 70
    for index, (label, value) in enumerate(pairs):
        y = 26 + index * (BAR_HEIGHT + GAP)
        width = max(1.0, span * float(value) / largest)
        shown = f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f'{html.escape(str(label))[:40]}</text>')
        parts.append(f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                     f'fill="#1f6feb" rx="3"><title>{html.escape(str(label))}: {shown}</title></rect>')
        parts.append(f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}" font-size="12">{shown}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _period(request: web.Request) -> tuple[date, date, datetime, datetime]:
    tz = settings(request).tz
    today = datetime.now(tz).date()
    try:
        first = date.fromisoformat(request.query.get("from", ""))
    except ValueError:
        first = today - timedelta(days=29)
    try:
        last = date.fromisoformat(request.query.get("to", ""))
    except ValueError:
        last = today
    if last < first:
        first, last = last, first
    return first, last, datetime.combine(first, time.min, tzinfo=tz), \
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)


@requires("admin")
async def page(request: web.Request) -> web.StreamResponse:
    first, last, start, end = _period(request)
    async with db(request)() as session:
        report = await reports.build(session, start, end)
    charts = [
        bar_chart("Tickets by type", report.by_kind),
        bar_chart("Tickets by category", report.by_category),
        bar_chart("Tickets by project", report.by_project),
        bar_chart("Tickets by status", report.by_status),
        bar_chart("Average satisfaction by staff", [(n, a) for n, _, a in report.satisfaction_by_staff]),
        bar_chart("Average satisfaction by category", [(n, a) for n, _, a in report.satisfaction_by_category]),
        bar_chart("Handoffs to people by reason", report.handoffs),
        bar_chart("Needs → viewings → outcomes", report.funnel),
    ]
    return aiohttp_jinja2.render_template("reports/index.html", request, {
        "report": report, "charts": charts, "first": first, "last": last,
    })


@requires("admin")
async def export(request: web.Request) -> web.StreamResponse:
    first, last, start, end = _period(request)
    async with act(request) as work:
        report = await reports.build(work.session, start, end)
        await work.audit("export", target_type="report",
                         details={"from": first.isoformat(), "to": last.isoformat()})
    body = reports.to_csv(report)
    return web.Response(body=body.encode("utf-8"), content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="homedesk-report-{first}-{last}.csv"'})


def setup(app: web.Application) -> None:
    app.router.add_get("/reports", page)
    app.router.add_get("/reports.csv", export)
