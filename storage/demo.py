"""`homedesk seed-demo`: a believable Beijing data set, built deterministically from a fixed random seed.

Districts, listings and units go in through the CSV importers (the same path an agency's files take),
so the demo also exercises them. Photos are small PNG drawings (floor plans, facades, rooms) made here
at seed time; nothing third-party is shipped.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import secrets
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import clock
from storage.importers import (
    DEAL_COLUMNS,
    LISTING_COLUMNS,
    UNIT_COLUMNS,
    ImportReport,
    import_deals,
    import_districts,
    import_listings,
    import_units,
)
from storage.importers.common import split_list
from storage.models import (
    CannedReply,
    District,
    FaqEntry,
    Holiday,
    Listing,
    Project,
    SlaPolicy,
    WarrantyPeriod,
)
from storage.services.staff_accounts import by_email, create_staff
from storage.settings import Settings
from storage.text import has_chinese

DATA = Path(__file__).with_name("demo_data")
CITY = "Beijing"
PROJECT = "Sunrise Garden 朝阳花园"
RENT_LISTINGS = 190
SALE_LISTINGS = 150
SEED = 2026

# --- people -------------------------------------------------------------------------------------------------

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
AGENT_HOURS = {**{day: [["09:00", "18:00"]] for day in _WEEKDAYS}, "sat": [["10:00", "16:00"]]}
SERVICE_HOURS = {**{day: [["08:30", "17:30"]] for day in _WEEKDAYS}, "sat": [["09:00", "13:00"]]}


@dataclass(frozen=True)
class DemoStaff:
    email: str
    name: str
    role: str
    team: str | None
    language: str
    skills: tuple[str, ...] = ()
    service_areas: tuple[str, ...] = ()
    is_team_lead: bool = False


DEMO_STAFF = (
    DemoStaff("admin@homedesk.local", "Admin 管理员", "admin", None, "en"),
    DemoStaff("li.na@homedesk.local", "Li Na 李娜", "agent", "sales", "zh", ("en", "zh"),
              ("Chaoyang", "Dongcheng"), is_team_lead=True),
    DemoStaff("wang.lei@homedesk.local", "Wang Lei 王磊", "agent", "sales", "zh", ("zh",),
              ("Haidian", "Xicheng", "Shijingshan")),
    DemoStaff("emma.zhang@homedesk.local", "Emma Zhang 张艾玛", "agent", "sales", "en", ("en", "zh"),
              ("Chaoyang", "Shunyi", "Tongzhou", "Huairou")),
    DemoStaff("chen.jie@homedesk.local", "Chen Jie 陈杰", "agent", "sales", "zh", ("zh", "en"),
              ("Fengtai", "Daxing", "Changping", "Fangshan", "Mentougou")),
    DemoStaff("zhao.gang@homedesk.local", "Zhao Gang 赵刚", "service", "repair", "zh",
              ("plumbing", "waterproofing", "heating_cooling"), (PROJECT,), is_team_lead=True),
    DemoStaff("liu.yang@homedesk.local", "Liu Yang 刘洋", "service", "repair", "zh",
              ("electrical", "equipment", "doors_windows"), (PROJECT,)),
    DemoStaff("sun.mei@homedesk.local", "Sun Mei 孙梅", "service", "complaints", "zh",
              ("walls_decoration", "other", "service_attitude", "property_management", "product_quality"), (PROJECT,)),
)

# --- after-sales rules ----------------------------------------------------------------------------------------

WARRANTY_MONTHS: dict[str, tuple[int | None, str]] = {
    "waterproofing": (60, "Roof, bathroom and exterior wall waterproofing: 5 years"),
    "heating_cooling": (24, "Heating and cooling systems: 2 heating/cooling seasons"),
    "electrical": (24, "Electrical wiring and fittings: 2 years"),
    "plumbing": (24, "Water supply and drainage: 2 years"),
    "equipment": (24, "Equipment installation: 2 years"),
    "walls_decoration": (24, "Decoration works: 2 years"),
    "doors_windows": (24, "Doors and windows installation: 2 years"),
    "structure": (None, "Foundations and main structure: the design life of the building"),
    "other": (24, "Anything else: 2 years"),
}

_DAY = 24 * 60
# (kind, category, priority, first response minutes, resolve minutes, counted in business hours)
# (kind, category, priority, first response minutes, resolve minutes, business hours); None = any.
SLA_POLICIES: tuple[tuple[str, str | None, str | None, int, int, bool], ...] = (
    ("repair", None, "emergency", 60, _DAY, False),
    ("repair", None, "normal", _DAY, 7 * _DAY, True),
    ("repair", None, None, _DAY, 7 * _DAY, True),
    ("complaint", None, None, _DAY, 3 * _DAY, True),
)

# Days off and make-up working days (调休). 2026 as announced by the State Council; 2027 holidays on
# their calendar dates only, until the official schedule is out.
HOLIDAYS: tuple[tuple[str, str, bool], ...] = (
    *((f"2026-01-0{d}", "New Year 元旦", False) for d in (1, 2, 3)),
    ("2026-01-04", "New Year make-up workday 元旦调休上班", True),
    ("2026-02-14", "Spring Festival make-up workday 春节调休上班", True),
    *((f"2026-02-{d}", "Spring Festival 春节", False) for d in range(15, 24)),
    ("2026-02-28", "Spring Festival make-up workday 春节调休上班", True),
    *((f"2026-04-0{d}", "Qingming 清明节", False) for d in (4, 5, 6)),
    *((f"2026-05-0{d}", "Labour Day 劳动节", False) for d in range(1, 6)),
    ("2026-05-09", "Labour Day make-up workday 劳动节调休上班", True),
    *((f"2026-06-{d}", "Dragon Boat Festival 端午节", False) for d in (19, 20, 21)),
    ("2026-09-20", "National Day make-up workday 国庆节调休上班", True),
    *((f"2026-09-{d}", "Mid-Autumn Festival 中秋节", False) for d in (25, 26, 27)),
    *((f"2026-10-0{d}", "National Day 国庆节", False) for d in range(1, 8)),
    ("2026-10-10", "National Day make-up workday 国庆节调休上班", True),
    ("2027-01-01", "New Year 元旦", False),
    *((f"2027-02-{d:02d}", "Spring Festival 春节", False) for d in range(6, 13)),
    ("2027-04-05", "Qingming 清明节", False),
    *((f"2027-05-0{d}", "Labour Day 劳动节", False) for d in range(1, 6)),
    ("2027-06-09", "Dragon Boat Festival 端午节", False),
    ("2027-09-15", "Mid-Autumn Festival 中秋节", False),
    *((f"2027-10-0{d}", "National Day 国庆节", False) for d in range(1, 8)),
)

# --- listings ------------------------------------------------------------------------------------------------

# District: (share of listings, sale CNY per m², rent CNY per m² per month)
PRICE_LEVELS = {
    "Dongcheng": (7, 130_000, 145), "Xicheng": (7, 140_000, 150), "Chaoyang": (20, 95_000, 135),
    "Haidian": (15, 110_000, 130), "Fengtai": (8, 65_000, 95), "Shijingshan": (4, 60_000, 90),
    "Tongzhou": (8, 50_000, 75), "Shunyi": (7, 45_000, 80), "Changping": (8, 45_000, 70),
    "Daxing": (7, 45_000, 70), "Fangshan": (3, 30_000, 55), "Mentougou": (3, 35_000, 55),
    "Huairou": (3, 30_000, 50),
}
VILLA_DISTRICTS = {"Shunyi", "Changping", "Huairou", "Chaoyang", "Daxing"}
OFFICE_DISTRICTS = {"Chaoyang", "Haidian", "Xicheng", "Dongcheng", "Fengtai"}
RENT_RANGE = (3_000, 40_000)
SALE_RANGE = (2_000_000, 30_000_000)
COMPOUNDS = (("Garden", "花园"), ("Residence", "公寓"), ("Court", "苑"), ("Jiayuan", "家园"), ("Mansion", "大厦"))
TYPE_WORDS = {
    "apartment": ("apartment", "公寓"), "house": ("house", "联排住宅"), "villa": ("villa", "别墅"),
    "office": ("office", "写字楼"), "shop": ("shop", "商铺"),
}
FEATURE_WORDS = {
    "parking": ("a parking space", "带车位"), "elevator": ("a lift", "有电梯"),
    "near_metro": ("a short walk to the metro", "近地铁"), "balcony": ("a balcony", "带阳台"),
    "garden": ("a private garden", "带花园"), "gym": ("a gym in the compound", "小区有健身房"),
    "pool": ("a swimming pool", "有游泳池"), "school": ("good schools nearby", "学区房"),
    "south_facing": ("south-facing windows", "朝南"),
}
ROOM_COLOURS = ((244, 236, 220), (225, 238, 246), (232, 244, 226), (248, 228, 226), (238, 232, 246))


@dataclass
class DemoReport:
    skipped: bool = False
    accounts: list[tuple[str, str, str | None]] = field(default_factory=list)  # email, role, new password
    imports: dict[str, ImportReport] = field(default_factory=dict)
    photos_written: int = 0

    @property
    def listings(self) -> int:
        report = self.imports.get("listings")
        return report.imported if report else 0


async def has_listings(factory: async_sessionmaker[AsyncSession]) -> bool:
    async with factory() as session:
        return bool(await session.scalar(select(func.count()).select_from(Listing)))


async def seed_demo(
    factory: async_sessionmaker[AsyncSession],
    media_dir: Path,
    *,
    force: bool = False,
    password: str | None = None,
    today: date | None = None,
    settings: Settings | None = None,
) -> DemoReport:
    """Seed the demo data; does nothing when listings exist unless `force` (then it updates in place).

    `password` is used for every new demo account; without it they share one random password.
    The report carries it so the caller can show it once. With `settings` (the CLI passes them), the newest
    building's first ten homes also get their signed deals (`import-deals`), so the deal pages have something.
    """
    if not force and await has_listings(factory):
        return DemoReport(skipped=True)
    today = today or clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    report = DemoReport()
    report.imports["districts"] = await import_districts(factory, DATA / "beijing_districts.csv")
    async with factory() as session:
        districts = list(await session.scalars(select(District).where(District.city == CITY)))
    listing_csv, photos = build_listings_csv(districts, media_dir, today)
    # Drawing photos (zlib) and hashing passwords (Argon2) both release the GIL: run them side by side.
    drawing = asyncio.create_task(asyncio.to_thread(write_photos, photos))
    try:
        async with factory() as session, session.begin():
            report.accounts = await _seed_staff(session, password)
            await _seed_rules(session)
            await _seed_texts(session)
    finally:
        report.photos_written = await drawing
    report.imports["listings"] = await import_listings(factory, listing_csv, media_dir=media_dir)
    report.imports["units"] = await import_units(factory, build_units_csv(today))
    if settings is not None:
        report.imports["deals"] = await import_deals(factory, build_deals_csv(today), settings=settings)
    async with factory() as session, session.begin():
        project = await session.scalar(select(Project).where(Project.name == PROJECT))
        if project is not None:
            project.city, project.district_name = CITY, "Chaoyang"
    return report


async def _seed_staff(session: AsyncSession, password: str | None) -> list[tuple[str, str, str | None]]:
    """Every new demo account gets the same password (given, or random), so it is hashed once."""
    secret = password or secrets.token_urlsafe(9)
    shared_hash: str | None = None
    accounts: list[tuple[str, str, str | None]] = []
    for person in DEMO_STAFF:
        if await by_email(session, person.email) is not None:
            accounts.append((person.email, person.role, None))
            continue
        hours = SERVICE_HOURS if person.role == "service" else AGENT_HOURS if person.role == "agent" else {}
        staff = await create_staff(
            session, person.email, person.name, person.role, secret, password_hash=shared_hash, team=person.team,
            language=person.language, skills=list(person.skills), service_areas=list(person.service_areas),
            is_team_lead=person.is_team_lead, timezone="Asia/Shanghai", working_hours=hours,
        )
        shared_hash = staff.password_hash
        accounts.append((person.email, person.role, secret))
    return accounts


async def _seed_rules(session: AsyncSession) -> None:
    """Defaults only where nothing is set, so an admin's edits survive a forced re-seed."""
    known = set(await session.scalars(select(WarrantyPeriod.category)))
    for category, (months, note) in WARRANTY_MONTHS.items():
        if category not in known:
            session.add(WarrantyPeriod(category=category, months=months, note=note))
    if not await session.scalar(select(func.count()).select_from(SlaPolicy)):
        for kind, any_category, priority, first, resolve, business in SLA_POLICIES:
            session.add(SlaPolicy(
                kind=kind, category=any_category, priority=priority, first_response_minutes=first,
                resolve_minutes=resolve, business_hours=business,
            ))
    days = set(await session.scalars(select(Holiday.day)))
    for day, name, workday in HOLIDAYS:
        if date.fromisoformat(day) not in days:
            session.add(Holiday(day=date.fromisoformat(day), name=name, is_workday=workday))


