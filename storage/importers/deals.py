"""Deals, signed sales and leases (`contract_no,project,building,unit_no,customer_name,customer_phone,signed_on,price,
currency,payment_method,handover_date,staff_email`), keyed by contract number: a rerun updates them.

Optional columns (README, "CSV formats"): kind (sale or lease, default sale), contract_area and measured_area (m²,
for the area settlement), unit_price (contract price per m²), loan_amount, bank, notes. Every row goes through
`storage.services.deals.save_deal`, the one place the console's form uses too; projects, buildings and units are
created on first mention, and each deal gets its milestone tracks.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.importers.common import (
    BATCH_SIZE,
    CsvSource,
    ImportReport,
    ProgressCallback,
    Row,
    RowError,
    date_cell,
    enum_cell,
    last_wins,
    read_rows,
    required,
    run_batches,
    text_cell,
    validate_rows,
)
from storage.models import Staff
from storage.services.deals import DEAL_KINDS, PAYMENT_METHODS, DealError, DealInput, check, parse_decimal, save_deal
from storage.settings import Settings

DEAL_COLUMNS = ("contract_no", "project", "building", "unit_no", "customer_name", "customer_phone", "signed_on",
                "price", "currency", "payment_method", "handover_date", "staff_email")
OPTIONAL_COLUMNS = ("kind", "contract_area", "measured_area", "unit_price", "loan_amount", "bank", "notes")
_REQUIRED = ("contract_no", "project", "building", "unit_no", "customer_phone", "signed_on", "price",
             "payment_method")


def parse_deal(row: Row) -> DealInput:
    try:
        signed_on = date_cell(row, "signed_on")
        if signed_on is None:
            raise RowError("signed_on is required")
        data = DealInput(
            contract_no=required(row, "contract_no", 64), project=required(row, "project", 128),
            building=required(row, "building", 64), unit_no=required(row, "unit_no", 32),
            customer_name=text_cell(row, "customer_name", 128), customer_phone=required(row, "customer_phone", 32),
            signed_on=signed_on,
            price=parse_decimal(row.get("price"), "price", required=True) or 0,  # type: ignore[arg-type]
            currency=text_cell(row, "currency", 3) or "CNY",
            payment_method=enum_cell(row, "payment_method", PAYMENT_METHODS),
            handover_date=date_cell(row, "handover_date"), staff_email=text_cell(row, "staff_email", 254) or None,
            kind=enum_cell(row, "kind", DEAL_KINDS, default="sale"),
            contract_area=parse_decimal(row.get("contract_area"), "contract_area"),
            measured_area=parse_decimal(row.get("measured_area"), "measured_area"),
            unit_price=parse_decimal(row.get("unit_price"), "unit_price"),
            loan_amount=parse_decimal(row.get("loan_amount"), "loan_amount"),
            bank=text_cell(row, "bank", 64) or None, notes=text_cell(row, "notes", 2000) or None,
        )
        return check(data)
    except DealError as exc:
        raise RowError(str(exc)) from None


async def import_deals(
    factory: async_sessionmaker[AsyncSession],
    source: CsvSource,
    *,
    settings: Settings,
    progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    report = ImportReport()
    rows = read_rows(source, DEAL_COLUMNS + OPTIONAL_COLUMNS, _REQUIRED, report)
    good = last_wins(validate_rows(rows, parse_deal, report), lambda parsed: parsed.contract_no, report)
    staff_ids: dict[str, int] = {}

    async def handle(session: AsyncSession, batch: Sequence[tuple[Row, DealInput]]) -> None:
        if not staff_ids:
            staff_ids.update({email.lower(): id_ for id_, email in
                              (await session.execute(select(Staff.id, Staff.email))).tuples().all()})
        for row, parsed in batch:
            try:
                async with session.begin_nested():  # a row refused here leaves the rest of the batch alone
                    _, outcome = await save_deal(session, parsed, settings=settings, staff_ids=staff_ids)
            except DealError as exc:
                report.errors.append((row.line, str(exc)))
                continue
            if outcome == "inserted":
                report.inserted += 1
            elif outcome == "updated":
                report.updated += 1
            else:
                report.unchanged += 1

    await run_batches(factory, good, handle, progress, batch_size)
    report.errors.sort()
    return report
