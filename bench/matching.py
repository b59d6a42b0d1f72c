"""Benchmark: Homedesk's matcher against a naive baseline over generated listings (SQLite).

    python bench/matching.py [--listings 100000] [--queries 1000] [--baseline-queries N] [--db PATH]

Generates listings over 30 districts into a temporary SQLite file, parses varied needs (English and
Chinese), then times (a) matching.find_matches, top 10, and (b) the naive way: every active listing
held in Python, each scored per query with rapidfuzz for the district plus plain arithmetic.
Prints p50/p95/p99 latency, the speed-up and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# This file is itself called matching.py: put the repository, not bench/, first on the path.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from rapidfuzz import fuzz  # noqa: E402
from sqlalchemy import Float, cast, insert, select  # noqa: E402

from matching.criteria import Criteria  # noqa: E402
from matching.districts import load_district_index  # noqa: E402
from matching.parse import parse_need  # noqa: E402
from matching.rank import find_matches  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.models import Base, District, Listing  # noqa: E402

TODAY = date(2026, 3, 2)
DISTRICTS = [
    # name, Chinese, lat, lon, price level (1.0 = city average)
    ("Chaoyang", "朝阳", 39.92, 116.44, 1.2), ("Haidian", "海淀", 39.96, 116.30, 1.25),
    ("Dongcheng", "东城", 39.93, 116.42, 1.4), ("Xicheng", "西城", 39.91, 116.37, 1.5),
    ("Fengtai", "丰台", 39.86, 116.29, 0.85), ("Shijingshan", "石景山", 39.91, 116.22, 0.8),
    ("Tongzhou", "通州", 39.91, 116.66, 0.7), ("Shunyi", "顺义", 40.13, 116.65, 0.75),
    ("Changping", "昌平", 40.22, 116.23, 0.65), ("Daxing", "大兴", 39.73, 116.34, 0.65),
    ("Mentougou", "门头沟", 39.94, 116.10, 0.55), ("Fangshan", "房山", 39.75, 116.14, 0.5),
    ("Huairou", "怀柔", 40.32, 116.63, 0.5), ("Pinggu", "平谷", 40.14, 117.12, 0.45),
    ("Miyun", "密云", 40.38, 116.84, 0.45), ("Yanqing", "延庆", 40.46, 115.97, 0.4),
    ("Wangjing", "望京", 40.00, 116.47, 1.15), ("Sanlitun", "三里屯", 39.94, 116.46, 1.6),
    ("Guomao", "国贸", 39.91, 116.46, 1.5), ("Yizhuang", "亦庄", 39.80, 116.51, 0.8),
    ("Wudaokou", "五道口", 39.99, 116.34, 1.3), ("Zhongguancun", "中关村", 39.98, 116.31, 1.35),
    ("Huilongguan", "回龙观", 40.07, 116.33, 0.8), ("Tiantongyuan", "天通苑", 40.07, 116.42, 0.75),
    ("Shuangjing", "双井", 39.89, 116.46, 1.2), ("Jinsong", "劲松", 39.88, 116.46, 1.1),
    ("Yayuncun", "亚运村", 39.99, 116.41, 1.2), ("Lido", "丽都", 39.98, 116.48, 1.3),
    ("Xierqi", "西二旗", 40.05, 116.31, 1.0), ("Qinghe", "清河", 40.03, 116.33, 0.95),
]
TYPES = [("apartment", 0.7), ("house", 0.05), ("villa", 0.05), ("office", 0.08), ("shop", 0.07), ("parking", 0.05)]
FEATURES = ["parking", "elevator", "near_metro", "balcony", "garden", "gym", "pool", "school", "south_facing"]


def _neighbours(i: int) -> list[str]:
    _, _, lat, lon, _ = DISTRICTS[i]
    by_distance = sorted(
        (math.hypot(lat - d[2], (lon - d[3]) * 0.77), d[0]) for j, d in enumerate(DISTRICTS) if j != i
    )
    return [name for _, name in by_distance[:4]]


def make_listing(rng: random.Random, n: int, district_ids: list[int]) -> dict:
    di = rng.randrange(len(DISTRICTS))
    name, _, lat, lon, level = DISTRICTS[di]
    ptype = rng.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0]
    deal = "rent" if rng.random() < 0.6 else "sale"
    if ptype == "parking":
        area, bedrooms = 12.5, 0
    elif ptype in ("office", "shop"):
        area, bedrooms = rng.uniform(30, 400), 0
    else:
        bedrooms = rng.choices([0, 1, 2, 3, 4, 5], [5, 25, 35, 22, 9, 4])[0]
        area = max(18.0, rng.gauss(25 + bedrooms * 32, 12)) * (2.2 if ptype == "villa" else 1.0)
    per_m2 = (rng.gauss(110, 25) if deal == "rent" else rng.gauss(70_000, 15_000)) * level
    price = round(max(per_m2, 10) * area, -1 if deal == "rent" else -4)
    available = None if rng.random() < 0.2 else TODAY + timedelta(days=rng.randint(-60, 150))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return {
        "ref_code": f"B{n:07d}",
        "deal_type": deal,
        "property_type": ptype,
        "city": "Beijing",
        "district_id": district_ids[di],
        "district_name": name,
        "address": "",
        "price": price,
        "currency": "CNY",
        "bedrooms": bedrooms,
        "bathrooms": max(1, bedrooms // 2),
        "area_m2": round(area, 1),
        "available_from": available,
        "furnished": rng.choice([True, False, None]),
        "pets_allowed": rng.choice([True, False, None]),
        "features": rng.sample(FEATURES, rng.randint(0, 4)),
        "status": "active" if rng.random() < 0.85 else rng.choice(["reserved", "sold", "rented", "withdrawn"]),
        "description": "",
        "lat": lat + rng.gauss(0, 0.015),
        "lon": lon + rng.gauss(0, 0.02),
        "created_at": now,
        "updated_at": now,
    }


def make_need(rng: random.Random) -> str:
    """A customer's message, English or Chinese, with a varying set of details."""
    name, zh, *_rest, level = DISTRICTS[rng.randrange(len(DISTRICTS))]
    rent = rng.random() < 0.6
    beds = rng.choice([1, 2, 3])
    chinese = rng.random() < 0.5
    parts: list[str] = []
    if rent:
        budget = int(round(beds * 4000 * level * rng.uniform(0.8, 1.5), -2))
        parts.append(rng.choice(["租", "求租"]) if chinese else "rent")
    else:
        budget = int(round(beds * 2_500_000 * level * rng.uniform(0.8, 1.5), -5))
        parts.append("买房" if chinese else "buy")
    if rng.random() < 0.75:
        parts.append(zh if chinese else f"in {name}")
    parts.append(f"{beds}居" if chinese else f"{beds} bedroom")
    if rng.random() < 0.85:
        if chinese:
            parts.append(f"预算{budget // 10_000}万以内" if not rent else f"预算{budget}以内")
        else:
            parts.append(f"under {budget // 1000}k" if rent else f"under {budget / 1e6:.1f} million")
    if rng.random() < 0.3:
        parts.append(f"{beds * 35}平以上" if chinese else f"at least {beds * 35} sqm")
    if rent and rng.random() < 0.4:
        parts.append(rng.choice(["下个月入住", "4月入住"]) if chinese else rng.choice(["move in April", "next month"]))
    if rng.random() < 0.3:
        feature = rng.choice([("电梯", "elevator"), ("近地铁", "near metro"), ("带车位", "with parking")])
        parts.append(feature[0] if chinese else feature[1])
    if rent and rng.random() < 0.15:
        parts.append("可养宠物" if chinese else "pets allowed")
    return ("，" if chinese else ", ").join(parts)


