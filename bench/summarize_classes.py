#!/usr/bin/env python3
"""Summarizes a bench/classes.sh run: prints the figures and rewrites the
section between the bench:classes markers of docs/benchmarks.md.

    python3 bench/summarize_classes.py RESULTS_DIR [DOC]
"""
import json
import os
import re
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: summarize_classes.py RESULTS_DIR [DOC]")
    res = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) == 3 else None
    env = os.environ

    def load(name):
        with open(os.path.join(res, name)) as f:
            return json.load(f)

    rows = []
    verdicts = []
    for c in env["CONCURRENCY_LIST"].split():
        get, cls = load(f"get-c{c}.json"), load(f"class-c{c}.json")
        ratio = cls["latency_ms"]["p50"] / get["latency_ms"]["p50"]
        verdicts.append((c, ratio))
        for name, r in (("GetThesis", get), ("GetClass (top level)", cls)):
            l = r["latency_ms"]
            rows.append(f"| {c} | {name} | {r['qps']:.0f} | {l['p50']:.3f} | {l['p90']:.3f} | "
                        f"{l['p99']:.3f} | {r['errors']} |")
        rows.append(f"| {c} | **p50 ratio GetClass / GetThesis** | | **{ratio:.2f}** "
                    f"({'met' if ratio <= 5 else 'MISSED'}: want <= 5) | | | |")
    imp = load("import.json")
    explain = open(os.path.join(res, "explain.txt")).read().rstrip()
    m = re.search(r"Execution Time: ([0-9.]+) ms", explain)
    lines = [
        f"Run {env['DATE']}, commit {env['GIT_COMMIT']}, {env['MACHINE']}; command: "
        f"`{env['COMMAND']}`; PostgreSQL's "
        f"{env.get('BENCH_HUGE_PAGES_NOTE', 'huge pages: not recorded')}.",
        "",
        f"- Data: {env['RECORDS']} generated theses loaded with COPY in {float(env['LOAD_S']):.1f} s; "
        f"the full CLC table imported with `thesisctl classes import clc5.tsv` "
        f"(created {imp.get('created', 0)}, updated {imp.get('updated', 0)}, "
        f"unchanged {imp.get('unchanged', 0)}, failed {imp.get('failed', 0)}, "
        f"{imp.get('problems', 0)} problems reported) in "
        f"{float(env['IMPORT_S']):.1f} s, which placed every thesis: "
        f"{env['PLACEMENTS']} class memberships (the theses and their ancestors) and every "
        f"rolled-up count.",
        f"- Served counts of the 22 top-level classes equal a recount in SQL: "
        f"**{env['COUNTS_OK']}**.",
        f"- Each phase: {env['WARMUP_S']} s warm-up + {env['DURATION_S']} s, "
        f"{env['CHANNELS']} channels, `--workers {env['WORKERS']}`; GetThesis over all "
        f"{env['RECORDS']} records at random, GetClass over the 22 top-level classes at random.",
        "",
        "| in flight | RPC | calls/s | p50 ms | p90 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "GetClass reads one row of `class_counts` per class asked (plus the scheme's three pseudo "
        "rows) by primary key, and takes the name, level, path and child count from the table "
        "the server keeps in memory (reloaded when the scheme's generation changes). EXPLAIN "
        f"ANALYZE of that statement for `T` (execution {m.group(1) if m else '?'} ms):",
        "",
        "```",
        explain,
        "```",
    ]
    text = "\n".join(lines)
    print(text)
    if doc:
        begin, end = "<!-- bench:classes:begin -->", "<!-- bench:classes:end -->"
        body = open(doc, encoding="utf-8").read()
        block = f"{begin}\n{text}\n{end}"
        if begin in body and end in body:
            body = body[:body.index(begin)] + block + body[body.index(end) + len(end):]
        else:
            body = body.rstrip() + "\n\n## Classification: GetClass with rolled-up counts\n\n" + block + "\n"
        open(doc, "w", encoding="utf-8").write(body)


if __name__ == "__main__":
    main()
