"""One conversation: history, lead card, and everything an agent does in it.

Reading is open to agents and admins; writing (reply, photo, transfer, return, close) only to the assignee or an
admin, checked in storage.services.handoff, the one place that rule lives. Each action is one call there inside
`act(request)`. Customer text reaches Telegram as HTML, so what agents type is escaped here before it becomes a
reply.
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from dialogs.replies import Photo, Reply, Say
from staff_console import cards, telegram_files
from staff_console.context import ALL_ROLES, Form, act, db, flash, requires, settings, staff, to_int, wants_json
from staff_console.errors import error_text
from staff_console.i18n import translator
from staff_console.live import message_json, sent_photo
from staff_console.routes.inbox import list_context, list_query
from storage import clock
from storage.models import CannedReply, Conversation, Message, Staff
from storage.repositories import conversations as conversation_repo
from storage.repositories import inbox
from storage.repositories import staff as staff_repo
from storage.services import handoff, sla
from storage.services.handoff import HandoffError
from storage.vocabulary import HANDOFF_TEAMS

MAX_TEXT = 4000
PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}


async def _conversation_id(request: web.Request) -> int:
    """The conversation in the address; service staff reach only those waiting for their team or theirs."""
    value = to_int(request.match_info["conversation_id"])
    if value is None:
        raise web.HTTPNotFound()
    me = staff(request)
    if me.role == "service":
        async with db(request)() as session:
            row = await session.get(Conversation, value)
        if row is None:
            raise web.HTTPNotFound()
        if row.assignee_id != me.id and not (me.team and row.team == me.team):
            raise web.HTTPForbidden(text=translator(request).gettext(
                "Only conversations transferred to your team are open to you."))
    return value


async def _done(request: web.Request, conversation_id: int, note: str | None = None,
                data: dict[str, Any] | None = None, status: int = 200) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"ok": status < 400, "message": note, **(data or {})}, status=status)
    if note:
        await flash(request, note, "error" if status >= 400 else "info")
    # back to the conversation, beside the same list (its view and filters) on a wide screen
    raise web.HTTPSeeOther(f"/conversations/{conversation_id}{list_query(request)}")


@requires(*ALL_ROLES)
async def view(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    me = staff(request)
    async with db(request)() as session:
        row = await inbox.one(session, conversation_id)
        if row is None:
            raise web.HTTPNotFound(text=translator(request).gettext("No such conversation."))
        messages = await conversation_repo.history(session, conversation_id, limit=300)
        names = {s.id: s.name for s in await staff_repo.list_staff(session)}
        card = await inbox.lead_card(session, row.customer_id)
        canned = (await session.scalars(select(CannedReply).order_by(CannedReply.language, CannedReply.title))).all()
        agents = [a for a in await staff_repo.agents(session) if a.id != row.assignee_id]
        earlier = (await session.scalars(
            select(Conversation).where(Conversation.customer_id == row.customer_id, Conversation.id != conversation_id)
            .order_by(Conversation.id.desc()).limit(10))).all()
        districts = await cards.district_names(session, translator(request))
        wait = await sla.open_chat_wait(session, conversation_id)
        calendar = await sla.load_calendar(session, settings(request))
    if row.unread:  # opening the conversation reads it: its unread count drops in every console
        async with act(request) as work:
            await handoff.mark_seen(work, conversation_id)
    can_write = row.status == "open" and row.mode == "human" and (row.assignee_id == me.id or me.role == "admin")
    # `?pane=1`: only the conversation, for the inbox's right-hand pane on a wide screen (console.js puts it beside
    # the list); otherwise the whole page, with the work list at its left (shown on a wide screen only).
    pane = request.query.get("pane") == "1"
    listing: dict[str, Any] = {}
    if not pane:
        async with db(request)() as session:
            listing = await list_context(request, session)
    return aiohttp_jinja2.render_template("_conversation_pane.html" if pane else "conversation.html", request, {
        "list_query": list_query(request), **listing, "selected": conversation_id,
        "row": row, "messages": messages, "names": names, "card": card, "canned": canned, "agents": agents,
        "can_write": can_write, "earlier": earlier, cards.DISTRICTS_KEY: districts, "handoff_teams": HANDOFF_TEAMS,
        "wait": wait, "can_promise": wait is not None and (can_write or row.mode == "waiting"),
        "overdue": wait is not None and wait.paused_at is None and wait.due_at < clock.now(),
        "promise_day": calendar.add(max(clock.now(), wait.due_at) if wait else clock.now(), 1).astimezone(
            calendar.tz).date(),
    })


@requires(*ALL_ROLES)
async def messages_api(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    after = to_int(request.query.get("after"), 0) or 0
    async with db(request)() as session:
        rows = (await session.execute(
            select(Message, Staff.name).outerjoin(Staff, Staff.id == Message.staff_id)
            .where(Message.conversation_id == conversation_id, Message.id > after).order_by(Message.id).limit(500)
        )).all()
        row = await inbox.one(session, conversation_id)
    if row is None:
        raise web.HTTPNotFound()
    return web.json_response({"conversation": row.to_json(), "messages": [message_json(m, n) for m, n in rows]})


@requires(*ALL_ROLES)
async def seen(request: web.Request) -> web.StreamResponse:
    """The open conversation page saw messages arrive (the tab is visible): they are read up to this one."""
    conversation_id = await _conversation_id(request)
    form = await request.post()
    async with act(request) as work:
        await handoff.mark_seen(work, conversation_id, to_int(str(form.get("message_id", ""))))
    return web.json_response({"ok": True})


@requires(*ALL_ROLES)
async def take(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    _ = translator(request)
    try:
        async with act(request) as work:
            await handoff.take_over(work, conversation_id)
    except HandoffError as exc:
        return await _done(request, conversation_id, error_text(_, exc), status=409)
    return await _done(request, conversation_id, _("You took this conversation."))


def _text(form: Form, field: str = "text") -> str:
    value = form.get(field, "")
    return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""


@requires(*ALL_ROLES)
async def reply(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    text = _text(await request.post())
    _ = translator(request)
    if not text:
        return await _done(request, conversation_id, _("Write something first."), status=400)
    # Telegram gets HTML: what the agent typed is text, never markup.
    sent = await _send_as_agent(request, conversation_id, Say(text=html.escape(text, quote=False)), text=text)
    if isinstance(sent, web.StreamResponse):
        return sent
    return await _done(request, conversation_id, None, {"message": message_json(sent, staff(request).name)})


async def _send_as_agent(
    request: web.Request, conversation_id: int, reply: Reply, *, text: str, kind: str | None = None
) -> Message | web.StreamResponse:
    """Queue an agent's reply (only the owner may write); an error page otherwise."""
    try:
        async with act(request) as work:
            return await handoff.agent_reply(work, conversation_id, reply.to_payload(), text=text, kind=kind)
    except HandoffError as exc:
        return await _done(request, conversation_id, error_text(translator(request), exc), status=403)