async def _seed_texts(session: AsyncSession) -> None:
    if not await session.scalar(select(func.count()).select_from(FaqEntry)):
        for row in _read_data_csv("faq.csv"):
            session.add(FaqEntry(
                language=row["language"], question=row["question"], answer=row["answer"],
                keywords=split_list(row["keywords"]),
            ))
    if not await session.scalar(select(func.count()).select_from(CannedReply)):
        for row in _read_data_csv("canned_replies.csv"):
            session.add(CannedReply(language=row["language"], title=row["title"], body=row["body"]))


def _read_data_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- listing generation ----------------------------------------------------------------------------------------


def neighbourhoods(district: District) -> list[tuple[str, str]]:
    """(English, Chinese) pairs from the aliases: a Latin alias directly followed by a Chinese one."""
    aliases = district.aliases
    pairs = [
        (aliases[i], aliases[i + 1])
        for i in range(len(aliases) - 1)
        if not has_chinese(aliases[i]) and has_chinese(aliases[i + 1])
    ]
    return pairs or [(district.name, district.name_zh or district.name)]


@dataclass(frozen=True)
class PhotoSpec:
    path: Path
    kind: str  # plan | facade | room
    seed: str
    rooms: int


def build_listings_csv(
    districts: Sequence[District], media_dir: Path, today: date
) -> tuple[bytes, list[PhotoSpec]]:
    rng = random.Random(SEED)
    by_name = {district.name: district for district in districts if district.name in PRICE_LEVELS}
    names = sorted(by_name)
    weights = [PRICE_LEVELS[name][0] for name in names]
    agents = [person for person in DEMO_STAFF if person.role == "agent"]
    rows: list[dict[str, object]] = []
    photos: list[PhotoSpec] = []
    plan = [("rent", RENT_LISTINGS, "R"), ("sale", SALE_LISTINGS, "S")]
    for deal, count, letter in plan:
        for number in range(1, count + 1):
            district = by_name[rng.choices(names, weights)[0]]
            ref = f"BJ-{letter}{number:04d}"
            row, listing_photos = _listing_row(rng, ref, deal, district, agents, media_dir, today)
            rows.append(row)
            photos.extend(listing_photos)
    return _to_csv(LISTING_COLUMNS, rows), photos


