#!/usr/bin/env python3
"""Summarizes a bench/run.sh run: prints the figures and the ratios, and
rewrites the results section of docs/benchmarks.md.

    python3 bench/summarize.py RESULTS_DIR [DOC]

RESULTS_DIR holds what run.sh wrote: meta.json (settings, machine, command),
empty.json, get.json and sweep-get-w*.json (thesis-load --json), *.cpu.json
(CPU seconds per measured window), pgbench.txt and pgbench.client-cpu.json.
With DOC, the text between the bench:results markers is replaced (the
section is appended when the markers are missing).
"""
import glob
import json
import os
import re
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: summarize.py RESULTS_DIR [DOC]")
    res = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) == 3 else None
    with open(os.path.join(res, "meta.json")) as f:
        env = json.load(f)

    def load(name):
        with open(os.path.join(res, name)) as f:
            return json.load(f)

    empty, get = load("empty.json"), load("get.json")
    cpu = {n: load(f"{n}.cpu.json") for n in ("empty", "get", "pgbench")}
    pgb_text = open(os.path.join(res, "pgbench.txt")).read()
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", pgb_text)
    if not m:
        raise SystemExit("no tps in pgbench output:\n" + pgb_text)
    pg_tps = float(m.group(1))
    m = re.search(r"latency average = ([0-9.]+) ms", pgb_text)
    pg_lat = float(m.group(1)) if m else float("nan")
    pgb_client = load("pgbench.client-cpu.json")
    duration = float(env["DURATION_S"])
    calls = {"empty": empty["qps"] * duration, "get": get["qps"] * duration,
             "pgbench": pg_tps * duration}
    cpu["empty"]["client"] = round(empty["client_cpu_s"]["user"] + empty["client_cpu_s"]["sys"], 2)
    cpu["get"]["client"] = round(get["client_cpu_s"]["user"] + get["client_cpu_s"]["sys"], 2)
    cpu["pgbench"]["client"] = round(pgb_client["user"] + pgb_client["sys"], 2)

    r_pg = get["qps"] / pg_tps
    r_empty = get["qps"] / empty["qps"]
    p99 = get["latency_ms"]["p99"]
    ok = lambda b: "met" if b else "MISSED"
    checks = [
        ("GetThesis / pgbench -S", f"{r_pg:.2f}", ">= 0.50", ok(r_pg >= 0.5)),
        ("GetThesis / empty RPC", f"{r_empty:.2f}", ">= 0.40", ok(r_empty >= 0.4)),
        ("GetThesis p99", f"{p99:.2f} ms", "<= 5 ms", ok(p99 <= 5.0)),
    ]

    def lat(r):
        l = r["latency_ms"]
        return f"{l['p50']:.2f} | {l['p90']:.2f} | {l['p99']:.2f} | {l['p999']:.2f} | {l['max']:.2f}"

    def errs(r):
        return ", ".join(f"{k} {v}" for k, v in r["errors_by_code"].items()) or "0"

    nproc = int(env["NPROC"])

    def cpu_row(name, c):
        cap = nproc * c["wall_s"]
        pct = lambda x: f"{x:.1f} s ({100 * x / cap:.0f} %)" if cap else f"{x:.1f} s"
        other = max(0.0, c["machine"] - c["server"] - c["postgres"] - c["client"])
        server = pct(c["server"]) if name != "pgbench -S" else "– (stopped)"
        return (f"| {name} | {pct(c['machine'])} | {server} | {pct(c['postgres'])} "
                f"| {pct(c['client'])} | {pct(other)} |")

    conc = env["CONCURRENCY"]
    lines = [
        f"Run of {env['DATE']} on commit {env['GIT_COMMIT']}.",
        "",
        f"- Machine: {nproc} CPU(s) ({env['MACHINE_CPU']}), {env['MACHINE_MEM']} memory; "
        f"PostgreSQL {env['PG_VERSION']}, thesis-server, the load client and pgbench all on it; "
        f"PostgreSQL's {env.get('BENCH_HUGE_PAGES_NOTE', 'huge pages: not recorded')}.",
        f"- Command: `{env['COMMAND']}`",
        f"- Settings: {conc} in flight, {env['WARMUP_S']} s warm-up + {env['DURATION_S']} s measured per "
        f"phase; thesis-server `--workers {env['WORKERS']}`; thesis-load `--channels {env['CHANNELS']}`; "
        f"{env['RECORDS']} records (average row {env['AVG_ROW']} bytes, table with indexes and TOAST "
        f"{env['TABLE_SIZE']}); pgbench scale {env['PGBENCH_SCALE']}, `-S -M prepared -c {conc} "
        f"-j {env['PGBENCH_THREADS']}`.",
        "",
        "| Phase | Throughput | Errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| Empty RPC (Health/Check) | {empty['qps']:.0f} QPS | {errs(empty)} | {lat(empty)} |",
        f"| GetThesis | {get['qps']:.0f} QPS | {errs(get)} | {lat(get)} |",
        f"| pgbench -S -M prepared | {pg_tps:.0f} TPS | 0 | average {pg_lat:.3f} | | | | |",
        "",
        "| Target | Measured | Wanted | |",
        "|---|---:|---:|---|",
    ] + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in checks] + [
        "",
        f"CPU seconds used during each measured window ({nproc} CPUs x window = 100 %); "
        "\"other\" is everything else on the machine (kernel threads, other users' work):",
        "",
        "| Phase | Machine busy | thesis-server | PostgreSQL | Load client | Other |",
        "|---|---:|---:|---:|---:|---:|",
        cpu_row("Empty RPC", cpu["empty"]),
        cpu_row("GetThesis", cpu["get"]),
        cpu_row("pgbench -S", cpu["pgbench"]),
    ]
    def per_call_row(name, key):
        c, n = cpu[key], calls[key]
        us = lambda x: f"{1e6 * x / n:.0f}" if n else "–"
        server = us(c["server"]) if key != "pgbench" else "–"
        own = c["server"] + c["postgres"] + c["client"]
        return f"| {name} | {server} | {us(c['postgres'])} | {us(c['client'])} | {us(own)} |"

    lines += [
        "",
        "The same, in CPU microseconds per call (per transaction for pgbench):",
        "",
        "| Phase | thesis-server | PostgreSQL | Load client | Sum |",
        "|---|---:|---:|---:|---:|",
        per_call_row("Empty RPC", "empty"),
        per_call_row("GetThesis", "get"),
        per_call_row("pgbench -S", "pgbench"),
    ]
    sweep = sorted((p for p in glob.glob(os.path.join(res, "sweep-get-w*.json"))
                    if re.search(r"-w\d+\.json$", p)),
                   key=lambda p: int(re.search(r"-w(\d+)\.json$", p).group(1)))
    if sweep:
        lines += ["", "GetThesis by `--workers` (same settings otherwise; CPU in µs per call):", "",
                  "| --workers | QPS | p50 ms | p99 ms | thesis-server | PostgreSQL | Load client "
                  "| Other CPU |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for p in sweep:
            w = re.search(r"-w(\d+)\.json$", p).group(1)
            s = load(os.path.basename(p))
            c = load(f"sweep-get-w{w}.cpu.json")
            n = s["qps"] * duration
            client = s["client_cpu_s"]["user"] + s["client_cpu_s"]["sys"]
            other = max(0.0, c["machine"] - c["server"] - c["postgres"] - client)
            us = lambda x: f"{1e6 * x / n:.0f}" if n else "–"
            lines.append(f"| {w} | {s['qps']:.0f} | {s['latency_ms']['p50']:.2f} | "
                         f"{s['latency_ms']['p99']:.2f} | {us(c['server'])} | {us(c['postgres'])} | "
                         f"{us(client)} | {100 * other / (nproc * c['wall_s']):.0f} % |")
    section = "\n".join(lines) + "\n"

    print()
    print(f"empty RPC   {empty['qps']:9.0f} QPS   p50 {empty['latency_ms']['p50']:.2f} ms   p99 {empty['latency_ms']['p99']:.2f} ms")
    print(f"GetThesis   {get['qps']:9.0f} QPS   p50 {get['latency_ms']['p50']:.2f} ms   p99 {get['latency_ms']['p99']:.2f} ms")
    print(f"pgbench -S  {pg_tps:9.0f} TPS   latency average {pg_lat:.3f} ms")
    for a, b, c, d in checks:
        print(f"{a:24s} {b:>9s}  (wanted {c})  {d}")
    for n in ("empty", "get", "pgbench"):
        print(f"CPU s in {n:8s} window: {cpu[n]}")

    if doc:
        begin, end = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
        text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n\n## Results\n\n"
        block = f"{begin}\n{section}{end}"
        if begin in text and end in text:
            text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        with open(doc, "w") as f:
            f.write(text)
        print(f"\nresults written to {doc}")


if __name__ == "__main__":
    main()
