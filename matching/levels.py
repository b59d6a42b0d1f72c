"""What homes cost here: the price and size levels the parser reads a bare number against.

A budget with no deal word ("2-bed in Chaoyang, 8000") is a rent when it is monthly-sized and a sale when it
is price-sized; a budget or size far outside what homes here cost is questioned rather than trusted. Both
need the city's levels: `levels_from_listings` takes them from the active listings (the 2nd and 98th
percentiles per deal type), `DEFAULT_LEVELS` are a first-tier Chinese city's, used while there are too few
listings to tell.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

# Fewer listings of a deal type than this and its band stays the default one.
MIN_LISTINGS = 20
# A budget is implausible when it is this many times below the lowest rent or above the highest price.
IMPLAUSIBLE_FACTOR = 10.0
DEFAULT_USD_CNY = 7.2


@dataclass(frozen=True)
class PriceLevels:
    rent: tuple[float, float] = (1_500.0, 60_000.0)  # monthly rents, CNY (typical low, typical high)
    sale: tuple[float, float] = (800_000.0, 60_000_000.0)  # total prices, CNY
    area: tuple[float, float] = (15.0, 600.0)  # m²
    usd_cny: float = DEFAULT_USD_CNY  # CNY per US dollar (setting USD_CNY_RATE)
    by_city: tuple[tuple[str, PriceLevels], ...] = ()  # each city's own levels, where it has enough listings

    def for_city(self, city: str | None) -> PriceLevels:
        """The levels of the city the customer names (through a district), else these."""
        for name, levels in self.by_city:
            if name == city:
                return levels.with_rate(self.usd_cny)
        return self

    def deal_for(self, amount: float) -> str | None:
        """'rent' for a monthly-sized amount, 'sale' for a price-sized one, None when it could be either/neither.

        Up to twice the highest rent is a rent, from half the lowest price a sale; where the two overlap the
        nearer band's centre on a log scale decides; in the gap between them nothing is inferred. (Amounts far
        outside both are questioned before this is asked.)
        """
        if amount <= 0 or not math.isfinite(amount):
            return None
        rent = amount <= self.rent[1] * 2
        sale = amount >= self.sale[0] / 2
        if rent and not sale:
            return "rent"
        if sale and not rent:
            return "sale"
        if rent and sale:
            return min(("rent", self.rent), ("sale", self.sale), key=lambda b: abs(math.log(amount / _centre(b[1]))))[0]
        return None  # between a high rent and a low price: could be either

    def budget_plausible(self, amount: float, deal: str | None = None) -> bool:
        """Within a factor of IMPLAUSIBLE_FACTOR of what homes cost (of that deal type, when it is known)."""
        low = self.sale[0] if deal == "sale" else self.rent[0]
        high = self.rent[1] if deal == "rent" else self.sale[1]
        return low / IMPLAUSIBLE_FACTOR <= amount <= high * IMPLAUSIBLE_FACTOR

    def area_plausible(self, area: float) -> bool:
        return self.area[0] / 2 <= area <= self.area[1] * 3

    def with_rate(self, usd_cny: float | None) -> PriceLevels:
        return self if not usd_cny else replace(self, usd_cny=float(usd_cny))


def _centre(band: tuple[float, float]) -> float:
    return math.sqrt(band[0] * band[1])


DEFAULT_LEVELS = PriceLevels()


def _band(values: list[float], default: tuple[float, float]) -> tuple[float, float]:
    values = sorted(v for v in values if v > 0 and math.isfinite(v))
    if len(values) < MIN_LISTINGS:
        return default
    low = values[int(len(values) * 0.02)]
    high = values[min(len(values) - 1, int(len(values) * 0.98))]
    return (float(low), float(high)) if low < high else default


def levels_from_listings(
    rows: Iterable[tuple[str, float, float | None, str | None]], usd_cny: float | None = None
) -> PriceLevels:
    """Levels from (deal_type, price, area_m2, city) of active listings: all cities together, and each city with
    enough listings of its own; defaults where there are too few."""
    rows = list(rows)
    cities = sorted({row[3] for row in rows if row[3]})
    by_city = []
    for city in cities:
        mine = [row for row in rows if row[3] == city]
        if len(mine) >= MIN_LISTINGS:
            by_city.append((city, _levels(mine)))
    return replace(_levels(rows), by_city=tuple(by_city)).with_rate(usd_cny)


def _levels(rows: list[tuple[str, float, float | None, str | None]]) -> PriceLevels:
    rents: list[float] = []
    sales: list[float] = []
    areas: list[float] = []
    for deal, price, area, _city in rows:
        (rents if deal == "rent" else sales if deal == "sale" else []).append(float(price))
        if area:
            areas.append(float(area))
    levels = PriceLevels(
        rent=_band(rents, DEFAULT_LEVELS.rent),
        sale=_band(sales, DEFAULT_LEVELS.sale),
        area=_band(areas, DEFAULT_LEVELS.area),
    )
    if levels.rent[1] * 2 >= levels.sale[0] / 2:  # overlapping bands cannot tell a rent from a price
        levels = replace(levels, rent=DEFAULT_LEVELS.rent, sale=DEFAULT_LEVELS.sale)
    return levels
