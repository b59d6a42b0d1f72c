"""Staff accounts: Argon2 hashes, validation, duplicates; and phone normalisation."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from storage.services.phones import is_plausible_phone, normalise_phone
from storage.services.staff_accounts import (
    StaffAccountError,
    by_email,
    create_staff,
    hash_password,
    needs_rehash,
    verify_password,
)


def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password("not a hash", "correct horse")
    assert not needs_rehash(hashed)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
    assert needs_rehash(weak)
    assert needs_rehash("not a hash")


async def test_create_staff(any_sessions) -> None:
    async with any_sessions() as session, session.begin():
        staff = await create_staff(
            session, " Li.Na@Example.com ", "Li Na", "agent", "password1", skills=["en", "zh"]
        )
    assert staff.id is not None and staff.email == "li.na@example.com"
    async with any_sessions() as session:
        stored = await by_email(session, "LI.NA@example.com")
    assert stored is not None and stored.skills == ["en", "zh"] and stored.role == "agent"
    assert verify_password(stored.password_hash, "password1")


@pytest.mark.parametrize(
    ("email", "role", "password", "reason"),
    [
        ("a@example.com", "boss", "password1", "unknown role 'boss'"),
        ("not-an-email", "agent", "password1", "is not an email address"),
        ("a@example.com", "agent", "short", "at least 8 characters"),
    ],
)
async def test_create_staff_rejects(any_sessions, email, role, password, reason) -> None:
    async with any_sessions() as session:
        with pytest.raises(StaffAccountError, match=reason):
            await create_staff(session, email, "Someone", role, password)


async def test_duplicate_email_is_rejected(any_sessions) -> None:
    async with any_sessions() as session, session.begin():
        await create_staff(session, "dup@example.com", "First", "admin", "password1")
    async with any_sessions() as session:
        with pytest.raises(StaffAccountError, match="already exists"):
            await create_staff(session, "DUP@example.com", "Second", "agent", "password2")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("(010) 6552-1234", "01065521234"),
        ("86123456", "86123456"),  # a local number that happens to start with 86 keeps its digits
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_phone(raw, expected) -> None:
    assert normalise_phone(raw) == expected


def test_plausible_phone() -> None:
    assert is_plausible_phone("13800138000")
    assert not is_plausible_phone("123")
    assert not is_plausible_phone("1" * 16)