def _property_type(rng: random.Random, district: str) -> str:
    roll = rng.random()
    if roll < 0.06 and district in VILLA_DISTRICTS:
        return "villa"
    if roll < 0.10 and district in VILLA_DISTRICTS:
        return "house"
    if roll < 0.17 and district in OFFICE_DISTRICTS:
        return "office"
    if roll > 0.96:
        return "shop"
    return "apartment"


def _size(rng: random.Random, property_type: str) -> tuple[int, int, float]:
    """bedrooms, bathrooms, area in m²"""
    if property_type == "villa":
        bedrooms = rng.randint(4, 6)
        return bedrooms, bedrooms - 1, rng.uniform(260, 480)
    if property_type == "house":
        bedrooms = rng.randint(3, 4)
        return bedrooms, 2, rng.uniform(130, 220)
    if property_type == "office":
        return 0, 1, rng.uniform(80, 320)
    if property_type == "shop":
        return 0, 1, rng.uniform(40, 160)
    bedrooms = rng.choices((0, 1, 2, 3, 4), (8, 22, 38, 24, 8))[0]
    low, high = ((32, 48), (45, 70), (68, 105), (98, 145), (140, 210))[bedrooms]
    return bedrooms, 1 if bedrooms < 3 else 2, rng.uniform(low, high)


