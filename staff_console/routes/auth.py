"""Sign in and out."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from staff_console.context import ALL_ROLES, act, client_ip, local_path, public, requires, staff
from staff_console.security import start_staff_session
from storage.services import auth


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    if isinstance(session.get("staff_id"), int):
        raise web.HTTPFound(local_path(request.query.get("next")))
    return aiohttp_jinja2.render_template("login.html", request, {"next": request.query.get("next", "/"),
                                                                  "error": None, "email": ""})


@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email, password = str(form.get("email", ""))[:254], str(form.get("password", ""))[:1024]
    target = local_path(str(form.get("next", "/")))
    async with act(request) as work:
        result = await auth.login(work.session, email, password, ip=client_ip(request))
    if result.ok and result.staff is not None:
        await start_staff_session(request, result.staff)
        raise web.HTTPFound(target)
    if result.outcome in ("locked", "throttled"):
        minutes = max(1, result.retry_after_seconds // 60)
        error, status = f"Too many attempts. Try again in {minutes} minutes.", 429
    else:
        error, status = "Wrong email or password.", 401
    response = aiohttp_jinja2.render_template("login.html", request, {"next": target, "error": error,
                                                                      "email": email}, status=status)
    if result.retry_after_seconds:
        response.headers["Retry-After"] = str(result.retry_after_seconds)
    return response


@requires(*ALL_ROLES)
async def logout(request: web.Request) -> web.StreamResponse:
    async with act(request) as work:
        await work.audit("logout")
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound("/login")


@requires(*ALL_ROLES)
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/inbox" if staff(request).role in ("admin", "agent") else "/profile")


def setup(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", home)
