"""The language switch in every page's header: a signed-in staff member's choice is saved to their profile
(`Staff.language`, which also words their notifications); before sign-in it is kept in the session. A POST with the
CSRF token, then back to the page it came from."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from staff_console.context import STAFF_KEY, act, local_path, public
from staff_console.i18n import LANGUAGES, SESSION_LANGUAGE, translator
from staff_console.security import signed_in_staff
from storage.models import Staff


@public
async def switch_language(request: web.Request) -> web.StreamResponse:
    """Public, so the sign-in page can switch too; a signed-in visitor is recognised as every page does it (the
    security middleware has already checked the CSRF token)."""
    form = await request.post()
    language = str(form.get("language", ""))
    target = local_path(str(form.get("next", "/")))
    if language not in LANGUAGES:
        _ = translator(request)
        raise web.HTTPBadRequest(text=_("Unknown language."))
    session = await get_session(request)
    session[SESSION_LANGUAGE] = language
    me = await signed_in_staff(request, session)
    if me is not None:
        request[STAFF_KEY] = me  # the audit names who switched
        async with act(request) as work:
            person = await work.session.get(Staff, me.id)
            if person is not None and person.language != language:
                before = person.language
                person.language = language
                await work.audit("staff_update", target_type="staff", target_id=person.id,
                                 details={"language": {"before": before, "after": language}})
    raise web.HTTPSeeOther(target)


def setup(app: web.Application) -> None:
    app.router.add_post("/language", switch_language)
