"""Reports for a chosen period, with server-rendered SVG bar charts (our own few lines, no scripts) and CSV export."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from staff_console.context import NavItem, act, db, requires
from staff_console.i18n import N_, Translator, translator
from staff_console.words import word
from storage.csv_export import csv_text
from storage.services import reports

NAV = [NavItem(N_("Reports"), "/reports", ("admin",), order=80)]
BAR_HEIGHT, GAP, LABEL_WIDTH, WIDTH = 22, 6, 170, 560


def bar_chart(tr: Translator, title: str, pairs: Sequence[tuple[str, float]], unit: str = "") -> Markup:
    """A horizontal bar chart as inline SVG; labels are escaped, values scaled to the largest and written in the
    staff member's locale."""
    if not pairs:
        empty = tr(N_("%(chart)s: no data"), chart=title)
        return Markup('<p class="muted">') + empty + Markup("</p>")
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
        shown = tr.number(value, 2) + unit
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f'{html.escape(str(label))[:40]}</text>')
        parts.append(f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                     f'fill="#1f6feb" rx="3"><title>{html.escape(str(label))}: {shown}</title></rect>')
        parts.append(f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}" font-size="12">{shown}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _period(request: web.Request) -> tuple[date, date, datetime, datetime]:
    tz = translator(request).tz
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


# Chart titles, and which words each chart's labels are (None: data, such as project or staff names).
CHARTS: tuple[tuple[str, str | None], ...] = (
    (N_("Tickets by type"), "ticket_kind"),
    (N_("Tickets by category"), "category"),
    (N_("Tickets by project"), None),
    (N_("Tickets by status"), "ticket_status"),
    (N_("Average satisfaction by staff"), None),
    (N_("Average satisfaction by category"), "category"),
    (N_("Handoffs to people by reason"), "handoff_reason"),
    (N_("Needs → viewings → outcomes"), "report"),
    (N_("Consultations by topic"), "chat_topic"),
    (N_("Consultations by channel"), "channel"),
    (N_("Complaints by root cause"), "root_cause"),
    (N_("Complaints by responsible party"), "responsible_party"),
)


def _label(tr: Translator, kind: str | None, label: str) -> str:
    """A chart or CSV label as a word; data labels stay, except the report's own "(no unit)"-style rows."""
    shown = word(tr, kind, label) if kind else label
    return word(tr, "report", label) if shown == label else shown


def sections(tr: Translator, report: reports.Report) -> list[tuple[str, list[tuple[str, float]]]]:
    """Each chart's title (a message id) and its (label, value) pairs with labels in the staff member's words."""
    data: tuple[Sequence[tuple[str, float]], ...] = (
        report.by_kind, report.by_category, report.by_project, report.by_status,
        [(n, a) for n, _, a in report.satisfaction_by_staff], [(n, a) for n, _, a in report.satisfaction_by_category],
        report.handoffs, report.funnel, report.consultations_by_topic, report.consultations_by_channel,
        report.complaint_causes, report.complaint_parties)
    return [(title, [(_label(tr, kind, label), value) for label, value in pairs])
            for (title, kind), pairs in zip(CHARTS, data, strict=True)]


# The CSV's header and its sections, in the staff member's language (English: the columns other tools read).
CSV_HEADER = (N_("section"), N_("label"), N_("value"), N_("extra"))
CSV_TIMES = {"first_response_median": N_("first response, median"), "first_response_p90": N_("first response, p90"),
             "resolution_median": N_("resolution, median"), "resolution_p90": N_("resolution, p90"),
             "first_response_count": N_("first responses"), "resolution_count": N_("resolutions")}
CSV_CHAT_SLA = {"waits": N_("chats waiting for staff"), "measured": N_("chat deadlines due or met"),
                "met": N_("chat first response met"), "pct": N_("chat first response met, %%")}
CSV_SLA = {"tickets": N_("tickets measured"), "first_response_met": N_("first response met"),
           "first_response_measured": N_("first responses due or done"),
           "resolution_measured": N_("resolutions due or done"),
           "resolution_met": N_("resolution met"), "first_response_pct": N_("first response met, %%"),
           "resolution_pct": N_("resolution met, %%")}


