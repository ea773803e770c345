#!/usr/bin/env python3
"""Summarizes a bench/search.sh run: prints the figures and rewrites the
section between the bench:search markers of docs/benchmarks.md.

    python3 bench/summarize_search.py RESULTS_DIR [DOC]
"""
import json
import os
import re
import sys

SET_NAMES = {
    "zh2": "two-character Chinese keywords",
    "zh4": "four-character Chinese keywords",
    "en": "English words",
    "filtered": "two-character keyword + filter",
}


def mib(n):
    return f"{int(n) / 1024 / 1024:.1f} MiB"


def plan_excerpt(text):
    """The lines of an auto_explain entry that show how theses were read:
    the duration, the top-level node, the bitmap scans of theses and the
    GIN index (with its condition), and any sequential scan of theses."""
    lines = text.splitlines()
    head = lines[0] if lines else ""
    m = re.search(r"duration: ([0-9.]+) ms", head)
    body = [l for l in lines[1:] if not l.startswith("Query Text:")]
    keep = [f"duration: {m.group(1)} ms" if m else head]
    if body:
        keep.append(body[0])
    for i, l in enumerate(body[1:], 1):
        if l.strip().startswith("CTE ") or any(
                k in l for k in ("Bitmap Index Scan on theses_search_doc_idx",
                                 "Bitmap Heap Scan on theses", "Seq Scan on theses")):
            keep.append(l)
            if i + 1 < len(body) and "Cond:" in body[i + 1]:
                keep.append(body[i + 1])
    heap = next((re.search(r"actual time=[0-9.]+\.\.([0-9.]+)", l) for l in body
                 if "Bitmap Heap Scan on theses" in l), None)
    return (keep, any("Bitmap Index Scan on theses_search_doc_idx" in l for l in body),
            [l.strip() for l in body if "Seq Scan on theses" in l],
            (float(heap.group(1)) if heap else None, float(m.group(1)) if m else None))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: summarize_search.py RESULTS_DIR [DOC]")
    res = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) == 3 else None
    env = os.environ
    sets = env["SETS"].split()

    def load(name):
        with open(os.path.join(res, name), encoding="utf-8") as f:
            return json.load(f)

    def read(name):
        with open(os.path.join(res, name), encoding="utf-8") as f:
            return f.read()

    # ---- latency table
    rows = []
    ratio_met = p95_met = total = 0
    worst_ratio = worst_p95 = None
    for c in env["CONCURRENCY_LIST"].split():
        get = load(f"get-c{c}.json")
        g = get["latency_ms"]
        rows.append(f"| {c} | GetThesis (baseline) | {get['qps']:.0f} | {g['p50']:.3f} | "
                    f"{g['p90']:.3f} | {g['p95']:.3f} | {g['p99']:.3f} | {get['errors']} | | |")
        for s in sets:
            r = load(f"search-{s}-c{c}.json")
            l = r["latency_ms"]
            ratio = l["p50"] / g["p50"]
            total += 1
            ratio_met += ratio <= 5
            p95_met += l["p95"] <= 50
            if worst_ratio is None or ratio > worst_ratio[0]:
                worst_ratio = (ratio, c, s)
            if worst_p95 is None or l["p95"] > worst_p95[0]:
                worst_p95 = (l["p95"], c, s)
            rows.append(
                f"| {c} | SearchTheses: {SET_NAMES.get(s, s)} | {r['qps']:.0f} | {l['p50']:.3f} | "
                f"{l['p90']:.3f} | {l['p95']:.3f} | {l['p99']:.3f} | {r['errors']} | "
                f"**{ratio:.2f}** ({'met' if ratio <= 5 else 'MISSED'}) | "
                f"{'met' if l['p95'] <= 50 else 'MISSED'} |")

    # ---- quality
    q = load("quality.json")
    q_ok = q["percent"] >= q["target_percent"]
    miss_rows = [f"| `{m['id']}` | {m['keyword']} | {m['count']} | {m['rank']} |"
                 for m in q["misses"][:10]]
    quoted = ", ".join(f"`{e['query']}`" for e in q["quoted_examples"][:4])

    # ---- plans
    plan_blocks, with_index, seq_scans = [], 0, []
    for s in sets:
        query, _, filt = read(f"explain-{s}.query").rstrip("\n").partition("\t")
        response = load(f"explain-{s}.response.json")
        keep, uses_index, seqs, (heap_ms, total_ms) = plan_excerpt(read(f"explain-{s}.txt"))
        with_index += uses_index
        seq_scans += [(s, l) for l in seqs]
        what = f"`{query}`" + (f" with filter `{filt}`" if filt else "")
        plan_blocks += [
            f"{SET_NAMES.get(s, s)}, {what}: {response.get('total_size', 0)} matches, "
            f"{'GIN index used' if uses_index else 'GIN index NOT used'}"
            f"{', sequential scan of theses: ' + '; '.join(seqs) if seqs else ''}"
            + (f"; the bitmap heap scan (reading, rechecking and scoring every match) ends "
               f"at {heap_ms:.1f} ms of {total_ms:.1f} ms" if heap_ms and total_ms else "") + ":",
            "",
            "```",
            *keep,
            "```",
            "",
        ]

    pools = load("pools.json")
    match_rows = []
    for s in sets:
        m = sorted(load(f"matches-{s}.json"))
        median, p90 = (m[min(len(m) - 1, int(f * len(m)))] for f in (0.5, 0.9))
        match_rows.append(f"| {SET_NAMES.get(s, s)} | {m[0]} | {median} | {p90} | {m[-1]} |")
    index_log = env["INDEX_LOG"]
    lines = [
        f"Run {env['DATE']}, commit {env['GIT_COMMIT']}, {env['MACHINE']}; command: "
        f"`{env['COMMAND']}`; PostgreSQL's "
        f"{env.get('BENCH_HUGE_PAGES_NOTE', 'huge pages: not recorded')}.",
        "",
        f"- Data: {int(env['THESES']):,} theses, the 1,000 real records of "
        f"`csl-dev-1000.jsonl` (`bench-dev-0000`..`0999`) and {int(env['RECORDS']):,} "
        f"generated by `bench/gen_search_theses.py` (real titles, keywords cut from them, "
        f"abstracts of dev sentences), loaded with COPY in {float(env['LOAD_S']):.1f} s into a "
        f"new private cluster with `shared_buffers = {env['PG_SHARED_BUFFERS']}` and "
        f"`fsync = off`.",
        f"- Index build: the second `thesis-server migrate` took "
        f"{float(env['INDEX_S']):.1f} s (its log: `{index_log}`; the GIN index "
        f"maintained as rows are written), then `VACUUM ANALYZE` "
        f"{float(env['VACUUM_S']):.1f} s. Sizes after: GIN index `theses_search_doc_idx` "
        f"{mib(env['INDEX_BYTES'])}; table `theses` in total (heap, TOAST, all indexes) "
        f"{mib(env['TABLE_BYTES'])}, of which heap {mib(env['HEAP_BYTES'])}; the `search_doc` "
        f"values {mib(env['DOC_BYTES'])} (as stored). Theses left without an index: "
        f"{env['UNINDEXED']}.",
        f"- Quality: of the {q['keywords']} dev records, {q['eligible']} have a first keyword "
        f"that the title or a keyword of fewer than 10 records contains (counted in SQL, "
        f"{q['count_sql_s']:.1f} s); SearchTheses of that keyword (page of 10, no facets) has "
        f"the record on its page for **{q['found']} of {q['eligible']}: {q['percent']:.1f} %** "
        f"({'met' if q_ok else 'MISSED'}: want >= {q['target_percent']} %). {q['quoted']} "
        f"keywords were sent as a phrase because the query language would read them otherwise "
        f"(spaces, quotes, a colon, a leading `-` or `OR`{': ' + quoted if quoted else ''})"
        f"{'; ' + str(len(q['errors'])) + ' searches failed' if q['errors'] else ''}.",
        f"- Query sets (seeded, 100 each, in `.bench/search-*.txt`): two-character keywords "
        f"sampled from the {pools['zh2']} distinct dev keywords of exactly two Han "
        f"characters; four-character ones from {pools['zh4']}; English words from the "
        f"{pools['en']} distinct words `[A-Za-z][a-z]{{3,}}` of the dev abstracts; another "
        f"sample of two-character keywords, each with the filter `{env['FILTER']}`.",
        f"- Each phase: {env['WARMUP_S']} s warm-up + {env['DURATION_S']} s, "
        f"{env['CHANNELS']} channels, `--workers {env['WORKERS']}`, queries of a set at random; "
        f"SearchTheses asks a page of 20 with facets (10 values each); GetThesis over all "
        f"{int(env['THESES']):,} records at random, on the same server.",
        "",
    ]
    if miss_rows:
        lines += [
            f"Misses ({len(q['misses'])}{', the first 10' if len(q['misses']) > 10 else ''}; "
            f"rank in the first 100 hits):",
            "",
            "| record | keyword | records containing it | rank |",
            "|---|---|---|---|",
            *miss_rows,
            "",
        ]
    lines += [
        "| in flight | RPC | calls/s | p50 ms | p90 ms | p95 ms | p99 ms | errors | "
        "p50 / GetThesis p50 (want <= 5) | p95 (want <= 50 ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Matches per query of each set (SearchTheses computes the score and the facets over "
        "every match):",
        "",
        "| set | min | median | p90 | max |",
        "|---|---|---|---|---|",
        *match_rows,
        "",
        f"Latency targets: p50 ratio met in {ratio_met} of {total} rows (highest "
        f"{worst_ratio[0]:.2f}, {SET_NAMES.get(worst_ratio[2])} at {worst_ratio[1]} in flight), "
        f"p95 <= 50 ms met in {p95_met} of {total} (highest {worst_p95[0]:.1f} ms, "
        f"{SET_NAMES.get(worst_p95[2])} at {worst_p95[1]} in flight).",
        "",
        f"Plans of the search statement as the server runs it, one query of each set, from "
        f"`auto_explain` (ANALYZE, BUFFERS; enabled on the database after the timed runs, for "
        f"these four calls only, each the first on a new connection, times with the "
        f"instrumentation's overhead; the full plans are in "
        f"`.bench/results-search/explain-*.txt`). "
        f"The GIN index is used in {with_index} of {len(sets)} plans; "
        + (f"**a sequential scan of theses** appears in: "
           f"{', '.join(sorted({s for s, _ in seq_scans}))}." if seq_scans else
           "no plan has a sequential scan of theses.") + " Excerpts:",
        "",
        *plan_blocks,
    ]
    text = "\n".join(lines).rstrip()
    print(text)
    if doc:
        begin, end = "<!-- bench:search:begin -->", "<!-- bench:search:end -->"
        body = open(doc, encoding="utf-8").read()
        block = f"{begin}\n{text}\n{end}"
        if begin in body and end in body:
            body = body[:body.index(begin)] + block + body[body.index(end) + len(end):]
        else:
            body = body.rstrip() + "\n\n## Search: SearchTheses\n\n" + block + "\n"
        open(doc, "w", encoding="utf-8").write(body)


if __name__ == "__main__":
    main()
