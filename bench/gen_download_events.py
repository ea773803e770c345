#!/usr/bin/env python3
"""Writes download events as CSV for `psql \\copy download_events (...)`.

    python3 bench/gen_download_events.py ROWS THESES_FILE OUT.csv \\
        [--users 100000] [--request_fraction 0.5] [--double_click_share 0.0]

The rows are what thesis-server writes for the events thesis-load's `batch`
mode sends (bench/load_client.cc, FillEvent): the same columns, in this
order,

    event_time, thesis_id, kind, http_status, user_id, user_cookie,
    session_cookie, ip, user_agent, request_id, outcome

with the time now (UTC), a thesis drawn from THESES_FILE (`theses/x` names,
one a line; the id is what follows `theses/`), kind 2 (request) with
probability --request_fraction else 1 (investigation), status 200, a browser
identity of one of --users users, a unique request id, and outcome 2
(double click) with probability --double_click_share else 1 (counted).
"""
import argparse
import csv
import os
import random
import sys
import time
from datetime import datetime, timezone

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("theses_file")
    ap.add_argument("out")
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--request_fraction", type=float, default=0.5)
    ap.add_argument("--double_click_share", type=float, default=0.0)
    a = ap.parse_args()
    if a.rows < 1 or a.users < 1:
        sys.exit("rows and --users must be at least 1")
    with open(a.theses_file) as f:
        ids = [line.strip().removeprefix("theses/") for line in f if line.strip()]
    if not ids:
        sys.exit(f"{a.theses_file}: no names")

    rng = random.Random(0x5EED)
    prefix = f"copy-{int(time.time() * 1e6):x}-{os.getpid():x}"
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        for i in range(a.rows):
            user = rng.randrange(a.users)
            w.writerow((
                now,
                ids[rng.randrange(len(ids))],
                2 if rng.random() < a.request_fraction else 1,
                200,
                f"bench-user-{user}",
                f"uc-{(user * 2654435761) & 0xFFFFFFFF:08x}",
                f"sess-{(user * 40503 + 17) & 0xFFFFFFFF:08x}",
                f"10.{(user >> 16) & 255}.{(user >> 8) & 255}.{user & 255}",
                USER_AGENTS[user % len(USER_AGENTS)],
                f"{prefix}-{i}",
                2 if rng.random() < a.double_click_share else 1,
            ))


if __name__ == "__main__":
    main()