async def generate(path: Path, count: int, seed: int) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    rng = random.Random(seed)
    factory = session_factory(engine)
    async with factory() as session:
        rows = [
            District(city="Beijing", name=n, name_zh=zh, aliases=[zh], lat=lat, lon=lon, neighbours=_neighbours(i))
            for i, (n, zh, lat, lon, _) in enumerate(DISTRICTS)
        ]
        session.add_all(rows)
        await session.commit()
        ids = [d.id for d in rows]
    async with engine.begin() as conn:
        for start in range(0, count, 5000):
            batch = [make_listing(rng, n, ids) for n in range(start, min(count, start + 5000))]
            await conn.execute(insert(Listing.__table__), batch)
        await conn.exec_driver_sql("ANALYZE")
    await engine.dispose()


# ---- the naive baseline ---------------------------------------------------------------------------


async def load_baseline(factory) -> list[tuple]:
    async with factory() as session:
        stmt = select(
            Listing.ref_code, Listing.deal_type, Listing.property_type, Listing.district_name,
            cast(Listing.price, Float), Listing.bedrooms, Listing.area_m2, Listing.available_from, Listing.features,
        ).where(Listing.status == "active")
        return [tuple(r) for r in (await session.execute(stmt)).all()]


def baseline_match(rows: list[tuple], c: Criteria, top: int = 10) -> list[tuple[float, str]]:
    """The naive way: every listing of the deal type scored in Python, rapidfuzz for the district name,
    arithmetic for the rest; listings breaking a hard requirement are dropped after scoring."""
    wanted = [d.lower() for d in c.districts]
    scored = []
    for ref, deal, ptype, district, price, beds, area, available, features in rows:
        if c.deal_type and deal != c.deal_type:
            continue
        location = max(fuzz.ratio(district.lower(), w) for w in wanted) / 100 if wanted else 1.0
        score = 25.0 * location
        score += 30.0 if not c.budget_max or price <= c.budget_max else 9.0
        if c.bedrooms_min is not None:
            score += 15.0 if beds == c.bedrooms_min else (8.0 if abs(beds - c.bedrooms_min) == 1 else 0.0)
        else:
            score += 15.0
        score += 10.0 if not c.area_min or area >= c.area_min else 10.0 * area / c.area_min
        score += 10.0 if not c.move_in_by or (available and available <= c.move_in_by) else 5.0
        score += 10.0 * (sum(f in features for f in c.must_have) / len(c.must_have) if c.must_have else 1.0)
        if (c.property_types and ptype not in c.property_types) or (c.budget_max and price > c.budget_max * 1.1):
            continue
        scored.append((score, ref))
    scored.sort(reverse=True)
    return scored[:top]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def pick(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return pick(50), pick(95), pick(99)


async def run(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="homedesk-bench-"))
    path = Path(args.db) if args.db else workdir / "bench.db"
    if not path.exists():
        started = time.perf_counter()
        await generate(path, args.listings, args.seed)
        print(f"generated {args.listings:,} listings over {len(DISTRICTS)} districts in "
              f"{time.perf_counter() - started:.1f} s -> {path}")
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    factory = session_factory(engine)
    rng = random.Random(args.seed + 1)
    texts = [make_need(rng) for _ in range(args.queries)]

    async with factory() as session:
        index = await load_district_index(session)
    needs = [parse_need(t, index, TODAY) for t in texts]
    started = time.perf_counter()
    for t in texts:
        parse_need(t, index, TODAY)
    parse_ms = (time.perf_counter() - started) * 1000 / len(texts)

    # Memory: the matcher's own allocations (snapshot load + queries), measured before the timed run
    # because tracing slows everything down.
    tracemalloc.start()
    started = time.perf_counter()
    async with factory() as session:
        await find_matches(session, needs[0], top=10, index=index)
    warm_s = time.perf_counter() - started
    for need in needs[: min(50, len(needs))]:
        async with factory() as session:
            await find_matches(session, need, top=10, index=index)
    matcher_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    matcher_ms, result_counts = [], []
    for need in needs:
        started = time.perf_counter()
        async with factory() as session:
            found = await find_matches(session, need, top=10, index=index)
        matcher_ms.append((time.perf_counter() - started) * 1000)
        result_counts.append(len(found))
    sql_ms = []
    for need in needs[: args.sql_queries]:
        started = time.perf_counter()
        async with factory() as session:
            await find_matches(session, need, top=10, index=index, source="sql")
        sql_ms.append((time.perf_counter() - started) * 1000)

    tracemalloc.start()
    started = time.perf_counter()
    rows = await load_baseline(factory)
    baseline_load_s = time.perf_counter() - started
    baseline_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    baseline_ms = []
    for need in needs[: args.baseline_queries]:
        started = time.perf_counter()
        baseline_match(rows, need)
        baseline_ms.append((time.perf_counter() - started) * 1000)
    await engine.dispose()

    m50, m95, m99 = percentiles(matcher_ms)
    b50, b95, b99 = percentiles(baseline_ms)
    print(f"needs: {len(needs)} (parse {parse_ms:.2f} ms each), "
          f"with results: {sum(1 for c in result_counts if c)}, mean results {statistics.mean(result_counts):.1f}")
    print(f"matcher  p50 {m50:7.2f} ms  p95 {m95:7.2f} ms  p99 {m99:7.2f} ms  "
          f"(first query incl. snapshot load {warm_s * 1000:.0f} ms)")
    if sql_ms:
        s50, s95, s99 = percentiles(sql_ms)
        print(f"sql-ids  p50 {s50:7.2f} ms  p95 {s95:7.2f} ms  p99 {s99:7.2f} ms  "
              f"(candidate ids from the covering index first; {len(sql_ms)} needs)")
    print(f"baseline p50 {b50:7.2f} ms  p95 {b95:7.2f} ms  p99 {b99:7.2f} ms  "
          f"over {len(baseline_ms)} needs (plus {baseline_load_s * 1000:.0f} ms to load {len(rows):,} listings once)")
    print(f"speed-up: p50 {b50 / m50:.1f}x, p95 {b95 / m95:.1f}x, mean "
          f"{statistics.mean(baseline_ms) / statistics.mean(matcher_ms):.1f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end "
          f"({load_before:.1f} at the start; other processes compete for the cores above 0)")
    print(f"peak memory: matcher {matcher_peak / 2**20:.1f} MiB (traced), "
          f"baseline data {baseline_peak / 2**20:.1f} MiB, process max RSS {rss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline-queries", type=int, default=None, help="default: all queries")
    parser.add_argument("--sql-queries", type=int, default=200, help="needs also run with source='sql'")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="reuse (or create) this SQLite file instead of a temporary one")
    args = parser.parse_args()
    if args.baseline_queries is None:
        args.baseline_queries = args.queries
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
