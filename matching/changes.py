"""Notice listing and district changes committed in this process, so cached indexes refresh at once.

Edits made by other processes are caught by the periodic probes in districts.py and snapshot.py. The caches
subscribe here (listing snapshots with `subscribe`, the district index with `on_districts_committed`); this
module knows none of them, so the imports run one way only.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from itertools import chain
from typing import Any, Protocol

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage.models import District, Listing

_installed = False
_LISTING_IDS = "homedesk_matching_listing_ids"
_LISTINGS_BULK = "homedesk_matching_listings_bulk"
_DISTRICTS = "homedesk_matching_districts"


class ListingChangeSink(Protocol):
    def note_changed(self, ids: set[int] | None) -> None:
        """ids changed; None means 'anything may have changed'."""


_sinks: weakref.WeakSet[Any] = weakref.WeakSet()
_district_callbacks: set[Callable[[], None]] = set()


def subscribe(sink: ListingChangeSink) -> None:
    _sinks.add(sink)


def on_districts_committed(callback: Callable[[], None]) -> None:
    """Call this after every commit in this process that changed districts (idempotent per callback)."""
    _district_callbacks.add(callback)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Listing):
            # The identity key, not obj.id: reading an expired attribute here would query the database.
            identity = inspect(obj).identity
            if identity:
                session.info.setdefault(_LISTING_IDS, set()).add(identity[0])
            else:
                session.info[_LISTINGS_BULK] = True
        elif isinstance(obj, District):
            session.info[_DISTRICTS] = True


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    for mapper in state.all_mappers:
        if mapper.class_ is Listing:
            state.session.info[_LISTINGS_BULK] = True
        elif mapper.class_ is District:
            state.session.info[_DISTRICTS] = True


def _after_commit(session: Session) -> None:
    ids = session.info.pop(_LISTING_IDS, None)
    bulk = session.info.pop(_LISTINGS_BULK, False)
    if session.info.pop(_DISTRICTS, False):
        for callback in list(_district_callbacks):
            callback()
    if bulk or ids:
        for sink in list(_sinks):
            sink.note_changed(None if bulk else set(ids))


def _after_rollback(session: Session) -> None:
    for key in (_LISTING_IDS, _LISTINGS_BULK, _DISTRICTS):
        session.info.pop(key, None)


def install() -> None:
    """Register the session hooks once per process (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True