def _features(rng: random.Random, property_type: str, floors_total: int, central: bool) -> list[str]:
    features = []
    chances = {"parking": 0.45, "near_metro": 0.7 if central else 0.35}
    if property_type in ("apartment", "house", "villa"):  # homes only: nobody sells a shop for its pool
        chances |= {"balcony": 0.5, "gym": 0.2, "pool": 0.08, "south_facing": 0.55}
        chances["school"] = 0.25 if property_type == "apartment" else 0.0
    if floors_total > 6:
        features.append("elevator")
    if property_type in ("villa", "house"):
        features.append("garden")
        chances["parking"] = 0.95
    features += [name for name, chance in chances.items() if rng.random() < chance]
    return sorted(features) or ["near_metro" if central else "parking"]


def _listing_row(
    rng: random.Random, ref: str, deal: str, district: District, agents: Sequence[DemoStaff], media_dir: Path,
    today: date,
) -> tuple[dict[str, object], list[PhotoSpec]]:
    name = district.name
    _, sale_level, rent_level = PRICE_LEVELS[name]
    property_type = _property_type(rng, name)
    bedrooms, bathrooms, area = _size(rng, property_type)
    premium = {"villa": 1.25, "house": 1.1, "office": 0.9, "shop": 1.15}.get(property_type, 1.0)
    jitter = rng.uniform(0.85, 1.2)
    if deal == "rent":
        price = round(min(max(area * rent_level * premium * jitter, RENT_RANGE[0]), RENT_RANGE[1]), -2)
    else:
        area = max(area, SALE_RANGE[0] / (sale_level * premium * jitter) * 1.05)  # no tiny homes at floor prices
        price = round(min(max(area * sale_level * premium * jitter, SALE_RANGE[0]), SALE_RANGE[1]), -4)
    area = round(area, 1)
    if property_type in ("villa", "house"):
        floors_total, floor = rng.randint(2, 3), 1
    elif property_type == "shop":
        floors_total, floor = rng.randint(2, 6), 1
    else:
        floors_total = rng.choice((6, 12, 18, 24, 28, 32) if property_type == "apartment" else (20, 28, 36, 42))
        floor = rng.randint(1, floors_total)
    central = name in ("Dongcheng", "Xicheng", "Chaoyang", "Haidian")
    features = _features(rng, property_type, floors_total, central)
    hood_en, hood_zh = rng.choice(neighbourhoods(district))
    compound_en, compound_zh = rng.choice(COMPOUNDS)
    building, unit = rng.randint(1, 18), floor * 100 + rng.randint(1, 4)
    furnished = property_type != "shop" and rng.random() < (0.7 if deal == "rent" else 0.35)
    pets = (rng.random() < 0.4) if deal == "rent" and property_type in ("apartment", "house", "villa") else None
    status = rng.choices(("active", "reserved", "withdrawn"), (93, 5, 2))[0]
    available = today + timedelta(days=rng.randint(0, 90 if deal == "rent" else 180))
    covering = [agent for agent in agents if name in agent.service_areas] or list(agents)
    lat = (district.lat or 39.9) + rng.uniform(-0.03, 0.03)
    lon = (district.lon or 116.4) + rng.uniform(-0.03, 0.03)
    photo_count = rng.randint(2, 4)
    photos = [
        PhotoSpec(media_dir / "listings" / f"{ref}-{i + 1}.png", kind, f"{ref}-{i + 1}", max(bedrooms, 1))
        for i, kind in enumerate(("plan", "facade", "room", "room")[:photo_count])
    ]
    # Decoration and partly furnished from a generator of their own, so the rest of the demo stays as it was.
    finish = random.Random(f"{ref}:finish")
    decoration = "" if property_type == "parking" else finish.choices(("fine", "basic", "bare", ""), (55, 28, 7, 10))[0]
    partly = furnished and finish.random() < 0.2
    description = _description(
        deal, property_type, bedrooms, area, floor, floors_total, hood_en, hood_zh, name, district.name_zh or name,
        features, furnished, pets, partly,
    )
    row = {
        "ref_code": ref, "deal_type": deal, "property_type": property_type, "city": CITY, "district": name,
        "address": f"{hood_en} {compound_en} {hood_zh}{compound_zh}, Bldg {building}, Unit {unit}",
        "price": int(price), "currency": "CNY", "bedrooms": bedrooms, "bathrooms": bathrooms, "area_m2": area,
        "floor": floor, "floors_total": floors_total, "available_from": available.isoformat(),
        "furnished": "partial" if partly else _yes_no(furnished), "pets_allowed": _yes_no(pets),
        "features": ";".join(features), "decoration": decoration,
        "photos": ";".join(str(photo.path) for photo in photos), "agent_email": rng.choice(covering).email,
        "status": status, "description": description, "lat": f"{lat:.5f}", "lon": f"{lon:.5f}",
    }
    return row, photos


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"


