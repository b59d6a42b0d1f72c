"""Customers staff enter and edit themselves: a caller or a walk-in visitor, their name, phone, gender, language.

The console's forms call these; the rules (what a name, a phone, a gender, a language may be) live here. A
customer entered by staff has no chat identity yet: when the same person later writes to the bot, staff merge the
two records (storage.services.customer_merge), which keeps this record's details where the chat one has none.
A phone typed by staff is their word, not proof of owning a home: owners are verified by hand on the unit page
(storage.services.units.link_owner).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import clock
from storage.models import Customer
from storage.services.phones import is_plausible_phone, normalise_phone
from storage.unit_of_work import Work
from storage.vocabulary import CUSTOMER_LANGUAGES, CUSTOMER_SOURCES, GENDERS

NAME_LENGTH = 128


class CustomerError(Exception):
    """The details cannot be saved; the message says why."""


@dataclass(frozen=True)
class CustomerDetails:
    first_name: str
    last_name: str | None
    phone: str | None  # normalised digits
    gender: str | None
    language: str


def check_details(*, first_name: str, last_name: str = "", phone: str = "", gender: str = "",
                  language: str = "en") -> CustomerDetails:
    """Validated, normalised details; CustomerError names the first problem."""
    first, last = first_name.strip(), last_name.strip()
    if not first and not last:
        raise CustomerError("a customer needs a name")
    if len(first) > NAME_LENGTH or len(last) > NAME_LENGTH:
        raise CustomerError(f"a name is longer than {NAME_LENGTH} characters")
    digits = normalise_phone(phone) if phone.strip() else ""
    if phone.strip() and not is_plausible_phone(digits):
        raise CustomerError(f"{phone.strip()[:40]} is not a phone number (7 to 15 digits)")
    gender = gender.strip()
    if gender and gender not in GENDERS:
        raise CustomerError(f"unknown gender {gender}")
    if language not in CUSTOMER_LANGUAGES:
        raise CustomerError(f"unknown language {language}")
    return CustomerDetails(first_name=first, last_name=last or None, phone=digits or None, gender=gender or None,
                           language=language)


async def create_customer(work: Work, details: CustomerDetails, *, source: str) -> Customer:
    """A customer staff met by phone or at the office; audited."""
    if source not in CUSTOMER_SOURCES:
        raise CustomerError(f"unknown source {source}")
    now = clock.now()
    customer = Customer(first_name=details.first_name, last_name=details.last_name, phone=details.phone,
                        gender=details.gender, language=details.language, language_chosen=True, source=source,
                        tags=[], created_at=now, updated_at=now, last_seen_at=now)
    work.session.add(customer)
    await work.session.flush()
    await work.audit("customer_create", target_type="customer", target_id=customer.id,
                     details={"source": source, "phone": customer.phone})
    return customer


async def update_customer(work: Work, customer_id: int, details: CustomerDetails) -> Customer:
    """Staff correct a customer's name, phone, gender or language; audited with what changed."""
    customer = await work.session.get(Customer, customer_id)
    if customer is None:
        raise CustomerError("no such customer")
    changed: dict[str, list[str | None]] = {}
    for name in ("first_name", "last_name", "phone", "gender", "language"):
        before, after = getattr(customer, name), getattr(details, name)
        if before != after:
            changed[name] = [before, after]
            setattr(customer, name, after)
    if "phone" in changed:  # a number staff typed is not one the customer shared from their app
        customer.phone_verified_at = None
    if "language" in changed:  # staff set it as the customer asked: their app's language no longer overrides it
        customer.language_chosen = True
    await work.session.flush()
    if changed:
        await work.audit("customer_edit", target_type="customer", target_id=customer.id, details=changed)
    return customer
