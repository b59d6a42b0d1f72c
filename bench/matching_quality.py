"""How well the need parser reads what customers write: accuracy per field over the evaluation set.

    python bench/matching_quality.py [--misses] [--file requests_zh.jsonl]

The set (matching/evaluation/*.jsonl, 200+ requests in English, Chinese and both) gives each request the criteria
a person reads in it; every field not named must come out empty. "all" counts every field of every request;
"stated" only the fields that were expected or read (so empty-and-empty does not flatter the figure).
tests/matching/test_evaluation.py holds both at 97 % or better.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from matching.evaluation import FIELDS, HOLDOUT, TODAY, Report, evaluate, load  # noqa: E402
from matching.parse import parse_need  # noqa: E402
from tests.matching.fixtures import beijing_index  # noqa: E402


def _pct(right: int, total: int) -> str:
    return f"{100 * right / total:6.2f} %" if total else "     —  "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--misses", action="store_true", help="list every field read wrong")
    parser.add_argument("--file", help="only the requests of this file (e.g. requests_zh.jsonl)")
    args = parser.parse_args()

    index = beijing_index()
    requests = load()
    if args.file:
        requests = [r for r in requests if f"requests_{r.language}.jsonl" == args.file]
    report = evaluate(index, requests)
    counts = ", ".join(f"{lang} {sum(r.language == lang for r in requests)}" for lang in ("en", "zh", "mixed"))
    print(f"{len(requests)} requests ({counts}), {len(FIELDS)} fields each, today = {TODAY.isoformat()}")
    print()
    print(f"{'field':<20} {'all':>9} {'stated':>9}   right/stated")
    for key in FIELDS:
        print(f"{key:<20} {_pct(report.right[key], report.total[key]):>9} "
              f"{_pct(report.stated_right.get(key, 0), report.stated_total.get(key, 0)):>9}   "
              f"{report.stated_right.get(key, 0)}/{report.stated_total.get(key, 0)}")
    print(f"{'overall':<20} {100 * report.accuracy:7.2f} % {100 * report.stated_accuracy:7.2f} %")
    print(f"requests read entirely right: {report.requests_all_right}/{report.requests}")
    print()
    for lang in ("en", "zh", "mixed"):
        part: Report = evaluate(index, [r for r in requests if r.language == lang])
        if part.requests:
            print(f"{lang:<6} fields right {100 * part.accuracy:6.2f} % (stated {100 * part.stated_accuracy:6.2f} %), "
                  f"requests entirely right {part.requests_all_right}/{part.requests}")
    held = evaluate(index, load((HOLDOUT,)))
    print(f"held-out set ({HOLDOUT}, {held.requests} requests): fields right {100 * held.accuracy:6.2f} % "
          f"(stated {100 * held.stated_accuracy:6.2f} %), requests entirely right {held.requests_all_right}/"
          f"{held.requests}")
    started = time.perf_counter()
    for request in requests:
        parse_need(request.text, index, TODAY)
    print(f"\nparsing: {1000 * (time.perf_counter() - started) / max(1, len(requests)):.2f} ms per request")
    if args.misses:
        print()
        for request, key, expected, got in report.misses + held.misses:
            print(f"{request.language}:{request.line} {request.text!r}: {key} expected {expected!r}, got {got!r}")


if __name__ == "__main__":
    main()