def _description(
    deal: str, property_type: str, bedrooms: int, area: float, floor: int, floors_total: int, hood_en: str,
    hood_zh: str, district_en: str, district_zh: str, features: list[str], furnished: bool, pets: bool | None,
    partly: bool = False,
) -> str:
    type_en, type_zh = TYPE_WORDS[property_type]
    if property_type in ("office", "shop"):
        rooms_en, rooms_zh = "", ""
    else:
        rooms_en = "Studio" if bedrooms == 0 else f"{bedrooms}-bedroom"
        rooms_zh = "开间" if bedrooms == 0 else f"{'一二三四五六'[bedrooms - 1]}居室"
    if furnished:
        furnished_en, furnished_zh = ("partly furnished", "部分家具") if partly else ("furnished", "家具齐全")
    else:
        furnished_en, furnished_zh = ("", "") if property_type == "shop" else ("unfurnished", "不带家具")
    with_en = ", ".join(FEATURE_WORDS[name][0] for name in features if name in FEATURE_WORDS)
    with_zh = "，".join(FEATURE_WORDS[name][1] for name in features if name in FEATURE_WORDS)
    deal_en = "Available to rent" if deal == "rent" else "For sale"
    deal_zh = "出租" if deal == "rent" else "出售"
    english = (
        f"{deal_en}: " + " ".join(word for word in (rooms_en, furnished_en, type_en) if word)
        + f" of {area:g} m² on floor {floor} of {floors_total} in {hood_en}, {district_en}."
        + (f" With {with_en}." if with_en else "")
        + (" Pets welcome." if pets else "")
    )
    chinese = (
        f"{deal_zh}：{district_zh}{hood_zh}{rooms_zh}{type_zh}，面积{area:g}平方米，{floor}/{floors_total}层"
        + (f"，{furnished_zh}" if furnished_zh else "")
        + (f"，{with_zh}" if with_zh else "")
        + ("，可养宠物" if pets else "")
        + "。"
    )
    return f"{english}\n{chinese}"


