"""Area settlement (面积补差): the difference between the contract area and the measured (registered) area, settled
in money, by the rule of the Measures for the Administration of the Sale of Commodity Housing, art. 20:

- area error ratio = (measured − contract) / contract;
- within ±threshold (AREA_SETTLEMENT_THRESHOLD, default 3 %): settled at the contract price per m², either way;
- larger home beyond the threshold: the buyer pays only for the part within the threshold; the developer bears the
  rest;
- smaller home beyond the threshold: the developer refunds the part within the threshold at the contract price and
  the part beyond it at twice the price.

The price per m² is the contract's (`Deal.unit_price`), else the price divided by the contract area. Amounts are
rounded half-up to the cent; positive means the owner pays, negative that the owner is refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from storage.models import Deal, Milestone, Unit
from storage.services import milestones
from storage.services.milestones import SETTLEMENT, MilestoneError
from storage.unit_of_work import Work

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Settlement:
    contract_area: Decimal
    measured_area: Decimal
    unit_price: Decimal
    ratio: Decimal  # percent, signed
    amount: Decimal  # positive: the owner pays; negative: the owner is refunded

    @property
    def direction(self) -> str:
        return "pay" if self.amount > 0 else "refund" if self.amount < 0 else "none"

    def as_data(self) -> dict[str, Any]:
        return {"contract_area": str(self.contract_area), "measured_area": str(self.measured_area),
                "unit_price": str(self.unit_price), "ratio": str(self.ratio.quantize(CENT, ROUND_HALF_UP)),
                "amount": str(self.amount), "direction": self.direction}


def settle(contract_area: Decimal, measured_area: Decimal, unit_price: Decimal,
           threshold_percent: Decimal | float = Decimal(3)) -> Settlement:
    """The settlement of one home (see the module docstring for the rule)."""
    if contract_area <= 0 or measured_area <= 0:
        raise ValueError("areas must be positive")
    if unit_price < 0:
        raise ValueError("the price per m² cannot be negative")
    threshold = Decimal(str(threshold_percent)) / 100
    difference = measured_area - contract_area
    limit = contract_area * threshold  # m² settled at the contract price
    if abs(difference) <= limit:
        amount = difference * unit_price
    elif difference > 0:
        amount = limit * unit_price
    else:
        amount = -(limit * unit_price + 2 * (-difference - limit) * unit_price)
    return Settlement(contract_area, measured_area, unit_price, difference / contract_area * 100,
                      amount.quantize(CENT, ROUND_HALF_UP))


def unit_price(deal: Deal) -> Decimal | None:
    if deal.unit_price is not None:
        return deal.unit_price
    if deal.contract_area:
        return (deal.price / deal.contract_area).quantize(CENT, ROUND_HALF_UP)
    return None


@dataclass(frozen=True)
class BuildingResult:
    computed: list[tuple[Deal, Settlement]]
    skipped: list[tuple[Deal, str]]  # deal and why (no areas yet, already notified)


async def compute_building(work: Work, building_id: int, *, notify: bool = False) -> BuildingResult:
    """Compute the settlement of every active sale in a building that has both areas; with `notify`, each owner is
    told their amount (the track moves to notified)."""
    session = work.session
    rows = (await session.execute(
        select(Deal, Milestone).join(Unit, Unit.id == Deal.unit_id)
        .join(Milestone, (Milestone.deal_id == Deal.id) & (Milestone.track == SETTLEMENT))
        .where(Unit.building_id == building_id, Deal.status == "active").order_by(Unit.unit_no, Deal.id)
    )).tuples().all()
    computed: list[tuple[Deal, Settlement]] = []
    skipped: list[tuple[Deal, str]] = []
    threshold = Decimal(str(work.settings.area_settlement_threshold))
    for deal, milestone in rows:
        price = unit_price(deal)
        if deal.contract_area is None or deal.measured_area is None or price is None:
            skipped.append((deal, "no contract or measured area"))
            continue
        if milestone.status not in ("pending", "computed"):
            skipped.append((deal, "already notified"))
            continue
        result = settle(deal.contract_area, deal.measured_area, price, threshold)
        milestone.data = {**(milestone.data or {}), "settlement": result.as_data(), "currency": deal.currency}
        await milestones.advance(work, milestone, "computed", data=result.as_data(), recorded=True)
        if notify:
            await milestones.advance(work, milestone, "notified")
        computed.append((deal, result))
    return BuildingResult(computed, skipped)


async def notify_one(work: Work, milestone: Milestone) -> None:
    if milestone.track != SETTLEMENT or "settlement" not in (milestone.data or {}):
        raise MilestoneError("compute the settlement first")
    await milestones.advance(work, milestone, "notified")
