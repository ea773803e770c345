#!/usr/bin/env python3
"""Summarizes a bench/downloads.sh run: prints the figures and the ratios
against their targets, and rewrites the DownloadService section of
docs/benchmarks.md.

    python3 bench/summarize_downloads.py RESULTS_DIR [DOC]

RESULTS_DIR holds what downloads.sh wrote: meta.json (settings, machine,
command), thesis-load --json results (empty, record, record_stats and
record_stats.2 (the GetDownloadStats client alongside), stats, batch),
copy.json, naive.txt (pgbench output), naive.count, stored.json (what the
database holds for the hot thesis), NAME.cpu.json (CPU seconds, commits and
WAL flushes per measured window) and NAME.client-cpu.json. With DOC, the text
between the bench:downloads markers is replaced (appended at the end when the
markers are missing); the rest of DOC is left as it is.
"""
import json
import os
import re
import sys

BEGIN, END = "<!-- bench:downloads:begin -->", "<!-- bench:downloads:end -->"

TARGET_NAIVE = 10.0
TARGET_EMPTY = 0.5
TARGET_COPY = 0.5


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: summarize_downloads.py RESULTS_DIR [DOC]")
    res = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) == 3 else None

    def load(name):
        with open(os.path.join(res, name)) as f:
            return json.load(f)

    env = load("meta.json")
    empty, record, under, stats_load, stats_idle, batch = (
        load(f"{n}.json") for n in ("empty", "record", "record_stats", "record_stats.2", "stats",
                                    "batch"))
    copy, stored = load("copy.json"), load("stored.json")
    phases = ("empty", "record", "record_stats", "stats", "batch", "copy", "naive")
    cpu = {n: load(f"{n}.cpu.json") for n in phases}
    for n in phases:
        c = load(f"{n}.client-cpu.json")
        cpu[n]["client"] = round(c["user"] + c["sys"], 2)

    naive_text = open(os.path.join(res, "naive.txt")).read()
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", naive_text)
    if not m:
        raise SystemExit("no tps in pgbench output:\n" + naive_text)
    naive_tps = float(m.group(1))
    m = re.search(r"latency average = ([0-9.]+) ms", naive_text)
    naive_lat = float(m.group(1)) if m else float("nan")
    m = re.search(r"number of failed transactions: (\d+)", naive_text)
    naive_failed = int(m.group(1)) if m else 0
    m = re.search(r"number of transactions actually processed: (\d+)", naive_text)
    naive_tx = int(m.group(1)) if m else 0
    naive_count = int(open(os.path.join(res, "naive.count")).read().strip() or 0)

    nproc = int(env["NPROC"])
    conc = env["CONCURRENCY"]

    r_naive = record["qps"] / naive_tps if naive_tps else float("inf")
    r_empty = record["qps"] / empty["qps"] if empty["qps"] else float("nan")
    r_copy = batch["events_per_s"] / copy["rows_per_s"] if copy["rows_per_s"] else float("nan")
    met = lambda b: "MET" if b else "MISSED"
    checks = [
        ("RecordDownload / naive `UPDATE ... count + 1`", f"{r_naive:.1f}",
         f">= {TARGET_NAIVE:g}", met(r_naive >= TARGET_NAIVE)),
        ("RecordDownload / empty RPC", f"{r_empty:.2f}", f">= {TARGET_EMPTY:g}",
         met(r_empty >= TARGET_EMPTY)),
        ("BatchRecordDownloads / `psql \\copy` (events/s)", f"{r_copy:.2f}",
         f">= {TARGET_COPY:g}", met(r_copy >= TARGET_COPY)),
    ]

    def lat(r):
        l = r["latency_ms"]
        return (f"{l['p50']:.2f} | {l['p90']:.2f} | {l['p99']:.2f} | {l['p999']:.2f} "
                f"| {l['max']:.2f}")

    def errs(r):
        parts = [f"{k} {v}" for k, v in r["errors_by_code"].items()]
        if r.get("bad_responses"):
            parts.append(f"bad responses {r['bad_responses']}")
        return ", ".join(parts) or "0"

    def outcomes(r):
        o = r.get("outcomes", {})
        total = sum(o.values())
        return ", ".join(f"{k} {v} ({100 * v / total:.1f} %)" for k, v in o.items()) or "none"

    sc = env["STATS_CONCURRENCY"]
    bs, bc = env["BATCH_SIZE"], env["BATCH_CONCURRENCY"]
    rows = [
        f"| (a) Empty RPC (Health/Check), {conc} in flight | {empty['qps']:.0f} QPS | "
        f"{errs(empty)} | {lat(empty)} |",
        f"| (b) RecordDownload, hot thesis, {conc} in flight | {record['qps']:.0f} QPS | "
        f"{errs(record)} | {lat(record)} |",
        f"| (c) RecordDownload, {conc} in flight, with GetDownloadStats alongside | "
        f"{under['qps']:.0f} QPS | {errs(under)} | {lat(under)} |",
        f"| (c) **GetDownloadStats** of the hot thesis during that, {sc} in flight | "
        f"{stats_load['qps']:.0f} QPS | {errs(stats_load)} | {lat(stats_load)} |",
        f"| GetDownloadStats alone, {sc} in flight | {stats_idle['qps']:.0f} QPS | "
        f"{errs(stats_idle)} | {lat(stats_idle)} |",
        f"| (e) BatchRecordDownloads, {bs} events a call, {bc} in flight | "
        f"{batch['events_per_s']:.0f} events/s ({batch['qps']:.2f} calls/s) | {errs(batch)} | "
        f"{lat(batch)} |",
        f"| (f) `psql \\copy` of {copy['rows']} event rows | {copy['rows_per_s']:.0f} rows/s "
        f"({copy['seconds']:.2f} s) | 0 | | | | | |",
        f"| (d) naive: pgbench `UPDATE ... count + 1`, {conc} clients | {naive_tps:.0f} TPS | "
        f"{naive_failed} | average {naive_lat:.2f} | | | | |",
    ]

    def cpu_row(label, n):
        c = cpu[n]
        cap = nproc * c["wall_s"]
        pct = lambda x: f"{x:.1f} s ({100 * x / cap:.0f} %)" if cap else f"{x:.1f} s"
        other = max(0.0, c["machine"] - c["server"] - c["postgres"] - c["client"])
        server = pct(c["server"]) if n not in ("copy", "naive") else "– (stopped)"
        return (f"| {label} | {c['wall_s']:.1f} s | {pct(c['machine'])} | {server} | "
                f"{pct(c['postgres'])} | {pct(c['client'])} | {pct(other)} |")

    # Work done in each CPU window: the rate measured by the client times the
    # window's length (which the script's own sampling makes a little longer
    # than DURATION_S); the copy's window is the copy.
    def work(n, rate):
        return rate * cpu[n]["wall_s"]

    units = {
        "empty": (work("empty", empty["qps"]), "call"),
        "record": (work("record", record["qps"]), "event"),
        "record_stats": (work("record_stats", under["qps"] + stats_load["qps"]),
                         "call (both RPCs)"),
        "stats": (work("stats", stats_idle["qps"]), "call"),
        "batch": (work("batch", batch["events_per_s"]), "event"),
        "copy": (float(copy["rows"]), "row"),
        "naive": (work("naive", naive_tps), "transaction"),
    }

    def per_unit_row(label, n):
        c = cpu[n]
        count, unit = units[n]
        us = lambda x: f"{1e6 * x / count:.1f}" if count else "–"
        server = us(c["server"]) if n not in ("copy", "naive") else "–"
        own = c["server"] + c["postgres"] + c["client"]
        commits = c.get("commits", 0)
        # Events (rows, transactions) written per commit, for the writing phases.
        written = {"record": count, "record_stats": work("record_stats", under["qps"]),
                   "batch": count, "copy": count, "naive": count}.get(n)
        per_commit = f"{written / commits:.1f}" if written and commits else "–"
        wall = c["wall_s"] or 1
        rates = f"{commits / wall:.0f} | {c.get('wal_syncs', 0) / wall:.0f}"
        if n == "copy":  # one transaction, shorter than the statistics' lag
            rates, per_commit = "– | –", f"{count:.0f} (one COPY)"
        return (f"| {label} | {unit} | {server} | {us(c['postgres'])} | {us(c['client'])} | "
                f"{us(own)} | {rates} | {per_commit} |")

    labels = [
        ("(a) Empty RPC", "empty"), ("(b) RecordDownload", "record"),
        ("(c) RecordDownload + GetDownloadStats", "record_stats"),
        ("GetDownloadStats alone", "stats"), ("(e) BatchRecordDownloads", "batch"),
        ("(f) psql \\copy", "copy"), ("(d) naive UPDATE", "naive"),
    ]

    consistent = stored["daily_total_requests"] == stored["counted_request_events"] == \
        stored["monthly_total_requests"]
    names = {1: "COUNTED", 2: "DOUBLE_CLICK", 3: "ROBOT", 4: "NOT_SUCCESSFUL",
             5: "DUPLICATE_REQUEST"}
    by_outcome = ", ".join(f"{names.get(int(k), k)} {v}"
                           for k, v in sorted(stored["events_by_outcome"].items()))
    lines = [
        "# DownloadService benchmark",
        "",
        f"Run of {env['DATE']} on commit {env['GIT_COMMIT']}.",
        "",
        f"- Machine: {nproc} CPU(s) ({env['MACHINE_CPU']}), {env['MACHINE_MEM']} memory; "
        f"PostgreSQL {env['PG_VERSION']}, thesis-server, the load clients and pgbench all on it; "
        f"PostgreSQL's {env.get('BENCH_HUGE_PAGES_NOTE', 'huge pages: not recorded')}.",
        f"- Command: `{env['COMMAND']}`",
        f"- Durable: `fsync = {env['PG_FSYNC']}`, `synchronous_commit = {env['PG_SYNC_COMMIT']}` "
        f"(`wal_sync_method = {env['PG_WAL_SYNC']}`, `full_page_writes = {env['PG_FPW']}`): an OK "
        "answer of RecordDownload and BatchRecordDownloads, and every pgbench transaction, waited "
        "for the flush of its commit to disk.",
        f"- Settings: {env['WARMUP_S']} s warm-up + {env['DURATION_S']} s measured per phase; "
        f"thesis-server `{env['SERVER_FLAGS_TEXT']}`; thesis-load `--channels "
        f"{env['CHANNELS']}`; events from {int(env['USERS']):,} users, "
        f"{float(env['REQUEST_FRACTION']):.0%} REQUEST and the rest INVESTIGATION, time now, "
        f"status 200, a unique request id each; hot thesis `{env['HOT']}`; batches of "
        f"{bs} events over {env['BATCH_THESES']} theses; naive baseline `pgbench -n -f "
        f"naive.sql -M prepared -c {conc} -j {env['PGBENCH_THREADS']}` on a one-row table.",
        "",
        "| Phase | Throughput | Errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ] + rows + [
        "",
        f"Outcomes: (b) {outcomes(record)}; (c) {outcomes(under)}; (e) {outcomes(batch)}.",
        "",
        "| Target | Measured | Wanted | |",
        "|---|---:|---:|---|",
    ] + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in checks] + [
        f"| GetDownloadStats p99 while RecordDownload runs ({sc} + {conc} in flight) | "
        f"{stats_load['latency_ms']['p99']:.2f} ms (p50 {stats_load['latency_ms']['p50']:.2f}) | "
        f"reported | alone: p99 {stats_idle['latency_ms']['p99']:.2f} ms |",
        "",
        f"CPU seconds used during each measured window ({nproc} CPUs x window = 100 %); "
        "\"other\" is everything else on the machine (kernel threads, other users' work):",
        "",
        "| Phase | Window | Machine busy | thesis-server | PostgreSQL | Load client | Other |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ] + [cpu_row(a, n) for a, n in labels] + [
        "",
        "Per unit of work: CPU microseconds, and PostgreSQL's commits and WAL flushes per second "
        "(from its statistics, which lag by up to a second):",
        "",
        "| Phase | Unit | thesis-server µs | PostgreSQL µs | Load client µs | Sum µs "
        "| Commits/s | WAL flushes/s | Written per commit |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ] + [per_unit_row(a, n) for a, n in labels] + [
        "",
        f"Stored for the hot thesis after the RecordDownload phases: {stored['events']} events "
        f"({by_outcome}); Total_Item_Requests {stored['daily_total_requests']} "
        f"in the daily rollup, {stored['monthly_total_requests']} in the monthly one, "
        f"{stored['counted_request_events']} COUNTED request events: "
        f"{'consistent' if consistent else '**INCONSISTENT**'}. The naive counter ended at "
        f"{naive_count} ({naive_tx} transactions measured, plus the warm-up).",
    ]
    section = "\n".join(lines) + "\n"

    def line(name, r, unit="QPS", value=None):
        l = r["latency_ms"]
        v = r["qps"] if value is None else value
        return (f"{name:30s} {v:10.0f} {unit:9s} p50 {l['p50']:7.2f} ms  p99 {l['p99']:7.2f} ms  "
                f"errors {r['errors']}  bad {r.get('bad_responses', 0)}")

    print()
    print(line("(a) empty RPC", empty))
    print(line("(b) RecordDownload", record))
    print(line("(c) RecordDownload + stats", under))
    print(line("(c) GetDownloadStats under load", stats_load))
    print(line("    GetDownloadStats alone", stats_idle))
    print(line("(e) BatchRecordDownloads", batch, "events/s", batch["events_per_s"]))
    copy_label = "(f) psql \\copy"
    print(f"{copy_label:30s} {copy['rows_per_s']:10.0f} rows/s    {copy['rows']} rows in "
          f"{copy['seconds']:.2f} s")
    print(f"{'(d) naive UPDATE (pgbench)':30s} {naive_tps:10.0f} TPS       latency average "
          f"{naive_lat:.2f} ms  failed {naive_failed}")
    print(f"outcomes: record {outcomes(record)}; batch {outcomes(batch)}")
    for a, b, c, d in checks:
        print(f"{a:48s} {b:>8s}  (wanted {c})  {d}")
    for a, n in labels:
        print(f"CPU in {n:12s} window: {cpu[n]}")
    print(f"stored for the hot thesis: {json.dumps(stored)}: "
          f"{'consistent' if consistent else 'INCONSISTENT'}")

    if doc:
        text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
        block = f"{BEGIN}\n{section}{END}"
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        with open(doc, "w") as f:
            f.write(text)
        print(f"\nDownloadService section written to {doc}")


if __name__ == "__main__":
    main()
