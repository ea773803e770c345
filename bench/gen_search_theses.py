#!/usr/bin/env python3
"""Writes the search benchmark's theses as `COPY theses (...) FROM STDIN` input.

  python3 bench/gen_search_theses.py DATA_DIR N [SEED] | psql ... -c "COPY theses (...) FROM STDIN"
  python3 bench/gen_search_theses.py --columns

Two parts (docs/search.md, "Quality"):
  * the 1,000 real records of csl/csl-dev-1000.jsonl as they are (title,
    abstract, keywords, discipline), ids `bench-dev-0000`..`bench-dev-0999`;
  * N generated records, ids `bench-s-0000000`...: the title one of the 8,000
    real titles of csl/csl-train-titles-8000.tsv (so each recurs N/8000
    times, with other authors, years and institutions); the keywords two to
    four pieces of that title cut at the function words and punctuation
    that separate terms in Chinese titles (基于, 的, 与, 及, 中, ...), as
    authors pick them; the abstract three to six sentences drawn from
    different dev abstracts (so no two abstracts are alike, and the word
    frequencies are those of real abstracts); a CLC code of
    clc/clc5.tsv (level 3 or deeper), a discipline of the 2022 catalogue,
    names, years, degree levels and institutions from seeded distributions.
Deterministic for a given N and seed.
"""
import random
import re
import sys
from pathlib import Path

COLUMNS = ("id, title_zh, authors, advisors, institution, discipline, degree_level, degree_year, "
           "abstract_zh, keywords_zh, classification_codes, legacy_download_count, "
           "create_time, update_time")

# Names, institutions and the COPY escaping are gen_theses.py's.
from gen_theses import GIVEN, INSTITUTIONS, SURNAMES, arr, esc, load_sources  # noqa: E402

# Where a Chinese title separates its terms.
CUT = re.compile(r"基于|面向|关于|对于|及其|以及|研究|分析|探讨|探析|浅析|初探|"
                 r"[的与和及对在中下等之—\-:：,，、;；()（）《》“”\"'·\s]")
SENTENCE = re.compile(r"(?<=[。！？；;.!?])")


def title_keywords(title, rng):
    pieces = [p for p in CUT.split(title) if 2 <= len(p) <= 8]
    seen = []
    for p in pieces:
        if p not in seen:
            seen.append(p)
    rng.shuffle(seen)
    return seen[:rng.randint(2, 4)]


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--columns":
        print(COLUMNS)
        return
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    data = Path(sys.argv[1])
    count = int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 1)

    papers, titles, codes, disciplines = load_sources(data)
    sentences = [s for p in papers for s in SENTENCE.split(p["abstract"]) if len(s) >= 8]

    stamp = "2026-01-01 00:00:00+00"
    out = sys.stdout

    def person():
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")

    def write(rid, title, abstract, keywords, discipline):
        level = 3 if rng.random() < 0.2 else (4 if rng.random() < 0.3 else 2)
        legacy = str(int(rng.paretovariate(1.2) * 20)) if rng.random() < 0.8 else "\\N"
        row = [rid, esc(title), arr([person()]), arr([person()]), rng.choice(INSTITUTIONS),
               discipline, str(level), str(rng.randint(2000, 2024)), esc(abstract),
               esc(arr(keywords)), esc(arr([rng.choice(codes)])), legacy, stamp, stamp]
        out.write("\t".join(row) + "\n")

    for i, paper in enumerate(papers):
        write(f"bench-dev-{i:04d}", paper["title"], paper["abstract"], paper["keywords"],
              rng.choice(disciplines))
    for i in range(count):
        title = titles[i % len(titles)]
        abstract = "".join(rng.sample(sentences, rng.randint(3, 6)))
        write(f"bench-s-{i:07d}", title, abstract, title_keywords(title, rng),
              rng.choice(disciplines))


if __name__ == "__main__":
    main()