def to_csv(tr: Translator, report: reports.Report) -> str:
    """The whole report as one CSV, as storage.services.reports.to_csv lays it out, in the staff member's words
    (cells neutralised against formula injection by storage.csv_export)."""
    rows: list[list[object]] = []
    csv_sections = (N_("tickets by type"), N_("tickets by category"), N_("tickets by project"),
                    N_("tickets by status"))
    for section, (_title, pairs) in zip(csv_sections, sections(tr, report)[:4], strict=True):
        rows.extend([tr(section), label, count, ""] for label, count in pairs)
    for section, kind, counted in ((N_("handoffs by reason"), "handoff_reason", report.handoffs),
                                   (N_("funnel"), "report", report.funnel),
                                   (N_("consultations by topic"), "chat_topic", report.consultations_by_topic),
                                   (N_("consultations by channel"), "channel", report.consultations_by_channel),
                                   (N_("complaints by root cause"), "root_cause", report.complaint_causes),
                                   (N_("complaints by responsible party"), "responsible_party",
                                    report.complaint_parties),
                                   (N_("complaints by verification"), "verification",
                                    report.complaint_verification)):
        rows.extend([tr(section), _label(tr, kind, label), count, ""] for label, count in counted)
    for key, hours in report.times.items():
        rows.append([tr(N_("times (hours)")), tr(CSV_TIMES[key]) if key in CSV_TIMES else key,
                     "" if hours is None else round(float(hours), 2), ""])
    for key, measure in report.sla.items():
        rows.append([tr(N_("deadlines")), tr(CSV_SLA[key]) if key in CSV_SLA else key,
                     "" if measure is None else measure, ""])
    for key, hours in report.chat_times.items():
        rows.append([tr(N_("chat times (hours)")), tr(CSV_TIMES[key]) if key in CSV_TIMES else key,
                     "" if hours is None else round(float(hours), 2), ""])
    for key, measure in report.chat_sla.items():
        rows.append([tr(N_("chat deadlines")), tr(CSV_CHAT_SLA[key]) if key in CSV_CHAT_SLA else key,
                     "" if measure is None else measure, ""])
    for team in report.teams:
        rows.append([tr(N_("team")), _label(tr, "team", team["team"]), team["tickets"], reports._extra(team)])
    for row in report.staff:
        median_h = row["resolution_median_h"]
        rows.append([tr(N_("staff")), row["staff"], row["assigned"],
                     tr(N_("resolved=%(resolved)s;open=%(open)s;breached=%(breached)s;median_h=%(median)s"),
                        resolved=row["resolved"], open=row["open"], breached=row["breached"],
                        median="" if median_h is None else round(median_h, 2))])
    satisfaction: tuple[tuple[str, str | None, list[tuple[str, int, float]]], ...] = (
        (N_("satisfaction by staff"), None, report.satisfaction_by_staff),
        (N_("satisfaction by category"), "category", report.satisfaction_by_category))
    for section, maybe_kind, lines in satisfaction:
        rows.extend([tr(section), _label(tr, maybe_kind, label), average, tr(N_("answers=%(count)s"), count=count)]
                    for label, count, average in lines)
    return csv_text([tr(column) for column in CSV_HEADER], rows)


@requires("admin")
async def page(request: web.Request) -> web.StreamResponse:
    first, last, start, end = _period(request)
    tr = translator(request)
    async with db(request)() as session:
        report = await reports.build(session, start, end)
    charts = [bar_chart(tr, tr(title), pairs) for title, pairs in sections(tr, report)]
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
    body = to_csv(translator(request), report)
    # with a BOM, as the customers CSV has, so Excel opens the Chinese words as Chinese
    return web.Response(body=body.encode("utf-8-sig"), content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="homedesk-report-{first}-{last}.csv"'})


def setup(app: web.Application) -> None:
    app.router.add_get("/reports", page)
    app.router.add_get("/reports.csv", export)
