"""Your profile: name, language, password, notifications, and linking your Telegram account."""

from __future__ import annotations

import asyncio

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select

from staff_console.context import (
    ALL_ROLES,
    SETTINGS_KEY,
    NavItem,
    act,
    db,
    flash,
    requires,
    settings,
    staff,
)
from staff_console.i18n import LANGUAGES, N_, TIME_ZONES, for_staff, known_zone, translator
from staff_console.security import start_staff_session
from staff_console.telegram_files import CLIENT_KEY
from storage import clock
from storage.models import Staff, StaffNotification
from storage.services import staff_accounts, staff_link
from storage.services.staff_accounts import verify_password

NAV = [NavItem(N_("Profile"), "/profile", ALL_ROLES, order=90)]
BOT_USERNAME_KEY = web.AppKey("bot_username", str)


async def bot_username(app: web.Application) -> str | None:
    """TELEGRAM_BOT_USERNAME, else asked once from getMe."""
    configured = app[SETTINGS_KEY].telegram_bot_username
    if configured:
        return configured.lstrip("@")
    if BOT_USERNAME_KEY in app:
        return app[BOT_USERNAME_KEY]
    token = app[SETTINGS_KEY].bot_token
    if not token:
        return None
    try:
        async with app[CLIENT_KEY].get(f"{app[SETTINGS_KEY].telegram_api_base.rstrip('/')}/bot{token}/getMe") as r:
            body = await r.json(content_type=None)
        username = str(body["result"]["username"])
    except Exception:  # the link is a convenience; the page works without it. Never log the URL (token).
        return None
    app[BOT_USERNAME_KEY] = username
    return username


@requires(*ALL_ROLES)
async def profile(request: web.Request) -> web.StreamResponse:
    me = staff(request)
    async with db(request)() as session:
        notes = (await session.scalars(select(StaffNotification).where(StaffNotification.staff_id == me.id)
                                       .order_by(StaffNotification.id.desc()).limit(30))).all()
    return aiohttp_jinja2.render_template("profile.html", request, {"notes": notes, "link": None,
                                                                    **_zones(request)})


def _zones(request: web.Request) -> dict[str, object]:
    return {"company_zone": settings(request).timezone, "time_zones": TIME_ZONES}


@requires(*ALL_ROLES)
async def profile_update(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    new_session_token = None
    async with act(request) as work:
        session = work.session
        me = await session.get(Staff, staff(request).id)
        if me is None:  # deactivated and removed since this request signed in
            raise web.HTTPForbidden()
        me.name = str(form.get("name", me.name)).strip()[:128] or me.name
        language = str(form.get("language", me.language))
        me.language = language if language in LANGUAGES else me.language
        if "timezone" in form:
            chosen = str(form.get("timezone", "")).strip()[:64]
            me.timezone = chosen if chosen and known_zone(chosen) else None
        _ = translator(request)  # nothing is saved when the password change is refused: the language stays
        new_password = str(form.get("new_password", ""))
        if new_password:
            current = str(form.get("current_password", ""))
            if not await asyncio.to_thread(verify_password, me.password_hash, current):
                await flash(request, _("The current password is wrong; nothing changed."), "error")
                raise web.HTTPSeeOther("/profile")
            if len(new_password) < 8:
                await flash(request, _("Passwords have at least 8 characters."), "error")
                raise web.HTTPSeeOther("/profile")
            # Every session ends (a copied cookie with them); this browser goes on with a new one.
            await staff_accounts.set_password(session, me, new_password)
            new_session_token = await staff_accounts.start_session(session, me.id, ip=work.ip)
            await work.audit("password_change")
    if new_session_token is not None:
        await start_staff_session(request, me, new_session_token)
    _ = for_staff(me, settings(request))  # saved: the answer is in the language just chosen
    await flash(request, _("Profile saved."))
    raise web.HTTPSeeOther("/profile")


@requires(*ALL_ROLES)
async def telegram_link(request: web.Request) -> web.StreamResponse:
    async with act(request) as work:
        session = work.session
        me = await session.get(Staff, staff(request).id)
        if me is None:  # deactivated and removed since this request signed in
            raise web.HTTPForbidden()
        token = await staff_link.create_link_token(session, me)
        await work.audit("telegram_link_created")
    username = await bot_username(request.app)
    link = staff_link.deep_link(username, token) if username else None
    async with db(request)() as session:
        notes = (await session.scalars(select(StaffNotification).where(StaffNotification.staff_id == me.id)
                                       .order_by(StaffNotification.id.desc()).limit(30))).all()
    return aiohttp_jinja2.render_template("profile.html", request, {
        "notes": notes, "link": link, "start_command": f"/start {staff_link.DEEP_LINK_PREFIX}{token}",
        **_zones(request)})


@requires(*ALL_ROLES)
async def telegram_unlink(request: web.Request) -> web.StreamResponse:
    async with act(request) as work:
        session = work.session
        me = await session.get(Staff, staff(request).id)
        if me is None:  # deactivated and removed since this request signed in
            raise web.HTTPForbidden()
        await staff_link.unlink(session, me)
        await work.audit("telegram_unlinked")
    _ = translator(request)
    await flash(request, _("Telegram unlinked."))
    raise web.HTTPSeeOther("/profile")


@requires(*ALL_ROLES)
async def notifications_read(request: web.Request) -> web.StreamResponse:
    async with act(request) as work:
        for note in await work.session.scalars(select(StaffNotification).where(
                StaffNotification.staff_id == staff(request).id, StaffNotification.read_at.is_(None))):
            note.read_at = clock.now()
    raise web.HTTPSeeOther("/profile")


@requires(*ALL_ROLES)
async def sign_out_everywhere(request: web.Request) -> web.StreamResponse:
    """End every session of mine, this browser's too (a cookie copied anywhere stops working)."""
    async with act(request) as work:
        ended = await staff_accounts.end_sessions(work.session, staff(request).id)
        await work.audit("sign_out_everywhere", target_type="staff", target_id=staff(request).id,
                         details={"sessions": ended})
    (await get_session(request)).invalidate()
    raise web.HTTPSeeOther("/login")


def setup(app: web.Application) -> None:
    app.router.add_get("/profile", profile)
    app.router.add_post("/profile", profile_update)
    app.router.add_post("/profile/telegram", telegram_link)
    app.router.add_post("/profile/telegram/unlink", telegram_unlink)
    app.router.add_post("/profile/notifications/read", notifications_read)
    app.router.add_post("/profile/sessions/end", sign_out_everywhere)
