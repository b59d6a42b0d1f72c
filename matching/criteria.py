"""What a customer asks for, as structured criteria (the `need` of the architecture document)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

# The keys other tools rely on (ARCHITECTURE.md, `homedesk match --json`), in contract order.
CONTRACT_KEYS = (
    "deal_type",
    "property_types",
    "districts",
    "budget_min",
    "budget_max",
    "currency",
    "bedrooms_min",
    "bedrooms_max",
    "area_min",
    "area_max",
    "move_in_by",
    "must_have",
    "furnished",
    "pets",
)
# Keys added by issue 15 (README, "match --json"): present in every output, null when not stated.
ADDED_KEYS = (
    "decoration",  # 'fine' (精装) | 'basic' (简装) | 'bare' (毛坯)
    "partly_furnished",  # true: a partly furnished home is what was asked for (furnished is then true too)
    "deal_type_inferred",  # true: no deal word; deal_type was read from the budget's size
    "currency_stated",  # the currency the budget was written in ('CNY' | 'USD'); budget_min/max are in `currency`
    "budget_stated_min",  # the budget as written, in currency_stated, when it was converted
    "budget_stated_max",
    "exchange_rate",  # CNY per unit of currency_stated used for the conversion
)
_LIST_KEYS = ("property_types", "districts", "must_have")
# Dialog-only keys: serialised only when they carry something, so stored needs stay small.
_EXTRA_KEYS = ("district_candidates", "warnings", "exclude", "questioned")


@dataclass
class Criteria:
    deal_type: str | None = None  # 'sale' | 'rent'
    property_types: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)  # canonical English district names
    budget_min: float | None = None  # rent: per month; sale: total price
    budget_max: float | None = None
    currency: str | None = None
    bedrooms_min: int | None = None
    bedrooms_max: int | None = None
    area_min: float | None = None
    area_max: float | None = None
    move_in_by: date | None = None
    must_have: list[str] = field(default_factory=list)  # feature slugs: parking, elevator, near_metro, ...
    furnished: bool | None = None
    pets: bool | None = None
    decoration: str | None = None
    partly_furnished: bool | None = None
    deal_type_inferred: bool | None = None
    currency_stated: str | None = None
    budget_stated_min: float | None = None
    budget_stated_max: float | None = None
    exchange_rate: float | None = None
    # Not part of the contract: for the dialog.
    district_candidates: dict[str, list[str]] = field(default_factory=dict)  # unclear text -> candidates
    warnings: list[str] = field(default_factory=list)  # codes, rendered by matching.reasons.render
    exclude: list[str] = field(default_factory=list)  # feature slugs the customer does not want
    # What was read but is too implausible to use ('9999999999 bedrooms'): field -> the words as written.
    # The field stays empty and the dialog asks for it again, quoting these words.
    questioned: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """True when nothing at all was understood (the dialog then asks again)."""
        return all(getattr(self, key) in (None, [], {}) for key in (*CONTRACT_KEYS, "decoration")) and not (
            self.exclude or self.district_candidates or self.questioned
        )

    def to_json(self) -> dict[str, Any]:
        """Contract keys always present (null when not stated, dates ISO); extras only when non-empty."""
        out: dict[str, Any] = {}
        for key in (*CONTRACT_KEYS, *ADDED_KEYS):
            value = getattr(self, key)
            if key in _LIST_KEYS:
                out[key] = list(value) if value else None
            elif isinstance(value, date):
                out[key] = value.isoformat()
            elif isinstance(value, float) and value.is_integer():
                out[key] = int(value)
            else:
                out[key] = value
        for key in _EXTRA_KEYS:
            value = getattr(self, key)
            if value:
                if isinstance(value, dict):
                    out[key] = {k: (v if isinstance(v, str) else list(v)) for k, v in value.items()}
                else:
                    out[key] = list(value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Criteria:
        """Inverse of to_json; unknown keys are ignored so old stored needs keep loading."""
        data = data or {}
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known or value is None:
                continue
            if key == "move_in_by":
                value = date.fromisoformat(value) if isinstance(value, str) else value
            elif key in _LIST_KEYS or key in ("warnings", "exclude"):
                value = [str(v) for v in value]
            elif key == "district_candidates":
                value = {str(k): [str(x) for x in v] for k, v in dict(value).items()}
            elif key == "questioned":
                value = {str(k): str(v) for k, v in dict(value).items()}
            elif key in ("budget_min", "budget_max", "area_min", "area_max", "budget_stated_min",
                         "budget_stated_max", "exchange_rate"):
                value = float(value)
            elif key in ("bedrooms_min", "bedrooms_max"):
                value = int(value)
            kwargs[key] = value
        return cls(**kwargs)