@requires(*ALL_ROLES)
async def send_photo(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    form = await request.post()
    _ = translator(request)
    caption = _text(form, "caption")[:1000]
    upload = form.get("photo")
    url = _text(form, "url")
    if isinstance(upload, web.FileField) and upload.filename:
        content_type = upload.content_type or mimetypes.guess_type(upload.filename)[0] or ""
        if content_type not in PHOTO_TYPES:
            return await _done(request, conversation_id, _("Send a JPEG, PNG, WebP or GIF image."), status=400)
        # Inside the installation's media folder (absolute), the one the bot's sender uploads from.
        folder = settings(request).media_path / "console"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{uuid.uuid4().hex}{PHOTO_TYPES[content_type]}"
        target.write_bytes(upload.file.read())
        photo = str(target)
    elif url.startswith("https://"):
        photo = url
    else:
        return await _done(request, conversation_id, _("Choose an image file or give an https:// link."), status=400)
    reply = Photo(photo=photo, caption=html.escape(caption, quote=False))
    sent = await _send_as_agent(request, conversation_id, reply, text=caption or "[photo]", kind="photo")
    if isinstance(sent, web.StreamResponse):
        return sent
    return await _done(request, conversation_id, _("Photo queued."))


@requires(*ALL_ROLES)
async def note(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    text = _text(await request.post())
    _ = translator(request)
    if not text:
        return await _done(request, conversation_id, _("Write the note first."), status=400)
    try:
        async with act(request) as work:
            await handoff.add_note(work, conversation_id, text)
    except HandoffError as exc:
        return await _done(request, conversation_id, error_text(_, exc), status=404)
    return await _done(request, conversation_id, _("Note saved (not sent to the customer)."))


@requires(*ALL_ROLES)
async def transfer(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    form = await request.post()
    target_id = to_int(form.get("to_staff_id"))
    note_text = _text(form, "note")[:500]
    _ = translator(request)
    if target_id is None:
        return await _done(request, conversation_id, _("Choose who takes over."), status=400)
    try:
        async with act(request) as work:
            await handoff.transfer(work, conversation_id, target_id, note_text)
    except HandoffError as exc:
        return await _done(request, conversation_id, error_text(_, exc), status=403)
    return await _done(request, conversation_id, _("Transferred."))


@requires(*ALL_ROLES)
async def return_to_bot(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    _ = translator(request)
    try:
        async with act(request) as work:
            await handoff.return_to_bot(work, conversation_id)
    except HandoffError as exc:
        return await _done(request, conversation_id, error_text(_, exc), status=403)
    return await _done(request, conversation_id, _("The assistant answers this customer again."))


@requires(*ALL_ROLES)
async def promise(request: web.Request) -> web.StreamResponse:
    """Staff cannot answer yet: one click tells the customer by when to expect the answer, and the chat's
    first-response clock stops until then (storage.services.handoff.promise_answer)."""
    conversation_id = await _conversation_id(request)
    form = await request.post()
    _ = translator(request)
    try:
        day = date.fromisoformat(str(form.get("day", "")).strip())
    except ValueError:
        return await _done(request, conversation_id, _("the day must be a date (YYYY-MM-DD)"), status=400)
    try:
        async with act(request) as work:
            wait = await handoff.promise_answer(work, conversation_id, day)
    except HandoffError as exc:
        return await _done(request, conversation_id, error_text(_, exc), status=409)
    return await _done(request, conversation_id, _("The customer was told to expect an answer by %(when)s.",
                                                   when=_.datetime(wait.promised_at)))


@requires(*ALL_ROLES)
async def close(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    _ = translator(request)
    try:
        async with act(request) as work:
            await handoff.close(work, conversation_id)
    except HandoffError as exc:
        return await _done(request, conversation_id, error_text(_, exc), status=403)
    return await _done(request, conversation_id, _("Closed; the satisfaction survey is on its way."))


@requires(*ALL_ROLES)
async def customer_photo(request: web.Request) -> web.StreamResponse:
    conversation_id = await _conversation_id(request)
    message_id = to_int(request.match_info["message_id"])
    index = to_int(request.match_info["index"], 0) or 0
    async with db(request)() as session:
        message = await session.get(Message, message_id) if message_id else None
    if message is None or message.conversation_id != conversation_id:
        raise web.HTTPNotFound()
    file_ids = message.payload.get("photo_file_ids") if isinstance(message.payload, dict) else None
    if not isinstance(file_ids, list) or not 0 <= index < len(file_ids):
        raise web.HTTPNotFound()
    try:
        data, content_type = await telegram_files.fetch(request.app, str(file_ids[index]))
    except telegram_files.FileUnavailable as exc:
        _ = translator(request)
        raise web.HTTPBadGateway(text=_("Photo unavailable: %(reason)s", reason=exc)) from None
    return web.Response(body=data, content_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


@requires(*ALL_ROLES)
async def staff_photo(request: web.Request) -> web.StreamResponse:
    """A photo staff sent, from the installation's media folder; never a path outside it."""
    conversation_id = await _conversation_id(request)
    message_id = to_int(request.match_info["message_id"])
    async with db(request)() as session:
        message = await session.get(Message, message_id) if message_id else None
    if message is None or message.conversation_id != conversation_id or sent_photo(message) != "file":
        raise web.HTTPNotFound()
    path = await asyncio.to_thread(_inside, settings(request).media_path, str(message.payload["photo"]))
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


def _inside(root: Path, name: str) -> Path | None:
    """The file, when it exists inside the media folder (links and `..` resolved first)."""
    path = Path(name).resolve()
    return path if path.is_relative_to(root.resolve()) and path.is_file() else None


def setup(app: web.Application) -> None:
    base = "/conversations/{conversation_id}"
    app.router.add_get(base, view)
    app.router.add_get("/api" + base + "/messages", messages_api)
    app.router.add_post("/api" + base + "/seen", seen)
    app.router.add_post(base + "/take", take)
    app.router.add_post(base + "/reply", reply)
    app.router.add_post(base + "/photo", send_photo)
    app.router.add_post(base + "/note", note)
    app.router.add_post(base + "/transfer", transfer)
    app.router.add_post(base + "/return", return_to_bot)
    app.router.add_post(base + "/close", close)
    app.router.add_post(base + "/promise", promise)
    app.router.add_get(base + "/photos/{message_id}/{index}", customer_photo)
    app.router.add_get(base + "/sent-photos/{message_id}", staff_photo)