# --- owners and units --------------------------------------------------------------------------------------------

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = (
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "桂英", "建华",
)


def build_units_csv(today: date) -> bytes:
    """3 buildings of 20 homes, handed over in phases: building 1 six to four years ago, 2 four to two, 3 recently."""
    rng = random.Random(SEED + 1)
    rows = []
    for building in (1, 2, 3):
        newest = (3 - building) * 2 * 365
        for floor in range(1, 11):
            for door in (1, 2):
                handover = today - timedelta(days=rng.randint(newest + 20, newest + 2 * 365))
                rows.append({
                    "project": PROJECT, "building": f"Building {building}", "unit_no": f"{floor}{door:02d}",
                    "owner_name": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                    "owner_phone": f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(0, 9999):04d} "
                    f"{rng.randint(0, 9999):04d}",
                    "handover_date": handover.isoformat(),
                })
    return _to_csv(UNIT_COLUMNS, rows)


def build_deals_csv(today: date) -> bytes:
    """The signed contracts of Building 3's first ten homes (the owners and handover dates of `build_units_csv`),
    paid in every way, with their areas."""
    units = [row for row in csv.DictReader(io.StringIO(build_units_csv(today).decode("utf-8-sig")))
             if row["building"] == "Building 3"][:10]
    rng = random.Random(SEED + 2)
    methods = ("mortgage", "provident_fund", "combined", "full")
    rows = []
    for n, unit in enumerate(units):
        handover = date.fromisoformat(unit["handover_date"])
        area = rng.randint(80, 140)
        rows.append({
            "contract_no": f"HT-{handover.year}-{n + 1:03d}", "project": unit["project"],
            "building": unit["building"], "unit_no": unit["unit_no"], "customer_name": unit["owner_name"],
            "customer_phone": unit["owner_phone"], "signed_on": (handover - timedelta(days=300)).isoformat(),
            "price": str(area * rng.randint(55, 75) * 1000), "currency": "CNY", "payment_method": methods[n % 4],
            "handover_date": unit["handover_date"], "staff_email": "li.na@homedesk.local",
            "contract_area": str(area), "measured_area": f"{area + rng.uniform(-4, 4):.2f}",
        })
    return _to_csv(DEAL_COLUMNS + ("contract_area", "measured_area"), rows)


# --- photos: small PNGs drawn from rectangles ---------------------------------------------------------------------

PHOTO_SIZE = (320, 240)
Rect = tuple[int, int, int, int, tuple[int, int, int]]  # x0, y0, x1, y1 (exclusive), colour


