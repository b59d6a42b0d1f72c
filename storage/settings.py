"""Configuration from environment variables and a `.env` file.

This module is a leaf: every layer may import it, it imports nothing of ours. It lives in storage, the
lowest layer, so no import arrow runs back up; `homedesk` builds Settings once and passes them down.
Secrets are `SecretStr` so they never show up in reprs or logs.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

# Telegram tokens look like "123456789:AA..." (bot id, colon, 35 url-safe characters).
_TOKEN_RE = re.compile(r"^\d{3,15}:[A-Za-z0-9_-]{30,64}$")
SUPPORTED_LOCALES = ("en", "zh")
_ORIGIN_RE = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9a-f:.]+\](:\d{1,5})?$")


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def proxy_networks(spec: str) -> tuple[IPNetwork, ...]:
    """`10.0.0.2, 192.168.0.0/24, ::1` -> networks (a bare address is a one-address network)."""
    networks = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(networks)


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///homedesk.db"
    redis_url: str | None = None
    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8080)
    console_secret: SecretStr | None = None  # 32-byte key for session cookies; generated per run when unset
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    timezone: str = "Asia/Shanghai"
    default_locale: str = "en"
    log_level: str = "INFO"
    media_dir: str | None = None  # photos (listings, console uploads); read it through `media_path`
    # Telegram's limits; lower them, never raise them.
    send_rate_global: float = 29.0
    send_rate_per_chat_seconds: float = 1.0
    send_rate_group_per_minute: int = 20
    # Human handoff: an assignee who has not answered within this many minutes loses the conversation to the queue.
    handoff_reassign_minutes: int = Field(default=5, ge=1)
    handoff_tick_seconds: float = 15.0  # how often the scheduler auto-assigns and requeues; 0 turns it off
    # Several instances: how often the instance leading recovery looks for stored updates a stopped instance left
    # unhandled (those waiting at least twice as long).
    intake_sweep_seconds: float = Field(default=15.0, gt=0)
    # Whether customers are told staff members' names (who joined, who a transfer went to); off, they hear "a
    # colleague" instead, as companies that keep staff names private prefer.
    staff_names_to_customers: bool = True
    business_hours: str = "09:00-18:00"  # when people answer, in TIMEZONE
    business_days: str = "mon,tue,wed,thu,fri,sat"
    # After-sales: SLA clocks count these days (holidays and make-up workdays from the Holiday table), in TIMEZONE.
    sla_business_hours: str = "09:00-18:00"
    sla_business_days: str = "mon,tue,wed,thu,fri"
    # Budgets written in US dollars are converted to CNY at this rate (and the customer is told so).
    usd_cny_rate: float = Field(default=7.2, gt=0, le=1000)
    quiet_hours: str = "21:00-08:00"  # reminders wait for the morning, in the recipient's time zone
    waiting_alert_minutes: int = Field(default=10, ge=1)  # leads are told of customers waiting longer for a person
    # Deals (storage.services.milestones): the move-in notice goes out this many days before the handover date;
    # staff are reminded this many hours before a milestone step is due (and again once it is overdue); the area
    # settlement settles at the contract price up to this difference (percent), see the README.
    move_in_notice_days: int = Field(default=14, ge=1, le=180)
    milestone_remind_hours: int = Field(default=24, ge=1, le=720)
    area_settlement_threshold: float = Field(default=3.0, ge=0, le=100)
    console_secure_cookies: bool = False  # force Secure cookies (they are also Secure behind an HTTPS proxy)
    telegram_bot_username: str | None = None  # for staff deep links; asked from getMe when unset
    # The web chat: sites allowed to embed /widget.js (comma-separated origins, e.g. https://www.example.com);
    # the chat's own site is always allowed. Read it through `webchat_origin_list`.
    webchat_origins: str = ""
    webchat_visitor_per_minute: int = Field(default=30, ge=1)  # messages and uploads one visitor may send
    webchat_ip_per_minute: int = Field(default=300, ge=1)  # the same from one address (many visitors behind NAT)
    webchat_max_upload_mb: float = Field(default=10.0, gt=0, le=50)  # one photo
    # Listings kept true: a listing not verified for this many days is flagged and its agent reminded; after the
    # grace period more it is no longer recommended until an agent verifies it.
    verify_rent_days: int = Field(default=14, ge=1, le=3650)
    verify_sale_days: int = Field(default=30, ge=1, le=3650)
    verify_grace_days: int = Field(default=7, ge=0, le=3650)
    # Open customer reports ("already rented", "price is different"...) that pause a listing until it is verified.
    listing_reports_to_pause: int = Field(default=2, ge=1, le=1000)
    verification_tick_seconds: float = 3600.0  # how often stale listings are flagged and withheld; 0 = off
    # Owners' valuation: fewer comparable listings than this and Homedesk says so instead of guessing.
    valuation_min_comparables: int = Field(default=3, ge=1, le=100)
    # Reverse proxies whose X-Forwarded-For the console believes (IPs or CIDRs, comma-separated); empty = none.
    trusted_proxies: str = ""

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not _TOKEN_RE.match(str(value)):
            raise ValueError("does not look like a Telegram bot token (expected 123456:ABC...)")
        return value

    @field_validator("console_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("must be between 0 and 65535")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg|postgresql|postgres)://", value):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        return ",".join(str(network) for network in proxy_networks(value))

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        value = value.lower().replace("_", "-")
        if value.startswith("zh"):
            return "zh"
        if value.startswith("en"):
            return "en"
        raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")

    @field_validator("webchat_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        origins = [part.strip().rstrip("/").lower() for part in value.split(",") if part.strip()]
        for origin in origins:
            if not _ORIGIN_RE.match(origin):
                raise ValueError(f"{origin!r} is not an origin like https://www.example.com (scheme, host, port)")
        return ",".join(origins)

    @property
    def webchat_origin_list(self) -> tuple[str, ...]:
        return tuple(part for part in self.webchat_origins.split(",") if part)

    def verify_days(self, deal_type: str) -> int:
        """Days a listing of this deal type stays fresh after it was verified."""
        return self.verify_rent_days if deal_type == "rent" else self.verify_sale_days

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def bot_token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return proxy_networks(self.trusted_proxies)

    @property
    def media_path(self) -> Path:
        """Where media live (absolute): MEDIA_DIR when set, else `media/` beside the SQLite file, else ./media.

        Absolute, so every process of one installation (bot sender, console) finds the same files.
        """
        if self.media_dir:
            return Path(self.media_dir).resolve()
        url = make_url(self.database_url)
        if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
            return (Path(url.database).parent / "media").resolve()
        return Path("media").resolve()


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one readable line naming the setting (pydantic checks each
    override's type, so any value may come in)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
