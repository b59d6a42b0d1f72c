"""Sign in and out.

Sign-in attempts are paced per address and per account in this process (`LoginLimiter`: a few at a time, a few
more wait, the rest get 429 with Retry-After) and counted in the database (storage.services.auth), so an attack
gets slow answers or 429s, never 500s, and never takes the connection pool or the write gate from the staff.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from staff_console.context import ALL_ROLES, WORKPLACE_KEY, act, client_ip, local_path, public, requires, staff
from staff_console.i18n import translator
from staff_console.security import (
    LoginBusy,
    LoginLimiter,
    session_token,
    signed_in_staff,
    start_staff_session,
)
from storage.services import auth, staff_accounts

LIMITER_KEY = web.AppKey("login_limiter", LoginLimiter)


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    if await signed_in_staff(request, session) is not None:
        raise web.HTTPFound(local_path(request.query.get("next")))
    return aiohttp_jinja2.render_template("login.html", request, {"next": local_path(request.query.get("next")),
                                                                  "error": None, "email": ""})


def _refused(request: web.Request, target: str, email: str, retry_after: int) -> web.StreamResponse:
    _ = translator(request)
    minutes = max(1, round(retry_after / 60))
    error = (_.ngettext("Too many attempts. Try again in %(num)s minute.",
                        "Too many attempts. Try again in %(num)s minutes.", minutes) if retry_after >= 60
             else _("Too many attempts. Try again in a few seconds."))
    response = aiohttp_jinja2.render_template("login.html", request, {"next": target, "error": error,
                                                                      "email": email}, status=429)
    response.headers["Retry-After"] = str(max(1, retry_after))
    return response


@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))[:1024]
    target = local_path(str(form.get("next", "/")))
    ip = client_ip(request)
    try:
        async with request.app[LIMITER_KEY].turn(f"ip:{ip}", f"account:{staff_accounts.normalise_email(email)}"):
            result = await auth.login(request.app[WORKPLACE_KEY].gate, email, password, ip=ip)
    except LoginBusy as busy:
        return _refused(request, target, email, busy.retry_after)
    if result.ok and result.staff is not None and result.session_token is not None:
        await start_staff_session(request, result.staff, result.session_token)
        raise web.HTTPFound(target)
    if result.outcome in ("locked", "throttled"):
        return _refused(request, target, email, result.retry_after_seconds)
    _ = translator(request)
    return aiohttp_jinja2.render_template("login.html", request, {
        "next": target, "error": _("Wrong email or password."), "email": email}, status=401)


@requires(*ALL_ROLES)
async def logout(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    async with act(request) as work:
        await staff_accounts.end_session(work.session, session_token(session))
        await work.audit("logout")
    session.invalidate()
    raise web.HTTPFound("/login")


@requires(*ALL_ROLES)
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/inbox" if staff(request).role in ("admin", "agent") else "/profile")


def setup(app: web.Application) -> None:
    app[LIMITER_KEY] = LoginLimiter()
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", home)