def write_photos(photos: Iterable[PhotoSpec]) -> int:
    """Draw each photo that is not on disk yet; returns how many were written."""
    written = 0
    for spec in photos:
        if spec.path.exists():
            continue
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        spec.path.write_bytes(draw_photo(spec.kind, spec.seed, spec.rooms))
        written += 1
    return written


def draw_photo(kind: str, seed: str, rooms: int = 2) -> bytes:
    rng = random.Random(seed)
    width, height = PHOTO_SIZE
    if kind == "plan":
        return png(width, height, (250, 250, 248), _plan(rng, width, height, rooms))
    if kind == "facade":
        return png(width, height, (170, 205, 235), _facade(rng, width, height))
    return png(width, height, (236, 230, 218), _room(rng, width, height))


def _plan(rng: random.Random, width: int, height: int, rooms: int) -> list[Rect]:
    """A floor plan: rooms as coloured cells of a grid, walls in dark grey, door gaps in the inner walls."""
    wall, dark = 4, (60, 60, 66)
    x0, y0, x1, y1 = 16, 16, width - 16, height - 16
    columns = min(max(rooms, 2), 3)
    step = (x1 - x0) // columns
    xs = [x0] + [x0 + k * step + rng.randint(-step // 5, step // 5) for k in range(1, columns)] + [x1]
    ys = [y0, rng.randrange(y0 + 70, y1 - 70, 5), y1]
    rects: list[Rect] = []
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            rects.append((xs[i], ys[j], xs[i + 1], ys[j + 1], rng.choice(ROOM_COLOURS)))
    for x in xs:
        rects.append((x, y0, x + wall, y1 + wall, dark))
    for y in ys:
        rects.append((x0, y, x1 + wall, y + wall, dark))
    for i in range(len(xs) - 1):  # a door from each room of the top row into the one below
        door = rng.randint(xs[i] + 12, xs[i + 1] - 40)
        rects.append((door, ys[1], door + 26, ys[1] + wall, (250, 250, 248)))
    return rects


def _facade(rng: random.Random, width: int, height: int) -> list[Rect]:
    body = rng.choice(((214, 200, 180), (200, 200, 205), (190, 170, 150), (225, 215, 200)))
    glass = rng.choice(((120, 150, 180), (90, 120, 150), (150, 175, 195)))
    left, right, top = rng.randint(40, 80), width - rng.randint(40, 80), rng.randint(20, 60)
    rects: list[Rect] = [(0, height - 30, width, height, (110, 150, 90)), (left, top, right, height - 30, body)]
    for y in range(top + 12, height - 48, 22):
        for x in range(left + 10, right - 20, 26):
            rects.append((x, y, x + 14, y + 12, glass))
    return rects


def _room(rng: random.Random, width: int, height: int) -> list[Rect]:
    floor = rng.choice(((170, 130, 95), (200, 170, 130), (150, 150, 150)))
    window_x = rng.randint(30, width - 150)
    sofa = rng.choice(((90, 110, 140), (140, 90, 80), (100, 130, 100)))
    return [
        (0, int(height * 0.68), width, height, floor),
        (window_x, 30, window_x + 110, 120, (185, 215, 240)),
        (window_x + 53, 30, window_x + 57, 120, (240, 240, 240)),
        (40, int(height * 0.52), 200, int(height * 0.72), sofa),
        (220, int(height * 0.60), 280, int(height * 0.72), (120, 90, 60)),
    ]


def png(width: int, height: int, background: tuple[int, int, int], rects: Sequence[Rect]) -> bytes:
    """An RGB PNG of filled rectangles (later ones on top).

    Between two consecutive rectangle edges every row is the same, so each band is drawn once and repeated:
    this keeps a pure-Python encoder fast enough for a thousand images.
    """
    edges = sorted({0, height, *(max(0, min(height, y)) for r in rects for y in (r[1], r[3]))})
    rows: list[bytes] = []
    for top, bottom in zip(edges, edges[1:], strict=False):
        line = bytearray(bytes(background) * width)
        for x0, y0, x1, y1, colour in rects:
            if y0 <= top < y1:
                x0, x1 = max(0, x0), min(width, x1)
                if x1 > x0:
                    line[x0 * 3 : x1 * 3] = bytes(colour) * (x1 - x0)
        rows.extend([b"\x00" + bytes(line)] * (bottom - top))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
