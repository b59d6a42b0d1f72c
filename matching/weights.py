"""Every ranking knob in one place: how much each part of the score weighs and how forgiving filters are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    # Points per component; they add up to 100 so a perfect listing scores 100.
    price: float = 30.0
    location: float = 25.0
    rooms: float = 15.0
    area: float = 10.0
    move_in: float = 10.0
    features: float = 10.0

    # Hard-filter tolerances (a listing outside them is never shown).
    budget_over: float = 0.10  # up to 10% above budget_max still shown, scored lower
    budget_under: float = 0.30  # down to 30% below budget_min still shown
    area_tolerance: float = 0.10  # area may miss the asked range by 10%
    extra_bedrooms: int = 1  # one bedroom more than asked is still shown
    move_in_grace_days: int = 14  # available up to two weeks after the wanted date
    radius_km: float = 8.0  # outside chosen and neighbour districts, listings this close still count

    # Component shapes.
    neighbour_share: float = 0.65  # a neighbour district earns this share of the location points
    nearby_share: float = 0.45  # the best a merely nearby listing earns (at distance 0)
    over_budget_floor: float = 0.3  # price share left at the top of the tolerance
    under_budget_floor: float = 0.6  # price share left at the bottom of the tolerance
    unknown_share: float = 0.6  # unknown pets / furniture / availability earn this share
    extra_bedroom_share: float = 0.6
    late_move_in_floor: float = 0.3

    # Customer feedback: points taken per rejected listing the candidate resembles (capped).
    feedback_penalty: float = 15.0
    feedback_penalty_cap: float = 30.0

    @property
    def total(self) -> float:
        return self.price + self.location + self.rooms + self.area + self.move_in + self.features


DEFAULT_WEIGHTS = Weights()
